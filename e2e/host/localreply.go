package host

import (
	"context"
	"strconv"
)

// overflow is Envoy's buffer-limit reaction: 413 on the request path, 500
// (or a reset once response headers left) on the response path.
func (h *Host) overflow(ctx context.Context, s *stream, sd *side) error {
	if !sd.resp {
		return h.localReply(ctx, s, &LocalReply{Status: 413, Body: "Payload Too Large", ByHost: true,
			Details: "request_payload_too_large"})
	}
	if sd.hdrSent {
		s.res.Reset, s.ended = true, true
		return nil
	}
	lr := &LocalReply{Status: 500, Body: "Internal Server Error", ByHost: true, Details: "response_payload_too_large"}
	s.res.LocalReply, s.ended, s.direct = lr, true, true
	s.res.ForwardedResponseHeaders = localReplyHeaders(lr)
	s.res.ForwardedResponseBody = []byte(lr.Body)
	s.respCode = int(lr.Status)
	return nil
}

func localReplyHeaders(lr *LocalReply) [][2]string {
	hs := [][2]string{{":status", strconv.Itoa(int(lr.Status))}}
	if lr.Body != "" {
		hs = append(hs, [2]string{"content-length", strconv.Itoa(len(lr.Body))},
			[2]string{"content-type", "text/plain"})
	}
	for _, p := range lr.Headers {
		hs = append(hs, [2]string{p[0], p[1]})
	}
	return hs
}

// localReply sends a reply from the proxy. Before the response started it
// travels the encoder path, so the plugin sees it in its response callbacks.
func (h *Host) localReply(ctx context.Context, s *stream, lr *LocalReply) error {
	if s.res.LocalReply != nil {
		return nil // Envoy sends one local reply per stream
	}
	s.res.LocalReply = lr
	s.ended = true
	s.respCode = int(lr.Status)
	if s.resp.started {
		s.direct = true
		s.res.ForwardedResponseHeaders = localReplyHeaders(lr)
		s.res.ForwardedResponseBody = []byte(lr.Body)
		return nil
	}
	var body [][]byte
	if lr.Body != "" {
		body = [][]byte{[]byte(lr.Body)}
	}
	s.ended = false
	err := h.runSide(ctx, s, &s.resp, localReplyHeaders(lr), body, nil, 0)
	s.ended = true
	return err
}
