package tetrate

import (
	"testing"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/llmproxy/llmproxy/plugin/proxy"
)

const routingConfig = `{"providers": [{"host": "dashscope.aliyuncs.com",
	"path": "/compatible-mode/v1/chat/completions", "match_hosts": ["llm.internal"],
	"api_key": "sk-provider", "default_model": "qwen-turbo"}]}`

// The routing rewrite reaches clear_route_cache through the SDK's foreign
// call, and the block the host returns comes back. proxytest can only return
// a non-empty result (it takes &ret[0]), unlike Envoy's, which returns none.
func TestRoutingClearsRouteCacheThroughSDK(t *testing.T) {
	host, _ := newEmulator(t, seedOptions(routingConfig))
	calls := 0
	host.RegisterForeignFunction(clearRouteCache, func([]byte) []byte { calls++; return []byte{1} })
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("plugin did not start: %v", host.GetErrorLogs())
	}
	id := host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, [][2]string{
		{":method", "POST"}, {":authority", "llm.internal"}, {":path", "/v1/chat/completions"},
		{"content-type", "application/json"}, {"authorization", "Bearer client-key"},
	}, false)
	got := map[string]string{}
	for _, kv := range host.GetCurrentRequestHeaders(id) {
		got[kv[0]] = kv[1]
	}
	if calls != 1 || got[":authority"] != "dashscope.aliyuncs.com" ||
		got[":path"] != "/compatible-mode/v1/chat/completions" || got["authorization"] != "Bearer sk-provider" {
		t.Fatalf("clear_route_cache calls %d, headers %v", calls, got)
	}
	host.CompleteHttpContext(id)
	host.mem.balanced(t)
}

// The foreign call's answers as the filter sees them. proxytest cannot
// answer NotFound (it exits on an unregistered foreign function), so the
// SDK call is stood in for here.
func TestClearRouteCacheAnswers(t *testing.T) {
	a := countHost(t)
	for _, c := range []struct {
		name  string
		ret   []byte
		err   error
		check func(error) bool
	}{
		{"Envoy >= 1.33: Ok, no result", nil, nil, func(err error) bool { return err == nil }},
		{"Ok with a result", []byte("x"), nil, func(err error) bool { return err == nil }},
		{"older Envoy: NotFound", nil, types.ErrorStatusNotFound, func(err error) bool { return err == proxy.ErrNotFound }},
		{"another failure", nil, types.ErrorStatusBadArgument, func(err error) bool {
			return err != nil && err != proxy.ErrNotFound
		}},
	} {
		hostCalls.foreign = func(name string, param []byte) ([]byte, error) {
			if name != clearRouteCache || len(param) != 0 {
				t.Fatalf("foreign call %q(%q)", name, param)
			}
			return a.bytes(c.ret, c.err)
		}
		if err := (host{}).ClearRouteCache(); !c.check(err) {
			t.Errorf("%s: error %v", c.name, err)
		}
		a.balanced(t)
	}
	if a.allocs != 1 {
		t.Fatalf("%d host blocks, want 1", a.allocs)
	}
}
