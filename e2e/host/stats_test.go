package host

import (
	"fmt"
	"strings"
	"testing"
)

func TestPrometheusASMCounter(t *testing.T) {
	tags := []StatsTag{
		{"llmproxy_source_workload", `(\|llmproxy_source_workload=([^|]*))`},
		{"llmproxy_source_workload_namespace", `(\|llmproxy_source_workload_namespace=([^|]*))`},
		{"llmproxy_destination_service", `(\|llmproxy_destination_service=([^|]*))`},
		{"llmproxy_model", `(\|llmproxy_model=([^|]*))`},
	}
	h := newHost(t, "metric", Options{StatsTags: tags})
	res := do(t, h, chatExchange("{}"))
	wantLogs(t, res.Logs, "negative increment status=2")
	prom := h.Prometheus()
	for _, want := range []string{
		"# TYPE asm_llm_proxy_prompt_tokens counter\nasm_llm_proxy_prompt_tokens{llmproxy_model=\"qwen-turbo\"} 11\n",
		"# TYPE asm_llm_proxy_latency histogram\n",
		"asm_llm_proxy_latency_bucket{llmproxy_model=\"qwen-turbo\",le=\"5\"} 0\n",
		"asm_llm_proxy_latency_bucket{llmproxy_model=\"qwen-turbo\",le=\"10\"} 1\n",
		"asm_llm_proxy_latency_bucket{llmproxy_model=\"qwen-turbo\",le=\"3600000\"} 1\n",
		"asm_llm_proxy_latency_sum{llmproxy_model=\"qwen-turbo\"} 7\n",
		"asm_llm_proxy_latency_count{llmproxy_model=\"qwen-turbo\"} 1\n",
	} {
		if !strings.Contains(prom, want) {
			t.Errorf("prometheus lacks %q:\n%s", want, prom)
		}
	}
	if v, ok := h.Counter("asm_llm_proxy_prompt_tokens", map[string]string{"llmproxy_model": "qwen-turbo"}); !ok || v != 11 {
		t.Errorf("Counter = %d, %v", v, ok)
	}
	do(t, h, chatExchange("{}"))
	if v, _ := h.Counter("wasmcustom.asm_llm_proxy_prompt_tokens", map[string]string{"llmproxy_model": "qwen-turbo"}); v != 22 {
		t.Errorf("Counter after two requests = %d", v)
	}

	// Extraction runs on the original name; labels keep configuration order.
	st, _ := newStatsStore(tags)
	name, got := st.extract("wasmcustom.asm_llm_proxy_prompt_tokens|llmproxy_model=q\"1|llmproxy_source_workload=w|x")
	if name != "wasmcustom.asm_llm_proxy_prompt_tokens|x" || fmt.Sprint(got) != `[[llmproxy_source_workload w] [llmproxy_model q"1]]` {
		t.Errorf("extract = %q %v", name, got)
	}
	if s := promTags(got); s != `llmproxy_source_workload="w",llmproxy_model="q\"1"` {
		t.Errorf("labels = %s", s)
	}
	if n, _ := promMetricName("wasmcustom.a-b.c|x"); n != "a_b_c_x" {
		t.Errorf("sanitized name %q", n)
	}
}

func TestPairsRoundTrip(t *testing.T) {
	in := [][2]string{{":status", "200"}, {"x", ""}, {"", "y"}}
	out, ok := decodePairs(encodePairs(in))
	if !ok || fmt.Sprint(out) != fmt.Sprint(in) {
		t.Errorf("round trip %v %v", out, ok)
	}
	if _, ok := decodePairs([]byte{9, 0, 0, 0}); ok {
		t.Error("truncated pairs accepted")
	}
}
