package bench

import (
	"bytes"
	"context"
	"maps"
	"testing"

	"github.com/llmproxy/llmproxy/e2e/bench/memhost"
	"github.com/llmproxy/llmproxy/e2e/harness"
	"github.com/llmproxy/llmproxy/e2e/host"
)

// The comparison is only fair if every variant does its job: the floor
// publishes nothing, the contract-only and publish-only filters their fixed
// values, the others the same model and usage.
func TestVariantsAgreeNatively(t *testing.T) {
	for i := range workloads {
		w := &workloads[i]
		for _, v := range variants {
			if !v.runs(w) {
				continue
			}
			t.Run(w.Name+"/"+v.name, func(t *testing.T) {
				h := memhost.New(envoy.NodeMetadata)
				root := v.native()
				if err := root.Configure(h, []byte(v.pluginConfig())); err != nil {
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
		t.Skip("builds a .wasm module per variant")
	}
	for i := range workloads {
		w := &workloads[i]
		if w.Bytes() > 4<<20 {
			continue
		}
		for _, v := range variants {
			if !v.runs(w) {
				continue
			}
			t.Run(w.Name+"/"+v.name, func(t *testing.T) {
				h := v.newHost(t, false)
				res, err := h.Do(context.Background(), w.Exchange)
				if err != nil {
					t.Fatal(err)
				}
				if got := harness.ASMState(res.FilterState); !maps.Equal(got, v.want(w)) {
					t.Fatalf("filter state %v, want %v", got, v.want(w))
				}
				if !forwardedUnchanged(res, &w.Exchange) {
					t.Fatalf("bodies changed on the way: %d and %d bytes forwarded of %d",
						len(res.ForwardedRequestBody), len(res.ForwardedResponseBody), w.Bytes())
				}
				if vs := h.Violations(); len(vs) > 0 {
					t.Fatalf("forbidden host calls: %v", vs)
				}
				// The benchmark's host, which does not collect the bodies,
				// sees the same filter.
				res, err = v.newHost(t, true).Do(context.Background(), w.Exchange)
				if err != nil || !maps.Equal(harness.ASMState(res.FilterState), v.want(w)) || res.ForwardedResponseBody != nil {
					t.Fatalf("timed host: filter state %v, %d bytes collected (err %v)", res.FilterState, len(res.ForwardedResponseBody), err)
				}
			})
		}
	}
}

// forwardedUnchanged reports whether both bodies went on byte for byte.
func forwardedUnchanged(res *host.Result, ex *host.Exchange) bool {
	return bytes.Equal(res.ForwardedRequestBody, bytes.Join(ex.RequestBody, nil)) &&
		bytes.Equal(res.ForwardedResponseBody, bytes.Join(ex.ResponseBody, nil))
}
