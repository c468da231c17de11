package e2e

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// pair is a recorded stream with stream_options.include_usage and the same
// completion as the provider streams it without.
type pair struct {
	fixture.Case
	with, without []byte
}

func loadPair(t *testing.T, name string) pair {
	root, _ := fixture.Root()
	dir := filepath.Join(root, "testdata", "usage_injection", name)
	var p pair
	read := func(f string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err := json.Unmarshal(read("case.json"), &p.Case); err != nil {
		t.Fatal(err)
	}
	p.RequestBody, p.with, p.without = read("request.json"), read("with_usage.sse"), read("without_usage.sse")
	return p
}

func TestTransparentStreamUsage(t *testing.T) {
	opts := replay.Options(envoy)
	opts.PluginConfig = []byte(`{"inject_stream_usage": true}`)
	opts.ObserveOnly = false
	h := newHost(t, opts)
	for _, name := range []string{"openai_chat", "openai_completions", "dashscope_compatible_chat"} {
		t.Run(name, func(t *testing.T) {
			p := loadPair(t, name)
			rng := rand.New(rand.NewSource(int64(len(p.with))))
			for i := 0; i < 20; i++ {
				c := p.Case
				c.ResponseBody = p.with // what the provider sends once usage is asked for
				ex := replay.Exchange(c, rng, 1+rng.Intn(300))
				res, err := h.Do(t.Context(), ex)
				if err != nil {
					t.Fatal(err)
				}
				var sent struct {
					StreamOptions struct {
						IncludeUsage bool `json:"include_usage"`
					} `json:"stream_options"`
				}
				if err := json.Unmarshal(res.ForwardedRequestBody, &sent); err != nil || !sent.StreamOptions.IncludeUsage {
					t.Fatalf("forwarded request without include_usage: %s (%v)", res.ForwardedRequestBody, err)
				}
				if string(res.ForwardedResponseBody) != string(p.without) {
					t.Fatalf("split %d: the client got\n%s\nwant\n%s", i, res.ForwardedResponseBody, p.without)
				}
				want := p.Expect.FilterState()
				for _, k := range []string{fixture.StatePromptTokens, fixture.StateCompletionTokens, fixture.StateRequestModel} {
					if res.FilterState[k] != want[k] {
						t.Fatalf("%s = %q, want %q", k, res.FilterState[k], want[k])
					}
				}
			}
		})
	}
}

// A client that asked for usage itself gets the stream untouched.
func TestAskedUsageIsNotRemoved(t *testing.T) {
	opts := replay.Options(envoy)
	opts.PluginConfig = []byte(`{"inject_stream_usage": true}`)
	opts.ObserveOnly = false
	h := newHost(t, opts)
	p := loadPair(t, "openai_chat")
	c := p.Case
	c.RequestBody = []byte(strings.Replace(string(p.RequestBody), `"stream": true`, `"stream": true, "stream_options": {"include_usage": true}`, 1))
	if string(c.RequestBody) == string(p.RequestBody) {
		t.Fatal("request edit did not apply")
	}
	c.ResponseBody = p.with
	ex := replay.Exchange(c, rand.New(rand.NewSource(2)), 100)
	res, err := h.Do(t.Context(), ex)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.ForwardedRequestBody) != string(c.RequestBody) || string(res.ForwardedResponseBody) != string(p.with) {
		t.Fatalf("changed a stream whose client asked for usage")
	}
	if got := counters(t, h.Prometheus(), map[string]string{"llmproxy_rewrite": "applied"}); !reflect.DeepEqual(got, map[string]float64{}) {
		t.Fatalf("rewrites %v", got)
	}
}
