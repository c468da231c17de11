package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// observeHost is envoy.yaml's host with a different plugin configuration.
func observeHost(t *testing.T, config string) *host.Host {
	opts := replay.Options(envoy)
	opts.PluginConfig = []byte(config)
	return newHost(t, opts)
}

// series parses Prometheus text into name{labels} → value, histograms as
// their sample count.
func series(t *testing.T, text string) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("not Prometheus text: %v", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := name + "{" + strings.Join(labels, ",") + "}"
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key] = float64(m.GetHistogram().GetSampleCount())
				out[key+"sum"] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// find sums the series of a metric whose labels include all of want.
func find(s map[string]float64, metric string, want ...string) float64 {
	return sumOf(s, metric, "", want)
}

// findSum sums the histograms' sample sums likewise.
func findSum(s map[string]float64, metric string, want ...string) float64 {
	return sumOf(s, metric, "sum", want)
}

func sumOf(s map[string]float64, metric, suffix string, want []string) float64 {
	total := 0.0
	for key, v := range s {
		if suffix != "" && !strings.HasSuffix(key, "}"+suffix) || suffix == "" && !strings.HasSuffix(key, "}") {
			continue
		}
		name, labels, _ := strings.Cut(strings.TrimSuffix(key, suffix), "{")
		if name != metric {
			continue
		}
		all := true
		for _, w := range want {
			if !strings.Contains(","+labels, ","+w+",") && !strings.Contains(","+labels, ","+w+"}") {
				all = false
			}
		}
		if all {
			total += v
		}
	}
	return total
}

// TestErrorTypesInWasm: every recorded error is counted under its type.
func TestErrorTypesInWasm(t *testing.T) {
	h := newHost(t, replay.Options(envoy))
	want := map[string]float64{}
	rng := rand.New(rand.NewSource(3))
	for _, c := range cases {
		if c.Expect.ErrorType == "" {
			continue
		}
		res := do(t, h, replay.Exchange(c, rng, 1+rng.Intn(300)))
		if got := res.FilterState[fixture.StateErrorType]; got != c.Expect.ErrorType {
			t.Errorf("%s: error_type %q, want %q", c.Name, got, c.Expect.ErrorType)
		}
		want[c.Expect.ErrorType]++
	}
	s := series(t, h.Prometheus())
	for typ, n := range want {
		if got := find(s, "llmproxy_requests_total", "llmproxy_outcome=error", "llmproxy_error_type="+typ); got != n {
			t.Errorf("requests with error type %s: %v, want %v", typ, got, n)
		}
	}
	if len(want) < 3 {
		t.Fatalf("only %d error types among the fixtures", len(want))
	}
}

// TestParamsInWasm: the request parameters of each API reach the filter
// state through plugin.wasm, bodies cut at random.
func TestParamsInWasm(t *testing.T) {
	root, _ := fixture.Root()
	b, err := os.ReadFile(filepath.Join(root, "testdata", "params", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pcs []struct {
		Name, API, Path, Raw string
		Want                 map[string]string
	}
	if err := json.Unmarshal(b, &pcs); err != nil {
		t.Fatal(err)
	}
	h := observeHost(t, `{"request_parameters": true}`)
	off := newHost(t, replay.Options(envoy))
	rng := rand.New(rand.NewSource(4))
	for _, pc := range pcs {
		t.Run(pc.Name, func(t *testing.T) {
			for i := 0; i < 10; i++ {
				body := []byte(pc.Raw)
				ex := host.Exchange{
					ClusterName: "llm_upstream",
					RequestHeaders: [][2]string{{":method", "POST"}, {":path", pc.Path}, {":authority", "llm.example"},
						{":scheme", "https"}, {"content-type", "application/json"}},
					RequestBody:     fixture.Split(body, fixture.RandomCuts(rng, len(body), 1+rng.Intn(40))),
					ResponseHeaders: [][2]string{{":status", "200"}, {"content-type", "application/json"}},
					ResponseBody:    [][]byte{[]byte("{}")},
				}
				got := map[string]string{}
				for k, v := range do(t, h, ex).FilterState {
					if p, ok := strings.CutPrefix(k, "wasm.asm.llmproxy.request_"); ok && p != "model" &&
						!strings.HasSuffix(p, "_tokens") || k == "wasm.asm.llmproxy.request_max_tokens" {
						got[strings.TrimPrefix(k, "wasm.asm.llmproxy.request_")] = v
					}
				}
				if !reflect.DeepEqual(got, pc.Want) && !(len(got) == 0 && len(pc.Want) == 0) {
					t.Fatalf("split %d: %v, want %v", i, got, pc.Want)
				}
				for k := range do(t, off, ex).FilterState {
					if strings.HasSuffix(k, "_temperature") || strings.HasSuffix(k, "_tools") {
						t.Fatalf("%s published without request_parameters", k)
					}
				}
			}
		})
	}
}

// TestCostInWasm prices one OpenAI call and one Anthropic call with cache
// reads and writes by examples/prices.json, computed here by hand.
func TestCostInWasm(t *testing.T) {
	root, _ := fixture.Root()
	prices, err := os.ReadFile(filepath.Join(root, "examples", "prices.json"))
	if err != nil {
		t.Fatal(err)
	}
	h := observeHost(t, string(prices))
	for _, tc := range []struct {
		name, want string
		micros     float64
	}{
		// gpt-4o-mini-2024-07-18 at gpt-4o-mini*: 0.15 in, 0.6 out per 1M:
		// 28 × 0.15 + 31 × 0.6 = 4.2 + 18.6 = 22.8 µ$ → 23.
		{"openai/chat_json", "0.000023", 23},
		// claude-sonnet-4-5-20250929 at claude-sonnet-4*: 3 in, 15 out,
		// 0.3 cache read, 3.75 cache write: 3 × 3 + 1111 × 0.3 + 418 × 3.75 +
		// 33 × 15 = 9 + 333.3 + 1567.5 + 495 = 2404.8 µ$ → 2405.
		{"anthropic/json", "0.002405", 2405},
	} {
		c := caseNamed(t, tc.name)
		rng := rand.New(rand.NewSource(5))
		for i := 0; i < 10; i++ {
			res := do(t, h, replay.Exchange(c, rng, 1+rng.Intn(200)))
			if got := res.FilterState["wasm.asm.llmproxy.cost"]; got != tc.want {
				t.Fatalf("%s: cost %q, want %q", tc.name, got, tc.want)
			}
			if got := res.FilterState["wasm.asm.llmproxy.cost_currency"]; got != "USD" {
				t.Fatalf("%s: currency %q", tc.name, got)
			}
		}
		s := series(t, h.Prometheus())
		if got := find(s, "llmproxy_cost_micros_total", "llmproxy_model="+c.Expect.RequestModel, "llmproxy_currency=USD"); got != 10*tc.micros {
			t.Fatalf("%s: llmproxy_cost_micros_total %v, want %v", tc.name, got, 10*tc.micros)
		}
	}
	// A model the table does not price: no cost, counted as unpriced.
	c := caseNamed(t, "ollama/chat_stream")
	res := do(t, h, replay.Exchange(c, nil, 0))
	if _, ok := res.FilterState["wasm.asm.llmproxy.cost"]; ok {
		t.Fatal("an unpriced model got a cost")
	}
	if got := find(series(t, h.Prometheus()), "llmproxy_cost_unpriced_total", "llmproxy_model=llama3.2"); got != 1 {
		t.Fatalf("unpriced %v", got)
	}
}

// TestConsumerInWasm: the consumer from a header or the API key's
// fingerprint, in filter state and, capped, as a counter tag.
func TestConsumerInWasm(t *testing.T) {
	c := caseNamed(t, "openai/chat_json")
	withHeaders := func(hs ...[2]string) host.Exchange {
		ex := replay.Exchange(c, rand.New(rand.NewSource(6)), 64)
		ex.RequestHeaders = append(ex.RequestHeaders, hs...)
		return ex
	}
	h := observeHost(t, `{"consumer": {"header": "x-tenant"}, "consumer_label": true, "max_consumer_labels": 2}`)
	for _, tenant := range []string{"team-a", "team-b", "team-c", "team-a"} {
		res := do(t, h, withHeaders([2]string{"x-tenant", tenant}))
		if got := res.FilterState["wasm.asm.llmproxy.consumer"]; got != tenant {
			t.Fatalf("consumer %q, want %q", got, tenant)
		}
	}
	s := series(t, h.Prometheus())
	for consumer, n := range map[string]float64{"team-a": 2 * 28, "team-b": 28, "other": 28} {
		if got := find(s, "asm_llm_proxy_prompt_tokens", "llmproxy_consumer="+consumer); got != n {
			t.Errorf("prompt tokens of %s: %v, want %v", consumer, got, n)
		}
	}
	if got := find(s, "llmproxy_consumer_label_overflow_total"); got != 1 {
		t.Errorf("consumer overflow %v", got)
	}

	// The fingerprint is the first 12 hex digits of SHA-256 of the key:
	// printf %s sk-proj-abc | sha256sum → 7b0a3ca9d2bb…
	fp := observeHost(t, `{"consumer": {"api_key_fingerprint": true}}`)
	for _, hdr := range [][2]string{{"authorization", "Bearer sk-proj-abc"}, {"x-api-key", "sk-proj-abc"}} {
		res := do(t, fp, withHeaders(hdr))
		if got := res.FilterState["wasm.asm.llmproxy.consumer"]; got != fingerprint("sk-proj-abc") {
			t.Fatalf("%s: consumer %q", hdr[0], got)
		}
		for k, v := range res.FilterState {
			if strings.Contains(v, "sk-proj") {
				t.Fatalf("the key leaked into %s", k)
			}
		}
	}
	if strings.Contains(fp.Prometheus(), "llmproxy_consumer") {
		t.Fatal("consumer tag without consumer_label")
	}
}

// TestGenAIInWasm: with metrics ["asm", "gen_ai"], every family's calls
// show in the GenAI histograms under the conventions' provider and
// operation names, with exact token sums.
func TestGenAIInWasm(t *testing.T) {
	h := observeHost(t, `{"metrics": ["asm", "gen_ai"]}`)
	type key struct{ provider, op, reqModel string }
	input := map[key]float64{}
	rng := rand.New(rand.NewSource(7))
	for _, c := range cases {
		do(t, h, replay.Exchange(c, rng, 1+rng.Intn(300)))
		if c.Expect.PromptTokens != nil { // errors too: the conventions record what usage there was
			input[key{genAIProvider(c), genAIOperation(c), c.Expect.RequestModel}] += float64(*c.Expect.PromptTokens)
		}
	}
	s := series(t, h.Prometheus())
	for k, sum := range input {
		labels := []string{"gen_ai_token_type=input", "gen_ai_provider_name=" + k.provider,
			"gen_ai_operation_name=" + k.op, "gen_ai_request_model=" + k.reqModel}
		if got := findSum(s, "gen_ai_client_token_usage", labels...); got != sum {
			t.Errorf("%v: input token sum %v, want %v", k, got, sum)
		}
	}
	if find(s, "gen_ai_client_operation_duration") == 0 || find(s, "gen_ai_client_operation_time_to_first_chunk") == 0 {
		t.Error("no duration or time-to-first-chunk samples")
	}
	if find(s, "gen_ai_client_operation_duration", "error_type=auth") == 0 {
		t.Error("no failed call with error_type")
	}
	// The buckets are envoy.yaml's histogram_bucket_settings, the ones the
	// conventions recommend, not Envoy's defaults.
	prom := h.Prometheus()
	if !regexp.MustCompile(`(?m)^gen_ai_client_token_usage_bucket\{gen_ai_token_type="input",.*le="67108864"\} [1-9]`).MatchString(prom) ||
		!regexp.MustCompile(`(?m)^gen_ai_client_operation_duration_bucket\{.*le="81920"\} [1-9]`).MatchString(prom) {
		t.Error("the GenAI histograms do not have the configured buckets")
	}
}

// genAIProvider is gen_ai.provider.name as the conventions list it (our
// own names for DashScope and Ollama), for each host the fixtures were
// recorded against; an OpenAI-compatible server the conventions do not
// name speaks the openai API.
func genAIProvider(c fixture.Case) string {
	p, ok := map[string]string{
		"api.openai.com":                             "openai",
		"myres.openai.azure.com":                     "azure.ai.openai",
		"api.anthropic.com":                          "anthropic",
		"generativelanguage.googleapis.com":          "gcp.gemini",
		"us-central1-aiplatform.googleapis.com":      "gcp.vertex_ai",
		"bedrock-runtime.us-east-1.amazonaws.com":    "aws.bedrock",
		"bedrock-runtime.eu-central-1.amazonaws.com": "aws.bedrock",
		"dashscope.aliyuncs.com":                     "dashscope",
		"localhost:11434":                            "ollama",
		"api.deepseek.com":                           "deepseek",
		"api.moonshot.cn":                            "openai",
		"vllm.default.svc.cluster.local:8000":        "openai",
		"sglang.default.svc.cluster.local:30000":     "openai",
	}[c.Authority]
	if !ok {
		panic("no expected provider for " + c.Authority + " (" + c.Name + ")")
	}
	return p
}

// genAIOperation is gen_ai.operation.name for a fixture's path.
func genAIOperation(c fixture.Case) string {
	path, _, _ := strings.Cut(c.Path, "?")
	switch {
	case strings.HasSuffix(path, "/embeddings") || path == "/api/embed":
		return "embeddings"
	case c.Expect.API == "gemini":
		return "generate_content"
	case strings.HasSuffix(path, "/v1/completions") || path == "/api/generate":
		return "text_completion"
	}
	return "chat"
}

func fingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:12]
}
