package e2e

import (
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// TestGCPressureWithoutPollOneoff: Envoy up to 1.38 answers poll_oneoff
// with ENOSYS, and Go's runtime throws if it ever needs it (golang/go
// #78513). A few seconds of mixed traffic with the collector running all
// the time (GOGC=1): every recorded case, gzip and streams among them,
// the seed routing rewrite, and stream usage injection. No trap, no
// forbidden host call, and poll_oneoff never called.
func TestGCPressureWithoutPollOneoff(t *testing.T) {
	opts := replay.Options(envoy)
	opts.PluginConfig = []byte(strings.Replace(seedRouting, `"providers"`, `"inject_stream_usage": true, "providers"`, 1))
	opts.ObserveOnly = false // routing and injection buffer request bodies
	opts.Env = map[string]string{"DASHSCOPE_API_KEY": "sk-test-123", "GOGC": "1"}
	opts.PollOneoff = host.PollOneoffENOSYS
	h := newHost(t, opts)

	seed := caseNamed(t, "dashscope_compatible/seed_qwen_turbo")
	inject := loadPair(t, "openai_chat")
	inject.ResponseBody = inject.with
	rng := rand.New(rand.NewSource(1))
	kinds := map[string]int{}
	deadline := time.Now().Add(3 * time.Second)
	for n := 0; time.Now().Before(deadline) || n < 200; n++ {
		var ex host.Exchange
		switch k := rng.Intn(len(cases) + 2); {
		case k < len(cases):
			ex = replay.Exchange(cases[k], rng, 1+rng.Intn(512))
			kinds[cases[k].Name]++
		case k == len(cases):
			ex = seedRequest(`{"messages":[{"role":"user","content":"hi"}]}`)
			ex.ResponseBody = [][]byte{seed.ResponseBody}
			kinds["routing"]++
		default:
			ex = replay.Exchange(inject.Case, rng, 1+rng.Intn(300))
			kinds["injection"]++
		}
		res, err := h.Do(t.Context(), ex)
		if err != nil {
			t.Fatalf("exchange %d: %v", n, err)
		}
		if _, ok := res.FilterState[fixture.StateUsageStatus]; !ok {
			t.Fatalf("exchange %d (%v): no usage_status", n, ex.RequestHeaders)
		}
	}
	calls := h.HostCalls()
	if n := calls["wasi_snapshot_preview1.poll_oneoff"]; n != 0 {
		t.Fatalf("poll_oneoff called %d times", n)
	}
	exchanges := 0
	for _, n := range kinds {
		exchanges += n
	}
	t.Logf("%d exchanges (%d routed, %d injected, %d kinds), %d pages, poll_oneoff calls: 0",
		exchanges, kinds["routing"], kinds["injection"], len(kinds), h.MemoryPages())
	for _, want := range []string{"compressed/openai_stream_gzip", "compressed/openai_chat_gzip", "routing", "injection"} {
		if kinds[want] == 0 {
			t.Errorf("the workload had no %s exchange", want)
		}
	}
}
