// Package tetrate binds the filter to github.com/tetratelabs/proxy-wasm-go-sdk
// v0.24.0, for TinyGo builds that run on proxies older than Envoy 1.33. The
// same package runs natively under the SDK's proxytest emulator.
package tetrate

import (
	"fmt"
	"time"

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
}

// NewPluginContext implements types.VMContext.
func (v *VMContext) NewPluginContext(uint32) types.PluginContext {
	return &pluginContext{p: v.NewRoot()}
}

type pluginContext struct {
	types.DefaultPluginContext
	p proxy.Root
}

// OnPluginStart implements types.PluginContext.
func (c *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	raw, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogErrorf("llmproxy: cannot read the plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	if c.p.Configure(host{}, raw) != nil {
		return types.OnPluginStartStatusFailed
	}
	return types.OnPluginStartStatusOK
}

// NewHttpContext implements types.PluginContext.
func (c *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{s: c.p.NewHTTP()}
}

type httpContext struct {
	types.DefaultHttpContext
	s proxy.HTTP
}

func action(a proxy.Action) types.Action { return types.Action(a) }

// OnHttpRequestHeaders implements types.HttpContext.
func (c *httpContext) OnHttpRequestHeaders(_ int, eos bool) types.Action {
	return action(c.s.OnRequestHeaders(host{}, eos))
}

// OnHttpRequestBody implements types.HttpContext.
func (c *httpContext) OnHttpRequestBody(size int, eos bool) types.Action {
	return action(c.s.OnRequestBody(host{}, size, eos))
}

// OnHttpResponseHeaders implements types.HttpContext.
func (c *httpContext) OnHttpResponseHeaders(_ int, eos bool) types.Action {
	return action(c.s.OnResponseHeaders(host{}, eos))
}

// OnHttpResponseBody implements types.HttpContext.
func (c *httpContext) OnHttpResponseBody(size int, eos bool) types.Action {
	return action(c.s.OnResponseBody(host{}, size, eos))
}

// OnHttpStreamDone implements types.HttpContext; the SDK calls it from
// proxy_on_log.
func (c *httpContext) OnHttpStreamDone() { c.s.OnLog(host{}) }

// host implements proxy.Host with the SDK's host calls.
type host struct{}

func (host) Log(level proxy.Level, msg string) {
	switch level {
	case proxy.Trace:
		proxywasm.LogTrace(msg)
	case proxy.Debug:
		proxywasm.LogDebug(msg)
	case proxy.Info:
		proxywasm.LogInfo(msg)
	case proxy.Warn:
		proxywasm.LogWarn(msg)
	default:
		proxywasm.LogError(msg)
	}
}

func (host) Header(m proxy.HeaderMap, name string) (string, bool) {
	get := proxywasm.GetHttpRequestHeader
	if m == proxy.ResponseHeaders {
		get = proxywasm.GetHttpResponseHeader
	}
	v, err := get(name)
	return v, err == nil
}

func (host) Property(path ...string) (string, bool) {
	v, err := proxywasm.GetProperty(path)
	return string(v), err == nil
}

func (host) SetFilterState(key, value string) error {
	return proxywasm.SetProperty([]string{key}, []byte(value))
}

// pieceSize bounds each copy the SDK makes of a body chunk.
const pieceSize = 64 << 10

func (host) ReadBody(b proxy.Body, size int, fn func([]byte)) error {
	get := proxywasm.GetHttpRequestBody
	if b == proxy.ResponseBody {
		get = proxywasm.GetHttpResponseBody
	}
	for start := 0; start < size; {
		piece, err := get(start, min(size-start, pieceSize))
		if err != nil {
			return err
		}
		if len(piece) == 0 {
			return nil
		}
		fn(piece)
		start += len(piece)
	}
	return nil
}

func (host) ReadBodyInto(b proxy.Body, start int, dst []byte) (int, error) {
	get := proxywasm.GetHttpRequestBody
	if b == proxy.ResponseBody {
		get = proxywasm.GetHttpResponseBody
	}
	piece, err := get(start, len(dst))
	if err != nil {
		return 0, err
	}
	return copy(dst, piece), nil
}

func (host) SetHeader(m proxy.HeaderMap, name, value string) error {
	if m != proxy.RequestHeaders {
		return proxywasm.ReplaceHttpResponseHeader(name, value)
	}
	return proxywasm.ReplaceHttpRequestHeader(name, value)
}

func (host) RemoveHeader(m proxy.HeaderMap, name string) error {
	if m != proxy.RequestHeaders {
		return proxywasm.RemoveHttpResponseHeader(name)
	}
	return proxywasm.RemoveHttpRequestHeader(name)
}

// ClearRouteCache calls Envoy's clear_route_cache foreign function.
func (host) ClearRouteCache() error {
	_, err := proxywasm.CallForeignFunction("clear_route_cache", nil)
	if err == types.ErrorStatusNotFound {
		return proxy.ErrNotFound
	}
	return err
}

// SetBody uses the SDK's replacement, which asks Envoy to drain MaxInt32.
func (host) SetBody(b proxy.Body, _ int, data []byte) error {
	if b == proxy.ResponseBody {
		return proxywasm.ReplaceHttpResponseBody(data)
	}
	return proxywasm.ReplaceHttpRequestBody(data)
}

// sdkCall turns the SDK's panics on host errors into errors.
func sdkCall(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

func (host) DefineMetric(kind proxy.MetricKind, name string) (id uint32, err error) {
	err = sdkCall(func() {
		if kind == proxy.Histogram {
			id = uint32(proxywasm.DefineHistogramMetric(name))
		} else {
			id = uint32(proxywasm.DefineCounterMetric(name))
		}
	})
	return id, err
}

func (host) AddCounter(id uint32, delta uint64) error {
	return sdkCall(func() { proxywasm.MetricCounter(id).Increment(delta) })
}

func (host) RecordHistogram(id uint32, value uint64) error {
	return sdkCall(func() { proxywasm.MetricHistogram(id).Record(value) })
}

// Now reads the WASI clock; the SDK has no call for the proxy's.
func (host) Now() int64 { return time.Now().UnixNano() }
