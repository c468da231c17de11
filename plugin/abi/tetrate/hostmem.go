package tetrate

import (
	"unsafe"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
)

// Every SDK call below returns memory the host allocated in the module. Under
// cpp-host (Envoy, Istio) that memory comes from the module's exported malloc,
// which cpp-host prefers to proxy_on_memory_allocate (WasmBase::getFunctions),
// and only for a non-empty value (WasmBase::copyToPointerSize,
// get_buffer_bytes). TinyGo's malloc keeps each block alive until free is
// called (src/runtime/arch_tinygowasm_malloc.go), and the SDK never frees and
// returns slices and strings that alias the block. So the glue copies what it
// keeps and gives each non-empty block back with release, exactly once.
//
// The calls go through this table, and nowhere else, so that tests can stand
// in for the host and count what it hands out (hostmem_test.go).
var hostCalls = struct {
	pluginConfig func() ([]byte, error)
	reqHeader    func(name string) (string, error)
	respHeader   func(name string) (string, error)
	property     func(path []string) ([]byte, error)
	reqBody      func(start, maxSize int) ([]byte, error)
	respBody     func(start, maxSize int) ([]byte, error)
	foreign      func(name string, param []byte) ([]byte, error)
}{
	pluginConfig: proxywasm.GetPluginConfiguration,
	reqHeader:    proxywasm.GetHttpRequestHeader,
	respHeader:   proxywasm.GetHttpResponseHeader,
	property:     proxywasm.GetProperty,
	reqBody:      proxywasm.GetHttpRequestBody,
	respBody:     proxywasm.GetHttpResponseBody,
	foreign:      proxywasm.CallForeignFunction,
}

// release gives back the block a host call returned. An empty value has no
// block: cpp-host allocates nothing for it.
func release(b []byte) {
	if len(b) > 0 {
		freeHost(unsafe.SliceData(b))
	}
}

// releaseString is release for the SDK's calls that return a string.
func releaseString(s string) {
	if len(s) > 0 {
		freeHost(unsafe.StringData(s))
	}
}
