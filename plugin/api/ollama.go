package api

import "github.com/llmproxy/llmproxy/plugin/usage"

// Ollama is Ollama's native API: NDJSON streams by default, counts in the
// final done:true object, where a missing count means 0 (Ollama leaves
// prompt_eval_count out when the prompt came from its cache).
var Ollama = register(&Family{
	Name:    "ollama",
	params:  ollamaParams,
	request: tree(requestModel),
	response: tree(map[string]Field{
		"model":             ResponseModel,
		"prompt_eval_count": PromptTokens,
		"eval_count":        CompletionTokens,
		"done":              Done,
		"error":             ErrorBody,
	}),
	finish: func(v *values, r *usage.Record) {
		finishDirect(v, r)
		if v.done {
			if !r.Prompt.Set {
				r.Prompt.Put(0)
			}
			if !r.Completion.Set {
				r.Completion.Put(0)
			}
		}
	},
})
