package proxy

import (
	"bytes"
	"context"
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
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

var (
	module *host.Module
	envoy  *envoyconfig.Config
	cases  = map[string]fixture.Case{}
)

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func setup() (err error) {
	if module, err = replay.LoadWasm(context.Background()); err != nil {
		return err
	}
	root, err := fixture.Root()
	if err != nil {
		return err
	}
	if envoy, err = envoyconfig.Load(filepath.Join(root, "envoy.yaml")); err != nil {
		return err
	}
	all, err := fixture.Load()
	for _, c := range all {
		cases[c.Name] = c
	}
	return err
}

// buffer is an io.Writer the proxy and the test share.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() == 0 {
		return nil
	}
	return strings.Split(strings.TrimSpace(b.b.String()), "\n")
}

// waitLines waits for n lines: the proxy writes its access log once the
// call is over, which may be after the client read the last byte.
func (b *buffer) waitLines(n int) []string {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if l := b.lines(); len(l) >= n {
			return l
		}
	}
	return b.lines()
}

// recorded is what the upstream received.
type recorded struct {
	host, path string
	header     http.Header
	body       []byte
}

// rig is the proxy between a test client and the mock provider, both on
// loopback, with envoy.yaml's configuration but for the plugin's.
type rig struct {
	proxy, admin *httptest.Server
	h            *host.Host
	access, errs *buffer
	mu           sync.Mutex
	received     []recorded
}

func newRig(t *testing.T, pluginConfig string, tweak func(*host.Options)) *rig {
	t.Helper()
	return newRigWith(t, pluginConfig, tweak, nil)
}

// newRigWith is newRig with bootstrapFor, when set, giving the envoy.yaml
// for the mock's address; the proxy then goes to its clusters instead of
// a fixed upstream.
func newRigWith(t *testing.T, pluginConfig string, tweak func(*host.Options),
	bootstrapFor func(t *testing.T, mockAddr string) *envoyconfig.Config) *rig {
	t.Helper()
	all := make([]fixture.Case, 0, len(cases))
	for _, c := range cases {
		all = append(all, c)
	}
	mock := mockllm.New(all)
	mock.Chunk, mock.Pause = 32, 20*time.Millisecond
	r := &rig{access: &buffer{}, errs: &buffer{}}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.received = append(r.received, recorded{req.Host, req.RequestURI, req.Header.Clone(), body})
		r.mu.Unlock()
		req.Body = io.NopCloser(bytes.NewReader(body))
		mock.ServeHTTP(w, req)
	}))
	t.Cleanup(upstream.Close)

	cfg := *envoy
	if bootstrapFor != nil {
		cfg = *bootstrapFor(t, upstream.Listener.Addr().String())
	}
	if pluginConfig != "" {
		cfg.PluginConfig = pluginConfig
	}
	opts := replay.Options(&cfg)
	routes, err := replay.Routes(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts.Routes, opts.ObserveOnly = routes, false
	if tweak != nil {
		tweak(&opts)
	}
	if r.h, err = host.New(t.Context(), module, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.h.Close(context.Background()) })
	var up Upstream
	if bootstrapFor != nil {
		up, err = ClustersOf(&cfg)
	} else {
		up, err = NewFixed(upstream.URL)
	}
	if err != nil {
		t.Fatal(err)
	}
	r.proxy = httptest.NewServer(&Server{Host: r.h, Upstream: up, AccessLog: cfg.AccessLog, AccessOut: r.access, Errors: r.errs})
	r.admin = httptest.NewServer(Admin(r.h))
	t.Cleanup(r.proxy.Close)
	t.Cleanup(r.admin.Close)
	return r
}

// upstreamGot is what the upstream received so far.
func (r *rig) upstreamGot() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.received...)
}

// call sends a recorded request through the proxy with Go's client, as
// the provider's SDK would send it, the authority set to the provider's.
func (r *rig) call(t *testing.T, c fixture.Case, body []byte, extra ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(c.Method, r.proxy.URL+c.Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = c.Authority
	for k, v := range c.RequestHeaders {
		req.Header.Set(k, v)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// accessLog is the only access-log line, decoded.
func (r *rig) accessLog(t *testing.T) map[string]any {
	t.Helper()
	lines := r.access.waitLines(1)
	if len(lines) != 1 {
		t.Fatalf("want one access-log line, got %q (proxy said %q)", lines, r.errs.lines())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("access log %q: %v", lines[0], err)
	}
	return m
}

// wantUsage checks the access-log line against the case's recorded usage.
func wantUsage(t *testing.T, line map[string]any, c fixture.Case) {
	t.Helper()
	want := map[string]any{
		"request_model":    c.Expect.RequestModel,
		"upstream_cluster": "llm_upstream", // envoy.yaml's name for the cluster
		"response_code":    float64(c.Status),
		"stream":           fmt.Sprint(c.Expect.Stream),
		"usage_status":     c.Expect.Outcome,
	}
	for key, n := range map[string]*uint64{"request_prompt_tokens": c.Expect.PromptTokens,
		"request_completion_tokens": c.Expect.CompletionTokens, "request_total_tokens": c.Expect.TotalTokens} {
		if n != nil {
			want[key] = fmt.Sprint(*n)
		}
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("access log %s = %v, want %v\n%v", k, line[k], v, line)
		}
	}
}

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
		edited := strings.NewReplacer(
			"{address: mockllm, port_value: 8080}", "{address: "+ip+", port_value: "+port+"}",
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
