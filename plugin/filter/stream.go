package filter

import (
	"fmt"
	"github.com/llmproxy/llmproxy/plugin/proxy"
	"strconv"
	"strings"

	"github.com/llmproxy/llmproxy/plugin/api"
	"github.com/llmproxy/llmproxy/plugin/publish"
	"github.com/llmproxy/llmproxy/plugin/usage"
)

// Stream is the state of one HTTP stream. Traffic that is not an LLM call
// costs a few header reads and leaves call nil.
type Stream struct {
	p    *Plugin
	call *call
}

// call is what an LLM call needs; its size does not depend on the bodies.
type call struct {
	method, path, authority string

	req       api.Request
	resp      api.Response
	rec       usage.Record
	published string // request model already in filter state
	finished  bool
}

// OnRequestHeaders implements the request-headers callback.
func (s *Stream) OnRequestHeaders(h proxy.Host, endOfStream bool) proxy.Action {
	defer s.recover(h, "request headers")
	if m, _ := h.Header(proxy.RequestHeaders, ":method"); m != "POST" {
		return proxy.Continue
	}
	path, _ := h.Header(proxy.RequestHeaders, ":path")
	fam := api.Detect(path)
	if fam == nil {
		return proxy.Continue
	}
	if ct, _ := h.Header(proxy.RequestHeaders, "content-type"); !maybeJSON(ct) {
		return proxy.Continue
	}
	// request.* attributes and the request headers are gone after this
	// callback, so keep what is needed later.
	c := &call{method: "POST", path: path}
	c.authority, _ = h.Header(proxy.RequestHeaders, ":authority")
	c.rec.API = fam.Name
	c.req.Start(fam)
	s.call = c
	return proxy.Continue
}

// maybeJSON accepts the content types clients send JSON bodies with: curl's
// --data default is form-urlencoded, so only clear non-JSON types are out.
func maybeJSON(ct string) bool {
	ct = strings.ToLower(ct)
	for _, no := range []string{"multipart/", "application/octet-stream", "audio/", "image/", "video/"} {
		if strings.HasPrefix(ct, no) {
			return false
		}
	}
	return true
}

// OnRequestBody implements the request-body callback.
func (s *Stream) OnRequestBody(h proxy.Host, size int, endOfStream bool) proxy.Action {
	defer s.recover(h, "request body")
	c := s.call
	if c == nil || !c.req.Active() || size == 0 {
		return proxy.Continue
	}
	if err := h.ReadBody(proxy.RequestBody, size, c.req.Feed); err != nil {
		h.Log(proxy.Debug, "llmproxy: cannot read request body: "+err.Error())
	}
	if m := c.req.Model(); m != c.published {
		c.published = m
		s.setState(h, publish.KeyRequestModel, m)
	}
	if endOfStream && c.published == "" && c.req.Err() != "" {
		h.Log(proxy.Info, "llmproxy: request body of "+c.path+" is not JSON: "+c.req.Err())
	}
	return proxy.Continue
}

// OnResponseHeaders implements the response-headers callback.
func (s *Stream) OnResponseHeaders(h proxy.Host, endOfStream bool) proxy.Action {
	defer s.recover(h, "response headers")
	c := s.call
	if c == nil {
		return proxy.Continue
	}
	st, _ := h.Header(proxy.ResponseHeaders, ":status")
	status, _ := strconv.Atoi(st)
	ct, _ := h.Header(proxy.ResponseHeaders, "content-type")
	ce, _ := h.Header(proxy.ResponseHeaders, "content-encoding")
	c.resp.Start(c.req.Family(), api.FormatOf(ct, ce), status)
	if endOfStream {
		s.finish(h, true)
	}
	return proxy.Continue
}

// OnResponseBody implements the response-body callback.
func (s *Stream) OnResponseBody(h proxy.Host, size int, endOfStream bool) proxy.Action {
	defer s.recover(h, "response body")
	c := s.call
	if c == nil || c.finished {
		return proxy.Continue
	}
	if size > 0 && c.resp.Readable() {
		if err := h.ReadBody(proxy.ResponseBody, size, c.resp.Feed); err != nil {
			h.Log(proxy.Debug, "llmproxy: cannot read response body: "+err.Error())
		}
	}
	if endOfStream {
		s.finish(h, true)
	}
	return proxy.Continue
}

// OnLog implements the access-log callback: a stream that never reached
// its end (a reset, or no response at all) is published here.
func (s *Stream) OnLog(h proxy.Host) {
	defer s.recover(h, "log")
	if s.call != nil && !s.call.finished {
		s.finish(h, false)
	}
}

// finish publishes the call once, before the access log and Istio's stats
// filter read the filter state.
func (s *Stream) finish(h proxy.Host, complete bool) {
	c := s.call
	c.finished = true
	c.resp.Finish(&c.rec, complete)
	c.rec.RequestModel = c.published
	if c.rec.Prompt.Set {
		s.setState(h, publish.KeyPromptTokens, publish.Tokens(c.rec.Prompt.N))
	}
	if c.rec.Completion.Set {
		s.setState(h, publish.KeyCompletionTokens, publish.Tokens(c.rec.Completion.N))
	}
	if c.rec.Outcome == usage.Unreadable {
		h.Log(proxy.Info, "llmproxy: usage of "+c.method+" "+c.path+" is unreadable: "+c.resp.Why())
	}
	if c.rec.HasTokens() {
		s.count(h)
	}
}

func (s *Stream) count(h proxy.Host) {
	c, p := s.call, s.p
	model := c.rec.RequestModel
	if model == "" {
		model = c.rec.ResponseModel
	}
	workload, namespace := p.source(h)
	max := p.cfg.MaxTagLength
	tags := publish.Tags{
		SourceWorkload:     publish.CleanTag(workload, max),
		SourceNamespace:    publish.CleanTag(namespace, max),
		DestinationService: publish.CleanTag(publish.DestinationService(clusterName(h), c.authority), max),
		Model:              p.modelLabel(publish.CleanTag(model, max)),
	}
	if c.rec.Prompt.Set {
		p.addCounter(h, promptCounter, tags, c.rec.Prompt.N)
	}
	if c.rec.Completion.Set {
		p.addCounter(h, completionCounter, tags, c.rec.Completion.N)
	}
}

func (s *Stream) setState(h proxy.Host, key, value string) {
	if err := h.SetFilterState(key, publish.CleanValue(value, s.p.cfg.MaxValueLength)); err != nil {
		h.Log(proxy.Debug, "llmproxy: cannot set filter state "+key+": "+err.Error())
	}
}

// recover keeps a panic from reaching the proxy: the stream passes on
// unobserved.
func (s *Stream) recover(h proxy.Host, where string) {
	if r := recover(); r != nil {
		s.call = nil
		h.Log(proxy.Error, fmt.Sprintf("llmproxy: internal error in %s, stream left unobserved: %v", where, r))
	}
}

// Record is the call's usage record once the stream has finished, for tests
// and bindings that log it.
func (s *Stream) Record() (usage.Record, bool) {
	if s.call == nil || !s.call.finished {
		return usage.Record{}, false
	}
	return s.call.rec, true
}
