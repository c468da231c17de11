package filter

import (
	"github.com/llmproxy/llmproxy/plugin/api"
	"github.com/llmproxy/llmproxy/plugin/config"
	"github.com/llmproxy/llmproxy/plugin/proxy"
	"github.com/llmproxy/llmproxy/plugin/publish"
)

// Plugin is one configured plugin instance (the proxy's root context). It
// holds what outlives a stream: the configuration, the node identity and
// the counters defined so far.
type Plugin struct {
	cfg config.Config

	nodeRead  bool
	workload  string
	namespace string

	metrics      map[series]uint32
	overflow     overflows // what the last seriesFor call ran out of
	paths        map[string]*api.Family
	models       map[string]struct{}
	destinations map[string]struct{}
	tagSets      map[publish.Tags]struct{}
	full         bool // max_metrics reached: said once in the log

	free []*call // finished calls, for reuse
	last lastSeries
}

// maxFree bounds the calls kept for reuse: the streams a VM usually has in
// flight at once.
const maxFree = 32

// newCall returns a zeroed call, reusing a finished one: a call is a few
// KiB, and allocating one per stream kept Go's allocator and collector busy.
func (p *Plugin) newCall() *call {
	n := len(p.free)
	if n == 0 {
		c := new(call)
		c.readReq, c.readResp, c.feedResp = c.req.Feed, c.readResponse, c.resp.Feed
		return c
	}
	c := p.free[n-1]
	p.free = p.free[:n-1]
	return c
}

func (p *Plugin) release(c *call) {
	if len(p.free) < maxFree {
		rq, rs, fr := c.readReq, c.readResp, c.feedResp
		*c = call{readReq: rq, readResp: rs, feedResp: fr}
		p.free = append(p.free, c)
	}
}

// OtherModel is the model label used once MaxModelLabels distinct models
// have been seen, and the destination label likewise.
const OtherModel = "other"

// overflows says which caps a call's tags ran into, one bit each.
type overflows uint8

const (
	overflowModel overflows = 1 << iota
	overflowDestination
	overflowSeries
)

// overflowMetrics are the counters of each overflow bit, in bit order.
var overflowMetrics = [...]string{publish.MetricModelOverflow, publish.MetricDestinationOverflow, publish.MetricSeriesOverflow}

// The stats one tag set can define: requests by outcome, four token
// counters, two histograms; and those with no tag set: the rewrite results
// and the overflow counters. max_metrics is shared out with these.
const (
	seriesPerTagSet = numOutcomes + 4 + 2
	untaggedSeries  = 3 + len(overflowMetrics)
	numOutcomes     = 5
)

// NewPlugin returns a plugin with the default configuration.
func NewPlugin() *Plugin {
	return &Plugin{
		cfg:          config.Defaults,
		metrics:      map[series]uint32{},
		models:       map[string]struct{}{},
		destinations: map[string]struct{}{},
		tagSets:      map[publish.Tags]struct{}{},
	}
}

// maxTagSets is how many tag sets fit in max_metrics, less the one
// reserved for destination and model "other".
func (p *Plugin) maxTagSets() int {
	return (p.cfg.MaxMetrics-untaggedSeries)/seriesPerTagSet - 1
}

// Configure applies a configuration. On error it logs one line naming the
// field and the plugin must refuse to start.
func (p *Plugin) Configure(h proxy.Host, raw []byte) error {
	c, err := config.Parse(raw)
	if err != nil {
		h.Log(proxy.Error, "llmproxy: "+err.Error())
		return err
	}
	p.cfg = c
	p.last = lastSeries{} // its tags were cleaned under the old limits
	p.paths = map[string]*api.Family{}
	for path, name := range c.Paths {
		p.paths[path] = api.Families[name]
	}
	return nil
}

// NewStream starts the state of one HTTP stream.
func (p *Plugin) NewStream() *Stream { return &Stream{p: p} }

// NewHTTP implements proxy.Root.
func (p *Plugin) NewHTTP() proxy.HTTP { return p.NewStream() }

var _ proxy.Root = (*Plugin)(nil)

// source reads the proxy's workload identity once: node attributes are
// under xds.node on Envoy >= 1.33 and under node before.
func (p *Plugin) source(h proxy.Host) (workload, namespace string) {
	if !p.nodeRead {
		p.nodeRead = true
		p.workload = nodeMetadata(h, "WORKLOAD_NAME")
		p.namespace = nodeMetadata(h, "NAMESPACE")
	}
	return p.workload, p.namespace
}

func nodeMetadata(h proxy.Host, key string) string {
	if v, ok := h.Property("xds", "node", "metadata", key); ok && v != "" {
		return v
	}
	if v, ok := h.Property("node", "metadata", key); ok {
		return v
	}
	return ""
}

// Paths read on every call are kept as slices: a variadic call through
// an interface allocates its arguments.
var (
	xdsClusterName    = []string{"xds", "cluster_name"}
	legacyClusterName = []string{"cluster_name"}
)

func clusterName(h proxy.Host) string {
	if v, ok := h.Property(xdsClusterName...); ok && v != "" {
		return v
	}
	v, _ := h.Property(legacyClusterName...)
	return v
}

// capLabel keeps a label value if it was seen before or the VM still has
// room for one more; otherwise the value is OtherModel.
func capLabel(seen map[string]struct{}, v string, max int) (string, bool) {
	if _, ok := seen[v]; ok {
		return v, true
	}
	if len(seen) >= max {
		return OtherModel, false
	}
	seen[v] = struct{}{}
	return v, true
}

// tagsFor caps every label a client can choose, then the number of tag
// sets, so that no client can grow the VM's stats past max_metrics.
func (p *Plugin) tagsFor(h proxy.Host, cluster, authority, model string) (publish.Tags, overflows) {
	workload, namespace := p.source(h)
	max := p.cfg.MaxTagLength
	var over overflows
	dest, ok := capLabel(p.destinations, publish.CleanTag(publish.DestinationService(cluster, authority), max), p.cfg.MaxDestinationLabels)
	if !ok {
		over |= overflowDestination
	}
	m, ok := capLabel(p.models, publish.CleanTag(model, max), p.cfg.MaxModelLabels)
	if !ok {
		over |= overflowModel
	}
	t := publish.Tags{
		SourceWorkload:     publish.CleanTag(workload, max),
		SourceNamespace:    publish.CleanTag(namespace, max),
		DestinationService: dest,
		Model:              m,
	}
	if _, ok := p.tagSets[t]; !ok {
		if len(p.tagSets) >= p.maxTagSets() {
			t.DestinationService, t.Model = OtherModel, OtherModel
			over |= overflowSeries
		}
		p.tagSets[t] = struct{}{}
	}
	return t, over
}

// series is one metric with one tag set.
type series struct {
	metric  string
	tags    publish.Tags
	outcome string // requests only
	rewrite string // rewrites only
}

// lastSeries is the tag set of the last call and the ids of its series. A
// VM mostly sees the same destination and model over and over; hashing
// every tag string for every counter was a large part of a call's cost.
type lastSeries struct {
	valid                     bool
	cluster, authority, model string // as read, before cleaning
	tags                      publish.Tags
	overflowed                overflows
	ids                       [numSlots]uint32
	defined                   [numSlots]bool
}

// Series slots of lastSeries: requests by outcome, then tokens in the
// order count publishes them, then the histograms.
const (
	noSlot       = -1
	slotRequests = 0
	slotTokens   = slotRequests + 8
	slotTTFT     = slotTokens + 4
	slotDuration = slotTTFT + 1
	numSlots     = slotDuration + 1
)

// seriesFor returns the tags of a call, from the last call's if they match.
func (p *Plugin) seriesFor(h proxy.Host, cluster, authority, model string) *lastSeries {
	ls := &p.last
	if ls.valid && ls.cluster == cluster && ls.authority == authority && ls.model == model {
		p.overflow = ls.overflowed
		return ls
	}
	tags, over := p.tagsFor(h, cluster, authority, model)
	*ls = lastSeries{valid: true, cluster: cluster, authority: authority, model: model, tags: tags, overflowed: over}
	p.overflow = over
	return ls
}

// add increments a counter series, defining it the first time it has
// something to count: a call that reports no completion tokens leaves no
// zero-valued completion series behind.
func (p *Plugin) add(h proxy.Host, slot int, s series, delta uint64) {
	// Envoy rejects a zero increment; a reported zero still defines the
	// series, at zero.
	if id, ok := p.id(h, proxy.Counter, slot, s); ok && delta > 0 {
		if err := h.AddCounter(id, delta); err != nil {
			h.Log(proxy.Debug, "llmproxy: cannot increment "+s.metric+": "+err.Error())
		}
	}
}

// record adds a sample to a histogram series.
func (p *Plugin) record(h proxy.Host, slot int, s series, v uint64) {
	if id, ok := p.id(h, proxy.Histogram, slot, s); ok {
		if err := h.RecordHistogram(id, v); err != nil {
			h.Log(proxy.Debug, "llmproxy: cannot record "+s.metric+": "+err.Error())
		}
	}
}

// id is the metric id of a series, from its lastSeries slot if it has one.
func (p *Plugin) id(h proxy.Host, kind proxy.MetricKind, slot int, s series) (uint32, bool) {
	if slot == noSlot {
		return p.define(h, kind, s)
	}
	if p.last.defined[slot] {
		return p.last.ids[slot], true
	}
	id, ok := p.define(h, kind, s)
	p.last.ids[slot], p.last.defined[slot] = id, ok
	return id, ok
}

func (p *Plugin) define(h proxy.Host, kind proxy.MetricKind, s series) (uint32, bool) {
	if id, ok := p.metrics[s]; ok {
		return id, true
	}
	if len(p.metrics) >= p.cfg.MaxMetrics { // a guard: tagsFor keeps well below it
		if !p.full {
			p.full = true
			h.Log(proxy.Warn, "llmproxy: max_metrics stats defined; further series are not counted")
		}
		return 0, false
	}
	name := publish.StatName(s.metric, s.tags)
	switch {
	case s.outcome != "":
		name = publish.RequestsStatName(s.tags, s.outcome)
	case s.rewrite != "":
		name = publish.RewritesStatName(s.rewrite)
	case s.tags == publish.Tags{}:
		name = s.metric
	}
	id, err := h.DefineMetric(kind, name)
	if err != nil {
		h.Log(proxy.Warn, "llmproxy: cannot define "+s.metric+": "+err.Error())
		return 0, false
	}
	p.metrics[s] = id
	return id, true
}
