// Package api knows the LLM APIs: which requests are LLM calls, where each
// API keeps the model and the usage, and how its fields map onto the
// canonical usage record. It makes no host calls.
package api

import (
	"github.com/llmproxy/llmproxy/plugin/jsonscan"
	"github.com/llmproxy/llmproxy/plugin/usage"
)

// Field is where a reported JSON value goes. Every family reports into the
// same raw fields; its finish step maps them onto the record.
type Field int

// Raw fields of requests and responses.
const (
	_ Field = iota
	RequestModel
	ResponseModel
	PromptTokens     // the family's own input count
	CompletionTokens // the family's own output count
	TotalTokens
	CachedTokens        // cache reads
	CacheCreationTokens // cache writes
	ReasoningTokens     // reasoning or thoughts
	Done                // Ollama's done:true
	ErrorBody           // an error object or type
	InvokeChunk         // Bedrock's base64 vendor payload (streamed)
	ErrorCode           // an error's machine-readable code
	ErrorKind           // an error's type or status name
	ErrorMessage        // an error's message, read for the few kinds only it tells
	ErrorDetail         // which quota an error is about (Gemini)
	// Request parameters (request_parameters).
	ParamTemperature
	ParamTopP
	ParamMaxTokens
	ParamStream
	ParamSeed
	ParamN
	ParamTool // one tool offered
	numFields
)

// Family is one API's wire contract.
type Family struct {
	Name     string
	request  *jsonscan.Node
	response *jsonscan.Node
	// modelFromPath finds the model in the URL for APIs that keep it there.
	modelFromPath func(path string) string
	// errorEvents are stream event types that mean the call failed.
	errorEvents []string
	// finish maps the raw fields onto the record.
	finish func(v *values, r *usage.Record)
	// tail says when an SSE stream of the family may be read by its
	// closing events alone (see tail.go).
	tail tailMode
	// params are where the request keeps its parameters, and
	// requestParams the request tree with them (see params.go).
	params        map[string]Field
	requestParams *jsonscan.Node
	// streamPath says whether the path alone asks for a stream (Gemini,
	// Bedrock); nil when only the body says.
	streamPath func(path string) bool
}

// tailMode is when a family's SSE stream starts being read by its tail.
type tailMode uint8

const (
	tailNever tailMode = iota
	// tailAfterModel: the first event names the model and the closing ones
	// do not (Anthropic's message_start).
	tailAfterModel
	// tailFromStart: every event names the model, the closing ones too.
	tailFromStart
)

// Families by name, for configuration.
var Families = map[string]*Family{}

func register(f *Family) *Family {
	if f.finish == nil {
		f.finish = finishDirect
	}
	f.requestParams = tree(merge(requestModel, f.params))
	Families[f.Name] = f
	return f
}

func tree(paths map[string]Field) *jsonscan.Node {
	m := make(map[string]int, len(paths))
	for p, f := range paths {
		m[p] = int(f)
	}
	return jsonscan.NewTree(m)
}

// requestModel is the request tree of every family whose body names the
// model at the top level.
var requestModel = map[string]Field{"model": RequestModel}

// ModelFromPath is the model named in the URL, or "".
func (f *Family) ModelFromPath(path string) string {
	if f.modelFromPath == nil {
		return ""
	}
	return f.modelFromPath(stripQuery(path))
}

func (f *Family) isErrorEvent(name []byte) bool {
	for _, e := range f.errorEvents {
		if string(name) == e {
			return true
		}
	}
	return false
}

// finishDirect maps families whose input count includes cached tokens and
// whose output count includes reasoning tokens.
func finishDirect(v *values, r *usage.Record) {
	r.Prompt = v.counts[PromptTokens]
	r.Completion = v.counts[CompletionTokens]
	r.Total = v.counts[TotalTokens]
	r.CachedInput = v.counts[CachedTokens]
	r.CacheCreation = v.counts[CacheCreationTokens]
	r.Reasoning = v.counts[ReasoningTokens]
}

// sum adds the counts that were reported; it is unset if none was.
func sum(cs ...usage.Count) usage.Count {
	var out usage.Count
	for _, c := range cs {
		if c.Set {
			out.Put(out.N + c.N)
		}
	}
	return out
}

// under puts paths below a prefix: an object key, or "[]" for the elements
// of an array.
func under(prefix string, paths map[string]Field) map[string]Field {
	out := make(map[string]Field, len(paths))
	for p, f := range paths {
		out[prefix+"."+p] = f
	}
	return out
}

func merge(ms ...map[string]Field) map[string]Field {
	out := map[string]Field{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
