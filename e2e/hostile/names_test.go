package hostile

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// Client-chosen model names reach filter state, which access logs print,
// and the llmproxy_model tag, which is cut out of the stat name at '|'.
func TestHostileModelNames(t *testing.T) {
	for name, m := range map[string]string{
		"pipe":                  "gpt|4o|llmproxy_model=evil",
		"newline":               "gpt-4o\nINJECTED log line\r\n",
		"control bytes":         "gpt\x00\x1b[31m\x7f",
		"quotes":                `gpt-4o","request_model":"forged`,
		"10 KB":                 strings.Repeat("m", 10<<10),
		"10 KB of 3-byte runes": strings.Repeat("模", 10<<10/3),
		"invalid UTF-8":         "gpt-\xff\xfe-4o\xc3",
		"pipes at cut":          strings.Repeat("a", 127) + "|||" + strings.Repeat("b", 300),
	} {
		t.Run(name, func(t *testing.T) {
			h, res := run(t, exchange(chatRequest(m), "application/json", chatResponse("9", "9")), want{state: nil})
			if p, c := res.FilterState[fixture.StatePromptTokens], res.FilterState[fixture.StateCompletionTokens]; p != "9" || c != "9" {
				t.Errorf("tokens %q/%q, want 9/9", p, c)
			}
			v, ok := res.FilterState[fixture.StateRequestModel]
			if !ok {
				t.Fatalf("no request model in filter state %q", res.FilterState)
			}
			checkValue(t, "filter-state model", v, m, maxValueLength)
			tag := modelTag(t, h)
			checkValue(t, "llmproxy_model tag", tag, m, maxTagLength)
			if strings.Contains(tag, "|") {
				t.Errorf("llmproxy_model tag %q contains '|'", tag)
			}
			prometheusParses(t, h)
		})
	}
}

// checkValue: at most max bytes, no control bytes, valid UTF-8, and, where
// the sent name had nothing to replace, its longest prefix that fits.
func checkValue(t *testing.T, what, v, sent string, max int) {
	t.Helper()
	if len(v) > max || v == "" {
		t.Errorf("%s is %d bytes, want 1..%d", what, len(v), max)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			t.Errorf("%s %q contains control byte %#x", what, v, r)
			break
		}
	}
	validUTF8(t, what, v)
	clean := utf8.ValidString(sent) && !strings.ContainsFunc(sent, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '|' })
	if want := cut(sent, max); clean && v != want {
		t.Errorf("%s is %q (%d bytes), want the first %d bytes of the sent name", what, v, len(v), len(want))
	}
}

// cut is the longest prefix of s within max bytes that ends on a rune.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// modelTag is the llmproxy_model tag of the one prompt-token counter.
func modelTag(t *testing.T, h *host.Host) string {
	t.Helper()
	var found []host.Stat
	for _, s := range h.Stats() {
		if strings.HasSuffix(s.TagExtractedName, "asm_llm_proxy_prompt_tokens") {
			found = append(found, s)
		}
	}
	// The warm-up call counted under gpt-4o-mini; the hostile one is the other.
	for _, s := range found {
		if strings.Count(s.Name, "|") != 4 {
			t.Errorf("stat name %q has %d '|', want 4 tag segments", s.Name, strings.Count(s.Name, "|"))
		}
		for _, kv := range s.Tags {
			if kv[0] == "llmproxy_model" && kv[1] != "gpt-4o-mini" {
				return kv[1]
			}
		}
	}
	t.Fatalf("no prompt-token counter for the hostile model in %v", found)
	return ""
}

// prometheusParses checks that /stats/prometheus stays scrapable: one bad
// label value fails the whole scrape.
func prometheusParses(t *testing.T, h *host.Host) {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := p.TextToMetricFamilies(strings.NewReader(h.Prometheus())); err != nil {
		t.Errorf("/stats/prometheus does not parse: %v", err)
	}
}

// Clients choose model names, so they must not choose the number of
// series: past max_model_labels (100 by default) every model is "other".
func TestModelLabelsAreCapped(t *testing.T) {
	h, _ := run(t, exchange(chatRequest("m-0"), "application/json", chatResponse("9", "9")), want{})
	for i := 1; i < 150; i++ {
		if _, err := h.Do(context.Background(), exchange(chatRequest(fmt.Sprintf("m-%d", i)), "application/json", chatResponse("9", "9"))); err != nil {
			t.Fatal(err)
		}
	}
	labels := map[string]bool{}
	for _, s := range h.Stats() {
		for _, kv := range s.Tags {
			if kv[0] == "llmproxy_model" && strings.HasSuffix(s.TagExtractedName, "asm_llm_proxy_prompt_tokens") {
				labels[kv[1]] = true
			}
		}
	}
	if len(labels) > 101 || !labels["other"] {
		t.Fatalf("%d distinct llmproxy_model labels (other present: %v), want at most 100 and other", len(labels), labels["other"])
	}
}
