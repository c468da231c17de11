// Package api knows the LLM APIs: which requests are LLM calls, where each
// API keeps the model and the usage, and how its fields map onto the
// canonical usage record. It makes no host calls.
package api

import (
	"strings"

	"github.com/llmproxy/llmproxy/plugin/jsonscan"
	"github.com/llmproxy/llmproxy/plugin/usage"
)

// Field is where a reported JSON value goes. Paths of every family report
// into the same fields; a family's finish step combines them.
type Field int

// Fields of requests and responses.
const (
	_ Field = iota
	RequestModel
	ResponseModel
	PromptTokens
	CompletionTokens
	TotalTokens
	CachedTokens
	ReasoningTokens
	ErrorBody
	numFields
)

// Family is one API's wire contract.
type Family struct {
	Name     string
	request  *jsonscan.Node
	response *jsonscan.Node
}

func newFamily(name string, request, response map[string]Field) *Family {
	return &Family{Name: name, request: tree(request), response: tree(response)}
}

func tree(paths map[string]Field) *jsonscan.Node {
	m := make(map[string]int, len(paths))
	for p, f := range paths {
		m[p] = int(f)
	}
	return jsonscan.NewTree(m)
}

// Detect returns the family of an LLM call, or nil for other traffic. It
// looks only at the path, which is all a request's headers say cheaply.
func Detect(path string) *Family {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimSuffix(path, "/")
	switch {
	case strings.HasPrefix(path, dashScopeNativePrefix) && strings.HasSuffix(path, "/generation"):
		return DashScope
	case strings.HasSuffix(path, "/chat/completions"),
		strings.HasSuffix(path, "/completions"),
		strings.HasSuffix(path, "/embeddings"):
		return OpenAI
	}
	return nil
}

// finish maps the fields a response reported onto the record.
func finish(v *values, r *usage.Record) {
	r.Prompt = v.counts[PromptTokens]
	r.Completion = v.counts[CompletionTokens]
	r.Total = v.counts[TotalTokens]
	if !r.Total.Set && r.Prompt.Set && r.Completion.Set {
		r.Total.Put(r.Prompt.N + r.Completion.N)
	}
	r.CachedInput = v.counts[CachedTokens]
	r.Reasoning = v.counts[ReasoningTokens]
	r.ResponseModel = v.model
}
