package filter

import (
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
	c.resp.Finish(&c.rec, complete)
	c.rec.RequestModel = c.published
	end := h.Now()
	c.rec.Duration = elapsedMillis(c.start, end)
	if c.firstByte != 0 {
		c.rec.TimeToFirstByte = elapsedMillis(c.start, c.firstByte)
	}
	s.setFilterState(h)
	switch c.rec.Outcome {
	case usage.Unreadable:
		h.Log(proxy.Info, "llmproxy: usage of "+c.method+" "+c.path+" is unreadable: "+c.resp.Why())
	case usage.Incomplete:
		h.Log(proxy.Info, "llmproxy: "+c.method+" "+c.path+" is incomplete: the stream was reset or never answered before its end")
	}
	s.count(h)
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
}

// publishEarly says what is known of a call at its request headers. Envoy
// writes the access log before the plugin's on_log, so a stream that is
// reset before its end shows these values, not null; finish overwrites
// what changes.
func (s *Stream) publishEarly(h proxy.Host) {
	s.setOwn(h, publish.KeyAPI, s.call.rec.API)
	s.setOwn(h, publish.KeyUsageStatus, usage.Incomplete.String())
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

func (s *Stream) count(h proxy.Host) {
	c, p := s.call, s.p
	model := c.rec.RequestModel
	if model == "" {
		model = c.rec.ResponseModel
	}
	ls := p.seriesFor(h, clusterName(h), c.authority, model)
	for i, name := range overflowMetrics {
		if p.overflow&(1<<i) != 0 {
			p.add(h, noSlot, series{metric: name}, 1)
		}
	}
	p.overflow = 0
	r := &c.rec
	p.add(h, slotRequests+int(r.Outcome), series{metric: publish.MetricRequests, tags: ls.tags, outcome: r.Outcome.String()}, 1)
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
	if r.TimeToFirstByte.Set {
		p.record(h, slotTTFT, series{metric: publish.MetricTTFT, tags: ls.tags}, r.TimeToFirstByte.N)
	}
	if r.Duration.Set {
		p.record(h, slotDuration, series{metric: publish.MetricDuration, tags: ls.tags}, r.Duration.N)
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
