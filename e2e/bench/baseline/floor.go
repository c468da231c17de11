// Package baseline holds the filters llmproxy is measured against: the copy
// floor, which only fetches each body chunk; contract and publish, the floor
// plus fixed outputs, the least the ASM contract and all of llmproxy's
// outputs cost; and buffer-then-parse, the way peer plugins read usage. All
// implement proxy.Root, so they run natively and, through the same
// wasmexport glue, as .wasm modules.
package baseline

import "github.com/llmproxy/llmproxy/plugin/proxy"

// Floor fetches every body chunk and discards it: the least any filter
// that looks at bodies costs.
type Floor struct{}

var _ proxy.Root = Floor{}

// Configure implements proxy.Root.
func (Floor) Configure(proxy.Host, []byte) error { return nil }

// NewHTTP implements proxy.Root.
func (Floor) NewHTTP() proxy.HTTP { return floorHTTP{} }

type floorHTTP struct{}

func discard([]byte) {}

func (floorHTTP) OnRequestHeaders(proxy.Host, bool) proxy.Action  { return proxy.Continue }
func (floorHTTP) OnResponseHeaders(proxy.Host, bool) proxy.Action { return proxy.Continue }
func (floorHTTP) OnLog(proxy.Host)                                {}

func (floorHTTP) OnRequestBody(h proxy.Host, size int, _ bool) proxy.Action {
	h.ReadBody(proxy.RequestBody, size, discard)
	return proxy.Continue
}

func (floorHTTP) OnResponseBody(h proxy.Host, size int, _ bool) proxy.Action {
	h.ReadBody(proxy.ResponseBody, size, discard)
	return proxy.Continue
}
