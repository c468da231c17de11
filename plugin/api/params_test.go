package api

import (
	"math/rand"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

// TestParams: each family's documented request parameters, read in the
// pass that finds the model, under random chunk splits. Bodies follow each
// API reference's request schema.
func TestParams(t *testing.T) {
	for _, tc := range []struct {
		name string
		fam  *Family
		path string
		body string
		want Params
	}{
		{"openai chat", OpenAI, "/v1/chat/completions",
			`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi \"there\""}],"temperature":0.2,"top_p":1,` +
				`"max_completion_tokens":256,"stream":true,"seed":42,"n":2,"tools":[{"type":"function","function":{"name":"a","parameters":{}}},{"type":"function","function":{"name":"b"}}]}`,
			Params{Temperature: "0.2", TopP: "1", MaxTokens: "256", Stream: "true", Seed: "42", N: "2", Tools: 2, ToolsSet: true}},
		{"openai legacy max_tokens", OpenAI, "/v1/chat/completions",
			`{"model":"gpt-4o-mini","max_tokens":100,"messages":[],"stream":false}`,
			Params{MaxTokens: "100", Stream: "false"}},
		{"responses", OpenAIResponses, "/v1/responses",
			`{"model":"gpt-4.1","input":"hi","temperature":1.0,"max_output_tokens":500,"tools":[{"type":"web_search"}],"stream":true}`,
			Params{Temperature: "1.0", MaxTokens: "500", Stream: "true", Tools: 1, ToolsSet: true}},
		{"anthropic", Anthropic, "/v1/messages",
			`{"model":"claude-sonnet-4-5","max_tokens":1024,"temperature":0.5,"top_p":0.9,"tools":[{"name":"get_weather","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"x"}]}`,
			Params{Temperature: "0.5", TopP: "0.9", MaxTokens: "1024", Tools: 1, ToolsSet: true}},
		{"gemini", Gemini, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
			`{"contents":[{"parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"a"},{"name":"b"}]},{"functionDeclarations":[{"name":"c"}]}],` +
				`"generationConfig":{"temperature":0.7,"topP":0.95,"maxOutputTokens":2048,"seed":7,"candidateCount":1}}`,
			Params{Temperature: "0.7", TopP: "0.95", MaxTokens: "2048", Stream: "true", Seed: "7", N: "1", Tools: 3, ToolsSet: true}},
		{"gemini unary", Gemini, "/v1beta/models/gemini-2.5-flash:generateContent",
			`{"contents":[]}`, Params{Stream: "false"}},
		{"ollama", Ollama, "/api/chat",
			`{"model":"llama3.2","messages":[],"stream":false,"options":{"temperature":0.8,"top_p":0.9,"num_predict":128,"seed":3}}`,
			Params{Temperature: "0.8", TopP: "0.9", MaxTokens: "128", Stream: "false", Seed: "3"}},
		{"dashscope", DashScope, "/api/v1/services/aigc/text-generation/generation",
			`{"model":"qwen-plus","input":{"messages":[]},"parameters":{"result_format":"message","temperature":0.85,"top_p":0.8,"max_tokens":1500,"seed":1234,"incremental_output":true}}`,
			Params{Temperature: "0.85", TopP: "0.8", MaxTokens: "1500", Stream: "true", Seed: "1234"}},
		{"bedrock converse-stream", Bedrock, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream",
			`{"messages":[],"inferenceConfig":{"maxTokens":512,"temperature":0.5,"topP":0.9},"toolConfig":{"tools":[{"toolSpec":{"name":"a"}}]}}`,
			Params{Temperature: "0.5", TopP: "0.9", MaxTokens: "512", Stream: "true", Tools: 1, ToolsSet: true}},
		{"bedrock invoke", Bedrock, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
			`{"anthropic_version":"bedrock-2023-05-31","max_tokens":300,"messages":[]}`,
			Params{MaxTokens: "300", Stream: "false"}},
		{"a number too long to keep is left out", OpenAI, "/v1/chat/completions",
			`{"temperature":0.1000000000000000000000000000000000000001}`, Params{}},
		{"strings are not numbers", OpenAI, "/v1/chat/completions",
			`{"temperature":"0.2","stream":"yes"}`, Params{}},
		// The body ends inside its document: what came before still counts.
		{"cut short", OpenAI, "/v1/chat/completions",
			`{"model":"m","temperature":0.3,"messages":[{"role":"user","content":"aaaa`, Params{Temperature: "0.3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(1))
			for i := 0; i < 20; i++ {
				var r Request
				r.Start(tc.fam, true)
				for _, ch := range fixture.Split([]byte(tc.body), fixture.RandomCuts(rng, len(tc.body), 1+rng.Intn(16))) {
					r.Feed(ch)
				}
				if got := r.Params(tc.path); got != tc.want {
					t.Fatalf("split %d: %+v, want %+v", i, got, tc.want)
				}
			}
		})
	}
}

// TestParamsOff: without request_parameters only the model is read.
func TestParamsOff(t *testing.T) {
	var r Request
	r.Start(OpenAI, false)
	r.Feed([]byte(`{"model":"m","temperature":0.2,"tools":[{}]}`))
	if got := r.Params("/v1/chat/completions"); got != (Params{}) || r.Model() != "m" {
		t.Fatalf("%+v %q", got, r.Model())
	}
}
