// Package soak plays many mixed exchanges through one instance of the built
// plugin.wasm and checks that linear memory stays flat and that the VM never
// breaks Envoy's restricted-callback rules. `make soak` sets
// LLMPROXY_SOAK=1000000.
package soak

import (
	"context"
	"fmt"
	"maps"
	"math/rand"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/llmproxy/llmproxy/e2e/harness"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// warmUp is how many exchanges may grow linear memory. A stream now
// allocates about 1 KiB of Go heap, so the heap reaches its size only after
// several collections, some 10k to 30k exchanges into a run depending on
// the mix.
const warmUp = 50_000

// checkpoints are where linear memory is reported.
var checkpoints = []int{10_000, warmUp, 100_000, 1_000_000}

func exchanges(t *testing.T) int {
	s := os.Getenv("LLMPROXY_SOAK")
	if s == "" {
		// Kept out of `make test`: under CPU starvation one VM of the two
		// sometimes grows (issue 5's open finding), so it would fail CI at
		// random rather than on a change. `make soak` runs it.
		t.Skip("set LLMPROXY_SOAK to a number of exchanges (make soak)")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= warmUp {
		t.Fatalf("LLMPROXY_SOAK=%q: want a number of exchanges above %d", s, warmUp)
	}
	return n
}

func TestSoak(t *testing.T) {
	n := exchanges(t)
	ctx := context.Background()
	mod, envoy, err := harness.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := fixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	// Envoy before cpp-host #533 fails poll_oneoff: a GC that sleeps
	// anywhere then aborts the VM, not only inside the allocator.
	for _, poll := range []host.PollOneoff{host.PollOneoffENOSYS, host.PollOneoffNoEvents} {
		t.Run(fmt.Sprintf("poll_oneoff=%d", poll), func(t *testing.T) {
			t.Parallel()
			opts := replay.Options(envoy)
			opts.PollOneoff = poll
			h, err := host.New(ctx, mod, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close(ctx)
			soak(t, h, cases, n)
		})
	}
}

// soak runs n exchanges, each a recorded case or plain web traffic, bodies
// cut at random, and checks every result.
func soak(t *testing.T, h *host.Host, cases []fixture.Case, n int) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(int64(n)))
	pages := map[int]uint32{}
	for i := 1; i <= n; i++ {
		ex, want := web, map[string]string{}
		if k := rng.Intn(len(cases) + 1); k < len(cases) {
			ex, want = replay.Exchange(cases[k], rng, 1+rng.Intn(4096)), cases[k].Expect.FilterState()
		}
		res, err := h.Do(ctx, ex)
		if err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		if got, want := harness.ASMState(res.FilterState), harness.ASMState(want); !maps.Equal(got, want) {
			t.Fatalf("exchange %d (%s): filter state %v, want %v", i, ex.RequestHeaders, got, want)
		}
		if i == n || slices.Contains(checkpoints, i) {
			pages[i] = h.MemoryPages()
		}
	}
	for _, c := range slices.Sorted(maps.Keys(pages)) {
		t.Logf("linear memory after %d exchanges: %d pages (%d KiB)", c, pages[c], pages[c]*64)
	}
	if v := h.Violations(); len(v) > 0 {
		t.Fatalf("forbidden host calls: %v", v)
	}
	if pages[n] != pages[warmUp] {
		t.Fatalf("linear memory grew after warm-up: %d pages at %d exchanges, %d at %d", pages[warmUp], warmUp, pages[n], n)
	}
	t.Logf("host calls: %v", h.HostCalls())
}

// web is traffic that is not an LLM call.
var web = host.Exchange{
	ClusterName:     "outbound|80||web",
	RequestHeaders:  [][2]string{{":method", "GET"}, {":path", "/index.html"}, {":authority", "web"}},
	ResponseHeaders: [][2]string{{":status", "200"}, {"content-type", "text/html"}},
	ResponseBody:    [][]byte{[]byte("<html></html>")},
}
