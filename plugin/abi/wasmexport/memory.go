//go:build wasip1 && !tinygo

package wasmexport

import "unsafe"

// The host asks for guest memory through proxy_on_memory_allocate, writes
// into it, and hands the address back through an out-pointer. A buffer must
// stay reachable until the plugin has read it, so it is kept here until
// taken.
//
// Most host data lands in one reused scratch buffer, and bodies are read in
// pieces no larger than it, so the allocate callback rarely allocates: a Go
// allocation there may start a GC, and on older Envoy a GC sleep
// (poll_oneoff) inside proxy_on_memory_allocate fails the VM.
const scratchSize = 64 << 10

var (
	scratch     []byte
	scratchLent bool
	extra       [][]byte // buffers that did not fit the scratch, until taken
)

// prepareMemory runs in the first callback, outside the allocate callback
// (init runs in _initialize, where only proxy_log is allowed).
func prepareMemory() {
	if scratch == nil {
		scratch = make([]byte, scratchSize)
	}
}

// target, while set, is where the host is to write the next buffer, so
// that it lands where the plugin keeps it, with no copy in between.
var target []byte

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) unsafe.Pointer {
	if t := target; t != nil && int(size) <= len(t) {
		target = nil
		return unsafe.Pointer(unsafe.SliceData(t))
	}
	if !scratchLent && int(size) <= len(scratch) {
		scratchLent = true
		return unsafe.Pointer(unsafe.SliceData(scratch))
	}
	b := make([]byte, max(size, 1))
	if len(extra) >= 16 { // never taken: the host failed after allocating
		extra = extra[1:]
	}
	extra = append(extra, b)
	return unsafe.Pointer(unsafe.SliceData(b))
}

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// take returns the buffer the host filled at ptr; release it when done.
func take(ptr, size uint32) []byte {
	if scratchLent && ptr == addr(scratch) && int(size) <= len(scratch) {
		return scratch[:size]
	}
	for i, b := range extra {
		if ptr == addr(b) && int(size) <= len(b) {
			extra = append(extra[:i], extra[i+1:]...)
			return b[:size]
		}
	}
	return nil
}

func release(b []byte) {
	if b != nil && unsafe.SliceData(b) == unsafe.SliceData(scratch) {
		scratchLent = false
	}
}
