package prometheus

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/deploy/dashboard"
	"github.com/prometheus/prometheus/promql/parser"
)

func TestSubstitute(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`rate(m{a=~"$namespace"}[$__rate_interval])`, `rate(m{a=~".*"}[1m])`},
		{`increase(m{a=~"${model}"}[$__range])`, `increase(m{a=~".*"}[5m])`},
		{`m{a=~"${model:regex}", b=~"[[workload]]"}`, `m{a=~".*", b=~".*"}`},
		{`m[$__unknown_builtin]`, `m[$__unknown_builtin]`},
	} {
		if got := Substitute(tc.in); got != tc.want {
			t.Errorf("Substitute(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Every query of the dashboard, substituted, is PromQL that Prometheus'
// own parser takes, so the e2e asks what the dashboard asks.
func TestDashboardQueriesParse(t *testing.T) {
	d, err := dashboard.Load(filepath.Join("..", "..", "istio", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := Queries(d)
	if err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	for _, q := range qs {
		if strings.Contains(q.Expr, "$") {
			t.Errorf("%s: a variable is left: %s", q.Where, q.Expr)
		}
		if _, err := p.ParseExpr(q.Expr); err != nil {
			t.Errorf("%s: %v", q.Where, err)
		}
	}
}

func TestPluginConfig(t *testing.T) {
	prices := filepath.Join("..", "..", "examples", "prices.json")
	cfg, err := PluginConfig(prices, []Query{{Expr: "rate(gen_ai_client_token_usage_sum[1m])"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FieldConsumer, FieldConsumerLabel, FieldMetrics} {
		if _, ok := cfg[f]; !ok {
			t.Errorf("no %s in %v", f, cfg)
		}
	}
	cfg, err = PluginConfig(filepath.Join(t.TempDir(), "none.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg[FieldPrices]; ok {
		t.Errorf("prices without a price file: %v", cfg)
	}
	if _, ok := cfg[FieldMetrics]; ok {
		t.Errorf("gen_ai metrics asked for though no query names them: %v", cfg)
	}
}

func TestRefusedField(t *testing.T) {
	cfg := map[string]any{FieldPrices: nil, FieldConsumer: nil}
	msg := `plugin refused configuration (proxy_on_configure returned 0): llmproxy: configuration field "prices": unknown field`
	if got := RefusedField(msg, cfg); got != FieldPrices {
		t.Errorf("RefusedField = %q, want prices", got)
	}
	if got := RefusedField(`configuration field "max_model_labels": 0 is out of range`, cfg); got != "" {
		t.Errorf("RefusedField named %q, which the test did not add", got)
	}
}
