package api

import (
	"strings"

	"github.com/llmproxy/llmproxy/plugin/usage"
)

// geminiUsage is usageMetadata's mapping; thoughts are not inside the
// candidates count.
var geminiUsage = map[string]Field{
	"modelVersion":                           ResponseModel,
	"usageMetadata.promptTokenCount":         PromptTokens,
	"usageMetadata.candidatesTokenCount":     CompletionTokens,
	"usageMetadata.totalTokenCount":          TotalTokens,
	"usageMetadata.cachedContentTokenCount":  CachedTokens,
	"usageMetadata.thoughtsTokenCount":       ReasoningTokens,
	"error":                                  ErrorBody,
	"error.code":                             ErrorCode, // the HTTP status
	"error.status":                           ErrorKind,
	"error.message":                          ErrorMessage,
	"error.details.[].violations.[].quotaId": ErrorDetail,
}

// Gemini is Gemini and Vertex AI generateContent. The model is in the path;
// streams are SSE with alt=sse, else one JSON array streamed element by
// element. Usage in a stream is cumulative.
var Gemini = register(&Family{
	Name:       "gemini",
	params:     geminiParams,
	streamPath: geminiStreamPath,
	request:    tree(requestModel),
	response:   tree(merge(geminiUsage, under("[]", geminiUsage))), // SSE, or one streamed array
	modelFromPath: func(path string) string {
		i := strings.LastIndex(path, "/models/")
		if i < 0 {
			return ""
		}
		model, _, _ := strings.Cut(path[i+len("/models/"):], ":")
		return model
	},
	finish: func(v *values, r *usage.Record) {
		finishDirect(v, r)
		r.Completion = sum(v.counts[CompletionTokens], v.counts[ReasoningTokens])
	},
	tail: tailFromStart, // every chunk has modelVersion
})
