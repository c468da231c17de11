package e2e

import (
	"encoding/json"
	"math/rand"
	"testing"

	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
)

// TestResetStreamAccessLog: Envoy may write envoy.yaml's access log before
// the plugin's on_log (HTTP/3 in every version, all streams before 1.32),
// so a stream reset mid-response must already say, in filter state, what
// became of the call: not completed, the model known, no token counts.
func TestResetStreamAccessLog(t *testing.T) {
	for _, onLogFirst := range []bool{false, true} {
		opts := replay.Options(envoy)
		opts.OnLogFirst = onLogFirst
		testResetStreamAccessLog(t, newHost(t, opts))
	}
}

func testResetStreamAccessLog(t *testing.T, h *host.Host) {
	for _, name := range []string{"openai/chat_stream_usage", "anthropic/stream", "gemini/stream_sse"} {
		t.Run(name, func(t *testing.T) {
			c := caseNamed(t, name)
			ex := replay.Exchange(c, rand.New(rand.NewSource(7)), 64)
			ex.ResetAfterResponseBodyChunks = len(ex.ResponseBody) / 2
			res := do2(t, h, ex)
			if !res.Reset {
				t.Fatal("the stream was not reset")
			}
			line, err := replay.AccessLogLine(envoy, ex, res)
			if err != nil {
				t.Fatal(err)
			}
			var log map[string]any
			if err := json.Unmarshal([]byte(line), &log); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			for key, want := range map[string]any{
				"usage_status":              "incomplete",
				"request_model":             c.Expect.RequestModel,
				"api":                       c.Expect.API,
				"stream":                    "true",
				"request_prompt_tokens":     nil,
				"request_completion_tokens": nil,
				"request_total_tokens":      nil,
			} {
				if log[key] != want {
					t.Errorf("%s = %v, want %v\n%s", key, log[key], want, line)
				}
			}
		})
	}
}

// TestResetBeforeResponseAccessLog: a stream that ends before any response
// (the client left, or the upstream never answered) is logged as
// incomplete with its model, in both access-log orders; the VM lives on.
// Reading the absent response used to panic: recovered in this build, a
// VM abort under TinyGo.
func TestResetBeforeResponseAccessLog(t *testing.T) {
	for _, onLogFirst := range []bool{false, true} {
		opts := replay.Options(envoy)
		opts.OnLogFirst = onLogFirst
		h := newHost(t, opts)
		c := caseNamed(t, "openai/chat_json")
		ex := replay.Exchange(c, nil, 0)
		ex.ResetBeforeResponse = true
		res := do2(t, h, ex)
		line, err := replay.AccessLogLine(envoy, ex, res)
		if err != nil {
			t.Fatal(err)
		}
		var log map[string]any
		if err := json.Unmarshal([]byte(line), &log); err != nil {
			t.Fatal(err)
		}
		if log["usage_status"] != "incomplete" || log["request_model"] != "gpt-4o-mini" || log["request_prompt_tokens"] != nil {
			t.Fatalf("on_log first %v: %s", onLogFirst, line)
		}
		for _, l := range res.Logs {
			if l.Level == "error" {
				t.Fatalf("plugin logged %s", l.Message)
			}
		}
		do(t, h, replay.Exchange(c, nil, 0)) // the VM still serves
	}
}
