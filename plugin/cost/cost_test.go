package cost

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/plugin/usage"
)

func count(n uint64) usage.Count { return usage.Count{N: n, Set: true} }

func price(t *testing.T, js string) *Price {
	t.Helper()
	var p Price
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		t.Fatal(err)
	}
	if err := p.Check("prices[0]"); err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestMicros: each family's record, in usage.Record's canonical form, priced
// by hand. A rate per million tokens is micro-units per token, so the cost
// in micro-units is tokens × rate.
func TestMicros(t *testing.T) {
	for _, tc := range []struct {
		name  string
		price string
		rec   usage.Record
		want  uint64
		str   string
	}{
		{
			// OpenAI: prompt_tokens 1000 of which cached_tokens 400,
			// completion_tokens 200 of which reasoning 50 (priced as output).
			// 600×2.5 + 400×1.25 + 200×10 = 1500 + 500 + 2000.
			name:  "openai cached",
			price: `{"model":"gpt-4o*","input":2.5,"output":10,"cached_input":1.25}`,
			rec:   usage.Record{Prompt: count(1000), CachedInput: count(400), Completion: count(200), Reasoning: count(50)},
			want:  4000, str: "0.004",
		},
		{
			// Anthropic: input_tokens 100, cache_read 2000, cache_creation 500,
			// output 300; the record's prompt is 2600.
			// 100×3 + 2000×0.3 + 500×3.75 + 300×15 = 300 + 600 + 1875 + 4500.
			name:  "anthropic cache read and write",
			price: `{"model":"claude-sonnet-4*","input":3,"output":15,"cached_input":0.3,"cache_write":3.75}`,
			rec: usage.Record{Prompt: count(2600), CachedInput: count(2000), CacheCreation: count(500),
				Completion: count(300)},
			want: 7275, str: "0.007275",
		},
		{
			// No cache rates: cache reads and writes cost the input rate.
			// 2600×3 + 300×15 = 7800 + 4500.
			name:  "anthropic without cache rates",
			price: `{"model":"claude-sonnet-4*","input":3,"output":15}`,
			rec: usage.Record{Prompt: count(2600), CachedInput: count(2000), CacheCreation: count(500),
				Completion: count(300)},
			want: 12300, str: "0.0123",
		},
		{
			// Gemini: completion includes 40 thought tokens, priced apart at
			// 3.5; 7×0.3 + 60×2.5 + 40×3.5 = 2.1 + 150 + 140 = 292.1 → 292.
			name:  "gemini reasoning priced apart",
			price: `{"model":"gemini-2.5-flash","input":0.3,"output":2.5,"reasoning":3.5}`,
			rec:   usage.Record{Prompt: count(7), Completion: count(100), Reasoning: count(40)},
			want:  292, str: "0.000292",
		},
		{
			// Rounded once, half up: 3×0.5 = 1.5 → 2.
			name:  "half up",
			price: `{"model":"m","input":0.5,"output":0}`,
			rec:   usage.Record{Prompt: count(3)},
			want:  2, str: "0.000002",
		},
		{
			// DeepSeek in CNY: 1e6 cache-hit tokens at 0.2, 1e6 misses at 2,
			// 1e6 out at 3 = 5.2 units.
			name:  "deepseek cny",
			price: `{"model":"deepseek-chat","input":2,"output":3,"cached_input":0.2,"currency":"CNY"}`,
			rec:   usage.Record{Prompt: count(2_000_000), CachedInput: count(1_000_000), Completion: count(1_000_000)},
			want:  5_200_000, str: "5.2",
		},
		{
			// Sub-micro rates add up exactly: 1e9 tokens at 0.000001.
			name:  "smallest rate",
			price: `{"model":"m","input":0.000001,"output":0}`,
			rec:   usage.Record{Prompt: count(1_000_000_000)},
			want:  1000, str: "0.001",
		},
		{
			// Nothing reported: nothing charged.
			name: "no usage", price: `{"model":"m","input":1,"output":1}`, rec: usage.Record{}, want: 0, str: "0",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := price(t, tc.price)
			got := p.Micros(&tc.rec)
			if got != tc.want || Format(got) != tc.str {
				t.Fatalf("Micros = %d (%s), want %d (%s)", got, Format(got), tc.want, tc.str)
			}
		})
	}
}

func TestHugeCountsSaturate(t *testing.T) {
	p := price(t, `{"model":"m","input":1000000,"output":1000000}`)
	r := usage.Record{Prompt: count(1<<63 - 1), Completion: count(1<<63 - 1)}
	if got := p.Micros(&r); got != 1<<64-1 {
		t.Fatalf("got %d", got)
	}
}

func TestRates(t *testing.T) {
	for in, want := range map[string]string{
		`2.5`: "", `0.000001`: "", `10`: "", `0`: "", `1000000`: "",
		`1e-3`: "plain decimal", `-1`: "plain decimal", `0.0000001`: "at most 6 decimals", `"2.5"`: "plain decimal",
		`1.`: "invalid character", `.5`: "invalid character", `1000001`: "at most 1000000",
	} {
		var r Rate
		err := json.Unmarshal([]byte(in), &r)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: err %v, want %q", in, err, want)
		}
	}
}

func TestLookup(t *testing.T) {
	var prices []Price
	if err := json.Unmarshal([]byte(`[
		{"model":"gpt-4o*","input":2.5,"output":10},
		{"model":"gpt-4o-mini*","input":0.15,"output":0.6},
		{"model":"gpt-4o-2024-05-13","input":5,"output":15},
		{"model":"gpt-4o*","api":"azure_openai","input":2.75,"output":11},
		{"model":"qwen-plus","destination":"dashscope.aliyuncs.com","input":0.8,"output":2,"currency":"CNY"}
	]`), &prices); err != nil {
		t.Fatal(err)
	}
	for i := range prices {
		if err := prices[i].Check("prices"); err != nil {
			t.Fatal(err)
		}
	}
	tb := NewTable(prices)
	for _, tc := range []struct {
		model, api, dest string
		want             string // input rate, or "" for none
	}{
		{"gpt-4o-2024-08-06", "openai", "api.openai.com", "2.5"},
		{"gpt-4o-mini-2024-07-18", "openai", "api.openai.com", "0.15"},
		{"gpt-4o-2024-05-13", "openai", "", "5"},
		{"gpt-4o-2024-08-06", "azure_openai", "x.openai.azure.com", "2.75"},
		{"qwen-plus", "openai", "dashscope.aliyuncs.com", "0.8"},
		{"qwen-plus", "openai", "other.example", ""},
		{"gpt-4", "openai", "", ""},
		{"", "openai", "", ""},
	} {
		p := tb.Lookup(tc.model, tc.api, tc.dest)
		got := ""
		if p != nil {
			got = rateString(p.Input)
		}
		if got != tc.want {
			t.Errorf("Lookup(%q, %q, %q) input %q, want %q", tc.model, tc.api, tc.dest, got, tc.want)
		}
	}
	if c := tb.Currencies(); len(c) != 2 || c[0] != "USD" || c[1] != "CNY" {
		t.Errorf("currencies %v", c)
	}
}

func rateString(r Rate) string { return Format(r.picos) }

func TestCheck(t *testing.T) {
	for js, want := range map[string]string{
		`{"input":1,"output":1}`:                              `"prices[3].model": required`,
		`{"model":"a*b","input":1,"output":1}`:                `"prices[3].model": '*' may only end`,
		`{"model":"m","output":1}`:                            `"prices[3].input": required`,
		`{"model":"m","input":1}`:                             `"prices[3].output": required`,
		`{"model":"m","input":1,"output":1,"currency":"usd"}`: `"prices[3].currency"`,
	} {
		var p Price
		if err := json.Unmarshal([]byte(js), &p); err != nil {
			t.Fatal(err)
		}
		if err := p.Check("prices[3]"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", js, err, want)
		}
	}
}
