// Package prometheus runs the dashboard's queries against a real Prometheus
// scraping llmproxy-run proxy (the test behind `make e2e-prometheus`, build
// tag prometheus). This file is the pure part: what the dashboard asks, with
// Grafana's variables put in as "All" would, and the plugin configuration
// its panels need. It never starts a process.
package prometheus

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/llmproxy/llmproxy/deploy/dashboard"
)

// Query is one query of the dashboard, ready for Prometheus' HTTP API.
type Query struct {
	Where string // panel and refId, or the variable
	Expr  string // PromQL, variables substituted
	// Label is set for a variable's label_values(selector, label): Expr is
	// then the selector, and the series it matches must carry Label.
	Label string
}

// builtins are Grafana's own variables: $__rate_interval as Grafana makes
// it for a 1 s scrape interval would be 4 s; a minute leaves room for a
// slow scrape.
var builtins = map[string]string{
	"__rate_interval": "1m", "__interval": "1m", "__interval_ms": "60000",
	"__range": "5m", "__range_s": "300", "__range_ms": "300000",
}

// allValue stands for every value of a dashboard variable, as its "All"
// option (allValue ".*") does.
const allValue = ".*"

var varRe = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]`)

// Substitute puts values in for Grafana variables: builtins by their
// value, the dashboard's own by allValue. An unknown builtin stays, so
// the query fails loudly rather than asking something else.
func Substitute(expr string) string {
	return varRe.ReplaceAllStringFunc(expr, func(v string) string {
		m := varRe.FindStringSubmatch(v)
		name := m[1] + m[2] + m[3]
		if val, ok := builtins[name]; ok {
			return val
		}
		if strings.HasPrefix(name, "__") {
			return v
		}
		return allValue
	})
}

var labelValuesRe = regexp.MustCompile(`^\s*label_values\(\s*(.*?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$`)

// Queries are every panel target and every query variable of d.
func Queries(d *dashboard.Dashboard) ([]Query, error) {
	var out []Query
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValuesRe.FindStringSubmatch(v.QueryString())
		if m == nil {
			return nil, fmt.Errorf("variable %s: %q is not label_values(selector, label)", v.Name, v.QueryString())
		}
		out = append(out, Query{Where: "variable " + v.Name, Expr: Substitute(m[1]), Label: m[2]})
	}
	var walk func(ps []dashboard.Panel)
	walk = func(ps []dashboard.Panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				out = append(out, Query{Where: fmt.Sprintf("panel %d %q %s", p.ID, p.Title, t.RefID), Expr: Substitute(t.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if len(out) == 0 {
		return nil, fmt.Errorf("the dashboard has no queries")
	}
	return out, nil
}

// Optional plugin configuration fields the dashboard's panels feed on. A
// plugin that does not know one yet refuses it by name; the test then
// drops it, says so, and the panels it feeds come back empty.
const (
	FieldPrices        = "prices"
	FieldConsumer      = "consumer"
	FieldConsumerLabel = "consumer_label"
	FieldMetrics       = "metrics"
)

// ConsumerHeader is the request header the test's traffic names its
// consumer (tenant) in.
const ConsumerHeader = "x-tenant"

// PluginConfig is the configuration that feeds every panel: the price
// table of pricesFile (cost panels; skipped when the file is missing), the
// consumer from ConsumerHeader as a label (consumer panels), and the
// gen_ai vocabulary when a query names a gen_ai_ metric.
func PluginConfig(pricesFile string, qs []Query) (map[string]any, error) {
	cfg := map[string]any{
		FieldConsumer:      map[string]any{"header": ConsumerHeader},
		FieldConsumerLabel: true,
	}
	switch raw, err := os.ReadFile(pricesFile); {
	case err == nil:
		var p struct {
			Prices json.RawMessage `json:"prices"`
		}
		if err := json.Unmarshal(raw, &p); err != nil || p.Prices == nil {
			return nil, fmt.Errorf("%s: want {\"prices\": [...]}: %v", pricesFile, err)
		}
		cfg[FieldPrices] = p.Prices
	case !os.IsNotExist(err):
		return nil, err
	}
	for _, q := range qs {
		if strings.Contains(q.Expr, "gen_ai_") {
			cfg[FieldMetrics] = []string{"asm", "gen_ai"}
			break
		}
	}
	return cfg, nil
}

var refusedFieldRe = regexp.MustCompile(`unknown field "([a-z_]+)"|field "([a-z_]+)"`)

// RefusedField is the optional field a refused configuration's message
// names, if any.
func RefusedField(msg string, cfg map[string]any) string {
	for _, m := range refusedFieldRe.FindAllStringSubmatch(msg, -1) {
		name := m[1] + m[2]
		if _, ok := cfg[name]; ok {
			return name
		}
	}
	return ""
}
