package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// seedRouting is ASM's LLMProvider and LLMRoute of the seed walkthrough as
// plugin configuration, with the key in the VM's environment.
const seedRouting = `{
  "providers": [{
    "host": "dashscope.aliyuncs.com",
    "path": "/compatible-mode/v1/chat/completions",
    "api_key_env": "DASHSCOPE_API_KEY",
    "default_model": "qwen-1.8b-chat",
    "routes": [{"name": "subscriber", "headers": [{"name": "user-type", "exact": "subscriber"}], "model": "qwen-turbo"}]
  }]
}`

func routingHost(t *testing.T, config string) *host.Host {
	opts := routingHostOptions()
	opts.PluginConfig = []byte(config)
	return newHost(t, opts)
}

func routingHostOptions() host.Options {
	opts := replay.Options(envoy)
	opts.ObserveOnly = false // rewriting buffers request bodies
	opts.Env = map[string]string{"DASHSCOPE_API_KEY": "sk-test-123"}
	return opts
}

// seedRequest is the walkthrough's curl: no path, no model, curl's default
// form content type.
func seedRequest(body string, extra ...[2]string) host.Exchange {
	return host.Exchange{
		ClusterName: "outbound|80||dashscope.aliyuncs.com",
		RequestHeaders: append([][2]string{{":method", "POST"}, {":path", "/"}, {":authority", "dashscope.aliyuncs.com"},
			{":scheme", "http"}, {"content-type", "application/x-www-form-urlencoded"}, {"content-length", fmt.Sprint(len(body))}}, extra...),
		RequestBody:     [][]byte{[]byte(body)},
		ResponseHeaders: [][2]string{{":status", "200"}, {"content-type", "application/json"}},
	}
}

func TestSeedRouting(t *testing.T) {
	h := routingHost(t, seedRouting)
	seed := caseNamed(t, "dashscope_compatible/seed_qwen_turbo")
	const body = `{"messages":[{"role":"user","content":"请介绍你自己"}]}`
	for _, tc := range []struct {
		name   string
		header [][2]string
		model  string
	}{
		{"no header: the provider's default model", nil, "qwen-1.8b-chat"},
		{"user-type subscriber: the route's model", [][2]string{{"user-type", "subscriber"}}, "qwen-turbo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := seedRequest(body, tc.header...)
			ex.ResponseBody = [][]byte{seed.ResponseBody}
			res, err := h.Do(t.Context(), ex)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"model":"` + tc.model + `",` + body[1:]
			if got := string(res.ForwardedRequestBody); got != want {
				t.Fatalf("forwarded body\n got %s\nwant %s", got, want)
			}
			for name, want := range map[string]string{
				":authority":     "dashscope.aliyuncs.com",
				":path":          "/compatible-mode/v1/chat/completions",
				"authorization":  "Bearer sk-test-123",
				"content-length": "", // removed: the body changed after the headers left
			} {
				if got := header(res.ForwardedRequestHeaders, name); got != want {
					t.Fatalf("%s = %q, want %q", name, got, want)
				}
			}
			if got := res.FilterState[fixture.StateRequestModel]; got != tc.model {
				t.Fatalf("request_model %q, want %q", got, tc.model)
			}
			if res.LocalReply != nil {
				t.Fatalf("local reply %+v", res.LocalReply)
			}
		})
	}
	if !strings.Contains(h.Prometheus(), `llmproxy_request_rewrites_total{llmproxy_rewrite="applied"} 2`) {
		t.Fatalf("rewrites not counted:\n%s", h.Prometheus())
	}
}

// The API key goes upstream only: never into logs, filter state or stats.
func TestSecretsStayOut(t *testing.T) {
	h := routingHost(t, seedRouting)
	seed := caseNamed(t, "dashscope_compatible/seed_qwen_turbo")
	ex := seedRequest(`{"messages":[]}`, [2]string{"authorization", "Bearer sk-client-secret"}, [2]string{"x-api-key", "sk-client-x"})
	ex.ResponseBody = [][]byte{seed.ResponseBody}
	res, err := h.Do(t.Context(), ex)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, l := range append(res.Logs, h.Logs()...) {
		seen = append(seen, l.Message)
	}
	for k, v := range res.FilterState {
		seen = append(seen, k, v)
	}
	seen = append(seen, h.Prometheus())
	for _, secret := range []string{"sk-test-123", "sk-client-secret", "sk-client-x"} {
		for _, s := range seen {
			if strings.Contains(s, secret) {
				t.Fatalf("%s leaked into %q", secret, s)
			}
		}
	}
}

func TestClientModelIsKeptUnlessOverride(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{seedRouting, "gpt-custom"},
		{strings.Replace(seedRouting, `"default_model"`, `"override": true, "default_model"`, 1), "qwen-1.8b-chat"},
	} {
		h := routingHost(t, tc.config)
		res, err := h.Do(t.Context(), seedRequest(`{"model":"gpt-custom","messages":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := res.FilterState[fixture.StateRequestModel]; got != tc.want {
			t.Fatalf("request_model %q, want %q", got, tc.want)
		}
		if !bytes.Contains(res.ForwardedRequestBody, []byte(`"model":"`+tc.want+`"`)) {
			t.Fatalf("forwarded %s", res.ForwardedRequestBody)
		}
	}
}

// TestOversizedBodiesAreNotRewritten: no rewrite, no 413, bytes unchanged,
// whether the size is announced or only seen.
func TestOversizedBodiesAreNotRewritten(t *testing.T) {
	h := routingHost(t, seedRouting)
	big := `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 600<<10) + `"}]}`
	announced := seedRequest(big)
	unannounced := seedRequest(big)
	unannounced.RequestHeaders = unannounced.RequestHeaders[:len(unannounced.RequestHeaders)-1] // no content-length
	var chunks [][]byte
	for b := []byte(big); len(b) > 0; b = b[min(len(b), 16<<10):] {
		chunks = append(chunks, b[:min(len(b), 16<<10)])
	}
	unannounced.RequestBody = chunks
	for name, ex := range map[string]host.Exchange{"content-length": announced, "seen": unannounced} {
		res, err := h.Do(t.Context(), ex)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.LocalReply != nil {
			t.Fatalf("%s: local reply %d", name, res.LocalReply.Status)
		}
		if !bytes.Equal(res.ForwardedRequestBody, []byte(big)) {
			t.Fatalf("%s: body changed (%d bytes forwarded)", name, len(res.ForwardedRequestBody))
		}
		if !strings.Contains(strings.Join(logLines(res), "\n"), "forwarded without rewrite") {
			t.Fatalf("%s: no log line: %v", name, logLines(res))
		}
	}
	if !strings.Contains(h.Prometheus(), `llmproxy_request_rewrites_total{llmproxy_rewrite="too_large"} 2`) {
		t.Fatalf("too_large not counted:\n%s", h.Prometheus())
	}
}

func TestNonJSONBodyPassesUntouched(t *testing.T) {
	h := routingHost(t, seedRouting)
	res, err := h.Do(t.Context(), seedRequest(`messages=hello&stream=true`))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.ForwardedRequestBody) != `messages=hello&stream=true` {
		t.Fatalf("forwarded %q", res.ForwardedRequestBody)
	}
	if !strings.Contains(h.Prometheus(), `llmproxy_request_rewrites_total{llmproxy_rewrite="not_json"} 1`) {
		t.Fatalf("not_json not counted:\n%s", h.Prometheus())
	}
}

func logLines(res *host.Result) []string {
	var out []string
	for _, l := range res.Logs {
		out = append(out, l.Message)
	}
	return out
}
