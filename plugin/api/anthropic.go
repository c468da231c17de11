package api

import "github.com/llmproxy/llmproxy/plugin/usage"

// anthropicUsage is where a Messages body, and message_delta, keep the model
// and usage; message_start keeps them under "message". Bedrock's
// InvokeModel returns the same vendor JSON.
var anthropicUsage = map[string]Field{
	"model":                             ResponseModel,
	"usage.input_tokens":                PromptTokens,
	"usage.output_tokens":               CompletionTokens,
	"usage.cache_read_input_tokens":     CachedTokens,
	"usage.cache_creation_input_tokens": CacheCreationTokens,
}

var anthropicResponse = merge(anthropicUsage, under("message", anthropicUsage))

// Anthropic is the Messages API. message_start carries the first usage,
// every message_delta the usage so far; input_tokens excludes the cached
// tokens, which are counted apart.
var Anthropic = register(&Family{
	Name:    "anthropic",
	params:  anthropicParams,
	request: tree(requestModel),
	response: tree(map[string]Field{
		"model":                                     ResponseModel,
		"usage.input_tokens":                        PromptTokens,
		"usage.output_tokens":                       CompletionTokens,
		"usage.cache_read_input_tokens":             CachedTokens,
		"usage.cache_creation_input_tokens":         CacheCreationTokens,
		"message.model":                             ResponseModel,
		"message.usage.input_tokens":                PromptTokens,
		"message.usage.output_tokens":               CompletionTokens,
		"message.usage.cache_read_input_tokens":     CachedTokens,
		"message.usage.cache_creation_input_tokens": CacheCreationTokens,
		"error.type":                                ErrorKind,
		"error.message":                             ErrorMessage,
	}),
	errorEvents: []string{"error"},
	finish:      finishCacheApart,
	// message_start is read whole; message_delta repeats the usage so far.
	tail: tailAfterModel,
})

// finishCacheApart maps APIs whose input count leaves out cache reads and
// writes (Anthropic, Bedrock): the prompt is all three.
func finishCacheApart(v *values, r *usage.Record) {
	finishDirect(v, r)
	r.Prompt = sum(v.counts[PromptTokens], v.counts[CachedTokens], v.counts[CacheCreationTokens])
}
