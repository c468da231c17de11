package bench

import (
	"context"
	"maps"
	"runtime"
	"testing"

	"github.com/llmproxy/llmproxy/e2e/bench/memhost"
	"github.com/llmproxy/llmproxy/e2e/bench/workload"
	"github.com/llmproxy/llmproxy/e2e/harness"
)

// BenchmarkExchange runs every workload through every variant. Sub-benchmark
// names are key=value pairs, so `benchstat -col /impl` puts the variants
// side by side. Besides ns/op (one op is one exchange) it reports:
//
//	ns/exchange        the same figure, named for the summary table
//	retained-B/stream  native: heap a stream holds in flight, before its
//	                   last chunk; wasm: linear memory one stream adds to a
//	                   warm VM (pages never shrink, so this is its peak)
//	wasm-B             size of the .wasm module
func BenchmarkExchange(b *testing.B) {
	for i := range workloads {
		w := &workloads[i]
		for _, v := range variants {
			if v.runs(w) {
				b.Run("level=native/work="+w.Name+"/impl="+v.name, func(b *testing.B) { benchNative(b, v, w) })
			}
		}
	}
	for i := range workloads {
		w := &workloads[i]
		for _, v := range variants {
			if v.runs(w) {
				b.Run("level=wasm/work="+w.Name+"/impl="+v.name, func(b *testing.B) { benchWasm(b, v, w) })
			}
		}
	}
}

func benchNative(b *testing.B, v *variant, w *workload.Workload) {
	h := memhost.New(envoy.NodeMetadata)
	root := v.native()
	if err := root.Configure(h, []byte(v.pluginConfig())); err != nil {
		b.Fatal(err)
	}
	ex := &w.Exchange
	if !h.Run(root.NewHTTP(), ex) || !maps.Equal(harness.ASMState(h.State), v.want(w)) {
		b.Fatalf("filter state %v, want %v (logs %q)", h.State, v.want(w), h.Logs)
	}
	retained := nativeRetained(v, h, w)
	runtime.GC()
	b.SetBytes(w.Bytes())
	b.ReportAllocs()
	for b.Loop() {
		h.Run(root.NewHTTP(), ex)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/exchange")
	b.ReportMetric(retained, "retained-B/stream")
}

func benchWasm(b *testing.B, v *variant, w *workload.Workload) {
	_, size := v.module(b)
	retained := wasmRetained(b, v, w)
	ctx := context.Background()
	res, err := v.newHost(b, false).Do(ctx, w.Exchange)
	if err != nil || !maps.Equal(harness.ASMState(res.FilterState), v.want(w)) || !forwardedUnchanged(res, &w.Exchange) {
		b.Fatalf("filter state %v, want %v (err %v), or bodies changed", res.FilterState, v.want(w), err)
	}
	h := v.newHost(b, true)
	if _, err := h.Do(ctx, w.Exchange); err != nil { // warm-up
		b.Fatal(err)
	}
	// The checks above leave megabytes of garbage, and the previous
	// variant's VM may too: collect it now, not in this variant's time.
	runtime.GC()
	b.SetBytes(w.Bytes())
	for b.Loop() {
		if _, err := h.Do(ctx, w.Exchange); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/exchange")
	b.ReportMetric(retained, "retained-B/stream")
	b.ReportMetric(float64(size), "wasm-B")
}
