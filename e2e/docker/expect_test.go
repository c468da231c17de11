package docker

import (
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

func n(v uint64) *uint64 { return &v }

var node = map[string]string{"WORKLOAD_NAME": "sleep", "NAMESPACE": "default"}

func testCases() []fixture.Case {
	return []fixture.Case{
		{Name: "a/json", Path: "/v1/chat/completions", Authority: "api.openai.com", Status: 200,
			Expect: fixture.Expect{RequestModel: "gpt", PromptTokens: n(9), CompletionTokens: n(1), Outcome: "reported"}},
		{Name: "a/again", Path: "/v1/chat/completions", Authority: "api.openai.com:443", Status: 200,
			Expect: fixture.Expect{RequestModel: "gpt", PromptTokens: n(1), CompletionTokens: n(2), Outcome: "reported"}},
		{Name: "b/embed", Path: "/v1/embeddings", Authority: "api.openai.com", Status: 200,
			Expect: fixture.Expect{ResponseModel: "emb", PromptTokens: n(4), Outcome: "reported"}},
		{Name: "c/error", Path: "/v1/chat/completions", Authority: "api.openai.com", Status: 401,
			Expect: fixture.Expect{RequestModel: "gpt", Outcome: "error"}},
	}
}

const envoyProm = `# TYPE asm_llm_proxy_completion_tokens counter
asm_llm_proxy_completion_tokens{llmproxy_source_workload="sleep",llmproxy_source_workload_namespace="default",llmproxy_destination_service="api.openai.com",llmproxy_model="gpt"} 3

# TYPE asm_llm_proxy_prompt_tokens counter
asm_llm_proxy_prompt_tokens{llmproxy_source_workload="sleep",llmproxy_source_workload_namespace="default",llmproxy_destination_service="api.openai.com",llmproxy_model="emb"} 4
asm_llm_proxy_prompt_tokens{llmproxy_source_workload="sleep",llmproxy_source_workload_namespace="default",llmproxy_destination_service="api.openai.com",llmproxy_model="gpt"} 10

# TYPE envoy_server_live gauge
envoy_server_live{} 1
`

func TestWantCounters(t *testing.T) {
	want := WantCounters(testCases(), node)
	if len(want) != 3 {
		t.Fatalf("%d series: %v", len(want), want)
	}
	if errs := CheckCounters(envoyProm, want); len(errs) != 0 {
		t.Fatal(errs)
	}
}

func TestCheckCountersFails(t *testing.T) {
	want := WantCounters(testCases(), node)
	for name, text := range map[string]string{
		"wrong value":     strings.Replace(envoyProm, `"gpt"} 10`, `"gpt"} 11`, 1),
		"missing series":  strings.Replace(envoyProm, "emb", "other", 1),
		"label order":     strings.Replace(envoyProm, `llmproxy_source_workload="sleep",llmproxy_source_workload_namespace="default"`, `llmproxy_source_workload_namespace="default",llmproxy_source_workload="sleep"`, 1),
		"not prometheus":  "asm_llm_proxy_prompt_tokens{ 1\n",
		"extra label":     strings.Replace(envoyProm, `llmproxy_model="emb"`, `llmproxy_model="emb",x="y"`, 1),
		"not the counter": strings.Replace(envoyProm, "asm_llm_proxy_completion_tokens counter", "asm_llm_proxy_completion_tokens gauge", 1),
	} {
		if errs := CheckCounters(text, want); len(errs) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
}

const envoyOutput = `[2026-11-24 18:00:00.000][1][info][main] starting main dispatch loop
{"authority":"api.openai.com","method":"POST","path":"/v1/chat/completions","request_completion_tokens":"1","request_model":"gpt","request_prompt_tokens":"9","response_code":200,"start_time":"2026-11-24T18:00:01.000Z","upstream_cluster":"llm_upstream"}
{"authority":"api.openai.com:443","method":"POST","path":"/v1/chat/completions","request_completion_tokens":"2","request_model":"gpt","request_prompt_tokens":"1","response_code":200,"start_time":"2026-11-24T18:00:01.100Z","upstream_cluster":"llm_upstream"}
[2026-11-24 18:00:01.200][25][info][wasm] wasm log llmproxy: a log line that is not JSON
{"authority":"127.0.0.1:10000","method":"GET","path":"/","request_completion_tokens":null,"request_model":null,"request_prompt_tokens":null,"response_code":405,"start_time":"2026-11-24T18:00:01.250Z","upstream_cluster":"llm_upstream"}
{"authority":"api.openai.com","method":"POST","path":"/v1/embeddings","request_completion_tokens":null,"request_model":null,"request_prompt_tokens":"4","response_code":200,"start_time":"2026-11-24T18:00:01.300Z","upstream_cluster":"llm_upstream"}
{"authority":"api.openai.com","method":"POST","path":"/v1/chat/completions","request_completion_tokens":null,"request_model":"gpt","request_prompt_tokens":null,"response_code":401,"start_time":"2026-11-24T18:00:01.400Z","upstream_cluster":"llm_upstream"}
`

var asmFields = StateFields(map[string]string{
	"request_model":             "%FILTER_STATE(wasm.asm.llmproxy.request_model:PLAIN)%",
	"request_prompt_tokens":     "%FILTER_STATE(wasm.asm.llmproxy.request_prompt_tokens:PLAIN)%",
	"request_completion_tokens": "%FILTER_STATE(wasm.asm.llmproxy.request_completion_tokens:PLAIN)%",
	"ttft_ms":                   "%FILTER_STATE(wasm.asm.llmproxy.ttft_ms:PLAIN)%",
	"method":                    "%REQ(:METHOD)%",
})

func TestAccessLog(t *testing.T) {
	if len(asmFields) != 3 {
		t.Fatalf("state fields %v", asmFields)
	}
	lines, err := AccessLog(envoyOutput, "POST")
	if err != nil {
		t.Fatal(err)
	}
	if errs := CheckAccessLog(lines, testCases(), asmFields); len(errs) != 0 {
		t.Fatal(errs)
	}
	for name, out := range map[string]string{
		"dash for null":   strings.Replace(envoyOutput, `embeddings","request_completion_tokens":null`, `embeddings","request_completion_tokens":"-"`, 1),
		"wrong tokens":    strings.Replace(envoyOutput, `"request_prompt_tokens":"9"`, `"request_prompt_tokens":"8"`, 1),
		"a missing line":  strings.Replace(envoyOutput, `{"authority":"api.openai.com","method":"POST","path":"/v1/embeddings"`, `{"x":1,"method":"POST","path":"/v1/embeddings"`, 1),
		"out of order":    strings.Replace(envoyOutput, "/v1/embeddings", "/v1/chat/completions", 1),
		"wrong status":    strings.Replace(envoyOutput, `"response_code":401`, `"response_code":200`, 1),
		"zero for absent": strings.Replace(envoyOutput, `embeddings","request_completion_tokens":null`, `embeddings","request_completion_tokens":"0"`, 1),
	} {
		lines, err := AccessLog(out, "POST")
		if err != nil {
			t.Fatal(err)
		}
		if errs := CheckAccessLog(lines, testCases(), asmFields); len(errs) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
}
