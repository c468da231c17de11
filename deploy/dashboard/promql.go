package dashboard

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Refs are the names a PromQL expression uses.
type Refs struct {
	Metrics   []string
	Labels    []string // in matchers, grouping and vector matching
	Kept      []string // by, on, group_left, group_right: labels a result keeps
	Variables []string // Grafana variables, without the $
}

// grafanaBuiltins are Grafana's own variables, usable in any query, each
// with a value of its kind that stands in for it while parsing.
var grafanaBuiltins = map[string]string{
	"__rate_interval": "5m", "__interval": "5m", "__range": "5m",
	"__interval_ms": "300000", "__range_s": "300", "__range_ms": "300000",
}

// declaredPlaceholder stands in for a dashboard's own variables: it is a
// valid number and duration (seconds) outside quotes, and any text is a
// valid value inside them.
const declaredPlaceholder = "1"

var varNameRe = regexp.MustCompile(`\$(?:\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|([A-Za-z0-9_]+))`)

func variablesIn(s string) []string {
	var out []string
	for _, m := range varNameRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}

// substitute replaces each Grafana variable with its placeholder, padded
// with spaces to the variable's length so that the parser's error
// positions point into the query as the dashboard holds it.
func substitute(expr string) string {
	return varNameRe.ReplaceAllStringFunc(expr, func(v string) string {
		p, ok := grafanaBuiltins[variablesIn(v)[0]]
		if !ok {
			p = declaredPlaceholder
		}
		return p + strings.Repeat(" ", len(v)-len(p))
	})
}

var promql = parser.NewParser(parser.Options{})

// Parse parses an expression with Prometheus' own parser and finds the
// metrics, labels and variables it names. A selector must name exactly
// one metric, so that the name can be checked.
func Parse(expr string) (Refs, error) {
	ast, err := promql.ParseExpr(substitute(expr))
	if err != nil {
		return Refs{}, fmt.Errorf("%q: %v", expr, err)
	}
	r := Refs{Variables: variablesIn(expr)}
	var unnamed error
	parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			name := n.Name
			for _, m := range n.LabelMatchers {
				if m.Name != labels.MetricName {
					r.Labels = addNew(r.Labels, m.Name)
				} else if m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
			if name == "" {
				unnamed = fmt.Errorf("%q: selector %s names no single metric", expr, n)
			}
			r.Metrics = addNew(r.Metrics, name)
		case *parser.AggregateExpr:
			r.Labels = addNew(r.Labels, n.Grouping...)
			if !n.Without {
				r.Kept = addNew(r.Kept, n.Grouping...)
			}
		case *parser.BinaryExpr:
			if vm := n.VectorMatching; vm != nil {
				r.Labels = addNew(r.Labels, vm.MatchingLabels...)
				r.Labels = addNew(r.Labels, vm.Include...)
				if vm.On {
					r.Kept = addNew(r.Kept, vm.MatchingLabels...)
				}
				r.Kept = addNew(r.Kept, vm.Include...)
			}
		}
		return nil
	})
	if unnamed != nil {
		return Refs{}, unnamed
	}
	return r, nil
}

// addNew appends the names that list does not hold yet.
func addNew(list []string, names ...string) []string {
	for _, n := range names {
		if !slices.Contains(list, n) {
			list = append(list, n)
		}
	}
	return list
}

var labelValuesRe = regexp.MustCompile(`^\s*label_values\(\s*(?:(.*?)\s*,\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$`)

// ParseVariableQuery reads a Grafana Prometheus variable query; only
// label_values([selector,] label) is used here.
func ParseVariableQuery(q string) (Refs, error) {
	m := labelValuesRe.FindStringSubmatch(q)
	if m == nil {
		return Refs{}, fmt.Errorf("variable query %q: want label_values([selector,] label)", q)
	}
	r := Refs{}
	if m[1] != "" {
		var err error
		if r, err = Parse(m[1]); err != nil {
			return Refs{}, err
		}
	}
	r.Labels = addNew(r.Labels, m[2])
	return r, nil
}

var legendRe = regexp.MustCompile(`\{\{\s*([^}\s]+)\s*\}\}`)

// LegendLabels are the labels a legend format shows.
func LegendLabels(format string) []string {
	var out []string
	for _, m := range legendRe.FindAllStringSubmatch(format, -1) {
		out = append(out, m[1])
	}
	return out
}
