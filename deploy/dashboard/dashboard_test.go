package dashboard

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/llmproxy/llmproxy/plugin/publish"
)

// emitted is what the plugin publishes; a new metric is added here with
// its publish constant when a panel starts to use it.
var emitted = Vocabulary{
	Metrics: map[string]bool{publish.MetricPromptTokens: true, publish.MetricCompletionTokens: true,
		publish.MetricRequests: true, publish.MetricTTFT + "_bucket": true,
		publish.MetricCostMicros: true, publish.MetricCostUnpriced: true},
	Labels: map[string]bool{publish.TagSourceWorkload: true, publish.TagSourceNamespace: true,
		publish.TagDestinationService: true, publish.TagModel: true, publish.TagOutcome: true,
		publish.TagConsumer: true, publish.TagCurrency: true, publish.TagErrorType: true,
		"le": true}, // Prometheus' histogram bucket label
}

func path(t *testing.T) string {
	root, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "istio", "grafana-dashboard.json")
}

func TestDashboard(t *testing.T) {
	d, err := Load(path(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range append(d.Validate(), d.Check(emitted)...) {
		t.Error(err)
	}
	// The panels the issue asks for, each on both counters.
	want := map[string]string{"": "prompt vs completion", "llmproxy_model": "by model",
		"llmproxy_destination_service": "by provider", "llmproxy_source_workload": "by source workload"}
	for _, p := range d.allPanels() {
		metrics := map[string]bool{}
		for _, tg := range p.Targets {
			r, _ := Parse(tg.Expr)
			for _, m := range r.Metrics {
				metrics[m] = true
			}
			if p.Type == "timeseries" && len(metrics) == 2 {
				for _, k := range r.Kept {
					delete(want, k)
				}
				if len(r.Kept) == 0 {
					delete(want, "")
				}
			}
		}
	}
	if len(want) != 0 {
		t.Fatalf("no timeseries panel of both counters %v", want)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		expr    string
		want    Refs
		wantErr string
	}{
		{name: "aggregation by, matchers, variables", expr: `sum by (a, b) (rate(m{c="x", d=~"$v"}[$__rate_interval]))`,
			want: Refs{Metrics: []string{"m"}, Labels: []string{"a", "b", "c", "d"}, Kept: []string{"a", "b"}, Variables: []string{"__rate_interval", "v"}}},
		{name: "vector matching", expr: `m1 / on(x) group_left(y) m2 offset 5m`,
			want: Refs{Metrics: []string{"m1", "m2"}, Labels: []string{"x", "y"}, Kept: []string{"x", "y"}}},
		{name: "ignoring keeps nothing", expr: `m1 / ignoring(x) m2`,
			want: Refs{Metrics: []string{"m1", "m2"}, Labels: []string{"x"}}},
		{name: "without, subquery, comment", expr: "sum without (q) (increase(ns:m:rate5m[1h:5m])) > 2 # note",
			want: Refs{Metrics: []string{"ns:m:rate5m"}, Labels: []string{"q"}}},
		{name: "histogram", expr: `histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))`,
			want: Refs{Metrics: []string{"h_bucket"}, Labels: []string{"le"}, Kept: []string{"le"}}},
		{name: "quoted metric name", expr: `{"m", a!="b"} and m`,
			want: Refs{Metrics: []string{"m"}, Labels: []string{"a"}}},
		{name: "braced variable and range variable", expr: `topk(${k}, rate(m{a="${v:regex}"}[$__range]))`,
			want: Refs{Metrics: []string{"m"}, Labels: []string{"a"}, Variables: []string{"k", "v", "__range"}}},
		{name: "by without a list", expr: `sum by a (m)`, wantErr: "unexpected identifier"},
		{name: "matcher without a value", expr: `m{a=}`, wantErr: "1:5: parse error"},
		{name: "unclosed braces", expr: `m{a="x"`, wantErr: "unexpected end of input"},
		{name: "unclosed range", expr: `rate(m[$__rate_interval)`, wantErr: "1:24: parse error"},
		{name: "unknown operator", expr: `m ? 1`, wantErr: "unexpected character"},
		{name: "unclosed call", expr: `sum(rate(m[5m])`, wantErr: "unclosed left parenthesis"},
		{name: "rate of an instant vector", expr: `rate(m{a="$v"})`, wantErr: "expected type range vector"},
		{name: "bool on a set operator", expr: `m and bool n`, wantErr: "bool modifier can only be used on comparison operators"},
		{name: "unknown function", expr: `rates(m[5m])`, wantErr: "unknown function"},
		{name: "metric by regex", expr: `{__name__=~"m.*"}`, wantErr: "names no single metric"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.expr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range [][]string{got.Metrics, got.Labels, got.Kept, got.Variables, tc.want.Metrics, tc.want.Labels, tc.want.Kept, tc.want.Variables} {
				sort.Strings(s)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	for expr, want := range map[string]string{
		`rate(m[$__rate_interval])`:       `rate(m[5m              ])`,
		`increase(m[$__range])`:           `increase(m[5m      ])`,
		`m{a=~"$namespace"} > $threshold`: `m{a=~"1         "} > 1         `,
		`m{a="${v}", b="${w:regex}"}`:     `m{a="1   ", b="1         "}`,
		`m * $__range_s`:                  `m * 300       `,
		`m{a="$"} # no variable`:          `m{a="$"} # no variable`,
	} {
		if got := substitute(expr); got != want {
			t.Errorf("substitute(%s)\n got %q\nwant %q", expr, got, want)
		}
	}
}

// Each edit names something the plugin does not emit, or breaks the model.
func TestCheckFails(t *testing.T) {
	raw, err := os.ReadFile(path(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string][2]string{
		"unknown metric":            {"rate(asm_llm_proxy_prompt_tokens{", "rate(asm_llm_proxy_total_tokens{"},
		"unknown label in by":       {"sum by (llmproxy_model)", "sum by (model)"},
		"unknown label in matcher":  {`llmproxy_model=~\"$model\"`, `model=~\"$model\"`},
		"legend of a dropped label": {`"{{llmproxy_model}} prompt"`, `"{{llmproxy_destination_service}} prompt"`},
		"undeclared variable":       {`=~\"$provider\"`, `=~\"$providers\"`},
		"variable label":            {"label_values(asm_llm_proxy_prompt_tokens, llmproxy_model)\",\n", "label_values(asm_llm_proxy_prompt_tokens, model)\",\n"},
		"variable query form":       {`"query": "label_values(asm_llm_proxy_prompt_tokens, llmproxy_model)"`, `"query": "query_result(up)"`},
		"duplicate panel id":        {`"id": 3,`, `"id": 2,`},
		"off the grid":              {`"w": 24,`, `"w": 25,`},
		"no uid":                    {`"uid": "llmproxy-tokens"`, `"uid": ""`},
		"unknown panel type":        {`"type": "bargauge"`, `"type": "graph3d"`},
		"no data source":            {`"uid": "${datasource}"`, `"uid": "prom"`},
		"query syntax":              {`[$__rate_interval]))"`, `[$__rate_interval])"`},
		"query types":               {`}[$__rate_interval]))"`, `}))"`},
	} {
		bad := strings.Replace(string(raw), edit[0], edit[1], 1)
		if bad == string(raw) {
			t.Fatalf("%s: edit did not apply", name)
		}
		d := &Dashboard{}
		if err := json.Unmarshal([]byte(bad), d); err != nil {
			t.Fatal(err)
		}
		if errs := append(d.Validate(), d.Check(emitted)...); len(errs) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
}
