package filter

import (
	"github.com/llmproxy/llmproxy/plugin/api"
	"github.com/llmproxy/llmproxy/plugin/proxy"
	"github.com/llmproxy/llmproxy/plugin/publish"
)

// overflows says which caps a call's tags ran into, one bit each.
type overflows uint8

const (
	overflowModel overflows = 1 << iota
	overflowDestination
	overflowSeries
	overflowConsumer
)

// overflowMetrics are the counters of each overflow bit, in bit order.
var overflowMetrics = [...]string{publish.MetricModelOverflow, publish.MetricDestinationOverflow,
	publish.MetricSeriesOverflow, publish.MetricConsumerOverflow}

// What max_metrics is shared out with. A tag set of the ASM vocabulary can
// define requests by outcome (each error type apart), four token
// counters, two histograms, and with prices a cost counter per currency
// and the unpriced counter; a GenAI attribute set two token histograms,
// the duration and the time to first chunk. Untagged: the rewrite results
// and the overflow counters. One set of each kind is kept for "other".
const (
	nonErrorOutcomes = 4
	genAIPerSet      = 4
	untaggedSeries   = 3 + len(overflowMetrics)
)

func (p *Plugin) asmPerSet() int {
	n := nonErrorOutcomes + len(api.ErrorTypes) + 4 + 2
	if t := p.cfg.PriceTable; !t.Empty() {
		n += len(t.Currencies()) + 1
	}
	return n
}

func (p *Plugin) genAIPerSet() int {
	if p.cfg.GenAI {
		return genAIPerSet
	}
	return 0
}

// admit reserves room for a new tag set's metrics, keeping what the
// "other" sets and the untagged metrics need.
func (p *Plugin) admit(n int) bool {
	room := p.cfg.MaxMetrics - untaggedSeries - p.asmPerSet() - p.genAIPerSet()
	if p.reserved+n > room {
		return false
	}
	p.reserved += n
	return true
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
func (p *Plugin) tagsFor(h proxy.Host, cluster, authority, model, consumer string) (publish.Tags, overflows) {
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
	if p.cfg.ConsumerLabel {
		if t.Consumer, ok = capLabel(p.consumers, publish.CleanTag(consumer, max), p.cfg.MaxConsumerLabels); !ok {
			over |= overflowConsumer
		}
	}
	if _, ok := p.tagSets[t]; !ok {
		if !p.admit(p.asmPerSet()) {
			t.DestinationService, t.Model = OtherModel, OtherModel
			if t.Consumer != "" {
				t.Consumer = OtherModel
			}
			over |= overflowSeries
		}
		p.tagSets[t] = struct{}{}
	}
	return t, over
}

// genAIFor returns a call's GenAI attributes, from the last call's if they
// were made from the same values; the slots of their series go with them.
func (p *Plugin) genAIFor(c *call, ls *lastSeries) publish.GenAITags {
	key := [5]string{c.rec.RequestModel, c.rec.ResponseModel, c.path, c.rec.ErrorType, c.rec.API}
	if ls.genAIValid && ls.genAIKey == key {
		p.overflow |= ls.genAIOver
		return ls.genAI
	}
	before := p.overflow
	ls.genAIValid, ls.genAIKey, ls.genAI = true, key, p.genAITags(c, ls.tags)
	ls.genAIOver = p.overflow &^ before
	for i := slotGenAI; i < numSlots; i++ {
		ls.defined[i] = false
	}
	return ls.genAI
}

// genAITags are a call's GenAI attributes, capped like the ASM tags.
func (p *Plugin) genAITags(c *call, asm publish.Tags) publish.GenAITags {
	max := p.cfg.MaxTagLength
	host := c.authority
	t := publish.GenAITags{
		Provider:  publish.GenAIProviderName(c.rec.API, host),
		Operation: publish.GenAIOperationName(c.rec.API, c.path),
		Server:    asm.DestinationService,
	}
	var ok bool
	if t.RequestModel, ok = capLabel(p.models, publish.CleanTag(c.rec.RequestModel, max), p.cfg.MaxModelLabels); !ok {
		p.overflow |= overflowModel
	}
	if c.rec.ResponseModel != "" {
		if t.ResponseModel, ok = capLabel(p.models, publish.CleanTag(c.rec.ResponseModel, max), p.cfg.MaxModelLabels); !ok {
			p.overflow |= overflowModel
		}
	}
	if c.rec.ErrorType != "" {
		t.ErrorType = c.rec.ErrorType
	}
	if _, ok := p.genAISets[t]; !ok {
		if !p.admit(genAIPerSet) {
			t.RequestModel, t.Server = OtherModel, OtherModel
			if t.ResponseModel != "" {
				t.ResponseModel = OtherModel
			}
			p.overflow |= overflowSeries
		}
		p.genAISets[t] = struct{}{}
	}
	return t
}

// series is one metric with one tag set.
type series struct {
	metric string
	tags   publish.Tags
	genAI  publish.GenAITags
	more   [2]publish.Tag // further tags: outcome and error type, currency, token type, rewrite
}

func (s *series) name() string {
	var more []publish.Tag
	for _, t := range s.more {
		if t.Name != "" {
			more = append(more, t)
		}
	}
	switch {
	case s.genAI.Provider != "":
		return publish.GenAIStatName(s.metric, s.genAI, more...)
	case s.tags == publish.Tags{}:
		return publish.PlainStatName(s.metric, more...)
	}
	return publish.StatName(s.metric, s.tags, more...)
}

// lastSeries is the tag set of the last call and the ids of its series. A
// VM mostly sees the same destination and model over and over; hashing
// every tag string for every counter was a large part of a call's cost.
type lastSeries struct {
	valid                               bool
	cluster, authority, model, consumer string // as read, before cleaning
	tags                                publish.Tags
	overflowed                          overflows
	// The GenAI attributes of the last call, and what they were made from.
	genAIValid bool
	genAIKey   [5]string // request and response model as read, path, error type, API
	genAI      publish.GenAITags
	genAIOver  overflows // the caps they ran into, counted again on each call
	ids        [numSlots]uint32
	defined    [numSlots]bool
}

// Series slots of lastSeries: requests by outcome, then tokens in the
// order count publishes them, then the histograms, then cost.
const (
	noSlot       = -1
	slotRequests = 0
	slotTokens   = slotRequests + 8
	slotTTFT     = slotTokens + 4
	slotDuration = slotTTFT + 1
	slotCost     = slotDuration + 1
	slotUnpriced = slotCost + 1
	slotGenAI    = slotUnpriced + 1 // input, output, duration, time to first chunk
	numSlots     = slotGenAI + 4
)

// seriesFor returns the tags of a call, from the last call's if they match.
func (p *Plugin) seriesFor(h proxy.Host, cluster, authority, model, consumer string) *lastSeries {
	ls := &p.last
	if ls.valid && ls.cluster == cluster && ls.authority == authority && ls.model == model && ls.consumer == consumer {
		p.overflow = ls.overflowed
		return ls
	}
	tags, over := p.tagsFor(h, cluster, authority, model, consumer)
	*ls = lastSeries{valid: true, cluster: cluster, authority: authority, model: model, consumer: consumer,
		tags: tags, overflowed: over}
	p.overflow = over
	return ls
}

// add increments a counter series, defining it the first time it has
// something to count: a call that reports no completion tokens leaves no
// zero-valued completion series behind.
func (p *Plugin) add(h proxy.Host, slot int, s series, delta uint64) {
	// Envoy rejects a zero increment; a reported zero still defines the
	// series, at zero.
	if id, ok := p.id(h, proxy.Counter, slot, &s); ok && delta > 0 {
		if err := h.AddCounter(id, delta); err != nil {
			h.Log(proxy.Debug, "llmproxy: cannot increment "+s.metric+": "+err.Error())
		}
	}
}

// record adds a sample to a histogram series.
func (p *Plugin) record(h proxy.Host, slot int, s series, v uint64) {
	if id, ok := p.id(h, proxy.Histogram, slot, &s); ok {
		if err := h.RecordHistogram(id, v); err != nil {
			h.Log(proxy.Debug, "llmproxy: cannot record "+s.metric+": "+err.Error())
		}
	}
}

// id is the metric id of a series, from its lastSeries slot if it has one.
func (p *Plugin) id(h proxy.Host, kind proxy.MetricKind, slot int, s *series) (uint32, bool) {
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

func (p *Plugin) define(h proxy.Host, kind proxy.MetricKind, s *series) (uint32, bool) {
	if id, ok := p.metrics[*s]; ok {
		return id, true
	}
	if len(p.metrics) >= p.cfg.MaxMetrics { // a guard: admit keeps below it
		if !p.full {
			p.full = true
			h.Log(proxy.Warn, "llmproxy: max_metrics stats defined; further series are not counted")
		}
		return 0, false
	}
	id, err := h.DefineMetric(kind, s.name())
	if err != nil {
		h.Log(proxy.Warn, "llmproxy: cannot define "+s.metric+": "+err.Error())
		return 0, false
	}
	p.metrics[*s] = id
	return id, true
}
