package bench

import (
	"cmp"
	"context"
	"maps"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/e2e/bench/workload"
	"github.com/llmproxy/llmproxy/e2e/harness"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
)

// BenchmarkAB times two builds of the plugin, LLMPROXY_AB_A and
// LLMPROXY_AB_B (.wasm paths), on the same workloads in one process,
// alternating A and B for LLMPROXY_AB_ROUNDS rounds on LLMPROXY_AB_WORK. This VM's speed
// drifts by tens of percent within minutes; interleaving makes the drift
// hit both builds alike, where two runs of `make bench` an hour apart
// cannot be compared. `make bench-ab BASE=<commit>` runs it.
//
// Each round's results share one name (the summary strips testing's #NN
// suffix), so that benchstat sees the rounds as samples of A and of B.
func BenchmarkAB(b *testing.B) {
	paths := map[string]string{"A": os.Getenv("LLMPROXY_AB_A"), "B": os.Getenv("LLMPROXY_AB_B")}
	if paths["A"] == "" || paths["B"] == "" {
		b.Skip("set LLMPROXY_AB_A and LLMPROXY_AB_B to two .wasm builds of the plugin")
	}
	rounds, err := strconv.Atoi(cmp.Or(os.Getenv("LLMPROXY_AB_ROUNDS"), "20"))
	if err != nil || rounds < 1 {
		b.Fatalf("LLMPROXY_AB_ROUNDS: %q", os.Getenv("LLMPROXY_AB_ROUNDS"))
	}
	var works []*workload.Workload
	for _, name := range strings.Split(cmp.Or(os.Getenv("LLMPROXY_AB_WORK"), "json2k"), ",") {
		w := findWorkload(name)
		if w == nil {
			b.Fatalf("LLMPROXY_AB_WORK: no workload %q", name)
		}
		works = append(works, w)
	}
	ctx := context.Background()
	hosts := map[string]*host.Host{}
	for _, impl := range []string{"A", "B"} {
		wasm, err := os.ReadFile(paths[impl])
		if err != nil {
			b.Fatal(err)
		}
		mod, err := host.Compile(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		opts := replay.Options(envoy)
		opts.PluginConfig = []byte(envoy.PluginConfig)
		opts.Lean = true
		h, err := host.New(ctx, mod, opts)
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close(ctx)
		// Both builds must still do the job: the contract's values, as
		// recorded, from every workload. LLMPROXY_AB_NOCHECK=1 lets an
		// experiment that cuts a part out, to see what it costs, through.
		check := os.Getenv("LLMPROXY_AB_NOCHECK") == ""
		for _, w := range works {
			res, err := h.Do(ctx, w.Exchange)
			want := harness.ASMState(w.Want)
			if err != nil || check && !maps.Equal(harness.ASMState(res.FilterState), want) {
				b.Fatalf("%s on %s: filter state %v, want %v (err %v)", impl, w.Name, res.FilterState, want, err)
			}
		}
		hosts[impl] = h
	}
	for r := 0; r < rounds; r++ {
		for _, w := range works {
			for _, impl := range []string{"A", "B"} {
				h := hosts[impl]
				b.Run("work="+w.Name+"/impl="+impl, func(b *testing.B) {
					runtime.GC()
					b.SetBytes(w.Bytes())
					for b.Loop() {
						if _, err := h.Do(ctx, w.Exchange); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

func findWorkload(name string) *workload.Workload {
	for i := range workloads {
		if workloads[i].Name == name {
			return &workloads[i]
		}
	}
	return nil
}
