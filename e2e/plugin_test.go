// Tests of the built plugin.wasm in the in-process proxy-wasm host: the same
// recorded exchanges as the native tests, delivered in chunks the way Envoy
// delivers them, read back as Envoy's access log and /stats/prometheus.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

var (
	mod   *host.Module
	envoy *envoyconfig.Config
	cases []fixture.Case
)

func TestMain(m *testing.M) {
	ctx := context.Background()
	var err error
	if mod, err = replay.LoadWasm(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	root, _ := fixture.Root()
	if envoy, err = envoyconfig.Load(filepath.Join(root, "envoy.yaml")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if cases, err = fixture.Load(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func newHost(t *testing.T, opts host.Options) *host.Host {
	t.Helper()
	h, err := host.New(context.Background(), mod, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if v := h.Violations(); len(v) > 0 {
			t.Errorf("forbidden host calls: %v", v)
		}
		h.Close(context.Background())
	})
	return h
}

func caseNamed(t *testing.T, name string) fixture.Case {
	for _, c := range cases {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no case %s", name)
	return fixture.Case{}
}

// do runs one exchange and checks the observe-only contract: every callback
// continued (the host fails Do otherwise) and bytes pass unchanged.
func do(t *testing.T, h *host.Host, ex host.Exchange) *host.Result {
	t.Helper()
	res, err := h.Do(context.Background(), ex)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.ForwardedRequestBody, bytes.Join(ex.RequestBody, nil); !bytes.Equal(got, want) {
		t.Fatalf("request body changed in transit: %d bytes forwarded, %d sent", len(got), len(want))
	}
	if got, want := res.ForwardedResponseBody, bytes.Join(ex.ResponseBody, nil); !bytes.Equal(got, want) {
		t.Fatalf("response body changed in transit: %d bytes forwarded, %d sent", len(got), len(want))
	}
	if res.LocalReply != nil {
		t.Fatalf("local reply %+v", res.LocalReply)
	}
	return res
}

const splitsPerCase = 20

func TestFixturesInWasm(t *testing.T) {
	h := newHost(t, replay.Options(envoy))
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			want := c.Expect.FilterState()
			rng := rand.New(rand.NewSource(int64(len(c.ResponseBody))))
			for i := 0; i <= splitsPerCase; i++ {
				r := rng
				if i == 0 {
					r = nil // whole bodies first
				}
				res := do(t, h, replay.Exchange(c, r, 1+rng.Intn(200)))
				if !reflect.DeepEqual(fixture.WithoutTTFT(res.FilterState), want) {
					t.Fatalf("split %d: filter state\n got %v\nwant %v", i, res.FilterState, want)
				}
				// The model as soon as it is read; the API at the request
				// headers and whether it streams at the response headers,
				// for a stream that never ends; token keys and the outcome
				// at the end of the response, before the access log and
				// Istio's stats filter read them.
				for k := range want {
					in, wantIn := res.FilterStateSetIn[k], "proxy_on_response_body"
					switch k {
					case fixture.StateRequestModel:
						wantIn = "proxy_on_request_body"
						if in == "proxy_on_request_headers" && c.Expect.API != "openai" {
							wantIn = in // the model is in the path
						}
					case fixture.StateAPI:
						wantIn = "proxy_on_request_headers"
					case fixture.StateStream:
						if in == "proxy_on_response_headers" {
							wantIn = in // a stream's content type; a JSON array shows only in its body
						}
					}
					if in != wantIn {
						t.Fatalf("%s set in %q, want %q", k, in, wantIn)
					}
				}
				if _, ok := res.FilterState[fixture.StateTTFT]; !ok {
					t.Fatalf("no %s", fixture.StateTTFT)
				}
			}
		})
	}
}

func TestSeedAccessLogAndPrometheus(t *testing.T) {
	h := newHost(t, replay.Options(envoy))
	c := caseNamed(t, "dashscope_compatible/seed_qwen_turbo")
	ex := replay.Exchange(c, rand.New(rand.NewSource(3)), 64)
	res := do(t, h, ex)
	for key, want := range map[string]string{
		"request_model":             "qwen-turbo",
		"request_prompt_tokens":     "11",
		"request_completion_tokens": "90",
	} {
		got, err := host.AccessLog(envoy.AccessLog[key], ex, res)
		if err != nil || got != want {
			t.Fatalf("access log %s = %q (%v), want %q", key, got, err, want)
		}
	}
	const line = `asm_llm_proxy_completion_tokens{llmproxy_source_workload="sleep",llmproxy_source_workload_namespace="default",llmproxy_destination_service="dashscope.aliyuncs.com",llmproxy_model="qwen-turbo"} 90`
	prom := h.Prometheus()
	if !strings.Contains(prom, "\n"+line+"\n") {
		t.Fatalf("missing line\n%s\nin\n%s", line, prom)
	}
	tags := map[string]string{
		"llmproxy_source_workload":           "sleep",
		"llmproxy_source_workload_namespace": "default",
		"llmproxy_destination_service":       "dashscope.aliyuncs.com",
		"llmproxy_model":                     "qwen-turbo",
	}
	want := map[string]float64{"asm_llm_proxy_prompt_tokens": 11, "asm_llm_proxy_completion_tokens": 90, "llmproxy_cached_tokens_total": 0}
	if got := counters(t, prom, tags); !reflect.DeepEqual(got, want) {
		t.Fatalf("counters %v, want %v", got, want)
	}
}

// counters parses Prometheus text and returns the counters whose labels are
// exactly tags.
func counters(t *testing.T, text string, tags map[string]string) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("not Prometheus text: %v\n%s", err, text)
	}
	out := map[string]float64{}
	for name, f := range families {
		if f.GetType() != dto.MetricType_COUNTER {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if reflect.DeepEqual(labels, tags) {
				out[name] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func TestCountersAddUpAcrossStreams(t *testing.T) {
	h := newHost(t, replay.Options(envoy))
	rng := rand.New(rand.NewSource(9))
	want := map[string]map[string]float64{}
	requests := map[string]float64{} // by model|destination|outcome|error type
	for round := 0; round < 3; round++ {
		for _, c := range cases {
			do(t, h, replay.Exchange(c, rng, 100))
			e := c.Expect
			dest, _, _ := strings.Cut(c.Authority, ":")
			model := e.RequestModel
			if model == "" {
				model = e.ResponseModel
			}
			requests[model+"|"+dest+"|"+e.Outcome+"|"+e.ErrorType]++
			if e.PromptTokens == nil && e.CompletionTokens == nil {
				continue // usage read before an error still counts
			}
			m := want[e.RequestModel+"|"+c.Authority]
			if m == nil {
				m = map[string]float64{}
				want[e.RequestModel+"|"+c.Authority] = m
			}
			if e.PromptTokens != nil {
				m["asm_llm_proxy_prompt_tokens"] += float64(*e.PromptTokens)
			}
			if e.CompletionTokens != nil {
				m["asm_llm_proxy_completion_tokens"] += float64(*e.CompletionTokens)
			}
			if e.CachedTokens != nil {
				m["llmproxy_cached_tokens_total"] += float64(*e.CachedTokens)
			}
			if e.ReasoningTokens != nil {
				m["llmproxy_reasoning_tokens_total"] += float64(*e.ReasoningTokens)
			}
		}
	}
	prom := h.Prometheus()
	for key, w := range want {
		model, authority, _ := strings.Cut(key, "|")
		dest, _, _ := strings.Cut(authority, ":")
		tags := map[string]string{
			"llmproxy_source_workload":           "sleep",
			"llmproxy_source_workload_namespace": "default",
			"llmproxy_destination_service":       dest,
			"llmproxy_model":                     model,
		}
		if got := counters(t, prom, tags); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: counters %v, want %v", key, got, w)
		}
	}
	for key, n := range requests {
		parts := strings.Split(key, "|")
		tags := map[string]string{
			"llmproxy_source_workload":           "sleep",
			"llmproxy_source_workload_namespace": "default",
			"llmproxy_destination_service":       parts[1],
			"llmproxy_model":                     parts[0],
			"llmproxy_outcome":                   parts[2],
		}
		if parts[3] != "" {
			tags["llmproxy_error_type"] = parts[3]
		}
		if got := counters(t, prom, tags)["llmproxy_requests_total"]; got != n {
			t.Errorf("requests %s = %v, want %v", key, got, n)
		}
	}
}

func TestLegacyEnvoyAttributes(t *testing.T) {
	opts := replay.Options(envoy)
	opts.LegacyAttributes = true
	h := newHost(t, opts)
	do(t, h, replay.Exchange(caseNamed(t, "dashscope_compatible/seed_qwen_turbo"), nil, 0))
	tags := map[string]string{
		"llmproxy_source_workload":           "sleep",
		"llmproxy_source_workload_namespace": "default",
		"llmproxy_destination_service":       "dashscope.aliyuncs.com",
		"llmproxy_model":                     "qwen-turbo",
	}
	if got := counters(t, h.Prometheus(), tags); got["asm_llm_proxy_prompt_tokens"] != 11 {
		t.Fatalf("counters %v\n%s", got, h.Prometheus())
	}
}

func TestNonLLMTrafficCostsAFewHeaderReads(t *testing.T) {
	h := newHost(t, replay.Options(envoy))
	before := h.HostCalls()
	res := do(t, h, host.Exchange{
		ClusterName:     "outbound|80||web",
		RequestHeaders:  [][2]string{{":method", "GET"}, {":path", "/index.html"}, {":authority", "web"}},
		ResponseHeaders: [][2]string{{":status", "200"}, {"content-type", "text/html"}},
		ResponseBody:    [][]byte{[]byte("<html></html>")},
	})
	if len(res.FilterState) != 0 {
		t.Fatalf("filter state %v", res.FilterState)
	}
	after := h.HostCalls()
	calls := map[string]int{}
	for k, n := range after {
		if d := n - before[k]; d > 0 {
			calls[k] = d
		}
	}
	if !reflect.DeepEqual(calls, map[string]int{"env.proxy_get_header_map_value": 1}) {
		t.Fatalf("host calls for a GET: %v", calls)
	}
}

func TestTruncatedStreamLeavesTokensUnset(t *testing.T) {
	h := newHost(t, replay.Options(envoy))
	c := caseNamed(t, "openai/chat_stream_usage")
	ex := replay.Exchange(c, rand.New(rand.NewSource(5)), 40)
	ex.ResetAfterResponseBodyChunks = len(ex.ResponseBody) / 2
	res := do2(t, h, ex)
	want := map[string]string{
		fixture.StateRequestModel:  "gpt-4o-mini",
		fixture.StateResponseModel: "gpt-4o-mini-2024-07-18", // read before the reset
		fixture.StateAPI:           "openai",
		fixture.StateStream:        "true",
		fixture.StateUsageStatus:   "incomplete",
	}
	if !reflect.DeepEqual(fixture.WithoutTTFT(res.FilterState), want) {
		t.Fatalf("filter state %v, want %v", res.FilterState, want)
	}
}

// do2 runs an exchange that does not complete, so bodies are not compared.
func do2(t *testing.T, h *host.Host, ex host.Exchange) *host.Result {
	t.Helper()
	res, err := h.Do(context.Background(), ex)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestInvalidConfigurationFailsStart(t *testing.T) {
	var logs bytes.Buffer
	opts := replay.Options(envoy)
	opts.PluginConfig = []byte(`{"max_model_labels": -1}`)
	_, err := host.New(context.Background(), mod, opts)
	if err == nil {
		t.Fatal("started with an invalid configuration")
	}
	_ = logs
	if !strings.Contains(err.Error(), "refused") {
		t.Fatalf("error %v", err)
	}
}

// TestMemoryDoesNotFollowBodySize streams an 8 MiB prompt and a 32 MiB
// event stream through the VM in 16 KiB chunks: linear memory must not grow
// with them.
func TestMemoryDoesNotFollowBodySize(t *testing.T) {
	h := newHost(t, replay.Options(envoy))
	c := caseNamed(t, "openai/chat_stream_usage")
	do(t, h, replay.Exchange(c, nil, 0)) // warm up
	before := h.MemoryPages()

	content := strings.Repeat("x", 8<<20)
	reqBody := []byte(`{"messages":[{"role":"user","content":"` + content + `"}],"model":"gpt-4o-mini","stream":true}`)
	event := "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + strings.Repeat("y", 4000) + "\"}}],\"usage\":null}\n\n"
	var resp bytes.Buffer
	for resp.Len() < 32<<20 {
		resp.WriteString(event)
	}
	resp.WriteString("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":2097160,\"completion_tokens\":8000,\"total_tokens\":2105160}}\n\ndata: [DONE]\n\n")
	chunks := func(b []byte) [][]byte {
		var out [][]byte
		for len(b) > 0 {
			n := min(len(b), 16<<10)
			out = append(out, b[:n])
			b = b[n:]
		}
		return out
	}
	ex := replay.Exchange(c, nil, 0)
	ex.RequestBody, ex.ResponseBody = chunks(reqBody), chunks(resp.Bytes())
	res := do(t, h, ex)
	if res.FilterState[fixture.StatePromptTokens] != "2097160" || res.FilterState[fixture.StateCompletionTokens] != "8000" {
		t.Fatalf("filter state %v", res.FilterState)
	}
	grown := h.MemoryPages() - before
	t.Logf("linear memory: %d pages before, %d after 40 MiB of bodies", before, before+grown)
	if grown > 16 {
		t.Fatalf("linear memory grew by %d pages (%d KiB) for 40 MiB of bodies", grown, grown*64)
	}
}

func TestAcceptEncodingIsNarrowedOnLLMCallsOnly(t *testing.T) {
	h := newHost(t, replay.Options(envoy))
	c := caseNamed(t, "openai/chat_json")
	ex := replay.Exchange(c, nil, 0)
	ex.RequestHeaders = append(ex.RequestHeaders, [2]string{"accept-encoding", "gzip, deflate, br, zstd"})
	res := do(t, h, ex)
	if got := header(res.ForwardedRequestHeaders, "accept-encoding"); got != "gzip, deflate" {
		t.Fatalf("LLM call: accept-encoding %q", got)
	}
	res = do(t, h, host.Exchange{
		RequestHeaders:  [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "web"}, {"accept-encoding", "br"}},
		ResponseHeaders: [][2]string{{":status", "200"}},
	})
	if got := header(res.ForwardedRequestHeaders, "accept-encoding"); got != "br" {
		t.Fatalf("other traffic: accept-encoding %q", got)
	}
}

func header(hs [][2]string, name string) string {
	for _, kv := range hs {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}
