package api

import "strings"

// openAIResponse holds the usage paths of Chat Completions, Completions and
// Embeddings chunks and bodies, with the variants of compatible servers.
var openAIResponse = map[string]Field{
	"model":                   ResponseModel,
	"usage.prompt_tokens":     PromptTokens,
	"usage.completion_tokens": CompletionTokens,
	"usage.total_tokens":      TotalTokens,
	"usage.prompt_tokens_details.cached_tokens":        CachedTokens,
	"usage.completion_tokens_details.reasoning_tokens": ReasoningTokens,
	"usage.prompt_cache_hit_tokens":                    CachedTokens,    // DeepSeek
	"usage.reasoning_tokens":                           ReasoningTokens, // SGLang
	// Moonshot puts the final usage inside the choice.
	"choices.[].usage.prompt_tokens":     PromptTokens,
	"choices.[].usage.completion_tokens": CompletionTokens,
	"choices.[].usage.total_tokens":      TotalTokens,
	"error":                              ErrorBody,
	"error.code":                         ErrorCode,
	"error.type":                         ErrorKind,
	"error.message":                      ErrorMessage,
}

// OpenAI is every OpenAI-compatible endpoint: OpenAI, DashScope
// compatible-mode, vLLM, SGLang, DeepSeek, Moonshot, Ollama /v1. Streams
// repeat the chunk shape; usage comes once, or cumulatively, so the last
// value wins.
var OpenAI = register(&Family{
	Name:     "openai",
	params:   openAIParams,
	request:  tree(requestModel),
	response: tree(openAIResponse),
	tail:     tailFromStart, // every chunk names the model
})

// AzureOpenAI is OpenAI behind /openai/deployments/{deployment}/...; the
// deployment stands for the model when the body names none.
var AzureOpenAI = register(&Family{
	Name:     "azure_openai",
	params:   openAIParams,
	request:  tree(requestModel),
	response: tree(openAIResponse),
	tail:     tailFromStart, // every chunk names the model
	modelFromPath: func(path string) string {
		rest := strings.TrimPrefix(path, "/openai/deployments/")
		dep, _, _ := strings.Cut(rest, "/")
		return dep
	},
})

// OpenAIResponses is the Responses API: usage at the top of a JSON body, or
// in the response object of response.completed, .incomplete and .failed.
var OpenAIResponses = register(&Family{
	Name:    "openai_responses",
	params:  responsesParams,
	request: tree(requestModel),
	// The error event names its code at the top.
	response: tree(merge(responsesUsage, under("response", responsesUsage),
		map[string]Field{"code": ErrorCode, "message": ErrorMessage})),
	errorEvents: []string{"error", "response.failed"},
})

// responsesUsage is a Responses object's model and usage, at the top of a
// JSON body and under "response" in stream events.
var responsesUsage = map[string]Field{
	"model":               ResponseModel,
	"usage.input_tokens":  PromptTokens,
	"usage.output_tokens": CompletionTokens,
	"usage.total_tokens":  TotalTokens,
	"usage.input_tokens_details.cached_tokens":     CachedTokens,
	"usage.output_tokens_details.reasoning_tokens": ReasoningTokens,
	"error":         ErrorBody,
	"error.code":    ErrorCode,
	"error.message": ErrorMessage,
}
