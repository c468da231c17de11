package host

import (
	"context"
	"strings"
	"testing"
)

func TestStopIterationFailsObserveOnly(t *testing.T) {
	for _, lean := range []bool{false, true} {
		h := newHost(t, "stop", Options{ObserveOnly: true, Lean: lean})
		_, err := h.Do(context.Background(), chatExchange("{}"))
		wantErr(t, err, "proxy_on_request_headers returned action 1")
	}
}

func TestStopIterationPausesLikeEnvoy(t *testing.T) {
	// Envoy turns StopIteration into StopAllIterationAndWatermark: the body
	// never reaches the plugin and the request waits forever.
	h := newHost(t, "stop,echo-body", Options{})
	res, err := h.Do(context.Background(), chatExchange("{}"))
	wantErr(t, err, "request stalled")
	if res.ForwardedRequestHeaders != nil || strings.Contains(logText(res.Logs), "req body") {
		t.Errorf("request should not move: %+v", res)
	}
	// With allow_on_headers_stop_iteration the first body Continue releases it.
	h = newHost(t, "stop,echo-body", Options{AllowOnHeadersStopIteration: true})
	res = do(t, h, chatExchange("{}"))
	if res.ForwardedRequestHeaders == nil || string(res.ForwardedRequestBody) != "{}" {
		t.Errorf("headers/body not released: %+v", res)
	}
}

func TestFilterStateAndAccessLog(t *testing.T) {
	h := newHost(t, "setprop", Options{ObserveOnly: true})
	ex := chatExchange(`{"model":"qwen-turbo"}`, `{"usage":{}}`)
	res := do(t, h, ex)
	fs := res.FilterState
	if fs["wasm.asm.llmproxy.request_model"] != "qwen-turbo" || fs["wasm.asm.llmproxy.total_tokens"] != "42" {
		t.Fatalf("filter state = %v", fs)
	}
	if in := res.FilterStateSetIn["wasm.asm.llmproxy.request_model"]; in != "proxy_on_request_headers" {
		t.Errorf("request_model set in %q", in)
	}
	if in := res.FilterStateSetIn["wasm.asm.llmproxy.total_tokens"]; in != "proxy_on_response_body" {
		t.Errorf("total_tokens set in %q", in)
	}
	wantLogs(t, res.Logs, "log model=qwen-turbo st=0")
	got, err := AccessLog("%FILTER_STATE(wasm.asm.llmproxy.request_model:PLAIN)% %FILTER_STATE(wasm.nope:PLAIN)% "+
		"%RESPONSE_CODE% %UPSTREAM_CLUSTER% %REQ(:PATH)% %RESP(content-type)% %REQ(x-none?:authority)% %PROTOCOL%", ex, res)
	if err != nil {
		t.Fatal(err)
	}
	want := "qwen-turbo - 200 outbound|443||dashscope.aliyuncs.com /v1/chat?x=1 application/json dashscope.aliyuncs.com HTTP/1.1"
	if got != want {
		t.Errorf("access log\n got %q\nwant %q", got, want)
	}
	typed, _ := AccessLog("%FILTER_STATE(wasm.asm.llmproxy.total_tokens)%", ex, res)
	if typed != `{"@type":"type.googleapis.com/google.protobuf.BytesValue","value":"NDI="}` {
		t.Errorf("typed filter state = %s", typed)
	}
	if st, err := AccessLog("%START_TIME%", ex, res); err != nil || st != res.StartTime.Format("2006-01-02T15:04:05.000Z") {
		t.Errorf("START_TIME = %q, %v", st, err)
	}
	if _, err := AccessLog("%DOWNSTREAM_TLS_CIPHER%", ex, res); err == nil {
		t.Error("unknown operator accepted")
	}
}

func TestAttributeAvailability(t *testing.T) {
	meta := map[string]string{"MESH_ID": "cluster.local"}
	h := newHost(t, "props", Options{NodeMetadata: meta, ObserveOnly: true})
	res := do(t, h, chatExchange("{}", "{}"))
	wantLogs(t, res.Logs,
		"req_headers request.path=/v1/chat?x=1", "req_body request.path=!1", "log request.path=/v1/chat?x=1",
		"req_headers xds.cluster_name=!1", "req_body xds.cluster_name=outbound|443||dashscope.aliyuncs.com",
		"req_body cluster_name=!1", "req_headers xds.node.metadata.MESH_ID=cluster.local",
		"req_headers node.metadata.MESH_ID=!1", "req_headers response.code=!1",
		"resp_headers response.code=200", "log response.code=200")

	h = newHost(t, "props", Options{NodeMetadata: meta, LegacyAttributes: true})
	res = do(t, h, chatExchange("{}"))
	wantLogs(t, res.Logs, "req_body cluster_name=outbound|443||dashscope.aliyuncs.com",
		"req_body xds.cluster_name=!1", "req_headers node.metadata.MESH_ID=cluster.local",
		"req_headers xds.node.metadata.MESH_ID=!1")
}

func TestBufferingForwardsAccumulatedBody(t *testing.T) {
	h := newHost(t, "buffer,echo-body", Options{})
	res := do(t, h, chatExchange("abc|def|ghi"))
	wantLogs(t, res.Logs, "req body 3 eos=0", "req body 6 eos=0", "req body 9 eos=1", "buffered 9")
	if string(res.ForwardedRequestBody) != "abcdefghi" {
		t.Errorf("forwarded %q", res.ForwardedRequestBody)
	}
	h = newHost(t, "buffer,rewrite", Options{})
	res = do(t, h, chatExchange("abc|def"))
	if string(res.ForwardedRequestBody) != "ABCDEF" {
		t.Errorf("rewritten body %q", res.ForwardedRequestBody)
	}
}

func TestBufferLimitGives413(t *testing.T) {
	h := newHost(t, "buffer,echo-body", Options{BufferLimit: 5})
	res := do(t, h, chatExchange("abc|def|ghi"))
	lr := res.LocalReply
	if lr == nil || lr.Status != 413 || !lr.ByHost || res.ResponseCode != 413 {
		t.Fatalf("local reply = %+v, code %d", lr, res.ResponseCode)
	}
	if res.ForwardedRequestBody != nil || headerValue(res.ForwardedResponseHeaders, ":status") != "413" {
		t.Errorf("forwarded req body %q, resp headers %v", res.ForwardedRequestBody, res.ForwardedResponseHeaders)
	}
	wantLogs(t, res.Logs, "resp body 17 eos=1") // the local reply crosses the plugin
}

func TestResponseBufferLimit(t *testing.T) {
	// Headers still held: Envoy answers 500 itself.
	h := newHost(t, "stopall-resp", Options{BufferLimit: 4})
	res := do(t, h, chatExchange("{}", "abc", "def"))
	if lr := res.LocalReply; lr == nil || lr.Status != 500 || !lr.ByHost || res.ResponseCode != 500 {
		t.Fatalf("local reply = %+v", lr)
	}
	// Headers already sent downstream: Envoy can only reset the stream.
	h = newHost(t, "buffer-resp", Options{BufferLimit: 4})
	res = do(t, h, chatExchange("{}", "abc", "def"))
	if !res.Reset || res.LocalReply != nil || res.ResponseCode != 200 {
		t.Fatalf("reset=%v local reply=%+v", res.Reset, res.LocalReply)
	}
	h = newHost(t, "buffer-resp", Options{})
	res = do(t, h, chatExchange("{}", "abc", "def"))
	if string(res.ForwardedResponseBody) != "abcdef" || res.LocalReply != nil {
		t.Errorf("forwarded %q", res.ForwardedResponseBody)
	}
}

// The host hands the exchange's own chunks to the guest: a rewrite must
// replace a chunk, never write into it.
func TestRewriteLeavesTheExchangeAlone(t *testing.T) {
	h := newHost(t, "upper-resp", Options{ObserveOnly: true})
	ex := chatExchange("{}", "data: a\n\n", "data: b\n\n")
	res := do(t, h, ex)
	if string(res.ForwardedResponseBody) != "DATA: A\n\nDATA: B\n\n" {
		t.Errorf("forwarded %q", res.ForwardedResponseBody)
	}
	if string(ex.ResponseBody[0]) != "data: a\n\n" || string(ex.ResponseBody[1]) != "data: b\n\n" {
		t.Errorf("the exchange's chunks changed: %q", ex.ResponseBody)
	}
}

func TestLean(t *testing.T) {
	h := newHost(t, "echo-body", Options{ObserveOnly: true, Lean: true})
	res := do(t, h, chatExchange("{}", "data: 1\n\n", "data: [DONE]\n\n"))
	wantLogs(t, res.Logs, "resp body 9 eos=0", "resp body 14 eos=1")
	if res.ForwardedRequestBody != nil || res.ForwardedResponseBody != nil || res.Actions != nil || res.ResponseCode != 200 {
		t.Errorf("forwarded %q and %q, actions %v, status %d", res.ForwardedRequestBody, res.ForwardedResponseBody, res.Actions, res.ResponseCode)
	}
}

func TestChunkedDeliveryAndReset(t *testing.T) {
	h := newHost(t, "echo-body", Options{ObserveOnly: true})
	res := do(t, h, chatExchange("", "data: 1\n\n", "data: 2\n\n", "data: [DONE]\n\n"))
	wantLogs(t, res.Logs, "resp body 9 eos=0", "resp body 14 eos=1")
	if string(res.ForwardedResponseBody) != "data: 1\n\ndata: 2\n\ndata: [DONE]\n\n" {
		t.Errorf("forwarded %q", res.ForwardedResponseBody)
	}
	ex := chatExchange("{}", "a", "b", "c")
	ex.ResetAfterResponseBodyChunks = 2
	res = do(t, h, ex)
	if !res.Reset || strings.Contains(logText(res.Logs), "resp body 1 eos=1") || strings.Count(logText(res.Logs), "resp body") != 2 {
		t.Errorf("reset run: reset=%v logs:\n%s", res.Reset, logText(res.Logs))
	}
	var names []string
	for _, a := range res.Actions {
		names = append(names, a.Callback)
	}
	if strings.Join(names, ",") != "proxy_on_request_headers,proxy_on_request_body,proxy_on_response_headers,proxy_on_response_body,proxy_on_response_body" {
		t.Errorf("callbacks %v", names)
	}
}

func TestLateHeaderEditIsViolation(t *testing.T) {
	h := newHost(t, "late-header", Options{})
	res, err := h.Do(context.Background(), chatExchange("{}"))
	wantErr(t, err, "modified request headers after they were forwarded")
	wantLogs(t, res.Logs, "late-header=2")
}

func TestPluginLocalReply(t *testing.T) {
	h := newHost(t, "localreply", Options{})
	res := do(t, h, chatExchange("{}"))
	lr := res.LocalReply
	if lr == nil || lr.Status != 403 || lr.Body != "nope" || lr.Details != "denied_by_test" || lr.ByHost {
		t.Fatalf("local reply %+v", lr)
	}
	if res.ForwardedRequestHeaders != nil || headerValue(res.ForwardedResponseHeaders, "x-reason") != "test" {
		t.Errorf("forwarded req %v resp %v", res.ForwardedRequestHeaders, res.ForwardedResponseHeaders)
	}
}
