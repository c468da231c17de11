package bench

import (
	"context"
	"runtime"
	"testing"

	"github.com/llmproxy/llmproxy/e2e/bench/memhost"
	"github.com/llmproxy/llmproxy/e2e/bench/workload"
	"github.com/llmproxy/llmproxy/plugin/api"
	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// nativeRetained holds several streams just before their last response
// chunk and measures the heap they keep, per stream. The root is fresh and
// the rings kept for reuse are dropped, so nothing a stream holds was
// allocated before the measurement began.
func nativeRetained(v *variant, h *memhost.Host, w *workload.Workload) float64 {
	root := v.native()
	if err := root.Configure(h, []byte(envoy.PluginConfig)); err != nil {
		panic(err)
	}
	api.DropFreeTails()
	ex := &w.Exchange
	k := int(max(1, min(64, (64<<20)/w.Bytes())))
	last := memhost.Steps(ex) - 2 // the last response chunk
	streams := make([]proxy.HTTP, k)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range streams {
		streams[i] = root.NewHTTP()
		h.Play(streams[i], ex, 0, last)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	for _, s := range streams {
		h.Play(s, ex, last, memhost.Steps(ex))
	}
	return max(0, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))) / float64(k)
}

// wasmRetained is the linear memory one exchange of w adds to a fresh VM
// warmed up by a small exchange. Linear memory never shrinks, so this is
// the most the stream needed at once, rounded up to 64 KiB pages.
func wasmRetained(tb testing.TB, v *variant, w *workload.Workload) float64 {
	tb.Helper()
	h := v.newHost(tb, true)
	ctx := context.Background()
	if _, err := h.Do(ctx, workloads[0].Exchange); err != nil {
		tb.Fatal(err)
	}
	before := h.MemoryPages()
	if _, err := h.Do(ctx, w.Exchange); err != nil {
		tb.Fatal(err)
	}
	return float64(h.MemoryPages()-before) * 65536
}
