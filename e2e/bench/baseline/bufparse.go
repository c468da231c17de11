package baseline

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmproxy/llmproxy/plugin/proxy"
	"github.com/llmproxy/llmproxy/plugin/publish"
)

// BufParse reads usage the way peer plugins do: append the whole body, then
// run gjson over it at the end. It publishes what llmproxy publishes for
// the same call, in the same callbacks: the API and the outcome early, the
// stream flag at the response headers, then the model, the five token
// counts, the time to first byte, the response model and the outcome as
// filter state, and the request, token and latency metrics, reading the
// same headers and the clock as often; so only the reading differs.
type BufParse struct {
	workload, namespace string
	nodeRead            bool
	counters            map[string]uint32
}

var _ proxy.Root = (*BufParse)(nil)

// NewBufParse returns the buffer-then-parse filter.
func NewBufParse() *BufParse { return &BufParse{counters: map[string]uint32{}} }

// Configure implements proxy.Root.
func (*BufParse) Configure(proxy.Host, []byte) error { return nil }

// NewHTTP implements proxy.Root.
func (p *BufParse) NewHTTP() proxy.HTTP { return &bufStream{p: p} }

type bufStream struct {
	p                  *BufParse
	llm, sse           bool
	authority          string
	start, first       int64
	req, resp          []byte
	model              string
	usage              gjson.Result
	counts             [5]gjson.Result // as usagePaths, read once
	respModel          string
	hasUsage, finished bool
}

func (s *bufStream) OnRequestHeaders(h proxy.Host, _ bool) proxy.Action {
	m, _ := h.Header(proxy.RequestHeaders, ":method")
	if m != "POST" {
		return proxy.Continue
	}
	path, _ := h.Header(proxy.RequestHeaders, ":path")
	s.llm = strings.HasSuffix(path, "/completions") || strings.HasSuffix(path, "/embeddings")
	s.authority, _ = h.Header(proxy.RequestHeaders, ":authority")
	h.Header(proxy.RequestHeaders, "content-type")
	h.Header(proxy.RequestHeaders, "accept-encoding")
	if s.llm {
		s.start = h.Now()
		h.SetFilterState(publish.KeyAPI, "openai")
		h.SetFilterState(publish.KeyUsageStatus, "incomplete")
	}
	return proxy.Continue
}

func (s *bufStream) OnRequestBody(h proxy.Host, size int, end bool) proxy.Action {
	if !s.llm {
		return proxy.Continue
	}
	h.ReadBody(proxy.RequestBody, size, func(b []byte) { s.req = append(s.req, b...) })
	if end {
		s.model = gjson.GetBytes(s.req, "model").String()
		h.SetFilterState(publish.KeyRequestModel, s.model)
		s.req = nil
	}
	return proxy.Continue
}

func (s *bufStream) OnResponseHeaders(h proxy.Host, _ bool) proxy.Action {
	if !s.llm {
		return proxy.Continue
	}
	h.Header(proxy.ResponseHeaders, ":status")
	ct, _ := h.Header(proxy.ResponseHeaders, "content-type")
	h.Header(proxy.ResponseHeaders, "content-encoding")
	s.sse = strings.HasPrefix(ct, "text/event-stream")
	h.SetFilterState(publish.KeyStream, strconv.FormatBool(s.sse))
	return proxy.Continue
}

func (s *bufStream) OnResponseBody(h proxy.Host, size int, end bool) proxy.Action {
	if !s.llm || s.finished {
		return proxy.Continue
	}
	if size > 0 && s.first == 0 {
		s.first = h.Now()
	}
	h.ReadBody(proxy.ResponseBody, size, func(b []byte) { s.resp = append(s.resp, b...) })
	if end {
		s.finish(h)
	}
	return proxy.Continue
}

func (s *bufStream) OnLog(h proxy.Host) {}

// finish parses the buffered response: a JSON body at once, a stream event
// by event, the last usage winning.
func (s *bufStream) finish(h proxy.Host) {
	s.finished = true
	end := h.Now()
	if !s.sse {
		s.read(s.resp)
	}
	for rest := s.resp; s.sse && len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if data = bytes.TrimSpace(data); ok && len(data) > 0 && data[0] == '{' {
			s.read(data)
		}
	}
	s.resp = nil
	outcome := "missing"
	if s.hasUsage {
		outcome = "reported"
		for i, f := range usageFields {
			if s.counts[i] = s.usage.Get(f.path); s.counts[i].Exists() {
				h.SetFilterState(f.key, s.counts[i].Raw)
			}
		}
	}
	ttft, duration := uint64(s.first-s.start)/1e6, uint64(end-s.start)/1e6
	h.SetFilterState(publish.KeyTTFT, strconv.FormatUint(ttft, 10))
	if s.respModel != "" {
		h.SetFilterState(publish.KeyResponseModel, s.respModel)
	}
	h.SetFilterState(publish.KeyUsageStatus, outcome)
	s.count(h, outcome, ttft, duration)
}

func (s *bufStream) read(doc []byte) {
	if m := gjson.GetBytes(doc, "model"); m.Exists() {
		s.respModel = m.String()
	}
	if u := gjson.GetBytes(doc, "usage"); u.IsObject() {
		s.usage, s.hasUsage = u, true
	}
}

func (s *bufStream) count(h proxy.Host, outcome string, ttft, duration uint64) {
	p := s.p
	if !p.nodeRead {
		p.nodeRead = true
		p.workload, _ = h.Property("xds", "node", "metadata", "WORKLOAD_NAME")
		p.namespace, _ = h.Property("xds", "node", "metadata", "NAMESPACE")
	}
	cluster, _ := h.Property("xds", "cluster_name")
	tags := publish.Tags{
		SourceWorkload:     publish.CleanTag(p.workload, 128),
		SourceNamespace:    publish.CleanTag(p.namespace, 128),
		DestinationService: publish.CleanTag(publish.DestinationService(cluster, s.authority), 128),
		Model:              publish.CleanTag(s.model, 128),
	}
	id := func(kind proxy.MetricKind, name string) uint32 {
		v, ok := p.counters[name]
		if !ok {
			v, _ = h.DefineMetric(kind, name)
			p.counters[name] = v
		}
		return v
	}
	h.AddCounter(id(proxy.Counter, publish.RequestsStatName(tags, outcome, "")), 1)
	for i, f := range usageFields {
		if n := s.counts[i].Uint(); n > 0 && f.metric != "" {
			h.AddCounter(id(proxy.Counter, publish.StatName(f.metric, tags)), n)
		}
	}
	h.RecordHistogram(id(proxy.Histogram, publish.StatName(publish.MetricTTFT, tags)), ttft)
	h.RecordHistogram(id(proxy.Histogram, publish.StatName(publish.MetricDuration, tags)), duration)
}

// usageFields are the OpenAI usage fields published, each read once: as
// filter state, and those with a counter as metrics.
var usageFields = [...]struct{ key, path, metric string }{
	{publish.KeyPromptTokens, "prompt_tokens", publish.MetricPromptTokens},
	{publish.KeyCompletionTokens, "completion_tokens", publish.MetricCompletionTokens},
	{publish.KeyTotalTokens, "total_tokens", ""},
	{publish.KeyCachedTokens, "prompt_tokens_details.cached_tokens", publish.MetricCachedTokens},
	{publish.KeyReasoningTokens, "completion_tokens_details.reasoning_tokens", publish.MetricReasoningTokens},
}
