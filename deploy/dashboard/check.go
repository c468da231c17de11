package dashboard

import "fmt"

// Vocabulary is what a dashboard may name.
type Vocabulary struct {
	Metrics map[string]bool
	Labels  map[string]bool
}

// Check requires every query, variable query and legend to name only
// metrics and labels of v, and variables the dashboard declares. A legend
// may show only labels the query keeps by name (by, on, group_*).
func (d *Dashboard) Check(v Vocabulary) []error {
	var errs []error
	declared := map[string]bool{}
	for _, tv := range d.Templating.List {
		declared[tv.Name] = true
	}
	use := func(where string, r Refs) {
		for _, m := range r.Metrics {
			if !v.Metrics[m] {
				errs = append(errs, fmt.Errorf("%s: metric %q is not one the plugin emits", where, m))
			}
		}
		for _, l := range r.Labels {
			if !v.Labels[l] {
				errs = append(errs, fmt.Errorf("%s: label %q is not one the plugin emits", where, l))
			}
		}
		for _, name := range r.Variables {
			if _, builtin := grafanaBuiltins[name]; !declared[name] && !builtin {
				errs = append(errs, fmt.Errorf("%s: variable $%s is not declared", where, name))
			}
		}
	}
	for _, tv := range d.Templating.List {
		if tv.Type != "query" {
			continue
		}
		if tv.Definition != "" && tv.Definition != tv.QueryString() {
			errs = append(errs, fmt.Errorf("variable %s: definition %q differs from query %q", tv.Name, tv.Definition, tv.QueryString()))
		}
		r, err := ParseVariableQuery(tv.QueryString())
		if err != nil {
			errs = append(errs, fmt.Errorf("variable %s: %v", tv.Name, err))
			continue
		}
		use("variable "+tv.Name, r)
	}
	for _, p := range d.allPanels() {
		for _, t := range p.Targets {
			where := fmt.Sprintf("panel %d %q query %s", p.ID, p.Title, t.RefID)
			r, err := Parse(t.Expr)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", where, err))
				continue
			}
			if len(r.Metrics) == 0 {
				errs = append(errs, fmt.Errorf("%s: names no metric", where))
			}
			use(where, r)
			kept := map[string]bool{}
			for _, l := range r.Kept {
				kept[l] = true
			}
			for _, l := range LegendLabels(t.LegendFormat) {
				if !kept[l] {
					errs = append(errs, fmt.Errorf("%s: legend shows %q, which the query does not keep", where, l))
				}
			}
		}
	}
	return errs
}
