// Package proxy is an Envoy-like HTTP/1.1 proxy for trying and debugging
// llmproxy configurations with real clients. It forwards each request to a
// real upstream and, on the way, runs the exchange through plugin.wasm in
// the in-process host (e2e/host) event by event, with Envoy's semantics:
// bodies in chunks as they arrive, StopIterationAndBuffer honoured (and
// Envoy's 413 past the buffer limit), the route picked from the headers as
// the plugin left them, the route cache cleared as Envoy clears it, and
// one access-log line per call rendered from the filter state.
//
// It is not Envoy and not a production proxy: one VM runs one callback at
// a time; HTTP/1.1 only; no retries, timeouts, health checks or load
// balancing (a cluster's first endpoint takes every request); a VM that
// traps fails the requests that follow instead of letting them pass.
package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/llmproxy/llmproxy/e2e/host"
)

// Server proxies every request it serves through the plugin.
type Server struct {
	Host     *host.Host
	Upstream Upstream
	// AccessLog is the json_format of the access log, one line per call
	// to AccessOut.
	AccessLog map[string]string
	AccessOut io.Writer
	// Errors gets the proxy's own complaints (a plugin error, an upstream
	// that failed), one line each.
	Errors io.Writer

	mu sync.Mutex // one line at a time on AccessOut and Errors
}

// ServeHTTP runs one call: request headers and body through the plugin
// to the upstream, the upstream's response through the plugin to the
// client, then the access log.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st, err := s.Host.Open(r.Context(), "")
	if err != nil {
		s.complain("%s %s: %v", r.Method, r.RequestURI, err)
		http.Error(w, "llmproxy-run: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	c := &call{s: s, w: w, ctx: r.Context(), st: st, arrived: r.Host, upstream: make(chan upstreamResult, 1)}
	err = c.run(r)
	if err != nil {
		s.complain("%s %s: %v", r.Method, r.RequestURI, err)
		if !c.wrote {
			c.wrote = true
			http.Error(w, "llmproxy-run: "+err.Error(), http.StatusInternalServerError)
		}
	}
	c.stopUpstream()
	var res *host.Result
	if c.reset || (err != nil && !c.respEnd) {
		res, err = st.Reset(c.ctx)
	} else {
		res, err = st.End(c.ctx)
	}
	if err != nil {
		s.complain("%s %s: %v", r.Method, r.RequestURI, err)
	}
	if res != nil {
		line, err := host.AccessLogJSON(s.AccessLog, st.Exchange(), res)
		if err != nil {
			s.complain("access log: %v", err)
		} else {
			s.mu.Lock()
			fmt.Fprintln(s.AccessOut, line)
			s.mu.Unlock()
		}
	}
	if c.reset {
		panic(http.ErrAbortHandler) // cut the client's connection, as a reset does
	}
}

func (s *Server) complain(format string, args ...any) {
	if s.Errors == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.Errors, "[proxy] "+format+"\n", args...)
}

// call is one request on its way through.
type call struct {
	s       *Server
	w       http.ResponseWriter
	ctx     context.Context
	st      *host.Stream
	arrived string // :authority as the client sent it

	upstream     chan upstreamResult
	upstreamBody *io.PipeWriter // the request body still streaming upstream
	cancel       context.CancelFunc
	started      bool // the request went upstream

	wrote, respEnd bool // response headers, end of response sent to the client
	reset, ended   bool
}

type upstreamResult struct {
	resp *http.Response
	err  error
}

// refusal is an answer the router gives itself (no route, no cluster,
// upstream down); it travels the response callbacks like Envoy's.
type refusal struct {
	status          int
	body, details   string
	upstreamFailure bool
}

func (r *refusal) Error() string { return r.body }

func (c *call) run(r *http.Request) error {
	end := r.ContentLength == 0
	if err := c.step(c.st.RequestHeaders(c.ctx, requestHeaders(r), end)); err != nil || c.ended {
		return err
	}
	if !end {
		if err := c.requestBody(r); err != nil || c.ended {
			return err
		}
	}
	if !c.started {
		return errors.New("the request never went upstream")
	}
	ur := <-c.upstream
	if ur.err != nil {
		if c.ctx.Err() != nil {
			c.reset = true // the client went away
			return nil
		}
		return c.step(c.st.Reply(c.ctx, http.StatusServiceUnavailable,
			"upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: "+ur.err.Error(),
			"upstream_reset_before_response_started{connection_failure}"))
	}
	defer ur.resp.Body.Close()
	return c.response(ur.resp)
}

// requestBody delivers the client's body as it arrives.
func (c *call) requestBody(r *http.Request) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Body.Read(buf)
		eof := err == io.EOF
		if err != nil && !eof {
			c.reset = true // the client went away mid-request
			return nil
		}
		trailers := eof && hasValues(r.Trailer)
		if n > 0 || eof && !trailers {
			chunk := append([]byte(nil), buf[:n]...)
			if err := c.step(c.st.RequestBody(c.ctx, chunk, eof && !trailers)); err != nil || c.ended {
				return err
			}
		}
		if trailers {
			return c.step(c.st.RequestTrailers(c.ctx, headerPairs(r.Trailer)))
		}
		if eof {
			return nil
		}
	}
}

// response delivers the upstream's response as it arrives.
func (c *call) response(resp *http.Response) error {
	hs := append([][2]string{{":status", strconv.Itoa(resp.StatusCode)}}, headerPairs(resp.Header)...)
	end := resp.Body == http.NoBody || resp.ContentLength == 0
	if err := c.step(c.st.ResponseHeaders(c.ctx, hs, end)); err != nil || c.ended || end {
		return err
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		eof := err == io.EOF
		if err != nil && !eof {
			c.reset = true // the upstream (or the client) went away mid-response
			return nil
		}
		trailers := eof && hasValues(resp.Trailer)
		if n > 0 || eof && !trailers {
			chunk := append([]byte(nil), buf[:n]...)
			if err := c.step(c.st.ResponseBody(c.ctx, chunk, eof && !trailers)); err != nil || c.ended || c.reset {
				return err // c.reset: the client went away
			}
		}
		if trailers {
			return c.step(c.st.ResponseTrailers(c.ctx, headerPairs(resp.Trailer)))
		}
		if eof {
			return nil
		}
	}
}

// step applies what one event released; a refusal of the router is sent
// as the proxy's own reply.
func (c *call) step(rel host.Released, err error) error {
	if err != nil {
		return err
	}
	err = c.apply(rel)
	var ref *refusal
	if errors.As(err, &ref) {
		if ref.upstreamFailure {
			c.s.complain("%s", ref.body)
		}
		return c.step(c.st.Reply(c.ctx, ref.status, ref.body, ref.details))
	}
	return err
}

func (c *call) apply(rel host.Released) error {
	if rel.LocalReply != nil || rel.Reset {
		c.stopUpstream() // nothing more goes upstream
	}
	if rel.Request.Headers != nil && rel.LocalReply == nil && !rel.Reset {
		if err := c.startUpstream(rel); err != nil {
			return err
		}
	}
	if c.upstreamBody != nil && len(rel.Request.Body) > 0 {
		// An error here is the upstream's going away; its response, or
		// the lack of one, says more.
		_, _ = c.upstreamBody.Write(rel.Request.Body)
	}
	if c.upstreamBody != nil && rel.Request.End {
		c.upstreamBody.Close()
		c.upstreamBody = nil
	}
	if rel.Request.Trailers != nil {
		c.s.complain("request trailers are not sent upstream (HTTP/1.1 through this proxy)")
	}
	if rel.Response.Headers != nil {
		c.writeHeaders(rel.Response.Headers)
	}
	if len(rel.Response.Body) > 0 {
		if _, err := c.w.Write(rel.Response.Body); err != nil {
			c.reset = true
		}
		// Every release goes to the client now: a streamed answer must
		// arrive as the model writes it.
		_ = http.NewResponseController(c.w).Flush()
	}
	for _, p := range rel.Response.Trailers {
		c.w.Header().Add(http.TrailerPrefix+p[0], p[1])
	}
	c.respEnd = c.respEnd || rel.Response.End
	c.reset = c.reset || rel.Reset
	c.ended = rel.Ended
	return nil
}

func (c *call) writeHeaders(hs [][2]string) {
	status, _ := strconv.Atoi(headerValue(hs, ":status"))
	h := c.w.Header()
	for _, p := range hs {
		if !strings.HasPrefix(p[0], ":") && !hopByHop[p[0]] {
			h.Add(p[0], p[1])
		}
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // no sniffing: the client gets the upstream's headers
	}
	c.w.WriteHeader(status)
	c.wrote = true
}

// startUpstream sends the request headers as the plugin left them to the
// cluster the router picked; the body follows through a pipe unless it
// is complete already.
func (c *call) startUpstream(rel host.Released) error {
	hs := rel.Request.Headers
	if rel.Cluster == "" {
		return &refusal{status: http.StatusNotFound, details: "route_not_found"}
	}
	authority := headerValue(hs, ":authority")
	target, err := c.s.Upstream.Target(rel.Cluster, c.arrived, authority)
	if err != nil {
		return &refusal{status: http.StatusServiceUnavailable, body: err.Error(), details: "cluster_not_found"}
	}
	u := *target.URL
	ref, err := url.ParseRequestURI(headerValue(hs, ":path"))
	if err != nil {
		return &refusal{status: http.StatusBadRequest, body: "bad :path: " + err.Error(), details: "bad_path"}
	}
	u.Path, u.RawPath, u.RawQuery = ref.Path, ref.RawPath, ref.RawQuery
	ctx, cancel := context.WithCancel(c.ctx)
	req, err := http.NewRequestWithContext(ctx, headerValue(hs, ":method"), u.String(), nil)
	if err != nil {
		cancel()
		return &refusal{status: http.StatusBadRequest, body: err.Error(), details: "bad_request"}
	}
	req.URL, req.Host = &u, target.Host
	for _, p := range hs {
		if !strings.HasPrefix(p[0], ":") && !hopByHop[p[0]] && p[0] != "content-length" {
			req.Header.Add(p[0], p[1])
		}
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = []string{""} // Go would add its own
	}
	switch {
	case rel.Request.End && len(rel.Request.Body) == 0:
		req.Body, req.ContentLength = http.NoBody, 0
	case rel.Request.End:
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(rel.Request.Body)), int64(len(rel.Request.Body))
		rel.Request.Body = nil
	default:
		pr, pw := io.Pipe()
		req.Body, req.ContentLength, c.upstreamBody = pr, -1, pw
		if n, err := strconv.ParseInt(headerValue(hs, "content-length"), 10, 64); err == nil {
			req.ContentLength = n
		}
	}
	c.cancel, c.started = cancel, true
	go func() {
		resp, err := target.Client.Do(req)
		c.upstream <- upstreamResult{resp, err}
	}()
	return nil
}

func (c *call) stopUpstream() {
	if c.upstreamBody != nil {
		c.upstreamBody.CloseWithError(errors.New("request ended by the proxy"))
		c.upstreamBody = nil
	}
	if c.cancel != nil && !c.respEnd {
		c.cancel()
	}
}
