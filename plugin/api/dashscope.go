package api

const dashScopeNativePrefix = "/api/v1/services/aigc/"

// DashScope is Alibaba Cloud's native generation API. Its stream events
// each carry the usage so far, so the last one wins.
var DashScope = register(&Family{
	Name:    "dashscope",
	params:  dashScopeParams,
	request: tree(requestModel),
	response: tree(map[string]Field{
		"usage.input_tokens":                           PromptTokens,
		"usage.output_tokens":                          CompletionTokens,
		"usage.total_tokens":                           TotalTokens,
		"usage.prompt_tokens_details.cached_tokens":    CachedTokens,
		"usage.output_tokens_details.reasoning_tokens": ReasoningTokens,
		"code":    ErrorCode,
		"message": ErrorMessage,
	}),
	errorEvents: []string{"error"},
})
