package api

import (
	"net/url"
	"testing"
)

// TestClassify: the codes, types and messages providers document, and the
// statuses alone.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		status                      int
		code, kind, message, detail string
		want                        string
	}{
		{429, "rate_limit_exceeded", "tokens", "Rate limit reached for gpt-4o-mini", "", ErrRateLimited},                            // OpenAI
		{429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota", "", ErrQuota},                          // OpenAI
		{400, "context_length_exceeded", "invalid_request_error", "This model's maximum context length is", "", ErrContextLength},   // OpenAI
		{401, "invalid_api_key", "invalid_request_error", "Incorrect API key provided", "", ErrAuth},                                // OpenAI: the code wins over the type
		{429, "429", "", "Requests to the ChatCompletions_Create Operation ... have exceeded token rate limit", "", ErrRateLimited}, // Azure
		{400, "400", "BadRequestError", "This model's maximum context length is 32768 tokens.", "", ErrContextLength},               // vLLM
		{429, "", "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", "", ErrRateLimited},       // Anthropic
		{529, "", "overloaded_error", "Overloaded", "", ErrOverloaded},                                                              // Anthropic
		{400, "", "invalid_request_error", "prompt is too long: 215000 tokens > 200000 maximum", "", ErrContextLength},              // Anthropic
		{200, "", "overloaded_error", "Overloaded", "", ErrOverloaded},                                                              // Anthropic error event
		{429, "429", "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", "", ErrRateLimited},                   // Gemini
		{429, "429", "RESOURCE_EXHAUSTED", "You exceeded your current quota", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", ErrRateLimited},
		{429, "429", "RESOURCE_EXHAUSTED", "You exceeded your current quota", "GenerateRequestsPerDayPerProjectPerModel-FreeTier", ErrQuota},
		{503, "", "server_error", "That model is currently overloaded with other requests.", "", ErrOverloaded}, // OpenAI's 503
		{400, "400", "INVALID_ARGUMENT", "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", "", ErrContextLength},
		{503, "503", "UNAVAILABLE", "The model is overloaded. Please try again later.", "", ErrOverloaded},
		{429, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", "", "Too many requests", "", ErrRateLimited}, // Bedrock
		{400, "ValidationException", "", "Input is too long for requested model.", "", ErrContextLength},
		{200, "modelStreamErrorException", "", "", "", ErrServer},                                                      // an eventstream exception with no known name
		{429, "Throttling.RateQuota", "", "Requests rate limit exceeded, please try again later.", "", ErrRateLimited}, // DashScope
		{400, "Arrearage", "", "Access denied, please make sure your account is in good standing.", "", ErrQuota},
		{400, "InvalidParameter", "", "Range of input length should be [1, 30720]", "", ErrContextLength},
		{404, "", "", `model "llama9" not found, try pulling it first`, "", ErrInvalidRequest}, // Ollama
		{200, "", "", "an error was encountered while running the model: unexpected EOF", "", ErrServer},
		{502, "", "", "", "", ErrServer},
		{403, "", "", "", "", ErrAuth},
		{413, "", "", "", "", ErrInvalidRequest},
		{302, "", "", "", "", ErrOther},
	} {
		if got := classify(tc.status, tc.code, tc.kind, tc.message, tc.detail); got != tc.want {
			t.Errorf("classify(%d, %q, %q, %q) = %s, want %s", tc.status, tc.code, tc.kind, tc.message, got, tc.want)
		}
	}
}

// TestPathUnescape holds the Bedrock model-id decoder to net/url's.
func TestPathUnescape(t *testing.T) {
	for _, s := range []string{"anthropic.claude-3-haiku-20240307-v1%3A0", "plain", "a%2Fb%2fc", "bad%zz", "cut%4", "%", "%E6%A8%A1"} {
		want, err := url.PathUnescape(s)
		if err != nil {
			want = s
		}
		if got := pathUnescape(s); got != want {
			t.Errorf("pathUnescape(%q) = %q, want %q", s, got, want)
		}
	}
}
