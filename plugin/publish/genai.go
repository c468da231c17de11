package publish

import "strings"

// OpenTelemetry GenAI client metrics (semantic-conventions-genai), as Envoy
// can hold them: histograms of integers, so durations are in milliseconds
// where the conventions say seconds, and dots in names and attributes
// become underscores, as Prometheus requires.
const (
	// GenAITokenUsage is gen_ai.client.token.usage: input and output tokens
	// per call, told apart by gen_ai_token_type.
	GenAITokenUsage = "gen_ai_client_token_usage"
	// GenAIDuration is gen_ai.client.operation.duration, in milliseconds.
	GenAIDuration = "gen_ai_client_operation_duration"
	// GenAITimeToFirstChunk is gen_ai.client.operation.time_to_first_chunk,
	// in milliseconds.
	GenAITimeToFirstChunk = "gen_ai_client_operation_time_to_first_chunk"
)

// GenAI attributes, as tags.
const (
	GenAITokenType     = "gen_ai_token_type"
	GenAIProvider      = "gen_ai_provider_name"
	GenAIOperation     = "gen_ai_operation_name"
	GenAIRequestModel  = "gen_ai_request_model"
	GenAIResponseModel = "gen_ai_response_model"
	GenAIServerAddress = "server_address"
	GenAIErrorType     = "error_type"
)

// GenAITags are the attributes of one GenAI series.
type GenAITags struct {
	Provider, Operation, RequestModel, ResponseModel, Server, ErrorType string
}

// GenAIStatName writes a GenAI metric name with its attributes, the
// response model only when the response named one and the error type only
// on failed calls, as the conventions ask, then any further tags.
func GenAIStatName(metric string, t GenAITags, more ...Tag) string {
	if t.ErrorType != "" {
		more = append([]Tag{{GenAIErrorType, t.ErrorType}}, more...)
	}
	tags := [...]Tag{
		{GenAIProvider, t.Provider},
		{GenAIOperation, t.Operation},
		{GenAIServerAddress, t.Server},
		{GenAIRequestModel, t.RequestModel},
		{GenAIResponseModel, t.ResponseModel},
	}
	return statName(metric, tags[:], GenAIResponseModel, more)
}

// GenAIProviderName is gen_ai.provider.name for an API family and the host
// the call went to: the conventions' values where they have one, our own
// (dashscope, ollama) where they do not. An OpenAI-compatible server the
// host does not name is "openai", the API it speaks.
func GenAIProviderName(api, host string) string {
	host = strings.ToLower(host)
	switch api {
	case "azure_openai":
		return "azure.ai.openai"
	case "anthropic":
		return "anthropic"
	case "bedrock":
		return "aws.bedrock"
	case "dashscope":
		return "dashscope"
	case "ollama":
		return "ollama"
	case "gemini":
		if strings.HasSuffix(host, "aiplatform.googleapis.com") {
			return "gcp.vertex_ai"
		}
		return "gcp.gemini"
	}
	for _, p := range [...][2]string{
		{".openai.azure.com", "azure.ai.openai"},
		{"dashscope", "dashscope"},
		{"api.deepseek.com", "deepseek"},
		{"api.mistral.ai", "mistral_ai"},
		{"api.groq.com", "groq"},
		{"api.x.ai", "x_ai"},
		{"api.perplexity.ai", "perplexity"},
		{":11434", "ollama"},
	} {
		if strings.Contains(host, p[0]) {
			return p[1]
		}
	}
	return "openai"
}

// GenAIOperationName is gen_ai.operation.name for an API family and path.
func GenAIOperationName(api, path string) string {
	path, _, _ = strings.Cut(path, "?")
	switch {
	case strings.HasSuffix(path, "/embeddings"), strings.HasSuffix(path, "/api/embed"):
		return "embeddings"
	case api == "gemini":
		return "generate_content"
	case strings.HasSuffix(path, "/completions") && !strings.HasSuffix(path, "/chat/completions"),
		path == "/api/generate":
		return "text_completion"
	}
	return "chat"
}
