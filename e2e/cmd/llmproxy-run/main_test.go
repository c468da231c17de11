package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/llmproxy/llmproxy/internal/syncbuf"
)

// syncBuffer is stdout or stderr shared with the command.
type syncBuffer = syncbuf.Buffer

// baseArgs point the command at the repository's envoy.yaml and the
// plugin make test built (else the command builds it).
func baseArgs(t *testing.T) []string {
	root, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-envoy", filepath.Join(root, "envoy.yaml")}
	if wasm := os.Getenv("LLMPROXY_WASM"); wasm != "" {
		args = append(args, "-wasm", wasm)
	}
	return args
}

func caseNamed(t *testing.T, name string) fixture.Case {
	t.Helper()
	c, err := fixture.Named(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func badConfig(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte(`{"max_model_lables":100}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestProxyWithMock runs `llmproxy-run proxy -mock` on free ports and
// sends it what an OpenAI client sends: a chat call and a streamed one.
func TestProxyWithMock(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	started := make(chan addrs, 1)
	done := make(chan error, 1)
	args := append(baseArgs(t), "-mock", "-mock-pause", "20ms", "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0")
	go func() { done <- runProxy(ctx, args, &stdout, &stderr, func(a addrs) { started <- a }) }()
	var at addrs
	select {
	case at = <-started:
	case err := <-done:
		t.Fatalf("proxy did not start: %v\n%s", err, stderr.String())
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
	}()

	post := func(c fixture.Case) *http.Response {
		req, _ := http.NewRequest("POST", "http://"+at.proxy+c.Path, bytes.NewReader(c.RequestBody))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// The mock answers each with the case recorded for its path,
	// streaming and model.
	chat := caseNamed(t, "openai/chat_json")
	resp := post(chat)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, chat.ResponseBody) {
		t.Fatalf("chat: the client got\n%s\nnot the mock's bytes", got)
	}

	stream := caseNamed(t, "openai/chat_stream_usage")
	resp = post(stream)
	var reads int
	var body []byte
	buf := make([]byte, 1<<16)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			reads++
			body = append(body, buf[:n]...)
		}
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if !bytes.Equal(body, stream.ResponseBody) {
		t.Fatalf("stream: the client got\n%s\nnot the mock's bytes", body)
	}
	if pieces := len(stream.ResponseBody) / 64; reads < pieces/2 {
		t.Fatalf("stream came in %d reads; the mock wrote %d pieces 20ms apart: buffered", reads, pieces)
	}

	var lines []map[string]any
	for deadline := time.Now().Add(5 * time.Second); len(lines) < 2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		lines = nil
		for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil {
				lines = append(lines, m)
			}
		}
	}
	if len(lines) != 2 {
		t.Fatalf("access log:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	for i, c := range []fixture.Case{chat, stream} {
		want := map[string]any{"request_model": "gpt-4o-mini", "upstream_cluster": "llm_upstream",
			"request_prompt_tokens": "28", "request_completion_tokens": "31", "stream": "false"}
		if i == 1 {
			want["request_prompt_tokens"], want["request_completion_tokens"], want["stream"] = "9", "9", "true"
		}
		if *c.Expect.PromptTokens != map[int]uint64{0: 28, 1: 9}[i] {
			t.Fatalf("fixture %s changed", c.Name)
		}
		for k, v := range want {
			if lines[i][k] != v {
				t.Errorf("%s: access log %s = %v, want %v", c.Name, k, lines[i][k], v)
			}
		}
	}

	stats, err := http.Get("http://" + at.admin + "/stats/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	prom, _ := io.ReadAll(stats.Body)
	stats.Body.Close()
	const want = `asm_llm_proxy_prompt_tokens{llmproxy_source_workload="sleep",llmproxy_source_workload_namespace="default",` +
		`llmproxy_destination_service="127.0.0.1",llmproxy_model="gpt-4o-mini"} 37`
	if !strings.Contains(string(prom), want+"\n") {
		t.Fatalf("/stats/prometheus lacks\n%s\n%s", want, prom)
	}
}

// TestRefusedConfigurationNamesTheField: the plugin's own reason, in both
// commands, on stderr as its log line and in the error.
func TestRefusedConfigurationNamesTheField(t *testing.T) {
	const field = `configuration field "max_model_lables": unknown field`
	for name, run := range map[string]func(args []string, stdout, stderr io.Writer) error{
		"replay": func(args []string, stdout, stderr io.Writer) error {
			return runReplay(context.Background(), args, stdout, stderr)
		},
		"proxy": func(args []string, stdout, stderr io.Writer) error {
			return runProxy(context.Background(), append(args, "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0"), stdout, stderr, nil)
		},
	} {
		var stdout, stderr syncBuffer
		err := run(append(baseArgs(t), "-config", badConfig(t)), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: error %v lacks %s", name, err, field)
		}
		if !strings.Contains(stderr.String(), "[error] llmproxy: "+field) {
			t.Errorf("%s: stderr lacks the plugin's log line:\n%s", name, stderr.String())
		}
	}
}

// TestReplayExplainsItself: each line under its case name, the cluster
// envoy.yaml names, no ttft_ms unless paced.
func TestReplayExplainsItself(t *testing.T) {
	for _, pace := range []string{"0", "5ms"} {
		var stdout, stderr syncBuffer
		args := append(baseArgs(t), "-case", "openai/chat_json,anthropic/stream", "-case", "gemini/stream_sse", "-pace", pace)
		if err := runReplay(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		out := strings.Split(stdout.String(), "\n")
		var played []string
		for i, l := range out {
			name, ok := strings.CutPrefix(l, "# case ")
			if !ok {
				continue
			}
			played = append(played, name)
			var line map[string]any
			if err := json.Unmarshal([]byte(out[i+1]), &line); err != nil {
				t.Fatalf("after %q: %q", l, out[i+1])
			}
			if want := caseNamed(t, name).Expect.RequestModel; line["request_model"] != want || line["upstream_cluster"] != "llm_upstream" {
				t.Errorf("%s: %v", name, line)
			}
			if _, has := line["ttft_ms"]; has != (pace != "0") {
				t.Errorf("pace %s: ttft_ms shown %v", pace, has)
			}
		}
		if strings.Join(played, " ") != "openai/chat_json anthropic/stream gemini/stream_sse" {
			t.Errorf("played %v", played)
		}
	}
}

// TestReplayPlaysOptInFeatures: a configuration that routes and injects
// is played, not refused by an observe-only host.
func TestReplayPlaysOptInFeatures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "opt.json")
	os.WriteFile(path, []byte(`{"inject_stream_usage": true, "providers": [{"host": "api.openai.com",
		"match_hosts": ["llm.local"], "path": "/v1/chat/completions", "api_key": "sk-test"}]}`), 0o644)
	var stdout, stderr syncBuffer
	args := append(baseArgs(t), "-config", path, "-case", "openai/chat_stream_no_usage,openai/chat_json")
	if err := runReplay(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), `llmproxy_request_rewrites_total{llmproxy_rewrite="applied"} 1`) {
		t.Fatalf("no injection applied:\n%s", stdout.String())
	}
}

func TestReplayListsCases(t *testing.T) {
	var stdout, stderr syncBuffer
	if err := runReplay(context.Background(), []string{"-case", "list"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "* openai/chat_stream_usage") || !strings.Contains(stdout.String(), "  vertex/json") {
		t.Fatalf("list:\n%s", stdout.String())
	}
}
