//go:build wasip1

// Command guest is a tiny proxy-wasm plugin used to test the e2e host.
// The plugin configuration is a comma-separated list of behaviours.
package main

import (
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

func main() {}

var (
	modes             = map[string]bool{}
	counterID, histID uint32
	keep              [][]byte // allocations stay reachable until the next callback
	inAlloc           bool
	hostcallInInit    = os.Getenv("GUEST_MODE") == "hostcall-in-init"
	_                 = initCheck()
)

func initCheck() bool {
	if hostcallInInit {
		getProperty("plugin_root_id") // forbidden while _initialize runs
	}
	return true
}

//go:wasmexport proxy_on_memory_allocate
func onMemoryAllocate(size uint32) unsafe.Pointer {
	if modes["poll-in-alloc"] && !inAlloc {
		inAlloc = true
		time.Sleep(time.Millisecond) // the Go scheduler idles via poll_oneoff
		inAlloc = false
	}
	b := make([]byte, size)
	keep = append(keep, b)
	return unsafe.Pointer(&b[0])
}

//go:wasmexport proxy_on_context_create
func onContextCreate(ctx, parent uint32) {}

//go:wasmexport proxy_on_vm_start
func onVMStart(root, size uint32) uint32 {
	return 1
}

//go:wasmexport proxy_on_configure
func onConfigure(root, size uint32) uint32 {
	cfg, _ := getBuffer(7, size)
	for _, m := range strings.Split(string(cfg), ",") {
		modes[m] = true
	}
	if modes["loglevel"] {
		var lvl uint32
		proxyGetLogLevel(unsafe.Pointer(&lvl))
		logf(2, "level="+strconv.Itoa(int(lvl)))
	}
	if modes["metric"] {
		counterID = defineMetric(0, "asm_llm_proxy_prompt_tokens|llmproxy_model=qwen-turbo")
		histID = defineMetric(2, "asm_llm_proxy_latency|llmproxy_model=qwen-turbo")
	}
	if modes["wasi"] {
		logf(2, wasiProbe())
	}
	if modes["httpcall"] {
		st := proxyHTTPCall(nil, 0, nil, 0, nil, 0, nil, 0, 0, nil)
		logf(2, "http_call="+strconv.Itoa(int(st)))
	}
	if modes["refuse"] {
		logf(4, "guest: configuration mode \"refuse\" refuses")
	}
	return b2u(!modes["refuse"])
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func props(cb string) {
	if !modes["props"] {
		return
	}
	for _, p := range []string{"request\x00path", "xds\x00cluster_name", "cluster_name",
		"xds\x00node\x00metadata\x00MESH_ID", "node\x00metadata\x00MESH_ID", "response\x00code"} {
		v, st := getProperty(p)
		if st != 0 {
			v = "!" + strconv.Itoa(int(st))
		} else if p == "response\x00code" {
			v = strconv.Itoa(int(v[0]) | int(v[1])<<8)
		}
		logf(1, cb+" "+strings.ReplaceAll(p, "\x00", ".")+"="+v)
	}
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(ctx, n, eos uint32) uint32 {
	keep = nil
	props("req_headers")
	if modes["setprop"] {
		setProperty("asm.llmproxy.request_model", "qwen-turbo")
	}
	if modes["reroute"] {
		replaceHeader(0, ":authority", "b.example")
	}
	if modes["localreply"] {
		hdrs := []byte{1, 0, 0, 0, 8, 0, 0, 0, 4, 0, 0, 0}
		hdrs = append(hdrs, "x-reason\x00test\x00"...)
		dp, dn := ptr([]byte("denied_by_test"))
		bp, bn := ptr([]byte("nope"))
		hp, hn := ptr(hdrs)
		proxySendLocalResponse(403, dp, dn, bp, bn, hp, hn, -1)
		return 1
	}
	if modes["stop"] {
		return 1
	}
	return 0
}

//go:wasmexport proxy_on_request_body
func onRequestBody(ctx, size, eos uint32) uint32 {
	props("req_body")
	if modes["panic"] {
		panic("boom")
	}
	if modes["late-header"] {
		logf(2, "late-header="+strconv.Itoa(int(replaceHeader(0, "x-late", "1"))))
	}
	if modes["echo-body"] {
		b, _ := getBuffer(0, size)
		logf(2, "req body "+strconv.Itoa(len(b))+" eos="+strconv.Itoa(int(eos)))
	}
	if modes["buffer"] {
		if eos == 0 {
			return 1
		}
		b, _ := getBuffer(0, size)
		logf(2, "buffered "+strconv.Itoa(len(b)))
		if modes["rewrite"] {
			setBuffer(0, 0, size, []byte(strings.ToUpper(string(b))))
		}
	}
	return 0
}

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(ctx, n, eos uint32) uint32 {
	props("resp_headers")
	if modes["stopall-resp"] {
		return 3 // StopAllIterationAndBuffer
	}
	return 0
}

//go:wasmexport proxy_on_response_body
func onResponseBody(ctx, size, eos uint32) uint32 {
	if modes["buffer-resp"] && eos == 0 {
		return 1
	}
	if modes["echo-body"] {
		b, _ := getBuffer(1, size)
		logf(2, "resp body "+strconv.Itoa(len(b))+" eos="+strconv.Itoa(int(eos)))
	}
	if modes["setprop"] && eos == 1 {
		setProperty("asm.llmproxy.total_tokens", "42")
	}
	if modes["upper-resp"] {
		b, _ := getBuffer(1, size)
		setBuffer(1, 0, size, []byte(strings.ToUpper(string(b))))
	}
	return 0
}

//go:wasmexport proxy_on_log
func onLog(ctx uint32) {
	props("log")
	if modes["setprop"] {
		v, st := getProperty("asm.llmproxy.request_model")
		logf(2, "log model="+v+" st="+strconv.Itoa(int(st)))
	}
	if modes["metric"] {
		proxyIncrementMetric(counterID, 11)
		st := proxyIncrementMetric(counterID, -1)
		logf(2, "negative increment status="+strconv.Itoa(int(st)))
		proxyRecordMetric(histID, 7)
	}
}

//go:wasmexport proxy_on_done
func onDone(ctx uint32) uint32 { return 1 }

//go:wasmexport proxy_on_delete
func onDelete(ctx uint32) {}

// wasiProbe asks the WASI functions Go's runtime and os package use what
// the host answers.
func wasiProbe() string {
	var stat [24]byte
	var sub [48]byte // one clock subscription, relative, timeout 0
	var ev [32]byte
	nevents := uint32(99)
	out := "set_flags=" + strconv.Itoa(int(fdFdstatSetFlags(1, 0)))
	out += " fdstat0=" + strconv.Itoa(int(fdFdstatGet(0, unsafe.Pointer(&stat[0]))))
	out += " fdstat1=" + strconv.Itoa(int(fdFdstatGet(1, unsafe.Pointer(&stat[0]))))
	out += " rights=" + strconv.Itoa(int(stat[8]))
	sub[8] = 0 // eventtype clock
	out += " poll=" + strconv.Itoa(int(pollOneoff(unsafe.Pointer(&sub[0]), unsafe.Pointer(&ev[0]), 1, unsafe.Pointer(&nevents))))
	return out + " nevents=" + strconv.Itoa(int(nevents))
}
