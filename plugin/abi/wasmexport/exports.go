//go:build wasip1 && !tinygo

package wasmexport

import (
	"fmt"

	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// Contexts live from proxy_on_context_create to proxy_on_delete, so the
// maps do not grow with the number of requests served.
var (
	plugins = map[uint32]proxy.Root{}
	streams = map[uint32]proxy.HTTP{}

	// The callbacks of one stream mostly come in a row; the last stream
	// found saves a map lookup for each.
	lastID     uint32
	lastStream proxy.HTTP
)

func stream(id uint32) proxy.HTTP {
	if lastStream != nil && id == lastID {
		return lastStream
	}
	s := streams[id]
	if s != nil {
		lastID, lastStream = id, s
	}
	return s
}

// guard keeps a panic in the glue itself from trapping the VM.
func guard(where string) {
	if r := recover(); r != nil {
		host{}.Log(proxy.Error, fmt.Sprintf("llmproxy: internal error in %s: %v", where, r))
	}
}

//go:wasmexport proxy_abi_version_0_2_1
func proxyABIVersion() {}

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(id, parent uint32) {
	newCallback()
	defer guard("context create")
	prepareMemory()
	if parent == 0 {
		plugins[id] = newRoot()
		return
	}
	if p := plugins[parent]; p != nil {
		streams[id] = p.NewHTTP()
		if id == lastID {
			lastID, lastStream = 0, nil
		}
	}
}

//go:wasmexport proxy_on_vm_start
func proxyOnVMStart(id, vmConfigSize uint32) uint32 { return 1 }

const bufferPluginConfiguration = 7

//go:wasmexport proxy_on_configure
func proxyOnConfigure(id, size uint32) (ok uint32) {
	newCallback()
	defer guard("configure")
	p := plugins[id]
	if p == nil {
		return 0
	}
	var raw []byte
	if size > 0 {
		err := host{}.ReadBody(bufferPluginConfiguration, int(size), func(b []byte) { raw = append(raw, b...) })
		if err != nil {
			host{}.Log(proxy.Error, "llmproxy: cannot read the plugin configuration: "+err.Error())
			return 0
		}
	}
	if p.Configure(host{}, raw) != nil {
		return 0
	}
	return 1
}

func flag(v uint32) bool { return v != 0 }

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(id, headers, endOfStream uint32) uint32 {
	newCallback()
	if s := stream(id); s != nil {
		return uint32(s.OnRequestHeaders(host{}, flag(endOfStream)))
	}
	return 0
}

//go:wasmexport proxy_on_request_body
func proxyOnRequestBody(id, size, endOfStream uint32) uint32 {
	newCallback()
	if s := stream(id); s != nil {
		return uint32(s.OnRequestBody(host{}, int(size), flag(endOfStream)))
	}
	return 0
}

//go:wasmexport proxy_on_response_headers
func proxyOnResponseHeaders(id, headers, endOfStream uint32) uint32 {
	newCallback()
	if s := stream(id); s != nil {
		return uint32(s.OnResponseHeaders(host{}, flag(endOfStream)))
	}
	return 0
}

//go:wasmexport proxy_on_response_body
func proxyOnResponseBody(id, size, endOfStream uint32) uint32 {
	newCallback()
	if s := stream(id); s != nil {
		return uint32(s.OnResponseBody(host{}, int(size), flag(endOfStream)))
	}
	return 0
}

//go:wasmexport proxy_on_log
func proxyOnLog(id uint32) {
	newCallback()
	if s := stream(id); s != nil {
		s.OnLog(host{})
	}
}

//go:wasmexport proxy_on_done
func proxyOnDone(id uint32) uint32 { return 1 }

//go:wasmexport proxy_on_delete
func proxyOnDelete(id uint32) {
	if id == lastID {
		lastID, lastStream = 0, nil
	}
	if _, ok := streams[id]; ok {
		delete(streams, id)
		return
	}
	delete(plugins, id)
}
