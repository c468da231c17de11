// Package docker is the Envoy-in-Docker e2e: envoy.yaml and the built plugin
// in a real Envoy (compose.yaml), in front of the mock provider
// (e2e/mockllm). The test itself needs Docker and the build tag e2e
// (`make e2e`); this file holds what it expects and how it reads Envoy's
// output, which the native tests check without Docker.
package docker

import (
	"bufio"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/llmproxy/llmproxy/plugin/publish"
)

var filterStateRe = regexp.MustCompile(`^%FILTER_STATE\(([^:)]+):PLAIN\)%$`)

// StateFields maps each access-log key that shows a filter-state key to
// that key, from envoy.yaml's json_format, leaving out the time to first
// token, which depends on the clock.
func StateFields(format map[string]string) map[string]string {
	fields := map[string]string{}
	for field, f := range format {
		if m := filterStateRe.FindStringSubmatch(f); m != nil && m[1] != fixture.StateTTFT {
			fields[field] = m[1]
		}
	}
	return fields
}

// Counters are the ASM counters the e2e checks.
var Counters = []string{publish.MetricPromptTokens, publish.MetricCompletionTokens}

// Series is one counter series: its name and tags in stat-name order.
type Series struct {
	Name                                    string
	Workload, Namespace, Destination, Model string
}

// Line is the series' exact /stats/prometheus line. Envoy writes the tags
// in the order of stats_tags, which is the order of the stat name.
func (s Series) Line(v uint64) string {
	return fmt.Sprintf(`%s{%s="%s",%s="%s",%s="%s",%s="%s"} %d`, s.Name,
		publish.TagSourceWorkload, s.Workload, publish.TagSourceNamespace, s.Namespace,
		publish.TagDestinationService, s.Destination, publish.TagModel, s.Model, v)
}

// WantCounters sums the usage of the cases, each sent once through an Envoy
// whose node metadata is node and whose upstream is not an Istio cluster,
// so the destination is the authority without its port.
func WantCounters(cases []fixture.Case, node map[string]string) map[Series]uint64 {
	want := map[Series]uint64{}
	for _, c := range cases {
		e := c.Expect
		model := e.RequestModel
		if model == "" {
			model = e.ResponseModel
		}
		if model == "" {
			model = publish.Unknown
		}
		dest, _, _ := strings.Cut(c.Authority, ":")
		s := Series{Workload: node["WORKLOAD_NAME"], Namespace: node["NAMESPACE"], Destination: dest, Model: model}
		for name, v := range map[string]*uint64{publish.MetricPromptTokens: e.PromptTokens, publish.MetricCompletionTokens: e.CompletionTokens} {
			if v != nil {
				s.Name = name
				want[s] += *v
			}
		}
	}
	return want
}

// ParseCounters reads the Counters from /stats/prometheus text.
func ParseCounters(text string) (map[Series]uint64, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	got := map[Series]uint64{}
	for _, name := range Counters {
		f, ok := families[name]
		if !ok {
			continue
		}
		if f.GetType() != dto.MetricType_COUNTER {
			return nil, fmt.Errorf("%s is a %v, want a counter", name, f.GetType())
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if len(l) != 4 {
				return nil, fmt.Errorf("%s has labels %v, want the four plugin tags", name, l)
			}
			s := Series{name, l[publish.TagSourceWorkload], l[publish.TagSourceNamespace], l[publish.TagDestinationService], l[publish.TagModel]}
			got[s] = uint64(m.GetCounter().GetValue())
		}
	}
	return got, nil
}

// CheckCounters compares the parsed counters with want and requires each
// series' exact line in the text.
func CheckCounters(text string, want map[Series]uint64) []error {
	got, err := ParseCounters(text)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, s := range sortedSeries(want, got) {
		if got[s] != want[s] {
			errs = append(errs, fmt.Errorf("%s: got %d, want %d", s.Line(0), got[s], want[s]))
		} else if !strings.Contains(text, "\n"+s.Line(want[s])+"\n") {
			errs = append(errs, fmt.Errorf("no exact line %s", s.Line(want[s])))
		}
	}
	return errs
}

func sortedSeries(ms ...map[Series]uint64) []Series {
	seen := map[Series]bool{}
	var out []Series
	for _, m := range ms {
		for s := range m {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Line(0) < out[j].Line(0) })
	return out
}

// AccessLog picks the JSON access-log lines of requests with the given
// method out of Envoy's output, which also holds its own log lines (and the
// e2e's readiness probes, which are GETs).
func AccessLog(output, method string) ([]map[string]any, error) {
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(text, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			return nil, fmt.Errorf("access log line %q: %v", text, err)
		}
		if _, ok := m["start_time"]; ok && m["method"] == method {
			lines = append(lines, m)
		}
	}
	return lines, sc.Err()
}

// CheckAccessLog matches the lines, in order, to the cases sent one after
// the other, comparing the StateFields with the filter state each case
// expects. json_format writes an operator that finds nothing as null.
func CheckAccessLog(lines []map[string]any, cases []fixture.Case, fields map[string]string) []error {
	if len(lines) != len(cases) {
		return []error{fmt.Errorf("%d access-log lines for %d requests", len(lines), len(cases))}
	}
	var errs []error
	for i, c := range cases {
		l := lines[i]
		state := c.Expect.FilterState()
		if l["path"] != c.Path || l["authority"] != c.Authority || l["response_code"] != float64(c.Status) {
			errs = append(errs, fmt.Errorf("%s: line %d is %v", c.Name, i, l))
			continue
		}
		for field, key := range fields {
			var want any // nil: JSON null
			if v, ok := state[key]; ok {
				want = v
			}
			if l[field] != want {
				errs = append(errs, fmt.Errorf("%s: %s = %#v, want %#v", c.Name, field, l[field], want))
			}
		}
	}
	return errs
}
