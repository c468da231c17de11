// Package tetrate binds the filter to github.com/tetratelabs/proxy-wasm-go-sdk
// v0.24.0, for TinyGo builds that run on proxies older than Envoy 1.33. The
// same package runs natively under the SDK's proxytest emulator.
//
// TinyGo's wasm targets have no recover (compiler/defer.go), so nothing here
// relies on it: every SDK call that panics on a host error is checked first
// (metrics.go), and every block the host allocates is given back
// (hostmem.go). See docs/tinygo.md.
package tetrate

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// Start registers the VM context; TinyGo runs it from main.
func Start(newRoot func() proxy.Root) { proxywasm.SetVMContext(&VMContext{NewRoot: newRoot}) }

// VMContext implements types.VMContext.
type VMContext struct {
	types.DefaultVMContext
	NewRoot func() proxy.Root
	vm      *vmState
}

// vmState is what the VM's contexts share.
type vmState struct {
	metrics metrics
}

// NewPluginContext implements types.VMContext.
func (v *VMContext) NewPluginContext(uint32) types.PluginContext {
	if v.vm == nil {
		v.vm = &vmState{metrics: metrics{}}
	}
	return &pluginContext{p: v.NewRoot(), h: host{v.vm}}
}

type pluginContext struct {
	types.DefaultPluginContext
	p proxy.Root
	h host
}

// OnPluginStart implements types.PluginContext.
func (c *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	raw, err := hostCalls.pluginConfig()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogErrorf("llmproxy: cannot read the plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	// The configuration may keep slices of what it parses: it gets a copy,
	// and the host's block goes back now.
	config := append([]byte(nil), raw...)
	release(raw)
	if c.p.Configure(c.h, config) != nil {
		return types.OnPluginStartStatusFailed
	}
	return types.OnPluginStartStatusOK
}

// NewHttpContext implements types.PluginContext.
func (c *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{s: c.p.NewHTTP(), h: c.h}
}

type httpContext struct {
	types.DefaultHttpContext
	s proxy.HTTP
	h host
}

func action(a proxy.Action) types.Action { return types.Action(a) }

// OnHttpRequestHeaders implements types.HttpContext.
func (c *httpContext) OnHttpRequestHeaders(_ int, eos bool) types.Action {
	return action(c.s.OnRequestHeaders(c.h, eos))
}

// OnHttpRequestBody implements types.HttpContext.
func (c *httpContext) OnHttpRequestBody(size int, eos bool) types.Action {
	return action(c.s.OnRequestBody(c.h, size, eos))
}

// OnHttpResponseHeaders implements types.HttpContext.
func (c *httpContext) OnHttpResponseHeaders(_ int, eos bool) types.Action {
	return action(c.s.OnResponseHeaders(c.h, eos))
}

// OnHttpResponseBody implements types.HttpContext.
func (c *httpContext) OnHttpResponseBody(size int, eos bool) types.Action {
	return action(c.s.OnResponseBody(c.h, size, eos))
}

// OnHttpStreamDone implements types.HttpContext; the SDK calls it from
// proxy_on_log.
func (c *httpContext) OnHttpStreamDone() { c.s.OnLog(c.h) }
