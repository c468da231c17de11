// Package hostile sends the built plugin.wasm inputs meant to hurt it, in
// the in-process host, and checks that traffic never suffers: no trap,
// Continue from every callback, bytes forwarded unchanged, linear memory
// bounded, and a log line and a filter state that say what happened.
package hostile

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/harness"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

var (
	mod   *host.Module
	envoy *envoyconfig.Config
)

func TestMain(m *testing.M) {
	var err error
	if mod, envoy, err = harness.Load(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// maxGrowth bounds the linear memory one hostile exchange may add to a warm
// VM: far below every body sent here, so nothing was held.
const maxGrowth = 16 // pages of 64 KiB

// Limits from the default configuration (README, Configuration).
const (
	maxValueLength = 256
	maxTagLength   = 128
)

// want is what a hostile exchange must leave behind.
type want struct {
	state map[string]string // the ASM filter state, exactly; nil: checked by the caller
	log   string            // a log line of the stream contains this
	reset bool              // the stream is reset after ResetAfterResponseBodyChunks
}

// run plays ex in a fresh, warmed-up VM and checks the observe-only
// contract, the memory bound and w.
func run(t *testing.T, ex host.Exchange, w want) (*host.Host, *host.Result) {
	t.Helper()
	ctx := context.Background()
	h, err := host.New(ctx, mod, replay.Options(envoy))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(ctx) })
	if _, err := h.Do(ctx, exchange(chatRequest("gpt-4o-mini"), "application/json", chatResponse("9", "9"))); err != nil {
		t.Fatal(err)
	}
	before := h.MemoryPages()
	res, err := h.Do(ctx, ex)
	if err != nil {
		t.Fatalf("trap or a callback that did not continue: %v", err)
	}
	for _, a := range res.Actions {
		if a.Action != 0 {
			t.Fatalf("%s returned action %d", a.Callback, a.Action)
		}
	}
	if v := h.Violations(); len(v) > 0 {
		t.Fatalf("forbidden host calls: %v", v)
	}
	sameBytes(t, "request", res.ForwardedRequestBody, ex.RequestBody)
	arrived := ex.ResponseBody
	if w.reset {
		arrived = arrived[:ex.ResetAfterResponseBodyChunks]
	}
	sameBytes(t, "response", res.ForwardedResponseBody, arrived)
	if grown := h.MemoryPages() - before; grown > maxGrowth {
		t.Errorf("linear memory grew by %d pages (%d KiB)", grown, grown*64)
	}
	if got := harness.ASMState(res.FilterState); w.state != nil && !maps.Equal(got, w.state) {
		t.Errorf("filter state %q, want %q", got, w.state)
	}
	if !hasLog(res.Logs, w.log) {
		t.Errorf("no log line containing %q in %q", w.log, res.Logs)
	}
	return h, res
}

func sameBytes(t *testing.T, what string, got []byte, sent [][]byte) {
	t.Helper()
	if want := bytes.Join(sent, nil); !bytes.Equal(got, want) {
		t.Fatalf("%s body changed in transit: %d bytes forwarded, %d sent", what, len(got), len(want))
	}
}

func hasLog(logs []host.LogLine, s string) bool {
	if s == "" {
		return true
	}
	for _, l := range logs {
		if strings.Contains(l.Message, s) {
			return true
		}
	}
	return false
}

const chunk = 16 << 10

// exchange is a chat completion call with bodies in 16 KiB chunks.
func exchange(req []byte, contentType string, resp []byte) host.Exchange {
	return host.Exchange{
		ClusterName: "outbound|443||api.openai.com",
		RequestHeaders: [][2]string{{":method", "POST"}, {":path", "/v1/chat/completions"},
			{":authority", "api.openai.com"}, {":scheme", "https"}, {"content-type", "application/json"}},
		RequestBody:     harness.Chunks(req, chunk),
		ResponseHeaders: [][2]string{{":status", "200"}, {"content-type", contentType}},
		ResponseBody:    harness.Chunks(resp, chunk),
	}
}

// chatRequest is a request whose model is the JSON string literal of model.
func chatRequest(model string) []byte {
	return []byte(`{"messages":[{"role":"user","content":"hi"}],"model":` + quote(model) + `}`)
}

// chatResponse is a JSON completion reporting the raw token numbers given.
func chatResponse(prompt, completion string) []byte {
	return []byte(`{"id":"c","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":` + prompt + `,"completion_tokens":` + completion + `}}`)
}

// quote writes s as a JSON string, leaving invalid UTF-8 bytes raw.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// reported is the filter state of a call that reported 9 and 9 tokens.
func reported(model string) map[string]string {
	return map[string]string{fixture.StateRequestModel: model,
		fixture.StatePromptTokens: "9", fixture.StateCompletionTokens: "9"}
}

func modelOnly(model string) map[string]string {
	return map[string]string{fixture.StateRequestModel: model}
}

// validUTF8 fails on values that would corrupt access-log and Prometheus
// output downstream.
func validUTF8(t *testing.T, what, v string) {
	t.Helper()
	if !utf8.ValidString(v) {
		t.Errorf("%s is not valid UTF-8: %q", what, v)
	}
}
