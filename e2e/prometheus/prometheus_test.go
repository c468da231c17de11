//go:build prometheus

// The test behind `make e2e-prometheus`: llmproxy-run proxy with the mock
// provider plays every recorded case, a real Prometheus scrapes its admin
// port every second, and every query of istio/grafana-dashboard.json must
// return at least one series through Prometheus' HTTP API.
package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmproxy/llmproxy/deploy/dashboard"
	"github.com/llmproxy/llmproxy/e2e/mockllm"
	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/prometheus/prometheus/promql/parser"
)

var repoRoot, _ = filepath.Abs(filepath.Join("..", ".."))

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// tenants are the consumers the traffic names in ConsumerHeader.
var tenants = []string{"tenant-a", "tenant-b"}

func TestDashboardQueriesReturnData(t *testing.T) {
	promBin, err := exec.LookPath(envOr("PROMETHEUS", "prometheus"))
	if err != nil {
		t.Fatalf("no prometheus binary (apt-get install prometheus, or PROMETHEUS=path): %v", err)
	}
	version, _ := exec.Command(promBin, "--version").CombinedOutput()
	t.Logf("%s", strings.SplitN(string(version), "\n", 2)[0])
	runBin := os.Getenv("LLMPROXY_RUN")
	if runBin == "" {
		runBin = filepath.Join(t.TempDir(), "llmproxy-run")
		build := exec.Command("go", "build", "-o", runBin, "./e2e/cmd/llmproxy-run")
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build llmproxy-run: %v\n%s", err, out)
		}
	}
	wasm := envOr("LLMPROXY_WASM", filepath.Join(repoRoot, "plugin.wasm"))
	outDir := filepath.Join(repoRoot, "build", "e2e-prometheus")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}

	d, err := dashboard.Load(filepath.Join(repoRoot, "istio", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := Queries(d)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := PluginConfig(filepath.Join(repoRoot, "examples", "prices.json"), qs)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startWithFallback(t, runBin, wasm, outDir, cfg)
	prom, err := startPrometheus(t, promBin, proxy.admin, outDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	waitFor(t, ctx, prom, `up{job="llmproxy"} == 1`, 30*time.Second)

	cases, err := fixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	// Two rounds a few scrapes apart, so that every counter has grown
	// between two samples and rate() has something to say.
	for round := 1; round <= 2; round++ {
		start := time.Now()
		statuses := play(t, "http://"+proxy.addr, cases)
		t.Logf("round %d: %d recorded cases through the proxy in %v, statuses %v", round, len(cases), time.Since(start).Round(time.Millisecond), statuses)
		time.Sleep(2500 * time.Millisecond)
	}

	results := runQueries(ctx, prom, qs, 20*time.Second)
	report(t, prom, ctx, outDir, results)
}

// startWithFallback starts the proxy; an optional field the plugin does
// not know yet is dropped, said, and the proxy started again.
func startWithFallback(t *testing.T, runBin, wasm, outDir string, cfg map[string]any) *proxyProc {
	for {
		p, err := startProxy(t, runBin, wasm, outDir, cfg)
		if err == nil {
			keys := make([]string, 0, len(cfg))
			for k := range cfg {
				keys = append(keys, k)
			}
			t.Logf("proxy on %s, admin %s; plugin configuration with %v (build/e2e-prometheus/plugin-config.json)", p.addr, p.admin, keys)
			return p
		}
		field := RefusedField(err.Error(), cfg)
		if field == "" {
			t.Fatal(err)
		}
		t.Logf("NOTE: this plugin refuses %q, which a dashboard panel needs; started without it, so that panel will be empty", field)
		delete(cfg, field)
	}
}

// play sends every case through the proxy, named for the mock by
// x-mock-case, with its recorded path, headers and authority (the
// destination label), a tenant each, and reads each answer to its end.
func play(t *testing.T, base string, cases []fixture.Case) map[int]int {
	statuses := map[int]int{}
	for i, c := range cases {
		req, err := http.NewRequest(c.Method, base+c.Path, bytes.NewReader(c.RequestBody))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range c.RequestHeaders {
			req.Header.Set(k, v)
		}
		req.Header.Set(mockllm.CaseHeader, c.Name)
		req.Header.Set(ConsumerHeader, tenants[i%len(tenants)])
		if c.Authority != "" {
			req.Host = c.Authority
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("%s: reading the answer: %v", c.Name, err)
		}
		if got := res.Header.Get(mockllm.CaseHeader); got != c.Name {
			t.Errorf("%s: answered by %q (status %d), not the mock's case", c.Name, got, res.StatusCode)
		}
		statuses[res.StatusCode]++
	}
	return statuses
}

func waitFor(t *testing.T, ctx context.Context, prom *promProc, expr string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		v, err := prom.query(ctx, expr)
		if err == nil && len(v) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no series after %v (err %v)", expr, limit, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// result is what one dashboard query returned.
type result struct {
	Where  string   `json:"where"`
	Expr   string   `json:"expr"`
	Series int      `json:"series"`
	First  string   `json:"first,omitempty"` // one series and its value
	Err    string   `json:"error,omitempty"`
	Absent []string `json:"metrics_not_scraped,omitempty"`
}

// runQueries asks every query until each has data or limit passes; a
// query waits on scrapes only while some are still empty.
func runQueries(ctx context.Context, prom *promProc, qs []Query, limit time.Duration) []result {
	results := make([]result, len(qs))
	deadline := time.Now().Add(limit)
	for {
		empty := 0
		for i, q := range qs {
			if results[i].Series > 0 {
				continue
			}
			results[i] = ask(ctx, prom, q)
			if results[i].Series == 0 {
				empty++
			}
		}
		if empty == 0 || time.Now().After(deadline) {
			return results
		}
		time.Sleep(time.Second)
	}
}

func ask(ctx context.Context, prom *promProc, q Query) result {
	r := result{Where: q.Where, Expr: q.Expr}
	if q.Label != "" {
		// label_values(selector, label): the values Grafana would list.
		r.Expr = fmt.Sprintf("label_values(%s, %s)", q.Expr, q.Label)
		series, err := prom.series(ctx, q.Expr)
		if err != nil {
			r.Err = err.Error()
			return r
		}
		values := map[string]bool{}
		for _, s := range series {
			if v, ok := s[q.Label]; ok {
				values[v] = true
			}
		}
		r.Series = len(values)
		for v := range values {
			r.First = fmt.Sprintf("%s=%q", q.Label, v)
			break
		}
		return r
	}
	v, err := prom.query(ctx, q.Expr)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Series = len(v)
	if len(v) > 0 {
		r.First = fmt.Sprintf("%v %v", v[0].Metric, v[0].Value[1])
	}
	return r
}

// report prints a line per query, writes results.json, and fails for each
// empty query, naming the metrics the proxy never exposed.
func report(t *testing.T, prom *promProc, ctx context.Context, outDir string, results []result) {
	ok := 0
	for i := range results {
		r := &results[i]
		if r.Series > 0 {
			ok++
			continue
		}
		r.Absent = absentMetrics(ctx, prom, r.Expr)
	}
	raw, _ := json.MarshalIndent(results, "", "  ")
	_ = os.WriteFile(filepath.Join(outDir, "results.json"), append(raw, '\n'), 0o644)
	for _, r := range results {
		status := "ok   "
		if r.Series == 0 {
			status = "EMPTY"
		}
		t.Logf("%s %3d series  %s  e.g. %s", status, r.Series, r.Where, r.First)
	}
	t.Logf("%d of %d dashboard queries returned data (build/e2e-prometheus/results.json)", ok, len(results))
	for _, r := range results {
		switch {
		case r.Err != "":
			t.Errorf("%s: %s", r.Where, r.Err)
		case r.Series == 0 && len(r.Absent) > 0:
			t.Errorf("%s: no series; the proxy exposes no %v (a metric the plugin does not emit yet?)\n  %s", r.Where, r.Absent, r.Expr)
		case r.Series == 0:
			t.Errorf("%s: no series\n  %s", r.Where, r.Expr)
		}
	}
}

// absentMetrics are the metrics expr names of which Prometheus holds no
// series at all.
func absentMetrics(ctx context.Context, prom *promProc, expr string) []string {
	if strings.HasPrefix(expr, "label_values(") {
		expr = strings.TrimSuffix(strings.TrimPrefix(expr, "label_values("), ")")
		expr = expr[:strings.LastIndex(expr, ",")]
	}
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil
	}
	var absent []string
	parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
			if v, err := prom.query(ctx, fmt.Sprintf(`count({__name__=%q})`, vs.Name)); err == nil && len(v) == 0 {
				absent = append(absent, vs.Name)
			}
		}
		return nil
	})
	return absent
}
