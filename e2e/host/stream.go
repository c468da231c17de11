package host

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"
)

// Do runs one exchange through the plugin with Envoy's callback order.
func (h *Host) Do(ctx context.Context, ex Exchange) (*Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dead != nil {
		return nil, fmt.Errorf("VM is dead: %w", h.dead)
	}
	s := h.newStream(&ex)
	defer delete(h.streams, s.id)
	return h.finish(ctx, s, h.runStream(ctx, s))
}

// newStream registers a stream context; the caller deletes it.
func (h *Host) newStream(ex *Exchange) *stream {
	s := &stream{id: h.nextID, ex: ex, res: &Result{
		FilterState: map[string]string{}, FilterStateSetIn: map[string]string{},
		StartTime: time.Now().UTC(),
	}}
	h.nextID++
	s.req = side{headersCb: "proxy_on_request_headers", bodyCb: "proxy_on_request_body",
		trailersCb: "proxy_on_request_trailers"}
	s.resp = side{resp: true, headersCb: "proxy_on_response_headers", bodyCb: "proxy_on_response_body",
		trailersCb: "proxy_on_response_trailers"}
	h.streams[s.id] = s
	return s
}

// finish ends the stream (access log, on_log, on_done, on_delete) and
// reports the first error: err from the exchange, the end's, or a
// forbidden host call's.
func (h *Host) finish(ctx context.Context, s *stream, err error) (*Result, error) {
	if h.dead == nil {
		if e := h.endStream(ctx, s); err == nil {
			err = e
		}
	}
	if err == nil {
		err = s.err
	}
	if a := s.stopped; h.opts.ObserveOnly && a != nil { // reported first: it explains any stall that followed
		err = errors.Join(fmt.Errorf("ObserveOnly: %s returned action %d", a.Callback, a.Action), err)
	}
	if s.res.LocalReply != nil {
		s.res.ResponseCode = int(s.res.LocalReply.Status)
	}
	return s.res, err
}

func (h *Host) runStream(ctx context.Context, s *stream) error {
	if _, err := h.streamCall(ctx, s, "proxy_on_context_create", uint64(s.id), uint64(h.rootID)); err != nil {
		return err
	}
	ex := s.ex
	if err := h.runSide(ctx, s, &s.req, ex.RequestHeaders, ex.RequestBody, ex.RequestTrailers, 0); err != nil {
		return err
	}
	if s.ended {
		return nil
	}
	if !s.req.hdrSent || len(s.req.held) > 0 {
		return fmt.Errorf("request stalled: plugin paused the request and never continued it (Envoy waits for proxy_continue_stream)")
	}
	if ex.ResetBeforeResponse {
		s.res.Reset, s.ended = true, true
		return nil
	}
	s.respCode, _ = strconv.Atoi(headerValue(ex.ResponseHeaders, ":status"))
	s.res.ResponseCode = s.respCode
	if err := h.runSide(ctx, s, &s.resp, ex.ResponseHeaders, ex.ResponseBody, ex.ResponseTrailers,
		ex.ResetAfterResponseBodyChunks); err != nil {
		return err
	}
	if !s.ended && (!s.resp.hdrSent || len(s.resp.held) > 0) {
		return fmt.Errorf("response stalled: plugin paused the response and never continued it")
	}
	return nil
}

func headerValue(hs [][2]string, k string) string {
	v, _ := newHeaderMap(hs).get(k)
	return v
}

// runSide delivers headers, body chunks and trailers of one direction.
func (h *Host) runSide(ctx context.Context, s *stream, sd *side, hdrs [][2]string, body [][]byte, trl [][2]string, resetAfter int) error {
	eos := len(body) == 0 && len(trl) == 0 && resetAfter == 0
	if err := h.sideHeaders(ctx, s, sd, hdrs, eos); err != nil || s.ended {
		return err
	}
	for i, chunk := range body {
		if resetAfter > 0 && i >= resetAfter {
			s.res.Reset, s.ended = true, true
			return nil
		}
		last := i == len(body)-1 && len(trl) == 0 && resetAfter == 0
		if err := h.sideBody(ctx, s, sd, chunk, last); err != nil || s.ended {
			return err
		}
	}
	if resetAfter > 0 {
		s.res.Reset, s.ended = true, true
		return nil
	}
	if len(trl) > 0 {
		if err := h.sideTrailers(ctx, s, sd, trl); err != nil || s.ended {
			return err
		}
	}
	h.record(s, sd)
	return nil
}

// sideHeaders delivers the headers of one direction; eos says no body or
// trailers follow.
func (h *Host) sideHeaders(ctx context.Context, s *stream, sd *side, hdrs [][2]string, eos bool) error {
	sd.started, sd.endIn = true, eos
	sd.hdr, sd.hdrOpen = newHeaderMap(hdrs), true
	if !sd.resp {
		h.routeAtStart(s)
	}
	act, err := h.filterCall(ctx, s, sd.headersCb, uint64(s.id), uint64(len(sd.hdr.pairs)), b2u(eos))
	if !sd.resp {
		s.reqHdrsDone = true
	}
	if err != nil || s.ended {
		return err
	}
	if s.pendingLR == nil { // a local reply stops the next iteration
		h.afterHeaders(s, sd, act)
	}
	return h.afterCallback(ctx, s, sd)
}

// sideBody delivers one body chunk; last says it ends the direction.
func (h *Host) sideBody(ctx context.Context, s *stream, sd *side, chunk []byte, last bool) error {
	sd.endIn = last
	if sd.stopAll {
		sd.held = append(sd.held, chunk...)
		if sd.stopAllBuffer && len(sd.held) > h.opts.BufferLimit {
			return h.overflow(ctx, s, sd)
		}
		return nil
	}
	if sd.buffering {
		sd.held = append(sd.held, chunk...)
		sd.visibleIsHeld = true
		if len(sd.held) > h.opts.BufferLimit {
			return h.overflow(ctx, s, sd)
		}
	} else {
		// Shared, not copied: set_buffer_bytes replaces the chunk
		// and nothing writes into it.
		sd.visible, sd.visibleIsHeld = chunk, false
	}
	sd.bodyOpen = true
	act, err := h.filterCall(ctx, s, sd.bodyCb, uint64(s.id), uint64(len(sd.current())), b2u(last))
	if err != nil || s.ended {
		return err
	}
	if s.pendingLR == nil && h.afterBody(s, sd, act) {
		return h.overflow(ctx, s, sd)
	}
	return h.afterCallback(ctx, s, sd)
}

// sideTrailers delivers the trailers, which end the direction.
func (h *Host) sideTrailers(ctx context.Context, s *stream, sd *side, trl [][2]string) error {
	sd.endIn = true
	sd.trl, sd.trlOpen = newHeaderMap(trl), true
	act, err := h.filterCall(ctx, s, sd.trailersCb, uint64(s.id), uint64(len(sd.trl.pairs)))
	sd.trlOpen = false
	if err != nil || s.ended {
		return err
	}
	if act == 0 && !sd.stopAll && s.pendingLR == nil {
		sd.forwardedTrl = sd.trl.clone()
		h.forwardAll(s, sd)
	}
	return h.afterCallback(ctx, s, sd)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// current is what get_buffer_bytes shows for the body being processed.
func (sd *side) current() []byte {
	if sd.visibleIsHeld {
		return sd.held
	}
	return sd.visible
}

func (sd *side) setCurrent(b []byte) {
	if sd.visibleIsHeld {
		sd.held = b
	} else {
		sd.visible = b
	}
}

// afterHeaders applies a headers-callback result (cpp-host conversion rules).
func (h *Host) afterHeaders(s *stream, sd *side, act uint32) {
	switch {
	case act == 0 || act == 2: // Envoy maps ContinueAndEndStream to Continue
		h.forwardHeaders(s, sd)
	case act == 1 && h.opts.AllowOnHeadersStopIteration:
		// headers held; body still delivered, first Continue releases them
	case act == 3:
		sd.stopAll, sd.stopAllBuffer = true, true
	default: // 1 (converted), 4, or out of range => StopAllIterationAndWatermark
		sd.stopAll = true
	}
}

// afterBody applies a body-callback result; true means the buffer overflowed.
func (h *Host) afterBody(s *stream, sd *side, act uint32) bool {
	switch act {
	case 0:
		h.forwardAll(s, sd)
		return false
	case 1:
		if !sd.visibleIsHeld {
			sd.held = append(sd.held, sd.visible...)
		}
		sd.buffering, sd.visible, sd.visibleIsHeld = true, nil, true
		return len(sd.held) > h.opts.BufferLimit
	case 2:
		if !sd.visibleIsHeld {
			sd.held = append(sd.held, sd.visible...)
		}
		sd.buffering, sd.visible, sd.visibleIsHeld = false, nil, false
	default: // StopIterationNoBuffer: a fresh chunk is dropped, old buffer stays
		sd.buffering, sd.visible, sd.visibleIsHeld = false, nil, false
	}
	return false
}

func (h *Host) forwardHeaders(s *stream, sd *side) {
	if sd.hdrSent {
		return
	}
	sd.hdrSent, sd.hdrOpen = true, false
	sd.endSent = sd.endIn // headers only; a body's end goes on in forwardAll
	if !sd.resp {
		h.routeAtRouter(s)
	}
	if sd.resp {
		s.res.ForwardedResponseHeaders = sd.hdr.clone()
	} else {
		s.res.ForwardedRequestHeaders = sd.hdr.clone()
	}
}

// forwardAll releases held headers and body data downstream/upstream.
func (h *Host) forwardAll(s *stream, sd *side) {
	h.forwardHeaders(s, sd)
	switch {
	case s.live:
		sd.pending = append(sd.pending, sd.held...)
		if !sd.visibleIsHeld {
			sd.pending = append(sd.pending, sd.visible...)
		}
	case !h.opts.Lean:
		sd.forwarded = append(sd.forwarded, sd.held...)
		if !sd.visibleIsHeld {
			sd.forwarded = append(sd.forwarded, sd.visible...)
		}
	}
	sd.endSent = sd.endIn
	sd.held, sd.visible, sd.visibleIsHeld, sd.bodyOpen = nil, nil, false, false
	sd.buffering, sd.stopAll, sd.stopAllBuffer = false, false, false
	h.record(s, sd)
}

func (h *Host) record(s *stream, sd *side) {
	if sd.resp {
		s.res.ForwardedResponseBody = sd.forwarded
		s.res.ForwardedResponseTrailers = sd.forwardedTrl
	} else {
		s.res.ForwardedRequestBody = sd.forwarded
		s.res.ForwardedRequestTrailers = sd.forwardedTrl
	}
}

// afterCallback runs Envoy's deferred after-VM-call actions.
func (h *Host) afterCallback(ctx context.Context, s *stream, sd *side) error {
	if lr := s.pendingLR; lr != nil {
		s.pendingLR = nil
		return h.localReply(ctx, s, lr)
	}
	for _, d := range []*side{&s.req, &s.resp} {
		if d.continued {
			d.continued = false
			h.forwardAll(s, d)
		}
	}
	return nil
}

// endStream mirrors Envoy's end of stream: access log, then onDestroy.
func (h *Host) endStream(ctx context.Context, s *stream) error {
	var errs []error
	if !h.opts.OnLogFirst {
		s.res.LoggedFilterState = maps.Clone(s.res.FilterState)
	}
	s.logPhase = true
	_, err := h.streamCall(ctx, s, "proxy_on_log", uint64(s.id))
	s.logPhase = false
	errs = append(errs, err)
	if h.opts.OnLogFirst {
		s.res.LoggedFilterState = maps.Clone(s.res.FilterState)
	}
	if h.dead == nil {
		v, err := h.streamCall(ctx, s, "proxy_on_done", uint64(s.id))
		s.res.DoneResult = uint32(v)
		errs = append(errs, err)
	}
	if h.dead == nil {
		_, err := h.streamCall(ctx, s, "proxy_on_delete", uint64(s.id))
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// streamCall runs a callback with s as the effective context.
func (h *Host) streamCall(ctx context.Context, s *stream, name string, args ...uint64) (uint64, error) {
	prev := h.cur
	h.cur = s
	v, err := h.call(ctx, name, args...)
	h.cur = prev
	return v, err
}

// filterCall is streamCall for filter callbacks whose result is an action.
func (h *Host) filterCall(ctx context.Context, s *stream, name string, args ...uint64) (uint32, error) {
	if h.fn(name) == nil {
		return 0, nil
	}
	v, err := h.streamCall(ctx, s, name, args...)
	if err != nil {
		return 0, err
	}
	if v != 0 && s.stopped == nil {
		s.stopped = &CallbackAction{Callback: name, Action: uint32(v)}
	}
	if !h.opts.Lean {
		s.res.Actions = append(s.res.Actions, CallbackAction{Callback: name, Action: uint32(v)})
	}
	return uint32(v), nil
}
