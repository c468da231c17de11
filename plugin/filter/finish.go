package filter

import (
	"github.com/llmproxy/llmproxy/plugin/api"
	"github.com/llmproxy/llmproxy/plugin/cost"
	"github.com/llmproxy/llmproxy/plugin/proxy"
	"github.com/llmproxy/llmproxy/plugin/publish"
	"github.com/llmproxy/llmproxy/plugin/usage"
)

// publishRequestModel sets the request model as soon as it is known: from
// the path at the request headers, then from the body, which wins; after a
// rewrite, the model sent upstream.
func (s *Stream) publishRequestModel(h proxy.Host, m string) {
	if m == "" || m == s.call.published {
		return
	}
	s.call.published = m
	s.setState(h, publish.KeyRequestModel, m)
}

// finish publishes the call once, before the access log and Istio's stats
// filter read the filter state.
func (s *Stream) finish(h proxy.Host, complete bool) {
	c := s.call
	c.finished = true
	if !c.respStarted { // the stream ended before any response
		c.resp.Start(c.fam, api.FormatNone, 0)
	}
	c.resp.Finish(&c.rec, complete)
	c.rec.RequestModel = c.published
	end := h.Now()
	c.rec.Duration = elapsedMillis(c.start, end)
	if c.firstByte != 0 {
		c.rec.TimeToFirstByte = elapsedMillis(c.start, c.firstByte)
	}
	model := c.rec.RequestModel
	if model == "" {
		model = c.rec.ResponseModel
	}
	ls := s.p.seriesFor(h, clusterName(h), c.authority, model, c.consumer)
	s.price(ls.tags.DestinationService)
	s.setFilterState(h)
	switch c.rec.Outcome {
	case usage.Unreadable:
		h.Log(proxy.Info, "llmproxy: usage of "+c.method+" "+c.path+" is unreadable: "+c.resp.Why())
	case usage.Incomplete:
		h.Log(proxy.Info, "llmproxy: "+c.method+" "+c.path+" is incomplete: the stream was reset or never answered before its end")
	}
	s.count(h, ls)
	if s.p.cfg.GenAI {
		s.countGenAI(h, ls)
	}
	s.p.countOverflows(h)
}

// countOverflows counts the call once under each cap its labels ran into.
func (p *Plugin) countOverflows(h proxy.Host) {
	for i, name := range overflowMetrics {
		if p.overflow&(1<<i) != 0 {
			p.add(h, noSlot, series{metric: name}, 1)
		}
	}
	p.overflow = 0
}

func elapsedMillis(from, to int64) usage.Count {
	var c usage.Count
	if from > 0 && to >= from {
		c.Put(uint64(to-from) / 1e6)
	}
	return c
}

func (s *Stream) setFilterState(h proxy.Host) {
	r := &s.call.rec
	for _, kv := range [...]struct {
		key string
		n   usage.Count
	}{
		{publish.KeyPromptTokens, r.Prompt},
		{publish.KeyCompletionTokens, r.Completion},
		{publish.KeyTotalTokens, r.Total},
		{publish.KeyCachedTokens, r.CachedInput},
		{publish.KeyReasoningTokens, r.Reasoning},
		{publish.KeyTTFT, r.TimeToFirstByte},
	} {
		if kv.n.Set {
			s.setOwn(h, kv.key, publish.Tokens(kv.n.N))
		}
	}
	if r.ResponseModel != "" {
		s.setState(h, publish.KeyResponseModel, r.ResponseModel)
	}
	s.publishStream(h, r.Stream)
	s.setOwn(h, publish.KeyUsageStatus, r.Outcome.String())
	if r.ErrorType != "" {
		s.setOwn(h, publish.KeyErrorType, r.ErrorType)
	}
	if c := s.call; c.price != nil {
		s.setOwn(h, publish.KeyCost, cost.Format(c.costMicros))
		s.setOwn(h, publish.KeyCostCurrency, c.price.Currency)
	}
}

// publishEarly says what is known of a call at its request headers. Envoy
// writes the access log before the plugin's on_log, so a stream that is
// reset before its end shows these values, not null; finish overwrites
// what changes.
func (s *Stream) publishEarly(h proxy.Host) {
	s.setOwn(h, publish.KeyAPI, s.call.rec.API)
	s.setOwn(h, publish.KeyUsageStatus, usage.Incomplete.String())
	if c := s.call.consumer; c != "" {
		s.setOwn(h, publish.KeyConsumer, c) // cleaned when read
	}
}

// publishStream sets the stream key when its value changes: from the
// response's content type at its headers, then from the body.
func (s *Stream) publishStream(h proxy.Host, streamed bool) {
	v := "false"
	if streamed {
		v = "true"
	}
	if s.call.stream != v {
		s.call.stream = v
		s.setOwn(h, publish.KeyStream, v)
	}
}

func (s *Stream) count(h proxy.Host, ls *lastSeries) {
	c, p := s.call, s.p
	r := &c.rec
	outcome := publish.Tag{Name: publish.TagOutcome, Value: r.Outcome.String()}
	if r.Outcome == usage.Error {
		errType := publish.Tag{Name: publish.TagErrorType, Value: r.ErrorType}
		p.add(h, noSlot, series{metric: publish.MetricRequests, tags: ls.tags, more: [2]publish.Tag{outcome, errType}}, 1)
	} else {
		p.add(h, slotRequests+int(r.Outcome), series{metric: publish.MetricRequests, tags: ls.tags, more: [2]publish.Tag{outcome}}, 1)
	}
	for i, m := range [...]struct {
		name string
		n    usage.Count
	}{
		{publish.MetricPromptTokens, r.Prompt},
		{publish.MetricCompletionTokens, r.Completion},
		{publish.MetricCachedTokens, r.CachedInput},
		{publish.MetricReasoningTokens, r.Reasoning},
	} {
		if m.n.Set {
			p.add(h, slotTokens+i, series{metric: m.name, tags: ls.tags}, m.n.N)
		}
	}
	switch {
	case c.price != nil:
		currency := publish.Tag{Name: publish.TagCurrency, Value: c.price.Currency}
		p.add(h, noSlot, series{metric: publish.MetricCostMicros, tags: ls.tags, more: [2]publish.Tag{currency}}, c.costMicros)
	case !p.cfg.PriceTable.Empty() && r.HasTokens():
		p.add(h, slotUnpriced, series{metric: publish.MetricCostUnpriced, tags: ls.tags}, 1)
	}
	hist := ls.tags
	hist.Consumer = "" // the consumer tags counters only
	if r.TimeToFirstByte.Set {
		p.record(h, slotTTFT, series{metric: publish.MetricTTFT, tags: hist}, r.TimeToFirstByte.N)
	}
	if r.Duration.Set {
		p.record(h, slotDuration, series{metric: publish.MetricDuration, tags: hist}, r.Duration.N)
	}
}

// countGenAI records the OpenTelemetry GenAI client metrics.
func (s *Stream) countGenAI(h proxy.Host, ls *lastSeries) {
	c, p := s.call, s.p
	t := p.genAIFor(c, ls)
	r := &c.rec
	for i, u := range [...]struct {
		kind string
		n    usage.Count
	}{{"input", r.Prompt}, {"output", r.Completion}} {
		if u.n.Set {
			tt := publish.Tag{Name: publish.GenAITokenType, Value: u.kind}
			p.record(h, slotGenAI+i, series{metric: publish.GenAITokenUsage, genAI: t, more: [2]publish.Tag{tt}}, u.n.N)
		}
	}
	if r.Duration.Set {
		p.record(h, slotGenAI+2, series{metric: publish.GenAIDuration, genAI: t}, r.Duration.N)
	}
	if r.TimeToFirstByte.Set && r.Stream {
		p.record(h, slotGenAI+3, series{metric: publish.GenAITimeToFirstChunk, genAI: t}, r.TimeToFirstByte.N)
	}
}

// setState publishes a value that came with the traffic, cleaned.
func (s *Stream) setState(h proxy.Host, key, value string) {
	s.setOwn(h, key, publish.CleanValue(value, s.p.cfg.MaxValueLength))
}

// setOwn publishes a value the plugin made: digits, or one of its names.
func (s *Stream) setOwn(h proxy.Host, key, value string) {
	if err := h.SetFilterState(key, value); err != nil {
		h.Log(proxy.Debug, "llmproxy: cannot set filter state "+key+": "+err.Error())
	}
}
