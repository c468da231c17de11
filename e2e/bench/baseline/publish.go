package baseline

import (
	"github.com/llmproxy/llmproxy/plugin/proxy"
	"github.com/llmproxy/llmproxy/plugin/publish"
)

// Publish is the copy floor plus what publishing an LLM call costs, with
// nothing read: the host calls llmproxy makes for a streamed call that
// reports usage (the header reads, the clock, the cluster name, twelve
// filter-state writes of eleven values and five metric updates), in the
// same callbacks, with fixed values. What llmproxy does once per VM (node metadata, metric
// definitions) is left out; benchmarks time a warm VM. Set against the
// floor, it shows how much of llmproxy's cost the contract's host calls
// take, whatever reads the body.
type Publish struct {
	ids     [5]uint32 // three counters, two histograms
	defined bool
}

var _ proxy.Root = (*Publish)(nil)

// PublishState is the filter state Publish leaves, "wasm." + key.
var PublishState = map[string]string{}

// publishValues are typical values, the lengths llmproxy writes.
var publishValues = [...]struct{ key, value string }{
	{publish.KeyPromptTokens, "9"},
	{publish.KeyCompletionTokens, "9"},
	{publish.KeyTotalTokens, "18"},
	{publish.KeyCachedTokens, "0"},
	{publish.KeyReasoningTokens, "0"},
	{publish.KeyTTFT, "0"},
	{publish.KeyResponseModel, "gpt-4o-mini-2024-07-18"},
	{publish.KeyUsageStatus, "reported"},
}

const publishModel = "gpt-4o-mini"

func init() {
	PublishState["wasm."+publish.KeyRequestModel] = publishModel
	PublishState["wasm."+publish.KeyAPI] = "openai"
	PublishState["wasm."+publish.KeyStream] = "true"
	for _, kv := range publishValues {
		PublishState["wasm."+kv.key] = kv.value
	}
}

// NewPublish returns the publish-only filter.
func NewPublish() *Publish { return &Publish{} }

// Configure implements proxy.Root.
func (*Publish) Configure(proxy.Host, []byte) error { return nil }

// NewHTTP implements proxy.Root.
func (p *Publish) NewHTTP() proxy.HTTP { return &publishHTTP{p: p} }

type publishHTTP struct {
	p            *Publish
	start, first int64
}

// OnRequestHeaders reads what llmproxy reads of an LLM call's request.
func (s *publishHTTP) OnRequestHeaders(h proxy.Host, _ bool) proxy.Action {
	for _, name := range [...]string{":method", ":path", ":authority", "content-type", "accept-encoding"} {
		h.Header(proxy.RequestHeaders, name)
	}
	s.start = h.Now()
	h.SetFilterState(publish.KeyAPI, "openai")
	h.SetFilterState(publish.KeyUsageStatus, "incomplete")
	return proxy.Continue
}

func (s *publishHTTP) OnRequestBody(h proxy.Host, size int, end bool) proxy.Action {
	h.ReadBody(proxy.RequestBody, size, discard)
	if end {
		h.SetFilterState(publish.KeyRequestModel, publishModel)
	}
	return proxy.Continue
}

func (s *publishHTTP) OnResponseHeaders(h proxy.Host, _ bool) proxy.Action {
	for _, name := range [...]string{":status", "content-type", "content-encoding"} {
		h.Header(proxy.ResponseHeaders, name)
	}
	h.SetFilterState(publish.KeyStream, "true")
	return proxy.Continue
}

func (s *publishHTTP) OnResponseBody(h proxy.Host, size int, end bool) proxy.Action {
	if size > 0 && s.first == 0 {
		s.first = h.Now()
	}
	h.ReadBody(proxy.ResponseBody, size, discard)
	if end {
		s.finish(h)
	}
	return proxy.Continue
}

func (s *publishHTTP) OnLog(proxy.Host) {}

func (s *publishHTTP) finish(h proxy.Host) {
	h.Now()
	h.Property(clusterName...)
	for _, kv := range publishValues {
		h.SetFilterState(kv.key, kv.value)
	}
	p := s.p
	if !p.defined {
		p.defined = true
		for i := range p.ids {
			kind := proxy.Counter
			if i >= 3 {
				kind = proxy.Histogram
			}
			p.ids[i], _ = h.DefineMetric(kind, "publish_only_"+string(rune('a'+i)))
		}
	}
	// Requests, prompt and completion tokens; cached and reasoning are 0
	// and only looked up; the two histograms.
	h.AddCounter(p.ids[0], 1)
	h.AddCounter(p.ids[1], 9)
	h.AddCounter(p.ids[2], 9)
	h.RecordHistogram(p.ids[3], 0)
	h.RecordHistogram(p.ids[4], 0)
}

var clusterName = []string{"xds", "cluster_name"}
