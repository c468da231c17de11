//go:build e2e

package docker

// Run by `make e2e`, once per build of the plugin: it starts compose.yaml
// with $LLMPROXY_WASM as plugin.wasm in Envoy's working directory, sends every recorded case
// through Envoy on :10000, then reads Envoy's access log and
// /stats/prometheus on :9901.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/mockllm"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

const (
	project  = "llmproxy-e2e"
	listener = "http://127.0.0.1:10000"
	admin    = "http://127.0.0.1:9901"
)

func compose(args ...string) (string, error) {
	cmd := exec.Command("docker", append([]string{"compose", "-p", project, "-f", "compose.yaml"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestMain(m *testing.M) {
	wasm := os.Getenv("LLMPROXY_WASM")
	if _, err := os.Stat(wasm); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: LLMPROXY_WASM=%q: %v\n", wasm, err)
		os.Exit(1)
	}
	fmt.Printf("e2e: %s in envoy (compose.yaml)\n", wasm)
	if out, err := compose("up", "-d", "--build", "--force-recreate"); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: compose up: %v\n%s", err, out)
		os.Exit(1)
	}
	code := 1
	if err := waitReady(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
	} else {
		code = m.Run()
	}
	if code != 0 {
		logs, _ := compose("logs", "--no-color")
		fmt.Fprintln(os.Stderr, logs)
	}
	if out, err := compose("down", "-v"); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: compose down: %v\n%s", err, out)
	}
	os.Exit(code)
}

// waitReady waits for Envoy's admin to say LIVE and for the mock to answer
// through the listener.
func waitReady() error {
	deadline := time.Now().Add(90 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		resp, err := http.Get(admin + "/ready")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.TrimSpace(string(body)) != "LIVE" {
			continue
		}
		// A GET reaches the mock without touching the plugin's counters.
		if resp, err := http.Get(listener + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusMethodNotAllowed {
				return nil
			}
		}
	}
	return fmt.Errorf("envoy or the mock not ready after 90s")
}

func send(t *testing.T, c fixture.Case) {
	t.Helper()
	req, err := http.NewRequest(c.Method, listener+c.Path, bytes.NewReader(c.RequestBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = c.Authority
	for k, v := range c.RequestHeaders {
		req.Header.Set(k, v)
	}
	req.Header.Set(mockllm.CaseHeader, c.Name)
	// Envoy must hand back the recorded body, compressed or not, untouched.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	if resp.StatusCode != c.Status || !bytes.Equal(body, c.ResponseBody) || resp.Header.Get(mockllm.CaseHeader) != c.Name {
		t.Fatalf("%s: status %d, %d body bytes, case %q; want %d, %d bytes as recorded", c.Name,
			resp.StatusCode, len(body), resp.Header.Get(mockllm.CaseHeader), c.Status, len(c.ResponseBody))
	}
}

func TestEveryCaseThroughEnvoy(t *testing.T) {
	cases, err := fixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	root, _ := fixture.Root()
	cfg, err := envoyconfig.Load(filepath.Join(root, "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases { // one at a time, so the access log keeps their order
		send(t, c)
	}

	want := WantCounters(cases, cfg.NodeMetadata)
	var errs []error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		resp, err := http.Get(admin + "/stats/prometheus")
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if errs = CheckCounters(string(text), want); len(errs) == 0 {
			break
		}
	}
	for _, err := range errs {
		t.Error(err)
	}

	// Envoy flushes the stdout access log every 10s by default.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		out, err := compose("logs", "--no-color", "--no-log-prefix", "envoy")
		if err != nil {
			t.Fatalf("compose logs: %v\n%s", err, out)
		}
		lines, err := AccessLog(out, "POST")
		if err != nil {
			t.Fatal(err)
		}
		if errs = CheckAccessLog(lines, cases, StateFields(cfg.AccessLog)); len(lines) >= len(cases) {
			break
		}
	}
	for _, err := range errs {
		t.Error(err)
	}
}
