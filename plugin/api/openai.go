package api

// OpenAI is every OpenAI-compatible endpoint: Chat Completions, Completions
// and Embeddings, as served by OpenAI, DashScope compatible-mode, vLLM and
// others. Streams repeat the chunk shape; usage comes in one chunk, or
// cumulatively in several, and "usage": null elsewhere.
var OpenAI = newFamily("openai",
	map[string]Field{
		"model": RequestModel,
	},
	map[string]Field{
		"model":                   ResponseModel,
		"usage.prompt_tokens":     PromptTokens,
		"usage.completion_tokens": CompletionTokens,
		"usage.total_tokens":      TotalTokens,
		"usage.prompt_tokens_details.cached_tokens":        CachedTokens,
		"usage.completion_tokens_details.reasoning_tokens": ReasoningTokens,
		"error": ErrorBody,
	})
