//go:build prometheus

package prometheus

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/llmproxy/llmproxy/internal/syncbuf"
)

// client talks to loopback only, never through an environment's proxy.
var client = &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}, Timeout: 30 * time.Second}

// lockedBuffer collects a process's stderr while it runs.
type lockedBuffer = syncbuf.Buffer

// stop ends a process this test started: SIGTERM, then SIGKILL after 10 s.
func stop(cmd *exec.Cmd, done <-chan struct{}) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// proxyProc is a running `llmproxy-run proxy -mock`.
type proxyProc struct {
	addr, admin string
}

var addrRe = regexp.MustCompile(`listening on http://(\S+)[\s\S]*admin on http://(\S+)`)

// startProxy runs the proxy with the plugin configuration cfg, its access
// log and stderr into outDir. A configuration the plugin refuses comes
// back as an error carrying the plugin's reason.
func startProxy(t *testing.T, runBin, wasm, outDir string, cfg map[string]any) (*proxyProc, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(outDir, "plugin-config.json")
	if err := os.WriteFile(cfgFile, raw, 0o644); err != nil {
		return nil, err
	}
	access, err := os.Create(filepath.Join(outDir, "access.log"))
	if err != nil {
		return nil, err
	}
	errFile, err := os.Create(filepath.Join(outDir, "proxy.stderr"))
	if err != nil {
		return nil, err
	}
	stderr := &lockedBuffer{}
	// A 1 ms pause between the mock's streamed writes: streams still come
	// in pieces (a real time to first token), and a round stays short.
	cmd := exec.Command(runBin, "proxy", "-mock", "-mock-pause", "1ms", "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0",
		"-envoy", "envoy.yaml", "-wasm", wasm, "-config", cfgFile, "-log-level", "warn")
	cmd.Dir = repoRoot
	cmd.Stdout = access
	cmd.Stderr = io.MultiWriter(stderr, errFile)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); access.Close(); errFile.Close(); close(done) }()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-done:
			return nil, fmt.Errorf("llmproxy-run proxy exited: %s", stderr.String())
		default:
		}
		if m := addrRe.FindStringSubmatch(stderr.String()); m != nil {
			t.Cleanup(func() { stop(cmd, done) })
			return &proxyProc{addr: m[1], admin: m[2]}, nil
		}
	}
	stop(cmd, done)
	return nil, fmt.Errorf("llmproxy-run proxy did not listen within 90 s: %s", stderr.String())
}

// freePort is a loopback port nothing listens on right now; Prometheus
// takes no port 0 that it would then report.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// promProc is a running Prometheus, its web API on loopback only.
type promProc struct {
	base string
}

// startPrometheus scrapes target's /stats/prometheus every second, with
// its storage in a temporary directory and its log in outDir.
func startPrometheus(t *testing.T, bin, target, outDir string) (*promProc, error) {
	cfg := fmt.Sprintf(`# written by e2e/prometheus: the proxy's admin port, nothing else
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: llmproxy
  metrics_path: /stats/prometheus
  static_configs:
  - targets: [%q]
`, target)
	cfgFile := filepath.Join(outDir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(outDir, "prometheus.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+t.TempDir(),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
	t.Cleanup(func() { stop(cmd, done) })
	p := &promProc{base: "http://" + addr}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-done:
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("prometheus exited: %s", log)
		default:
		}
		if res, err := client.Get(p.base + "/-/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p, nil
			}
		}
	}
	return nil, fmt.Errorf("prometheus not ready within 60 s (log in %s)", logFile.Name())
}

// apiResult is the part of an /api/v1 answer the test reads.
type apiResult struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   json.RawMessage
}

// get asks the HTTP API and decodes data into out.
func (p *promProc) get(ctx context.Context, path string, params url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path+"?"+params.Encode(), nil)
	if err != nil {
		return err
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var r apiResult
	if err := json.NewDecoder(bufio.NewReader(res.Body)).Decode(&r); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s %s: %s", path, params.Encode(), r.Error)
	}
	return json.Unmarshal(r.Data, out)
}

// sample is one series of an instant vector, or a scalar's value.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// query runs an instant query; a scalar answer counts as one series.
func (p *promProc) query(ctx context.Context, expr string) ([]sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return nil, err
	}
	switch data.ResultType {
	case "vector":
		var v []sample
		err := json.Unmarshal(data.Result, &v)
		return v, err
	case "scalar":
		var s [2]any
		err := json.Unmarshal(data.Result, &s)
		return []sample{{Value: s}}, err
	}
	return nil, fmt.Errorf("result type %s", data.ResultType)
}

// series are the series matching a selector in the last ten minutes.
func (p *promProc) series(ctx context.Context, selector string) ([]map[string]string, error) {
	var out []map[string]string
	start := time.Now().Add(-10 * time.Minute).Unix()
	err := p.get(ctx, "/api/v1/series", url.Values{"match[]": {selector}, "start": {fmt.Sprint(start)}}, &out)
	return out, err
}
