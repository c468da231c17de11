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
	"sync"
	"testing"
	"time"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/mockllm"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/llmproxy/llmproxy/internal/syncbuf"
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
type buffer struct{ syncbuf.Buffer }

func (b *buffer) lines() []string { return b.Lines() }

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
