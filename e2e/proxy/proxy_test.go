package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/mockllm"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

func TestChatJSON(t *testing.T) {
	r := newRig(t, "", nil)
	c := cases["openai/chat_json"]
	resp := r.call(t, c, c.RequestBody, mockllm.CaseHeader, c.Name)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != c.Status || !bytes.Equal(got, c.ResponseBody) {
		t.Fatalf("client got %d %q, want the mock's bytes", resp.StatusCode, got)
	}
	if ct := resp.Header.Get("Content-Type"); ct != c.ResponseHeaders["content-type"] {
		t.Errorf("content-type %q", ct)
	}
	line := r.accessLog(t)
	wantUsage(t, line, c)
	if line["authority"] != c.Authority || line["path"] != c.Path {
		t.Errorf("access log %v", line)
	}
}

// TestStreamIsNotBuffered: the answer reaches the client in pieces while
// the mock still writes it, the bytes unchanged, and the plugin measured a
// real time to first token.
func TestStreamIsNotBuffered(t *testing.T) {
	r := newRig(t, "", nil)
	c := cases["openai/chat_stream_usage"]
	start := time.Now()
	resp := r.call(t, c, c.RequestBody, mockllm.CaseHeader, c.Name)
	defer resp.Body.Close()
	var got []byte
	var at []time.Duration
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			got = append(got, buf[:n]...)
			at = append(at, time.Since(start))
		}
		if err != nil {
			break
		}
	}
	if !bytes.Equal(got, c.ResponseBody) {
		t.Fatalf("client got\n%s\nwant\n%s", got, c.ResponseBody)
	}
	// The mock writes 32 bytes every 20 ms: a buffered answer would come
	// in one read at the end.
	pieces := (len(c.ResponseBody) + 31) / 32
	if len(at) < pieces/2 || at[len(at)-1]-at[0] < time.Duration(pieces-1)*20*time.Millisecond/2 {
		t.Fatalf("%d reads over %v for %d pieces written 20ms apart: buffered", len(at), at[len(at)-1]-at[0], pieces)
	}
	line := r.accessLog(t)
	wantUsage(t, line, c)
	if ttft, ok := line["ttft_ms"].(string); !ok || ttft == "" {
		t.Errorf("ttft_ms %v", line["ttft_ms"])
	}
}

func TestPrometheus(t *testing.T) {
	r := newRig(t, "", nil)
	c := cases["openai/chat_json"]
	resp := r.call(t, c, c.RequestBody, mockllm.CaseHeader, c.Name)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r.accessLog(t) // the call is over
	stats, err := http.Get(r.admin.URL + "/stats/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(stats.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"llmproxy_source_workload": "sleep", "llmproxy_source_workload_namespace": "default",
		"llmproxy_destination_service": "api.openai.com", "llmproxy_model": "gpt-4o-mini",
	}
	for name, value := range map[string]*uint64{"asm_llm_proxy_prompt_tokens": c.Expect.PromptTokens,
		"asm_llm_proxy_completion_tokens": c.Expect.CompletionTokens} {
		f := families[name]
		if f == nil || len(f.GetMetric()) != 1 {
			t.Fatalf("%s: %v", name, f)
		}
		m := f.GetMetric()[0]
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if fmt.Sprint(labels) != fmt.Sprint(want) || m.GetCounter().GetValue() != float64(*value) {
			t.Errorf("%s%v = %v, want %v %d", name, labels, m.GetCounter().GetValue(), want, *value)
		}
	}
	ready, err := http.Get(r.admin.URL + "/ready")
	if err != nil || ready.StatusCode != 200 {
		t.Fatalf("/ready: %v %v", ready, err)
	}
}

// routing sends llm.local to OpenAI with the key from the VM environment.
const routing = `{"providers": [{"host": "api.openai.com", "match_hosts": ["llm.local"],
  "path": "/v1/chat/completions", "api_key_env": "OPENAI_API_KEY", "default_model": "gpt-4o-mini"}]}`

// TestRoutingInjectsKey: the plugin routes a request for llm.local to the
// provider: the upstream gets the provider's authority, path and key, and
// the model the body lacked; the client's own key goes nowhere.
func TestRoutingInjectsKey(t *testing.T) {
	r := newRig(t, routing, func(o *host.Options) { o.Env = map[string]string{"OPENAI_API_KEY": "sk-from-vm-env"} })
	c := cases["openai/chat_json"]
	c.Authority, c.Path = "llm.local", "/"
	resp := r.call(t, c, []byte(`{"messages":[{"role":"user","content":"hi"}]}`),
		"Authorization", "Bearer sk-client", mockllm.CaseHeader, "openai/chat_json")
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, c.ResponseBody) {
		t.Fatalf("client got %d %s", resp.StatusCode, got)
	}
	received := r.upstreamGot()
	if len(received) != 1 {
		t.Fatalf("upstream got %d requests", len(received))
	}
	up := received[0]
	if up.host != "api.openai.com" || up.path != "/v1/chat/completions" || up.header.Get("Authorization") != "Bearer sk-from-vm-env" {
		t.Fatalf("upstream got Host %q path %q Authorization %q", up.host, up.path, up.header.Get("Authorization"))
	}
	if !bytes.HasPrefix(up.body, []byte(`{"model":"gpt-4o-mini",`)) {
		t.Fatalf("upstream body %s", up.body)
	}
	line := r.accessLog(t)
	if line["authority"] != "api.openai.com" || line["request_model"] != "gpt-4o-mini" || line["upstream_cluster"] != "llm_upstream" {
		t.Fatalf("access log %v", line)
	}
}

// TestInjectStreamUsage: the upstream is asked for usage the client did
// not ask for; the client gets no usage chunk, the access log the tokens.
func TestInjectStreamUsage(t *testing.T) {
	r := newRig(t, `{"inject_stream_usage": true}`, nil)
	asked := cases["openai/chat_stream_no_usage"]
	served := cases["openai/chat_stream_usage"]
	resp := r.call(t, asked, asked.RequestBody, mockllm.CaseHeader, served.Name)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if up := r.upstreamGot(); len(up) != 1 || !bytes.Contains(up[0].body, []byte(`"include_usage":true`)) {
		t.Fatalf("upstream not asked for usage: %v", up)
	}
	if bytes.Contains(got, []byte("usage")) || !bytes.Contains(got, []byte("data: [DONE]")) {
		t.Fatalf("client got a usage chunk or lost the end:\n%s", got)
	}
	wantUsage(t, r.accessLog(t), served)
}

// TestRequestOverBufferLimit: a body the plugin buffers past Envoy's
// limit gets Envoy's 413, and the access log says so.
func TestRequestOverBufferLimit(t *testing.T) {
	r := newRig(t, `{"inject_stream_usage": true}`, func(o *host.Options) { o.BufferLimit = 4 << 10 })
	c := cases["openai/chat_stream_no_usage"]
	big := []byte(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"` + strings.Repeat("x", 8<<10) + `"}]}`)
	req, _ := http.NewRequest("POST", r.proxy.URL+c.Path, io.MultiReader(bytes.NewReader(big))) // no length: chunked
	req.Host = c.Authority
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || string(got) != "Payload Too Large" {
		t.Fatalf("client got %d %q", resp.StatusCode, got)
	}
	if line := r.accessLog(t); line["response_code"] != float64(413) {
		t.Fatalf("access log %v", line)
	}
}

// TestUpstreamDown: Envoy's 503 travels the response callbacks.
func TestUpstreamDown(t *testing.T) {
	r := newRig(t, "", nil)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	up, _ := NewFixed(dead.URL)
	r.proxy.Config.Handler.(*Server).Upstream = up
	c := cases["openai/chat_json"]
	resp := r.call(t, c, c.RequestBody)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.HasPrefix(string(got), "upstream connect error") {
		t.Fatalf("client got %d %q", resp.StatusCode, got)
	}
	if line := r.accessLog(t); line["response_code"] != float64(503) || line["upstream_cluster"] != "llm_upstream" {
		t.Fatalf("access log %v", line)
	}
}

// TestConcurrentCalls: streams in flight together interleave in the one
// VM and each keeps its own bytes and usage.
func TestConcurrentCalls(t *testing.T) {
	r := newRig(t, "", nil)
	names := []string{"openai/chat_stream_usage", "anthropic/stream", "gemini/stream_sse", "openai_compat/deepseek_stream",
		"ollama/chat_stream", "openai_responses/stream", "dashscope/generation_stream", "bedrock/converse_stream"}
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cases[name]
			req, _ := http.NewRequest(c.Method, r.proxy.URL+c.Path, bytes.NewReader(c.RequestBody))
			req.Host = c.Authority
			for k, v := range c.RequestHeaders {
				req.Header.Set(k, v)
			}
			req.Header.Set(mockllm.CaseHeader, name)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, c.ResponseBody) {
				t.Errorf("%s: the client's bytes differ from the mock's", name)
			}
		}()
	}
	wg.Wait()
	lines := r.access.waitLines(len(names))
	if len(lines) != len(names) {
		t.Fatalf("%d access-log lines for %d calls", len(lines), len(names))
	}
	byModel := map[string]map[string]any{}
	for _, l := range lines {
		var m map[string]any
		json.Unmarshal([]byte(l), &m)
		byModel[fmt.Sprint(m["request_model"])] = m
	}
	for _, name := range names {
		c := cases[name]
		wantUsage(t, byModel[c.Expect.RequestModel], c)
	}
}

// TestEnvoyClusters: without a fixed upstream, the route table picks
// envoy.yaml's cluster, the request goes to its endpoint, and the route's
// host_rewrite_literal is the Host header sent and logged.
func TestEnvoyClusters(t *testing.T) {
	r := newRigWith(t, "", nil, func(t *testing.T, mockAddr string) *envoyconfig.Config {
		root, _ := fixture.Root()
		raw, err := os.ReadFile(filepath.Join(root, "envoy.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		ip, port, _ := strings.Cut(mockAddr, ":")
		if !strings.Contains(string(raw), "{address: 127.0.0.1, port_value: 8080}") {
			t.Fatal("envoy.yaml's upstream moved; edit this test")
		}
		edited := strings.NewReplacer(
			"{address: 127.0.0.1, port_value: 8080}", "{address: "+ip+", port_value: "+port+"}",
			"cluster: llm_upstream\n", "cluster: llm_upstream\n                  host_rewrite_literal: api.openai.com\n",
		).Replace(string(raw))
		path := filepath.Join(t.TempDir(), "envoy.yaml")
		if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := envoyconfig.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	})
	c := cases["openai/chat_json"]
	c.Authority = "localhost:10000"
	resp := r.call(t, c, c.RequestBody, mockllm.CaseHeader, c.Name)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, c.ResponseBody) {
		t.Fatalf("client got %d %s (proxy said %q)", resp.StatusCode, got, r.errs.lines())
	}
	if up := r.upstreamGot(); len(up) != 1 || up[0].host != "api.openai.com" {
		t.Fatalf("upstream got %+v", up)
	}
	if line := r.accessLog(t); line["authority"] != "api.openai.com" || line["upstream_cluster"] != "llm_upstream" {
		t.Fatalf("access log %v", line)
	}
}

// TestClientGoesAway: a client that leaves mid-stream resets the stream;
// the call is still logged, as incomplete, and the proxy serves on.
func TestClientGoesAway(t *testing.T) {
	r := newRig(t, "", nil)
	c := cases["openai/chat_stream_usage"]
	resp := r.call(t, c, c.RequestBody, mockllm.CaseHeader, c.Name)
	if _, err := resp.Body.Read(make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	line := r.accessLog(t)
	if line["usage_status"] != "incomplete" || line["response_code"] != float64(200) {
		t.Fatalf("access log %v", line)
	}
	if err := r.h.Err(); err != nil {
		t.Fatal(err)
	}
}
