package api

import "strings"

// Detect returns the family of an LLM call from its path, or nil for other
// traffic. extra maps further paths to families (configuration); an entry
// ending in '*' is a prefix.
func Detect(path string, extra map[string]*Family) *Family {
	path = strings.TrimSuffix(stripQuery(path), "/")
	if len(extra) == 0 {
		return detectKnown(path)
	}
	for p, f := range extra {
		if p == path || strings.HasSuffix(p, "*") && strings.HasPrefix(path, p[:len(p)-1]) {
			return f
		}
	}
	return detectKnown(path)
}

// detectKnown recognises the APIs' own paths. Configured paths are mostly
// none, and ranging over an empty map still costs a call into the runtime.
func detectKnown(path string) *Family {
	switch {
	case strings.HasPrefix(path, "/openai/deployments/"):
		return AzureOpenAI
	case strings.HasPrefix(path, dashScopeNativePrefix) && strings.HasSuffix(path, "/generation"):
		return DashScope
	case strings.Contains(path, "/models/") &&
		(strings.HasSuffix(path, ":generateContent") || strings.HasSuffix(path, ":streamGenerateContent")):
		return Gemini
	case bedrockOperation(path) != "":
		return Bedrock
	case strings.HasSuffix(path, "/v1/messages"):
		return Anthropic
	case strings.HasSuffix(path, "/responses"):
		return OpenAIResponses
	case path == "/api/chat", path == "/api/generate", path == "/api/embed", path == "/api/embeddings":
		return Ollama
	case strings.HasSuffix(path, "/chat/completions"),
		strings.HasSuffix(path, "/completions"),
		strings.HasSuffix(path, "/embeddings"):
		return OpenAI
	}
	return nil
}

func stripQuery(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return path[:i]
	}
	return path
}
