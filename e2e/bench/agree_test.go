package bench

import (
	"context"
	"maps"
	"testing"

	"github.com/llmproxy/llmproxy/e2e/bench/memhost"
	"github.com/llmproxy/llmproxy/e2e/harness"
)

// The comparison is only fair if every variant does its job: the floor
// publishes nothing, the publish-only filter its fixed values, the others
// the same model and usage.
func TestVariantsAgreeNatively(t *testing.T) {
	for i := range workloads {
		w := &workloads[i]
		for _, v := range variants {
			t.Run(w.Name+"/"+v.name, func(t *testing.T) {
				h := memhost.New(envoy.NodeMetadata)
				root := v.native()
				if err := root.Configure(h, []byte(envoy.PluginConfig)); err != nil {
					t.Fatal(err)
				}
				if !h.Run(root.NewHTTP(), &w.Exchange) {
					t.Fatal("a callback did not continue")
				}
				if got := harness.ASMState(h.State); !maps.Equal(got, v.want(w)) {
					t.Fatalf("filter state %v, want %v", got, v.want(w))
				}
				if v.name == "llmproxy" {
					if b := nativeRetained(v, h, w); b > 64<<10 {
						t.Fatalf("a stream in flight holds %.0f bytes, want at most 64 KiB", b)
					}
				}
			})
		}
	}
}

// The .wasm modules are built from the same glue and must agree too; the
// 20 MB stream is left to the benchmark.
func TestVariantsAgreeInWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three .wasm modules")
	}
	for i := range workloads {
		w := &workloads[i]
		if w.Bytes() > 4<<20 {
			continue
		}
		for _, v := range variants {
			t.Run(w.Name+"/"+v.name, func(t *testing.T) {
				h := v.newHost(t)
				res, err := h.Do(context.Background(), w.Exchange)
				if err != nil {
					t.Fatal(err)
				}
				if got := harness.ASMState(res.FilterState); !maps.Equal(got, v.want(w)) {
					t.Fatalf("filter state %v, want %v", got, v.want(w))
				}
				if vs := h.Violations(); len(vs) > 0 {
					t.Fatalf("forbidden host calls: %v", vs)
				}
			})
		}
	}
}
