package baseline

import (
	"bytes"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmproxy/llmproxy/plugin/proxy"
	"github.com/llmproxy/llmproxy/plugin/publish"
)

// BufParse reads usage the way peer plugins do: append the whole body, then
// run gjson over it at the end. It publishes the same filter state and
// counters as llmproxy, so only the reading differs.
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
	req, resp          []byte
	model              string
	prompt, compl      gjson.Result
	hasUsage, finished bool
}

func (s *bufStream) OnRequestHeaders(h proxy.Host, _ bool) proxy.Action {
	m, _ := h.Header(proxy.RequestHeaders, ":method")
	path, _ := h.Header(proxy.RequestHeaders, ":path")
	s.llm = m == "POST" && (strings.HasSuffix(path, "/completions") || strings.HasSuffix(path, "/embeddings"))
	s.authority, _ = h.Header(proxy.RequestHeaders, ":authority")
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
	ct, _ := h.Header(proxy.ResponseHeaders, "content-type")
	s.sse = strings.HasPrefix(ct, "text/event-stream")
	return proxy.Continue
}

func (s *bufStream) OnResponseBody(h proxy.Host, size int, end bool) proxy.Action {
	if !s.llm || s.finished {
		return proxy.Continue
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
	if !s.sse {
		s.usage(s.resp)
	}
	for rest := s.resp; s.sse && len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if data = bytes.TrimSpace(data); ok && len(data) > 0 && data[0] == '{' {
			s.usage(data)
		}
	}
	s.resp = nil
	if !s.hasUsage {
		return
	}
	h.SetFilterState(publish.KeyPromptTokens, s.prompt.Raw)
	h.SetFilterState(publish.KeyCompletionTokens, s.compl.Raw)
	s.count(h)
}

func (s *bufStream) usage(doc []byte) {
	u := gjson.GetBytes(doc, "usage")
	if !u.IsObject() {
		return
	}
	s.prompt, s.compl, s.hasUsage = u.Get("prompt_tokens"), u.Get("completion_tokens"), true
}

func (s *bufStream) count(h proxy.Host) {
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
	for _, c := range []struct {
		metric string
		n      uint64
	}{{publish.MetricPromptTokens, s.prompt.Uint()}, {publish.MetricCompletionTokens, s.compl.Uint()}} {
		name := publish.StatName(c.metric, tags)
		id, ok := p.counters[name]
		if !ok {
			id, _ = h.DefineMetric(proxy.Counter, name)
			p.counters[name] = id
		}
		h.AddCounter(id, c.n)
	}
}
