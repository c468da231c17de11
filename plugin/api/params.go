package api

import "strings"

// Where each family's request body keeps its parameters. The output token
// limit has a name per API; Gemini and Bedrock say "stream" in the path.
var (
	openAIParams = map[string]Field{
		"temperature":           ParamTemperature,
		"top_p":                 ParamTopP,
		"max_tokens":            ParamMaxTokens,
		"max_completion_tokens": ParamMaxTokens, // whichever of the two comes last
		"stream":                ParamStream,
		"seed":                  ParamSeed,
		"n":                     ParamN,
		"tools.[]":              ParamTool,
	}
	responsesParams = map[string]Field{
		"temperature":       ParamTemperature,
		"top_p":             ParamTopP,
		"max_output_tokens": ParamMaxTokens,
		"stream":            ParamStream,
		"tools.[]":          ParamTool,
	}
	anthropicParams = map[string]Field{
		"temperature": ParamTemperature,
		"top_p":       ParamTopP,
		"max_tokens":  ParamMaxTokens,
		"stream":      ParamStream,
		"tools.[]":    ParamTool,
	}
	geminiParams = map[string]Field{
		"generationConfig.temperature":     ParamTemperature,
		"generationConfig.topP":            ParamTopP,
		"generationConfig.maxOutputTokens": ParamMaxTokens,
		"generationConfig.seed":            ParamSeed,
		"generationConfig.candidateCount":  ParamN,
		"tools.[].functionDeclarations.[]": ParamTool,
	}
	ollamaParams = map[string]Field{
		"options.temperature": ParamTemperature,
		"options.top_p":       ParamTopP,
		"options.num_predict": ParamMaxTokens,
		"options.seed":        ParamSeed,
		"stream":              ParamStream,
		"tools.[]":            ParamTool,
	}
	dashScopeParams = map[string]Field{
		"parameters.temperature":        ParamTemperature,
		"parameters.top_p":              ParamTopP,
		"parameters.max_tokens":         ParamMaxTokens,
		"parameters.seed":               ParamSeed,
		"parameters.n":                  ParamN,
		"parameters.incremental_output": ParamStream,
		"parameters.tools.[]":           ParamTool,
	}
	// Converse's inferenceConfig; InvokeModel's body is the vendor's own
	// (Anthropic's, for Claude).
	bedrockParams = merge(anthropicParams, map[string]Field{
		"inferenceConfig.temperature": ParamTemperature,
		"inferenceConfig.topP":        ParamTopP,
		"inferenceConfig.maxTokens":   ParamMaxTokens,
		"toolConfig.tools.[]":         ParamTool,
	})
)

func geminiStreamPath(path string) bool {
	return strings.HasSuffix(stripQuery(path), ":streamGenerateContent")
}

func bedrockStreamPath(path string) bool {
	op := bedrockOperation(stripQuery(path))
	return op == "/converse-stream" || op == "/invoke-with-response-stream"
}

// Params are a request's parameters as the client wrote them: numbers as
// their JSON text, stream as true or false, and the count of tools.
type Params struct {
	Temperature, TopP, MaxTokens, Stream, Seed, N string
	Tools                                         int
	ToolsSet                                      bool
}

// Params is what the request body said, or its path for stream.
func (r *Request) Params(path string) Params {
	v := &r.v
	p := Params{
		Temperature: v.param(ParamTemperature), TopP: v.param(ParamTopP), MaxTokens: v.param(ParamMaxTokens),
		Stream: v.param(ParamStream), Seed: v.param(ParamSeed), N: v.param(ParamN),
		Tools: v.tools, ToolsSet: v.toolsSet,
	}
	if r.fam != nil && r.fam.streamPath != nil {
		p.Stream = "false"
		if r.fam.streamPath(path) {
			p.Stream = "true"
		}
	}
	return p
}
