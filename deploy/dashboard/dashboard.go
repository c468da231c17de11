// Package dashboard checks the Grafana dashboard under istio/: that it is a
// dashboard model Grafana imports, and that its PromQL names only the
// metrics and labels the plugin emits, so no panel stays silently empty.
package dashboard

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
)

// Dashboard holds the fields of Grafana's dashboard JSON model that an
// import needs and this check reads; other keys are left alone.
type Dashboard struct {
	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	SchemaVersion int      `json:"schemaVersion"`
	Tags          []string `json:"tags"`
	Time          struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	Panels []Panel `json:"panels"`
}

// Panel is one panel; a row holds its panels only when collapsed.
type Panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	GridPos    GridPos     `json:"gridPos"`
	Datasource *Datasource `json:"datasource"`
	Targets    []Target    `json:"targets"`
	Panels     []Panel     `json:"panels"`
}

// GridPos places a panel on Grafana's 24-column grid.
type GridPos struct{ X, Y, W, H int }

// Target is one Prometheus query.
type Target struct {
	RefID        string      `json:"refId"`
	Expr         string      `json:"expr"`
	LegendFormat string      `json:"legendFormat"`
	Datasource   *Datasource `json:"datasource"`
}

// Datasource refers to a data source, here through the datasource variable.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Variable is a templating variable. A query variable's query is a string
// or, from Grafana 10 on, an object holding it.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"` // the query as the editor shows it
	Datasource *Datasource     `json:"datasource"`
}

// QueryString is the variable's query text.
func (v Variable) QueryString() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(v.Query, &o)
	return o.Query
}

// Load reads a dashboard file.
func Load(path string) (*Dashboard, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := &Dashboard{}
	if err := json.Unmarshal(raw, d); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return d, nil
}

// Panel types this dashboard may use, all built into Grafana.
var panelTypes = map[string]bool{"row": true, "timeseries": true, "stat": true, "bargauge": true, "table": true, "piechart": true, "gauge": true}

var uidRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// Validate checks the model: identity, unique panel ids, panels on the grid
// without overlap, queries with refIds through a declared data source.
func (d *Dashboard) Validate() []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if d.Title == "" || !uidRe.MatchString(d.UID) || d.SchemaVersion < 36 {
		fail("title %q, uid %q, schemaVersion %d: want a title, a uid of at most 40 [A-Za-z0-9_-], schemaVersion >= 36", d.Title, d.UID, d.SchemaVersion)
	}
	vars := map[string]Variable{}
	for _, v := range d.Templating.List {
		if _, dup := vars[v.Name]; dup || v.Name == "" {
			fail("variable %q declared twice or unnamed", v.Name)
		}
		vars[v.Name] = v
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" && !d.declared(v.Datasource, vars) {
			fail("variable %s: data source %+v not the datasource variable", v.Name, v.Datasource)
		}
	}
	ids := map[int]bool{}
	var placed []GridPos
	for _, p := range d.allPanels() {
		if p.ID <= 0 || ids[p.ID] {
			fail("panel %q: id %d is not a unique positive number", p.Title, p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if !panelTypes[p.Type] || p.Title == "" || g.W < 1 || g.H < 1 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			fail("panel %d %q: type %q, gridPos %+v", p.ID, p.Title, p.Type, g)
		}
		for _, q := range placed {
			if g.X < q.X+q.W && q.X < g.X+g.W && g.Y < q.Y+q.H && q.Y < g.Y+g.H {
				fail("panel %d %q overlaps another at %+v", p.ID, p.Title, q)
			}
		}
		placed = append(placed, g)
		if p.Type == "row" {
			if len(p.Targets) > 0 {
				fail("row %d has queries", p.ID)
			}
			continue
		}
		refs := map[string]bool{}
		for _, t := range p.Targets {
			if t.RefID == "" || refs[t.RefID] || t.Expr == "" {
				fail("panel %d %q: target %q needs a unique refId and an expr", p.ID, p.Title, t.RefID)
			}
			refs[t.RefID] = true
		}
		if len(p.Targets) == 0 || !d.declared(p.Datasource, vars) {
			fail("panel %d %q: no queries, or data source %+v not the datasource variable", p.ID, p.Title, p.Datasource)
		}
	}
	return errs
}

// declared: the data source is a variable of type datasource.
func (d *Dashboard) declared(ds *Datasource, vars map[string]Variable) bool {
	if ds == nil {
		return false
	}
	names := variablesIn(ds.UID)
	return len(names) == 1 && vars[names[0]].Type == "datasource" && ds.Type == "prometheus"
}

// allPanels flattens rows.
func (d *Dashboard) allPanels() []Panel {
	var out []Panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}
