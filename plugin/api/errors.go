package api

import "strings"

// Error types: why a call failed, as a small fixed set that is safe as a
// metric tag, whatever a provider writes in its error bodies.
const (
	ErrRateLimited    = "rate_limited"
	ErrQuota          = "quota"
	ErrContextLength  = "context_length"
	ErrOverloaded     = "overloaded"
	ErrAuth           = "auth"
	ErrInvalidRequest = "invalid_request"
	ErrServer         = "server_error"
	ErrOther          = "other"
)

// ErrorTypes lists every error type, for metric vocabularies and tests.
var ErrorTypes = []string{ErrRateLimited, ErrQuota, ErrContextLength, ErrOverloaded, ErrAuth, ErrInvalidRequest, ErrServer, ErrOther}

// errorCodes maps the codes, types and status names providers put in their
// error bodies, lower-cased, onto error types:
//
//   - OpenAI, Azure, DashScope compatible mode, vLLM: error.code, error.type
//   - Responses: code (error event), response.error.code (response.failed)
//   - Anthropic: error.type
//   - Gemini, Vertex: error.status
//   - Bedrock: the x-amzn-errortype header, or an eventstream exception
//   - DashScope native: code
var errorCodes = map[string]string{
	"rate_limit_exceeded": ErrRateLimited, "rate_limit_error": ErrRateLimited,
	"throttlingexception": ErrRateLimited, "throttling": ErrRateLimited,
	"throttling.ratequota": ErrRateLimited, "throttling.allocationquota": ErrRateLimited,
	"resource_exhausted": ErrRateLimited, "limit_requests": ErrRateLimited, "too_many_requests": ErrRateLimited, "tokens": ErrRateLimited, "requests": ErrRateLimited,

	"insufficient_quota": ErrQuota, "billing_hard_limit_reached": ErrQuota, "arrearage": ErrQuota,
	"servicequotaexceededexception": ErrQuota, "allocationquota.freetieronly": ErrQuota,

	"context_length_exceeded": ErrContextLength, "string_above_max_length": ErrContextLength,

	"overloaded_error": ErrOverloaded, "unavailable": ErrOverloaded, "serviceunavailableexception": ErrOverloaded,
	"modelnotreadyexception": ErrOverloaded, "server_is_overloaded": ErrOverloaded, "engine_overloaded": ErrOverloaded,

	"authentication_error": ErrAuth, "permission_error": ErrAuth, "invalid_api_key": ErrAuth,
	"invalidapikey": ErrAuth, "accessdeniedexception": ErrAuth, "unauthenticated": ErrAuth,
	"permission_denied": ErrAuth, "unrecognizedclientexception": ErrAuth,

	"invalid_request_error": ErrInvalidRequest, "invalidparameter": ErrInvalidRequest,
	"validationexception": ErrInvalidRequest, "invalid_argument": ErrInvalidRequest,
	"not_found_error": ErrInvalidRequest, "resourcenotfoundexception": ErrInvalidRequest,
	"badrequesterror": ErrInvalidRequest, "invalid_value": ErrInvalidRequest, "model_not_found": ErrInvalidRequest,
	"request_too_large": ErrInvalidRequest, "not_found": ErrInvalidRequest, "failed_precondition": ErrInvalidRequest,

	"server_error": ErrServer, "api_error": ErrServer, "internal": ErrServer, "internalserverexception": ErrServer,
	"internalerror": ErrServer, "modeltimeoutexception": ErrServer, "internalservererror": ErrServer,
	"deadline_exceeded": ErrServer, "modelerrorexception": ErrServer,
}

// contextPhrases are how providers that have no code for it say that the
// input was too long for the model.
var contextPhrases = []string{
	"maximum context length",               // OpenAI, vLLM
	"context length",                       // Ollama, vLLM
	"context window",                       // Azure, Anthropic
	"prompt is too long",                   // Anthropic
	"exceeds the maximum number of tokens", // Gemini
	"input is too long",                    // Bedrock
	"too many input tokens",                // Bedrock
	"range of input length",                // DashScope
}

// generic are codes that say only which side failed; a status that says
// more wins over them (OpenAI's 503 "server_error" is an overload).
var generic = map[string]bool{"server_error": true, "api_error": true, "internal": true,
	"invalid_request_error": true, "badrequesterror": true, "invalid_argument": true}

// classify names why a call failed, from its status and what its error
// body or event said. A code wins over the status, unless it is generic;
// a message only tells a context-length error from another invalid
// request, and a quota detail (Gemini's quotaId) a spent daily quota from
// a rate limit.
func classify(status int, code, kind, msg, detail string) string {
	t := ""
	for _, c := range [...]string{code, kind} {
		if c == "" {
			continue
		}
		c = strings.ToLower(c)
		if i := strings.IndexByte(c, ':'); i > 0 { // Bedrock's "ThrottlingException:http://…"
			c = c[:i]
		}
		if e, ok := errorCodes[c]; ok {
			t = e
			if s := fromStatus(status); generic[c] && (s == ErrRateLimited || s == ErrOverloaded || s == ErrAuth) {
				t = s
			}
			break
		}
		if e := fromStatus(atoiSmall(c)); e != "" && t == "" { // Azure and vLLM put the status in code
			t = e
		}
	}
	if t == "" {
		t = fromStatus(status)
	}
	if t == "" && status >= 200 && status <= 299 {
		t = ErrServer // an error event or body cut a successful answer short
	}
	lower := strings.ToLower(msg)
	switch t {
	case ErrInvalidRequest, ErrOther, "":
		if containsAny(lower, contextPhrases) {
			return ErrContextLength
		}
	case ErrRateLimited:
		if strings.Contains(strings.ToLower(detail), "perday") {
			return ErrQuota
		}
	}
	if t == "" {
		return ErrOther
	}
	return t
}

func fromStatus(status int) string {
	switch {
	case status == 429:
		return ErrRateLimited
	case status == 529, status == 503:
		return ErrOverloaded
	case status == 401, status == 403:
		return ErrAuth
	case status == 400, status == 404, status == 413, status == 422:
		return ErrInvalidRequest
	case status >= 500 && status <= 599:
		return ErrServer
	}
	return ""
}

func atoiSmall(s string) int {
	if len(s) != 3 {
		return 0
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
