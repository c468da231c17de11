package hostile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

const sse = "text/event-stream"

// usageEvent closes a stream with usage 9/9, as OpenAI's include_usage does.
const usageEvent = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":9}}\n\ndata: [DONE]\n\n"

func contentEvent(text string) string {
	return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + text + "\"}}],\"usage\":null}\n\n"
}

func TestTruncatedStream(t *testing.T) {
	resp := strings.Repeat(contentEvent(strings.Repeat("a", 1000)), 100) + usageEvent
	ex := exchange(chatRequest("gpt-4o-mini"), sse, []byte(resp))
	ex.ResetAfterResponseBodyChunks = len(ex.ResponseBody) / 2
	run(t, ex, want{state: modelOnly("gpt-4o-mini"), log: "incomplete", reset: true})
}

func TestTruncatedJSONResponse(t *testing.T) {
	resp := chatResponse("9", "9")
	run(t, exchange(chatRequest("gpt-4o-mini"), "application/json", resp[:len(resp)/2]),
		want{state: modelOnly("gpt-4o-mini"), log: "unreadable"})
}

// A stream whose last event never ends was cut short: its usage is
// unreadable, not missing.
func TestStreamCutMidEvent(t *testing.T) {
	resp := contentEvent("hello") + usageEvent[:60]
	run(t, exchange(chatRequest("gpt-4o-mini"), sse, []byte(resp)),
		want{state: modelOnly("gpt-4o-mini"), log: "unreadable"})
}

func TestResponseEndsBeforeAnyBody(t *testing.T) {
	run(t, exchange(chatRequest("gpt-4o-mini"), "application/json", nil),
		want{state: modelOnly("gpt-4o-mini"), log: "unreadable"})
}

func TestResetBeforeResponse(t *testing.T) {
	ex := exchange(chatRequest("gpt-4o-mini"), sse, []byte(usageEvent))
	ex.ResetAfterResponseBodyChunks = 1
	ex.ResponseBody = append([][]byte{nil}, ex.ResponseBody...) // the reset comes before any byte
	run(t, ex, want{state: modelOnly("gpt-4o-mini"), log: "incomplete", reset: true})
}

// A request body that is not JSON, or ends inside its document, has no
// model; the log says so.
func TestMalformedRequestJSON(t *testing.T) {
	for _, body := range []string{`{"model":,"messages":[]}`, `{"messages":[}],"model":"x"}`, `model=gpt-4o`, "\x00\xff{"} {
		t.Run(body, func(t *testing.T) {
			run(t, exchange([]byte(body), "application/json", chatResponse("9", "9")),
				want{state: tokensOnly(), log: "request body"})
		})
	}
}

// Numbers read before a syntax error are not usage: a broken document
// reports none, and the log says it was malformed.
func TestMalformedResponseJSON(t *testing.T) {
	for _, body := range []string{`{"usage":{"prompt_tokens":9,,}}`, `{"usage":{"prompt_tokens":9}]`, `<html>502</html>`} {
		t.Run(body, func(t *testing.T) {
			run(t, exchange(chatRequest("gpt-4o-mini"), "application/json", []byte(body)),
				want{state: modelOnly("gpt-4o-mini"), log: "malformed"})
		})
	}
}

func TestMalformedStreamEvents(t *testing.T) {
	resp := "data: {\"usage\":{\"prompt_tokens\":9,,}}\n\ndata: {not json}\n\n"
	run(t, exchange(chatRequest("gpt-4o-mini"), sse, []byte(resp)),
		want{state: modelOnly("gpt-4o-mini"), log: "malformed"})
}

// Deep nesting must cost neither stack nor memory: nothing is recursive
// and skipped containers are only counted.
func TestDeeplyNestedRequest(t *testing.T) {
	for name, body := range map[string]string{
		"100k [":           strings.Repeat("[", 100_000),
		"100k { a":         strings.Repeat(`{"a":`, 100_000),
		"deep then model":  `{"messages":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `,"model":"gpt-4o-mini"}`,
		"deep model value": `{"model":` + strings.Repeat("[", 100_000) + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			state, log := tokensOnly(), "request body"
			if name == "deep then model" {
				state, log = reported("gpt-4o-mini"), ""
			}
			run(t, exchange([]byte(body), "application/json", chatResponse("9", "9")), want{state: state, log: log})
		})
	}
}

func TestDeeplyNestedResponse(t *testing.T) {
	for name, body := range map[string]string{
		"100k [":        strings.Repeat("[", 100_000),
		"deep in usage": `{"usage":{"prompt_tokens":` + strings.Repeat("[", 100_000) + `}}`,
	} {
		t.Run(name, func(t *testing.T) {
			run(t, exchange(chatRequest("gpt-4o-mini"), "application/json", []byte(body)),
				want{state: modelOnly("gpt-4o-mini"), log: "unreadable"})
		})
	}
}

func TestFiftyMegabyteRequest(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"messages":[`)
	for b.Len() < 50<<20 {
		b.WriteString(`{"role":"user","content":"` + strings.Repeat("lorem ipsum ", 800) + `"},`)
	}
	b.WriteString(`{"role":"user","content":"end"}],"model":"gpt-4o-mini"}`)
	run(t, exchange(b.Bytes(), "application/json", chatResponse("9", "9")), want{state: reported("gpt-4o-mini")})
}

func TestTenMegabyteSSELine(t *testing.T) {
	resp := contentEvent(strings.Repeat("x", 10<<20)) + usageEvent
	run(t, exchange(chatRequest("gpt-4o-mini"), sse, []byte(resp)), want{state: reported("gpt-4o-mini")})
}

func TestOneMegabyteStringValue(t *testing.T) {
	big := strings.Repeat("y", 1<<20)
	t.Run("content", func(t *testing.T) {
		resp := bytes.Replace(chatResponse("9", "9"), []byte(`"content":"ok"`), []byte(`"content":"`+big+`"`), 1)
		run(t, exchange(chatRequest("gpt-4o-mini"), "application/json", resp), want{state: reported("gpt-4o-mini")})
	})
	t.Run("model", func(t *testing.T) {
		run(t, exchange(chatRequest(big), "application/json", chatResponse("9", "9")),
			want{state: reported(big[:maxValueLength])})
	})
}

func TestInvalidUTF8InBodies(t *testing.T) {
	req := []byte(`{"messages":[{"role":"user","content":"` + "\xff\xfe\xc3(" + `"}],"model":"gpt-4o-mini"}`)
	resp := contentEvent("\xed\xa0\x80 \xf8\x88\x80\x80\x80") + usageEvent
	run(t, exchange(req, sse, []byte(resp)), want{state: reported("gpt-4o-mini")})
}

// Token counts are whole and never negative, and Envoy counters are int64:
// any other number is no usage, and the log says the usage is unreadable.
func TestTokenNumbersOutOfRange(t *testing.T) {
	for _, n := range []string{"-9", "9223372036854775808", "18446744073709551615", "99999999999999999999", "1e300", "9.5"} {
		t.Run(n, func(t *testing.T) {
			_, res := run(t, exchange(chatRequest("gpt-4o-mini"), "application/json", chatResponse(n, n)),
				want{state: modelOnly("gpt-4o-mini"), log: "unreadable"})
			if s := res.FilterState["wasm.asm.llmproxy.usage_status"]; s == "reported" {
				t.Errorf("usage_status %q for token count %s", s, n)
			}
		})
	}
}

// tokensOnly is the filter state of a call whose request model is unknown.
func tokensOnly() map[string]string {
	return map[string]string{fixture.StatePromptTokens: "9", fixture.StateCompletionTokens: "9"}
}
