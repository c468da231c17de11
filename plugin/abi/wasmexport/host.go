//go:build wasip1 && !tinygo

package wasmexport

import (
	"errors"
	"strconv"
	"unsafe"

	"github.com/llmproxy/llmproxy/plugin/intern"
	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// host implements proxy.Host for the context of the current callback.
type host struct{}

var _ proxy.Host = host{}

func statusErr(op string, st uint32) error {
	return errors.New(op + ": proxy-wasm status " + strconv.FormatUint(uint64(st), 10))
}

func strPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

func (host) Log(level proxy.Level, msg string) {
	proxyLog(uint32(level), strPtr(msg), uint32(len(msg)))
}

// The host's out-parameters and the property path are globals: a local
// whose address goes to an imported function escapes to the heap, one
// allocation per host call, and a VM runs one callback at a time.
var (
	outPtr, outSize uint32
	outU64          uint64
	pathBuf         []byte // grown by the first reads, then reused
)

// copyOut turns host-written memory into a string and frees the buffer.
func copyOut(ptr, size uint32) string {
	b := take(ptr, size)
	s := intern.Bytes(b)
	release(b)
	return s
}

// headerMaps holds each header map as the host serialised it, fetched with
// proxy_get_header_map_pairs at the second read in a callback: a plugin
// reading several headers makes one round trip into the host and back
// instead of two per header, and traffic that is not an LLM call, which
// reads only :method, never pays for the whole map.
var headerMaps [3]struct {
	gen   uint32 // callback of the reads below
	reads int
	data  []byte // reused
	ok    bool
}

// callbackGen numbers the callbacks, so header maps are read afresh in each.
var callbackGen uint32

func newCallback() {
	if callbackGen++; callbackGen == 0 { // 0 is "never read"
		callbackGen = 1
	}
}

// forgetHeaders makes the rest of the callback read m one header at a
// time, since the plugin just changed it.
func forgetHeaders(m proxy.HeaderMap) {
	if int(m) < len(headerMaps) {
		headerMaps[m].gen, headerMaps[m].reads, headerMaps[m].ok = callbackGen, 2, false
	}
}

func (host) Header(m proxy.HeaderMap, name string) (string, bool) {
	if int(m) >= len(headerMaps) {
		return headerValue(m, name)
	}
	hm := &headerMaps[m]
	if hm.gen != callbackGen {
		hm.gen, hm.reads, hm.ok = callbackGen, 0, false
	}
	if hm.reads++; hm.reads == 2 {
		hm.data = hm.data[:0]
		if proxyGetHeaderMapPairs(uint32(m), unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize)) == 0 {
			b := take(outPtr, outSize)
			hm.data, hm.ok = append(hm.data, b...), true
			release(b)
		}
	}
	if !hm.ok {
		return headerValue(m, name)
	}
	return lookupPair(hm.data, name)
}

func headerValue(m proxy.HeaderMap, name string) (string, bool) {
	if proxyGetHeaderMapValue(uint32(m), strPtr(name), uint32(len(name)), unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize)) != 0 {
		return "", false
	}
	return copyOut(outPtr, outSize), true
}

func (host) Property(path ...string) (string, bool) {
	p := pathBuf[:0]
	for i, el := range path {
		if i > 0 {
			p = append(p, 0) // the ABI separates path elements with NUL
		}
		p = append(p, el...)
	}
	pathBuf = p
	if proxyGetProperty(unsafe.Pointer(unsafe.SliceData(p)), uint32(len(p)), unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize)) != 0 {
		return "", false
	}
	return copyOut(outPtr, outSize), true
}

func (host) SetFilterState(key, value string) error {
	if st := proxySetProperty(strPtr(key), uint32(len(key)), strPtr(value), uint32(len(value))); st != 0 {
		return statusErr("set_property", st)
	}
	return nil
}

// ReadBody reads the current chunk in scratch-sized pieces, so the host
// never needs a larger allocation than the scratch buffer.
func (host) ReadBody(b proxy.Body, size int, fn func([]byte)) error {
	for start := 0; start < size; {
		n := min(size-start, scratchSize)
		if st := proxyGetBufferBytes(uint32(b), uint32(start), uint32(n), unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize)); st != 0 {
			return statusErr("get_buffer_bytes", st)
		}
		got := outSize
		if got == 0 {
			return nil
		}
		lend(outPtr, got, fn)
		start += int(got)
	}
	return nil
}

// lend hands a host-written buffer to fn and takes it back even if fn
// panics: a scratch buffer left lent would make every later host write a Go
// allocation inside proxy_on_memory_allocate.
func lend(ptr, size uint32, fn func([]byte)) {
	piece := take(ptr, size)
	defer release(piece)
	fn(piece)
}

func (host) ReadBodyInto(b proxy.Body, start int, dst []byte) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	target = dst
	st := proxyGetBufferBytes(uint32(b), uint32(start), uint32(len(dst)), unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize))
	ptr, got := outPtr, outSize
	direct := target == nil // the host wrote into dst
	target = nil
	if st != 0 {
		return 0, statusErr("get_buffer_bytes", st)
	}
	if got == 0 || direct && ptr == addr(dst) {
		return int(min(got, uint32(len(dst)))), nil
	}
	piece := take(ptr, got)
	n := copy(dst, piece)
	release(piece)
	return n, nil
}

func (host) SetHeader(m proxy.HeaderMap, name, value string) error {
	forgetHeaders(m)
	if st := proxyReplaceHeaderMapValue(uint32(m), strPtr(name), uint32(len(name)), strPtr(value), uint32(len(value))); st != 0 {
		return statusErr("replace_header_map_value", st)
	}
	return nil
}

func (host) RemoveHeader(m proxy.HeaderMap, name string) error {
	forgetHeaders(m)
	if st := proxyRemoveHeaderMapValue(uint32(m), strPtr(name), uint32(len(name))); st != 0 {
		return statusErr("remove_header_map_value", st)
	}
	return nil
}

// statusNotFound is the ABI's NotFound, which Envoy answers for a foreign
// function it does not register.
const statusNotFound = 1

const clearRouteCache = "clear_route_cache"

func (host) ClearRouteCache() error {
	outPtr, outSize = 0, 0
	st := proxyCallForeignFunction(strPtr(clearRouteCache), uint32(len(clearRouteCache)), nil, 0,
		unsafe.Pointer(&outPtr), unsafe.Pointer(&outSize))
	switch st {
	case 0:
		if outSize > 0 { // nothing is expected back; free what came
			release(take(outPtr, outSize))
		}
		return nil
	case statusNotFound:
		return proxy.ErrNotFound
	}
	return statusErr("call_foreign_function "+clearRouteCache, st)
}

// SetBody replaces the whole current buffer: Envoy drains size bytes from
// the start and prepends data.
func (host) SetBody(b proxy.Body, size int, data []byte) error {
	if st := proxySetBufferBytes(uint32(b), 0, uint32(size), unsafe.Pointer(unsafe.SliceData(data)), uint32(len(data))); st != 0 {
		return statusErr("set_buffer_bytes", st)
	}
	return nil
}

func (host) DefineMetric(kind proxy.MetricKind, name string) (uint32, error) {
	if st := proxyDefineMetric(uint32(kind), strPtr(name), uint32(len(name)), unsafe.Pointer(&outPtr)); st != 0 {
		return 0, statusErr("define_metric", st)
	}
	return outPtr, nil
}

func (host) AddCounter(id uint32, delta uint64) error {
	if delta > 1<<63-1 {
		delta = 1<<63 - 1
	}
	if st := proxyIncrementMetric(id, int64(delta)); st != 0 {
		return statusErr("increment_metric", st)
	}
	return nil
}

func (host) RecordHistogram(id uint32, value uint64) error {
	if st := proxyRecordMetric(id, value); st != 0 {
		return statusErr("record_metric", st)
	}
	return nil
}

func (host) Now() int64 {
	proxyGetCurrentTimeNanoseconds(unsafe.Pointer(&outU64))
	return int64(outU64)
}
