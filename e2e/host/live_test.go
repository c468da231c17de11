package host

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// live plays ex through a Stream, event by event, and gathers what each
// direction released, as a proxy would send it on.
func live(h *Host, ex Exchange) (req, resp Forwarded, res *Result, err error) {
	ctx := context.Background()
	st, err := h.Open(ctx, ex.ClusterName)
	if err != nil {
		return req, resp, nil, err
	}
	gather := func(r Released) error {
		for _, p := range []struct{ into, from *Forwarded }{{&req, &r.Request}, {&resp, &r.Response}} {
			if p.from.Headers != nil && p.into.Headers != nil {
				return fmt.Errorf("headers released twice")
			}
			if p.into.End && (len(p.from.Body) > 0 || p.from.End) {
				return fmt.Errorf("data released after the end of stream")
			}
			if p.from.Headers != nil {
				p.into.Headers = p.from.Headers
			}
			p.into.Body = append(p.into.Body, p.from.Body...)
			p.into.End = p.into.End || p.from.End
		}
		return nil
	}
	steps := []func() (Released, error){func() (Released, error) {
		return st.RequestHeaders(ctx, ex.RequestHeaders, len(ex.RequestBody) == 0)
	}}
	for i, c := range ex.RequestBody {
		steps = append(steps, func() (Released, error) { return st.RequestBody(ctx, c, i == len(ex.RequestBody)-1) })
	}
	steps = append(steps, func() (Released, error) {
		return st.ResponseHeaders(ctx, ex.ResponseHeaders, len(ex.ResponseBody) == 0)
	})
	for i, c := range ex.ResponseBody {
		steps = append(steps, func() (Released, error) { return st.ResponseBody(ctx, c, i == len(ex.ResponseBody)-1) })
	}
	for _, step := range steps {
		r, e := step()
		if e == nil {
			e = gather(r)
		}
		if e != nil || r.Ended {
			err = e
			break
		}
	}
	res, e := st.End(ctx)
	if err == nil {
		err = e
	}
	return req, resp, res, err
}

// TestLiveMatchesDo: the same exchange fed live gives what Do gives: the
// bytes forwarded each way, the filter state, the plugin's logs.
func TestLiveMatchesDo(t *testing.T) {
	for _, mode := range []string{"echo-body", "setprop", "buffer,rewrite", "upper-resp", "buffer-resp,echo-body", "props"} {
		t.Run(mode, func(t *testing.T) {
			h := newHost(t, mode, Options{})
			ex := chatExchange(`{"model":|"qwen-turbo"}`, `{"usage":`, `{}}`)
			want := do(t, h, ex)
			req, resp, got, err := live(h, ex)
			if err != nil {
				t.Fatal(err)
			}
			if !req.End || !resp.End {
				t.Fatalf("end of stream not released: request %v response %v", req.End, resp.End)
			}
			for _, c := range []struct {
				name      string
				got, want any
			}{
				{"request headers", req.Headers, want.ForwardedRequestHeaders},
				{"request body", string(req.Body), string(want.ForwardedRequestBody)},
				{"response headers", resp.Headers, want.ForwardedResponseHeaders},
				{"response body", string(resp.Body), string(want.ForwardedResponseBody)},
				{"filter state", got.FilterState, want.FilterState},
				{"logged filter state", got.LoggedFilterState, want.LoggedFilterState},
				{"logs", logText(got.Logs), logText(want.Logs)},
				{"actions", got.Actions, want.Actions},
				{"response code", got.ResponseCode, want.ResponseCode},
			} {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s: live %v, Do %v", c.name, c.got, c.want)
				}
			}
		})
	}
}

// TestLiveReleasesAsEnvoy: each event returns what Envoy forwards at that
// point: an observed chunk at once, a buffered body only when the body
// callback continues it.
func TestLiveReleasesAsEnvoy(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, "buffer,rewrite", Options{})
	st, err := h.Open(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	ex := chatExchange("")
	r, err := st.RequestHeaders(ctx, ex.RequestHeaders, false)
	if err != nil || r.Request.Headers == nil || r.Cluster != "c" || r.Request.End {
		t.Fatalf("headers continue at once: %+v %v", r, err)
	}
	if r, err = st.RequestBody(ctx, []byte(`{"a":`), false); err != nil || len(r.Request.Body) != 0 {
		t.Fatalf("StopIterationAndBuffer must hold the chunk: %+v %v", r, err)
	}
	r, err = st.RequestBody(ctx, []byte(`1}`), true)
	if err != nil || string(r.Request.Body) != `{"A":1}` || !r.Request.End {
		t.Fatalf("the buffered, rewritten body goes at its end: %+v %v", r, err)
	}
	if r, err = st.ResponseHeaders(ctx, ex.ResponseHeaders, false); err != nil || r.Response.Headers == nil {
		t.Fatalf("response headers: %+v %v", r, err)
	}
	for i, chunk := range []string{"data: 1\n\n", "data: 2\n\n"} {
		r, err = st.ResponseBody(ctx, []byte(chunk), i == 1)
		if err != nil || string(r.Response.Body) != chunk || r.Response.End != (i == 1) {
			t.Fatalf("chunk %d not passed on as it came: %+v %v", i, r, err)
		}
	}
	res, err := st.End(ctx)
	if err != nil || res.Reset {
		t.Fatalf("End: %+v %v", res, err)
	}
	if _, err := st.RequestBody(ctx, nil, true); err == nil {
		t.Fatal("an ended stream takes no more events")
	}
}

// TestLiveRequestOverBufferLimit: a buffered request past the limit gets
// Envoy's 413, through the response callbacks, and nothing more upstream.
func TestLiveRequestOverBufferLimit(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, "buffer,echo-body", Options{BufferLimit: 8})
	st, _ := h.Open(ctx, "c")
	if _, err := st.RequestHeaders(ctx, chatExchange("").RequestHeaders, false); err != nil {
		t.Fatal(err)
	}
	r, err := st.RequestBody(ctx, []byte("0123456789"), false)
	if err != nil {
		t.Fatal(err)
	}
	if r.LocalReply == nil || r.LocalReply.Status != 413 || !r.Ended || len(r.Request.Body) != 0 {
		t.Fatalf("want a 413 local reply: %+v", r)
	}
	if headerValue(r.Response.Headers, ":status") != "413" || string(r.Response.Body) != "Payload Too Large" || !r.Response.End {
		t.Fatalf("client gets %v %q", r.Response.Headers, r.Response.Body)
	}
	res, err := st.End(ctx)
	if err != nil || res.ResponseCode != 413 || !strings.Contains(logText(res.Logs), "resp body 17 eos=1") {
		t.Fatalf("result %+v %v", res, err)
	}
}

// TestLiveLocalReplyAndReply: the plugin's local reply, and the proxy's
// own (no route, upstream down), both reach the client through the
// response callbacks.
func TestLiveLocalReplyAndReply(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, "localreply", Options{})
	st, _ := h.Open(ctx, "c")
	r, err := st.RequestHeaders(ctx, chatExchange("{}").RequestHeaders, false)
	if err != nil || r.LocalReply == nil || r.Request.Headers != nil || !r.Ended {
		t.Fatalf("%+v %v", r, err)
	}
	if headerValue(r.Response.Headers, ":status") != "403" || headerValue(r.Response.Headers, "x-reason") != "test" ||
		string(r.Response.Body) != "nope" {
		t.Fatalf("client gets %v %q", r.Response.Headers, r.Response.Body)
	}
	st.End(ctx)

	h = newHost(t, "echo-body", Options{})
	st, _ = h.Open(ctx, "c")
	st.RequestHeaders(ctx, chatExchange("").RequestHeaders, true)
	r, err = st.Reply(ctx, 503, "upstream connect error", "upstream_reset_before_response_started")
	if err != nil || headerValue(r.Response.Headers, ":status") != "503" || !r.Ended {
		t.Fatalf("%+v %v", r, err)
	}
	res, _ := st.End(ctx)
	if res.ResponseCode != 503 || !strings.Contains(logText(res.Logs), "resp body 22 eos=1") {
		t.Fatalf("%+v", res)
	}
}

// TestLiveReset: a stream cut off mid-response still gets its access log
// and on_log, as Envoy's do.
func TestLiveReset(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, "setprop", Options{})
	st, _ := h.Open(ctx, "c")
	st.RequestHeaders(ctx, chatExchange("").RequestHeaders, true)
	st.ResponseHeaders(ctx, chatExchange("").ResponseHeaders, false)
	st.ResponseBody(ctx, []byte("part"), false)
	res, err := st.Reset(ctx)
	if err != nil || !res.Reset || res.LoggedFilterState["wasm.asm.llmproxy.request_model"] != "qwen-turbo" {
		t.Fatalf("%+v %v", res, err)
	}
	wantLogs(t, res.Logs, "log model=qwen-turbo st=0")
}

// TestLiveStall: a plugin that holds the end of a request and never
// continues it would hang Envoy; the host says so.
func TestLiveStall(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, "stop", Options{})
	st, _ := h.Open(ctx, "c")
	_, err := st.RequestHeaders(ctx, chatExchange("").RequestHeaders, true)
	wantErr(t, err, "request stalled")
	st.End(ctx)
}

// TestLiveRouting: the router picks the cluster from the headers as the
// plugin left them, the route cache cleared by its edit, and applies the
// route's host_rewrite_literal.
func TestLiveRouting(t *testing.T) {
	ctx := context.Background()
	routes := []Route{{Domains: []string{"a.example"}, Cluster: "A"},
		{Domains: []string{"b.example"}, Cluster: "B", HostRewrite: "upstream.example"}}
	for _, tc := range []struct{ mode, want, authority string }{
		{"echo-body", "A", "a.example"},
		{"reroute", "B", "upstream.example"},
	} {
		h := newHost(t, tc.mode, Options{Routes: routes})
		st, _ := h.Open(ctx, "")
		ex := chatExchange("")
		ex.RequestHeaders = [][2]string{{":method", "POST"}, {":path", "/"}, {":authority", "a.example"}}
		r, err := st.RequestHeaders(ctx, ex.RequestHeaders, true)
		if err != nil || r.Cluster != tc.want {
			t.Fatalf("%s: cluster %q, want %q (%v)", tc.mode, r.Cluster, tc.want, err)
		}
		if got := headerValue(r.Request.Headers, ":authority"); got != tc.authority {
			t.Fatalf("%s: upstream :authority %q, want %q", tc.mode, got, tc.authority)
		}
		res, _ := st.End(ctx)
		if res.UpstreamCluster != tc.want {
			t.Fatalf("%s: result cluster %q", tc.mode, res.UpstreamCluster)
		}
	}
}

// TestLiveStreamsInterleave: many streams at once on one VM, their events
// interleaved; each keeps its own state.
func TestLiveStreamsInterleave(t *testing.T) {
	h := newHost(t, "buffer,rewrite,echo-body", Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"n":%d,|"pad":"%s"}`, i, strings.Repeat("x", i))
			ex := chatExchange(body, fmt.Sprintf("resp %d", i), " end")
			req, resp, res, err := live(h, ex)
			want := strings.ToUpper(strings.ReplaceAll(body, "|", ""))
			switch {
			case err != nil:
				errs <- err
			case string(req.Body) != want || string(resp.Body) != fmt.Sprintf("resp %d end", i):
				errs <- fmt.Errorf("stream %d got %q / %q", i, req.Body, resp.Body)
			case !bytes.Contains([]byte(logText(res.Logs)), []byte(fmt.Sprintf("buffered %d", len(want)))):
				errs <- fmt.Errorf("stream %d logs %s", i, logText(res.Logs))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := maps.Clone(h.streams); len(st) != 0 {
		t.Fatalf("%d stream contexts left", len(st))
	}
}
