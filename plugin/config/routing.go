package config

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Provider is an LLM provider the plugin routes requests to, as ASM's
// LLMProvider: requests to one of its hosts go to its path, with its API
// key and, when the body names none, a model chosen by its routes.
type Provider struct {
	// Host is the upstream host; :authority is rewritten to it.
	Host string `json:"host"`
	// MatchHosts are the request authorities (port ignored) routed to this
	// provider; default: Host.
	MatchHosts []string `json:"match_hosts"`
	// Path is the upstream API path; :path is rewritten to it.
	Path string `json:"path"`
	// APIKey, or the name of a VM environment variable holding it
	// (vmConfig.env in Istio), so the secret can live outside the manifest;
	// Parse resolves the variable into APIKey.
	APIKey    string `json:"api_key"`
	APIKeyEnv string `json:"api_key_env"`
	// Auth is how the key is sent: "bearer" (Authorization: Bearer, for
	// OpenAI-style and DashScope), or the header that carries it bare:
	// "x-api-key" (Anthropic), "api-key" (Azure OpenAI), "x-goog-api-key"
	// (Gemini).
	Auth         string  `json:"auth"`
	DefaultModel string  `json:"default_model"`
	Override     bool    `json:"override"` // replace a model the client sent
	Routes       []Route `json:"routes"`
}

// Route picks a model for requests whose headers all match, as ASM's
// LLMRoute.
type Route struct {
	Name     string        `json:"name"`
	Headers  []HeaderMatch `json:"headers"`
	Model    string        `json:"model"`
	Override bool          `json:"override"`
}

// HeaderMatch matches one request header by exactly one of its rules.
type HeaderMatch struct {
	Name   string `json:"name"`
	Exact  string `json:"exact"`
	Prefix string `json:"prefix"`
	Regex  string `json:"regex"`

	re *regexp.Regexp
}

// Matches reports whether a header value matches.
func (m *HeaderMatch) Matches(v string, present bool) bool {
	switch {
	case !present:
		return false
	case m.re != nil:
		return m.re.MatchString(v)
	case m.Prefix != "":
		return strings.HasPrefix(v, m.Prefix)
	}
	return v == m.Exact
}

func (c *Config) checkProviders() error {
	for i := range c.Providers {
		p := &c.Providers[i]
		field := fmt.Sprintf("providers[%d]", i)
		if err := p.check(field); err != nil {
			return err
		}
	}
	return nil
}

func (p *Provider) check(field string) error {
	bad := func(sub, why string, args ...any) error {
		return fmt.Errorf("configuration field %q: %s", field+sub, fmt.Sprintf(why, args...))
	}
	switch {
	case p.Host == "":
		return bad(".host", "required")
	case !strings.HasPrefix(p.Path, "/"):
		return bad(".path", "must start with '/'")
	case p.APIKey != "" && p.APIKeyEnv != "":
		return bad(".api_key_env", "set api_key or api_key_env, not both")
	}
	switch p.Auth {
	case "":
		p.Auth = "bearer"
	case "bearer", "x-api-key", "api-key", "x-goog-api-key":
	default:
		return bad(".auth", "%q is not bearer, x-api-key, api-key or x-goog-api-key", p.Auth)
	}
	if host := strings.ToLower(p.Host); strings.HasSuffix(host, ".amazonaws.com") {
		return bad(".host", "%s signs requests with SigV4 over the Host header; rewriting :authority to it would break the signature, so AWS providers (Bedrock) cannot be routed", p.Host)
	}
	if p.APIKeyEnv != "" {
		if p.APIKey = os.Getenv(p.APIKeyEnv); p.APIKey == "" {
			return bad(".api_key_env", "environment variable %s is empty", p.APIKeyEnv)
		}
	}
	if len(p.MatchHosts) == 0 {
		p.MatchHosts = []string{p.Host}
	}
	for r := range p.Routes {
		route := &p.Routes[r]
		if route.Model == "" {
			return bad(fmt.Sprintf(".routes[%d].model", r), "required")
		}
		for hi := range route.Headers {
			if err := route.Headers[hi].compile(); err != nil {
				return bad(fmt.Sprintf(".routes[%d].headers[%d]", r, hi), "%v", err)
			}
		}
	}
	return nil
}

func (m *HeaderMatch) compile() error {
	if m.Name == "" {
		return fmt.Errorf("name is required")
	}
	m.Name = strings.ToLower(m.Name)
	set := 0
	for _, v := range []string{m.Exact, m.Prefix, m.Regex} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("set exactly one of exact, prefix, regex")
	}
	if m.Regex != "" {
		re, err := regexp.Compile("^(?:" + m.Regex + ")$")
		if err != nil {
			return fmt.Errorf("regex: %v", err)
		}
		m.re = re
	}
	return nil
}

// ProviderFor is the provider requests to authority (port ignored) go to.
func (c *Config) ProviderFor(authority string) *Provider {
	host := authority
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	for i := range c.Providers {
		for _, h := range c.Providers[i].MatchHosts {
			if strings.EqualFold(h, host) {
				return &c.Providers[i]
			}
		}
	}
	return nil
}

// Pick chooses the model of a request from its headers: the first route
// whose headers all match, else the provider's default.
func (p *Provider) Pick(header func(name string) (string, bool)) (model string, override bool) {
	for _, r := range p.Routes {
		all := true
		for i := range r.Headers {
			if v, ok := header(r.Headers[i].Name); !r.Headers[i].Matches(v, ok) {
				all = false
				break
			}
		}
		if all {
			return r.Model, r.Override || p.Override
		}
	}
	return p.DefaultModel, p.Override
}
