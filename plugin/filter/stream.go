package filter

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/llmproxy/llmproxy/plugin/api"
	"github.com/llmproxy/llmproxy/plugin/config"
	"github.com/llmproxy/llmproxy/plugin/cost"
	"github.com/llmproxy/llmproxy/plugin/decode"
	"github.com/llmproxy/llmproxy/plugin/proxy"
	"github.com/llmproxy/llmproxy/plugin/publish"
	"github.com/llmproxy/llmproxy/plugin/rewrite"
	"github.com/llmproxy/llmproxy/plugin/usage"
)

// Stream is the state of one HTTP stream. Traffic that is not an LLM call
// costs a few header reads and leaves call nil.
type Stream struct {
	p    *Plugin
	call *call
	rec  usage.Record // the published record, once call is given back
	done bool
}

// call is what an LLM call needs; its size does not depend on the bodies.
type call struct {
	fam                     *api.Family
	method, path, authority string
	start, firstByte        int64 // proxy clock, ns

	req                      api.Request
	resp                     api.Response
	body                     decode.Decoder
	rec                      usage.Record
	published                string // request model already in filter state
	stream                   string // stream value already in filter state
	consumer                 string
	consumerRead, paramsDone bool
	costMicros               uint64
	price                    *cost.Price // nil: not priced
	finished                 bool
	respStarted              bool // the response headers came

	// Routing and rewriting (off unless configured).
	provider   *config.Provider
	routeModel string
	override   bool
	buffering  bool // holding the request body to edit it
	injected   bool // include_usage was added for the client
	stripper   *rewrite.Stripper
	out        []byte // the rewritten response chunk

	// Body readers, made once per call object and kept when it is reused:
	// a method value passed on allocates each time.
	readReq, readResp, feedResp func([]byte)
}

// OnRequestHeaders implements proxy.HTTP.
func (s *Stream) OnRequestHeaders(h proxy.Host, endOfStream bool) proxy.Action {
	defer s.recover(h, "request headers")
	if m, _ := h.Header(proxy.RequestHeaders, ":method"); m != "POST" {
		return proxy.Continue
	}
	// request.* attributes and the request headers are gone after this
	// callback, so keep what is needed later.
	c := s.p.newCall()
	c.method = "POST"
	c.path, _ = h.Header(proxy.RequestHeaders, ":path")
	c.authority, _ = h.Header(proxy.RequestHeaders, ":authority")
	if p := s.p.cfg.ProviderFor(c.authority); p != nil {
		s.p.readConsumer(h, c) // before routing replaces the client's key
		c.path = s.route(h, p, c)
		c.authority = p.Host
	}
	c.fam = s.p.detect(c.path)
	if c.fam == nil {
		s.p.release(c)
		return proxy.Continue
	}
	if ct, _ := h.Header(proxy.RequestHeaders, "content-type"); !maybeJSON(ct) {
		s.p.release(c)
		return proxy.Continue
	}
	c.start = h.Now()
	c.rec.API = c.fam.Name
	c.req.Start(c.fam, s.p.cfg.RequestParameters)
	s.p.readConsumer(h, c)
	s.call = c
	s.publishEarly(h)
	if m := c.fam.ModelFromPath(c.path); m != "" {
		s.publishRequestModel(h, m)
	}
	rewriting := !endOfStream && s.wantsRewrite(c)
	if rewriting {
		s.startBuffering(h, c)
	}
	switch {
	case rewriting && s.p.cfg.InjectStreamUsage:
		// A stream whose usage chunk must be removed has to arrive
		// uncompressed.
		if _, ok := h.Header(proxy.RequestHeaders, "accept-encoding"); ok {
			_ = h.SetHeader(proxy.RequestHeaders, "accept-encoding", "identity")
		}
	case !s.p.cfg.KeepAcceptEncoding:
		narrowAcceptEncoding(h)
	}
	return proxy.Continue
}

// narrowAcceptEncoding keeps the client from being sent an encoding the
// plugin cannot read (SDKs ask for br and zstd by default).
func narrowAcceptEncoding(h proxy.Host) {
	ae, ok := h.Header(proxy.RequestHeaders, "accept-encoding")
	if !ok {
		return
	}
	if narrowed := decode.NarrowAccept(ae); narrowed != ae {
		if err := h.SetHeader(proxy.RequestHeaders, "accept-encoding", narrowed); err != nil {
			h.Log(proxy.Debug, "llmproxy: cannot narrow accept-encoding: "+err.Error())
		}
	}
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

// OnRequestBody implements proxy.HTTP.
func (s *Stream) OnRequestBody(h proxy.Host, size int, endOfStream bool) proxy.Action {
	defer s.recover(h, "request body")
	c := s.call
	switch {
	case c == nil:
	case c.buffering:
		return s.bufferedBody(h, size, endOfStream)
	case c.req.Active() && size > 0:
		s.observeRequest(h, size, endOfStream)
	}
	return proxy.Continue
}

// observeRequest reads a request chunk for its model as it passes.
func (s *Stream) observeRequest(h proxy.Host, size int, endOfStream bool) {
	c := s.call
	if err := h.ReadBody(proxy.RequestBody, size, c.readReq); err != nil {
		h.Log(proxy.Debug, "llmproxy: cannot read request body: "+err.Error())
	}
	s.publishRequestModel(h, c.req.Model())
	if endOfStream || !c.req.Active() {
		s.publishParams(h)
	}
	if endOfStream && c.published == "" {
		switch {
		case c.req.Err() != "":
			h.Log(proxy.Info, "llmproxy: request body of "+c.path+" is not JSON: "+c.req.Err())
		case !c.req.Complete():
			h.Log(proxy.Info, "llmproxy: request body of "+c.path+" ends inside its JSON document")
		}
	}
}

// OnResponseHeaders implements proxy.HTTP.
func (s *Stream) OnResponseHeaders(h proxy.Host, endOfStream bool) proxy.Action {
	defer s.recover(h, "response headers")
	c := s.call
	if c == nil {
		return proxy.Continue
	}
	st, _ := h.Header(proxy.ResponseHeaders, ":status")
	status, _ := strconv.Atoi(st)
	ct, _ := h.Header(proxy.ResponseHeaders, "content-type")
	format := api.FormatOf(ct)
	c.resp.Start(c.fam, format, status)
	c.respStarted = true
	s.publishStream(h, format.Streamed())
	ce, _ := h.Header(proxy.ResponseHeaders, "content-encoding")
	if !c.body.Start(ce) {
		c.resp.Unreadable("unsupported content-encoding " + strconv.Quote(ce))
	}
	c.resp.Header(func(name string) (string, bool) { return h.Header(proxy.ResponseHeaders, name) })
	if c.injected && format == api.FormatSSE && (ce == "" || strings.EqualFold(ce, "identity")) {
		c.stripper = rewrite.NewStripper(stripHold, addsUsageNull(c))
		_ = h.RemoveHeader(proxy.ResponseHeaders, "content-length")
	}
	if endOfStream {
		s.finish(h, true)
	}
	return proxy.Continue
}

// OnResponseBody implements proxy.HTTP.
func (s *Stream) OnResponseBody(h proxy.Host, size int, endOfStream bool) proxy.Action {
	defer s.recover(h, "response body")
	c := s.call
	if c == nil || c.finished {
		return proxy.Continue
	}
	if size > 0 && c.firstByte == 0 {
		c.firstByte = h.Now()
	}
	switch {
	case size == 0 || !c.resp.Readable() && c.stripper == nil:
	case c.resp.Tailing() && c.body.Identity() && c.stripper == nil:
		readTail(h, c, size)
	default:
		err := h.ReadBody(proxy.ResponseBody, size, c.readResp)
		if err != nil {
			h.Log(proxy.Debug, "llmproxy: cannot read response body: "+err.Error())
		}
		if err := c.body.Err(); err != "" {
			c.resp.Unreadable("cannot decode the body: " + err)
		}
	}
	if c.stripper != nil && (size > 0 || endOfStream) {
		s.stripDone(h, size, endOfStream)
	}
	if endOfStream {
		s.finish(h, true)
	}
	return proxy.Continue
}

// readTail copies the end of a chunk straight into the response's tail.
func readTail(h proxy.Host, c *call, size int) {
	c.resp.BeginTail(size)
	for {
		start, dst := c.resp.TailSpace()
		if len(dst) == 0 {
			return
		}
		n, err := h.ReadBodyInto(proxy.ResponseBody, start, dst)
		if err != nil {
			h.Log(proxy.Debug, "llmproxy: cannot read response body: "+err.Error())
		}
		c.resp.TailFilled(n)
		if n == 0 {
			return
		}
	}
}

// readResponse takes a piece of a response chunk as it passes.
func (c *call) readResponse(p []byte) {
	c.body.Feed(p, c.feedResp)
	if c.stripper != nil {
		c.strip(p)
	}
}

// OnLog implements proxy.HTTP: a stream that never reached its end (a
// reset, or no response at all) is published here.
func (s *Stream) OnLog(h proxy.Host) {
	defer s.recover(h, "log")
	c := s.call
	if c == nil {
		return
	}
	if !c.finished {
		s.finish(h, false)
	}
	// on_log is a stream's last callback: keep the record, reuse the rest.
	s.rec, s.done, s.call = c.rec, true, nil
	s.p.release(c)
}

// catchPanics is off in the fuzz tests, so that any panic fails them: on
// TinyGo's wasm targets recover does nothing and a panic aborts the VM.
var catchPanics = true

// recover keeps a panic from reaching the proxy: the stream passes on
// unobserved, and its access-log line says the usage was not read.
func (s *Stream) recover(h proxy.Host, where string) {
	if !catchPanics {
		return
	}
	if r := recover(); r != nil {
		if s.call != nil {
			s.call = nil
			s.setOwn(h, publish.KeyUsageStatus, usage.Unreadable.String())
		}
		h.Log(proxy.Error, fmt.Sprintf("llmproxy: internal error in %s, stream left unobserved: %v", where, r))
	}
}

// Record is the call's usage record once the stream has finished, for tests
// and bindings that log it.
func (s *Stream) Record() (usage.Record, bool) {
	switch {
	case s.done:
		return s.rec, true
	case s.call == nil || !s.call.finished:
		return usage.Record{}, false
	}
	return s.call.rec, true
}
