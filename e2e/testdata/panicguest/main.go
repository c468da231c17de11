//go:build wasip1

// Command panicguest is a plugin on llmproxy's Go >= 1.24 binding whose
// body reader panics when the body says so, the way a parser bug would.
// It shows that the binding takes its scratch buffer back after a panic.
package main

import (
	"bytes"
	"fmt"

	"github.com/llmproxy/llmproxy/plugin/abi/wasmexport"
	"github.com/llmproxy/llmproxy/plugin/proxy"
)

func init() { wasmexport.SetRoot(func() proxy.Root { return root{} }) }

func main() {}

type root struct{}

func (root) Configure(proxy.Host, []byte) error { return nil }
func (root) NewHTTP() proxy.HTTP                { return stream{} }

type stream struct{}

// readHeaders makes the host write into guest memory: the first read of a
// callback asks for one value, the second for the whole map.
func readHeaders(h proxy.Host, m proxy.HeaderMap) {
	for _, name := range []string{":path", ":authority", "content-type"} {
		h.Header(m, name)
	}
}

func (stream) OnRequestHeaders(h proxy.Host, _ bool) proxy.Action {
	readHeaders(h, proxy.RequestHeaders)
	return proxy.Continue
}

func (stream) OnRequestBody(h proxy.Host, size int, _ bool) proxy.Action {
	defer func() {
		if r := recover(); r != nil {
			h.Log(proxy.Warn, fmt.Sprint("recovered: ", r))
		}
	}()
	_ = h.ReadBody(proxy.RequestBody, size, func(p []byte) {
		if bytes.Contains(p, []byte("panic")) {
			panic("the reader failed")
		}
	})
	return proxy.Continue
}

func (stream) OnResponseHeaders(h proxy.Host, _ bool) proxy.Action {
	readHeaders(h, proxy.ResponseHeaders)
	return proxy.Continue
}

func (stream) OnResponseBody(h proxy.Host, size int, _ bool) proxy.Action {
	_ = h.ReadBody(proxy.ResponseBody, size, func([]byte) {})
	return proxy.Continue
}

func (stream) OnLog(proxy.Host) {}
