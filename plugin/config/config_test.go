package config

import (
	"reflect"
	"strings"
	"testing"
)

func with(edit func(*Config)) Config {
	c := Defaults
	edit(&c)
	return c
}

func TestParse(t *testing.T) {
	t.Setenv("TEST_LLM_KEY", "sk-from-env")
	cases := []struct {
		name      string
		config    string
		want      Config
		expectErr string // substring; the field must be named
	}{
		{name: "absent", config: "", want: Defaults},
		{name: "white space", config: " \n", want: Defaults},
		{name: "null", config: "null", want: Defaults},
		{name: "empty object", config: "{}", want: Defaults},
		{name: "one field", config: `{"max_model_labels": 5}`,
			want: with(func(c *Config) { c.MaxModelLabels = 5 })},
		{name: "limits", config: `{"max_model_labels": 1, "max_tag_length": 16, "max_value_length": 4096, "max_rewrite_body_bytes": 1024}`,
			want: with(func(c *Config) {
				c.MaxModelLabels, c.MaxTagLength, c.MaxValueLength, c.MaxRewriteBodyBytes = 1, 16, 4096, 1024
			})},
		{name: "label and metric caps", config: `{"max_destination_labels": 10, "max_metrics": 64}`,
			want: with(func(c *Config) { c.MaxDestinationLabels, c.MaxMetrics = 10, 64 })},
		{name: "too few metrics", config: `{"max_metrics": 63}`, expectErr: `"max_metrics": 63 is out of range [64,`},
		{name: "no destinations", config: `{"max_destination_labels": 0}`, expectErr: `"max_destination_labels": 0 is out of range`},
		{name: "invalid JSON", config: `{"max_model_labels": }`, expectErr: "invalid JSON"},
		{name: "unknown key", config: `{"max_models": 5}`, expectErr: `"max_models": unknown field`},
		{name: "wrong type", config: `{"max_tag_length": "64"}`, expectErr: `"max_tag_length": expected int`},
		{name: "not an object", config: `[1]`, expectErr: "expected a JSON object"},
		{name: "zero limit", config: `{"max_model_labels": 0}`, expectErr: `"max_model_labels": 0 is out of range`},
		{name: "too large", config: `{"max_value_length": 100000}`, expectErr: `"max_value_length": 100000 is out of range`},
		{name: "trailing data", config: `{} {}`, expectErr: "trailing data"},
		{name: "trailing closer", config: `{}}`, expectErr: "trailing data"},
		{name: "case-folded key", config: `{"MAX_MODEL_LABELS": 5}`, expectErr: `"MAX_MODEL_LABELS": unknown field`},
		{name: "case-folded nested key", config: `{"providers": [{"Host": "h", "path": "/"}]}`, expectErr: `"providers[0].Host": unknown field`},
		{name: "paths", config: `{"paths": {"/gw/chat": "openai", "/gw/claude/*": "anthropic"}, "keep_accept_encoding": true}`,
			want: with(func(c *Config) {
				c.Paths = map[string]string{"/gw/chat": "openai", "/gw/claude/*": "anthropic"}
				c.KeepAcceptEncoding = true
			})},
		{name: "unknown family", config: `{"paths": {"/gw": "openia"}}`, expectErr: `"paths": unknown API family "openia"`},
		{name: "relative path", config: `{"paths": {"gw": "openai"}}`, expectErr: `"paths": path "gw" must start with '/'`},
		{name: "provider from env", config: `{"providers": [{"host": "dashscope.aliyuncs.com", "path": "/compatible-mode/v1/chat/completions",
			"api_key_env": "TEST_LLM_KEY", "default_model": "qwen-1.8b-chat",
			"routes": [{"name": "sub", "headers": [{"name": "User-Type", "exact": "subscriber"}], "model": "qwen-turbo"}]}]}`,
			want: with(func(c *Config) {
				c.Providers = []Provider{{Host: "dashscope.aliyuncs.com", MatchHosts: []string{"dashscope.aliyuncs.com"},
					Path: "/compatible-mode/v1/chat/completions", APIKey: "sk-from-env", APIKeyEnv: "TEST_LLM_KEY", Auth: "bearer",
					DefaultModel: "qwen-1.8b-chat",
					Routes:       []Route{{Name: "sub", Headers: []HeaderMatch{{Name: "user-type", Exact: "subscriber"}}, Model: "qwen-turbo"}}}}
			})},
		{name: "provider without host", config: `{"providers": [{"path": "/v1"}]}`, expectErr: `"providers[0].host": required`},
		{name: "provider bad auth", config: `{"providers": [{"host": "h", "path": "/", "auth": "basic"}]}`, expectErr: `"providers[0].auth": "basic" is not`},
		{name: "bedrock provider", config: `{"providers": [{"host": "bedrock-runtime.us-east-1.amazonaws.com", "path": "/model/m/converse"}]}`,
			expectErr: `"providers[0].host": bedrock-runtime.us-east-1.amazonaws.com signs requests with SigV4`},
		{name: "azure key header", config: `{"providers": [{"host": "r.openai.azure.com", "path": "/openai/deployments/d/chat/completions", "auth": "api-key", "api_key": "k"}]}`,
			want: with(func(c *Config) {
				c.Providers = []Provider{{Host: "r.openai.azure.com", MatchHosts: []string{"r.openai.azure.com"},
					Path: "/openai/deployments/d/chat/completions", APIKey: "k", Auth: "api-key"}}
			})},
		{name: "empty key env", config: `{"providers": [{"host": "h", "path": "/", "api_key_env": "TEST_LLM_KEY_UNSET"}]}`,
			expectErr: `"providers[0].api_key_env": environment variable TEST_LLM_KEY_UNSET is empty`},
		{name: "two header rules", config: `{"providers": [{"host": "h", "path": "/", "routes": [{"model": "m", "headers": [{"name": "x", "exact": "a", "prefix": "b"}]}]}]}`,
			expectErr: `"providers[0].routes[0].headers[0]": set exactly one`},
		{name: "bad regex", config: `{"providers": [{"host": "h", "path": "/", "routes": [{"model": "m", "headers": [{"name": "x", "regex": "("}]}]}]}`,
			expectErr: `"providers[0].routes[0].headers[0]": regex:`},
		{name: "route without model", config: `{"providers": [{"host": "h", "path": "/", "routes": [{"headers": [{"name": "x", "exact": "a"}]}]}]}`,
			expectErr: `"providers[0].routes[0].model": required`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.config))
			if tc.expectErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.expectErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.expectErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
