package host

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Stream is one HTTP stream delivered event by event as the network brings
// it, for a proxy in front of real traffic; Do is the same for an exchange
// known in advance. Each event runs the plugin's callback and returns what
// Envoy would send on at that point. Events of different streams may
// interleave: the Host runs one callback at a time, like one Envoy worker.
//
// Order of calls: RequestHeaders, RequestBody* and RequestTrailers?, then,
// once the request headers went on, ResponseHeaders, ResponseBody* and
// ResponseTrailers?; End (or Reset) always, last.
type Stream struct {
	h      *Host
	s      *stream
	closed bool
}

// Released is what Envoy sends on after one event.
type Released struct {
	// Request goes to the upstream, Response to the client.
	Request, Response Forwarded
	// Cluster is the upstream cluster the router picked (Options.Routes
	// and the route cache), given with the request headers.
	Cluster string
	// LocalReply is set once the proxy answered the client itself: the
	// plugin's send_local_response, Envoy's 413 on a request over the
	// buffer limit, or Reply. Response carries it; nothing more goes
	// upstream.
	LocalReply *LocalReply
	// Reset is set once the stream was reset: the plugin's close_stream,
	// a response over the buffer limit after its headers left, or a
	// local reply too late to be sent.
	Reset bool
	// Ended: no more data flows either way; the caller should End.
	Ended bool
}

// Forwarded is what one direction sends on after one event.
type Forwarded struct {
	Headers  [][2]string // once, when the filter lets the headers go
	Body     []byte      // the bytes released now; data held back comes later
	Trailers [][2]string
	End      bool // the direction's end of stream goes with this release
}

// Open starts a stream (proxy_on_context_create). cluster is the upstream
// cluster when Options.Routes is empty; with routes, the router picks it.
func (h *Host) Open(ctx context.Context, cluster string) (*Stream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dead != nil {
		return nil, fmt.Errorf("VM is dead: %w", h.dead)
	}
	s := h.newStream(&Exchange{ClusterName: cluster})
	s.live = true
	if _, err := h.streamCall(ctx, s, "proxy_on_context_create", uint64(s.id), uint64(h.rootID)); err != nil {
		delete(h.streams, s.id)
		return nil, err
	}
	return &Stream{h: h, s: s}, nil
}

// step runs one event under the Host's lock and takes what it released.
func (st *Stream) step(event func(s *stream) error) (Released, error) {
	h := st.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if st.closed {
		return Released{}, errors.New("stream already ended")
	}
	if h.dead != nil {
		return Released{}, fmt.Errorf("VM is dead: %w", h.dead)
	}
	var err error
	if !st.s.ended {
		err = event(st.s)
	}
	return st.s.take(), err
}

// RequestHeaders delivers the request headers (":method", ":path",
// ":authority", ":scheme" first); end says the request has no body.
func (st *Stream) RequestHeaders(ctx context.Context, hs [][2]string, end bool) (Released, error) {
	return st.step(func(s *stream) error {
		if s.req.started {
			return errors.New("request headers delivered twice")
		}
		s.ex.RequestHeaders = hs
		return st.stalled(s, &s.req, st.h.sideHeaders(ctx, s, &s.req, hs, end))
	})
}

// RequestBody delivers one request body chunk; end says it is the last.
func (st *Stream) RequestBody(ctx context.Context, chunk []byte, end bool) (Released, error) {
	return st.step(func(s *stream) error {
		if err := checkOpen(&s.req, "request"); err != nil {
			return err
		}
		return st.stalled(s, &s.req, st.h.sideBody(ctx, s, &s.req, chunk, end))
	})
}

// RequestTrailers delivers the request trailers, which end the request.
func (st *Stream) RequestTrailers(ctx context.Context, ts [][2]string) (Released, error) {
	return st.step(func(s *stream) error {
		if err := checkOpen(&s.req, "request"); err != nil {
			return err
		}
		return st.stalled(s, &s.req, st.h.sideTrailers(ctx, s, &s.req, ts))
	})
}

// ResponseHeaders delivers the upstream's response headers (":status"
// first); end says the response has no body.
func (st *Stream) ResponseHeaders(ctx context.Context, hs [][2]string, end bool) (Released, error) {
	return st.step(func(s *stream) error {
		switch {
		case !s.req.hdrSent:
			return errors.New("response before the request headers went upstream")
		case s.resp.started:
			return errors.New("response headers delivered twice")
		}
		s.ex.ResponseHeaders = hs
		s.respCode, _ = strconv.Atoi(headerValue(hs, ":status"))
		s.res.ResponseCode = s.respCode
		return st.stalled(s, &s.resp, st.h.sideHeaders(ctx, s, &s.resp, hs, end))
	})
}

// ResponseBody delivers one response body chunk; end says it is the last.
func (st *Stream) ResponseBody(ctx context.Context, chunk []byte, end bool) (Released, error) {
	return st.step(func(s *stream) error {
		if err := checkOpen(&s.resp, "response"); err != nil {
			return err
		}
		return st.stalled(s, &s.resp, st.h.sideBody(ctx, s, &s.resp, chunk, end))
	})
}

// ResponseTrailers delivers the response trailers, which end the response.
func (st *Stream) ResponseTrailers(ctx context.Context, ts [][2]string) (Released, error) {
	return st.step(func(s *stream) error {
		if err := checkOpen(&s.resp, "response"); err != nil {
			return err
		}
		return st.stalled(s, &s.resp, st.h.sideTrailers(ctx, s, &s.resp, ts))
	})
}

// Reply is a reply of the proxy's own, as Envoy's router sends when no
// route matches or the upstream cannot be reached: it travels the
// response callbacks like any local reply. Once response headers reached
// the client, it is a reset instead.
func (st *Stream) Reply(ctx context.Context, status int, body, details string) (Released, error) {
	return st.step(func(s *stream) error {
		if s.resp.hdrTaken {
			s.res.Reset, s.ended = true, true
			return nil
		}
		return st.h.localReply(ctx, s, &LocalReply{Status: uint32(status), Body: body, Details: details, ByHost: true})
	})
}

// checkOpen checks that a direction has begun and not ended.
func checkOpen(sd *side, name string) error {
	switch {
	case !sd.started:
		return errors.New(name + " data before its headers")
	case sd.endIn:
		return errors.New(name + " data after its end of stream")
	}
	return nil
}

// stalled turns a direction that ended without everything sent on into
// an error: Envoy would wait for a proxy_continue_stream that the plugin
// never calls (this host runs no timers).
func (st *Stream) stalled(s *stream, sd *side, err error) error {
	if err != nil || s.ended || !sd.endIn || sd.endSent {
		return err
	}
	name := "request"
	if sd.resp {
		name = "response"
	}
	return fmt.Errorf("%s stalled: plugin paused the %s and never continued it (Envoy waits for proxy_continue_stream)", name, name)
}

// End finishes the stream as Envoy does when both directions are done:
// the access log (see Options.OnLogFirst for its order), proxy_on_log,
// proxy_on_done, proxy_on_delete. The Result holds the filter state and
// logs; the forwarded bodies were handed out by the events, not kept.
func (st *Stream) End(ctx context.Context) (*Result, error) {
	h := st.h
	h.mu.Lock()
	defer h.mu.Unlock()
	return st.end(ctx)
}

// Reset ends the stream as a reset: the client or the upstream went away
// before the end.
func (st *Stream) Reset(ctx context.Context) (*Result, error) {
	h := st.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if !st.closed && !st.s.ended {
		st.s.res.Reset, st.s.ended = true, true
	}
	return st.end(ctx)
}

func (st *Stream) end(ctx context.Context) (*Result, error) {
	if st.closed {
		return nil, errors.New("stream already ended")
	}
	st.closed = true
	defer delete(st.h.streams, st.s.id)
	var err error
	if st.h.dead != nil {
		err = fmt.Errorf("VM is dead: %w", st.h.dead)
	}
	return st.h.finish(ctx, st.s, err)
}

// Exchange is the stream as the host received it so far: the cluster
// given to Open and the headers as they arrived, for AccessLog.
func (st *Stream) Exchange() Exchange {
	st.h.mu.Lock()
	defer st.h.mu.Unlock()
	return *st.s.ex
}

// take hands out what was released since the last event.
func (s *stream) take() Released {
	var r Released
	r.Request = s.req.take(s.res.ForwardedRequestHeaders)
	if r.Request.Headers != nil {
		r.Cluster = s.cluster
	}
	switch {
	case s.direct && !s.taken.direct && s.resp.hdrTaken:
		s.taken.direct = true
		s.res.Reset = true // the client has its headers: Envoy can only reset
	case s.direct && !s.taken.direct:
		s.taken.direct, s.resp.hdrTaken, s.resp.endTaken = true, true, true
		r.Response = Forwarded{Headers: s.res.ForwardedResponseHeaders, Body: s.res.ForwardedResponseBody, End: true}
	default:
		r.Response = s.resp.take(s.res.ForwardedResponseHeaders)
	}
	if s.res.LocalReply != nil && !s.taken.lr {
		r.LocalReply, s.taken.lr = s.res.LocalReply, true
	}
	if s.res.Reset && !s.taken.reset {
		r.Reset, s.taken.reset = true, true
	}
	r.Ended = s.ended
	return r
}

func (sd *side) take(hdrs [][2]string) Forwarded {
	var f Forwarded
	if sd.hdrSent && !sd.hdrTaken {
		f.Headers, sd.hdrTaken = hdrs, true
	}
	f.Body, sd.pending = sd.pending, nil
	if sd.forwardedTrl != nil && !sd.trlTaken {
		f.Trailers, sd.trlTaken = sd.forwardedTrl, true
	}
	if sd.endSent && !sd.endTaken {
		f.End, sd.endTaken = true, true
	}
	return f
}
