package host

import (
	"context"
	"encoding/binary"
	"fmt"
)

// Proxy-wasm status codes (WasmResult).
const (
	statusOK                   = 0
	statusNotFound             = 1
	statusBadArgument          = 2
	statusSerializationFailure = 3
	statusParseFailure         = 4
	statusInvalidMemoryAccess  = 6
	statusEmpty                = 7
	statusCasMismatch          = 8
	statusInternalFailure      = 10
	statusUnimplemented        = 12
)

func (h *Host) read(ptr, size uint32) ([]byte, bool) {
	b, ok := h.guest.Memory().Read(ptr, size)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

func (h *Host) readString(ptr, size uint32) (string, bool) {
	b, ok := h.guest.Memory().Read(ptr, size)
	return string(b), ok
}

func (h *Host) writeU32(ptr, v uint32) bool { return h.guest.Memory().WriteUint32Le(ptr, v) }

func (h *Host) writeU64(ptr uint32, v uint64) bool { return h.guest.Memory().WriteUint64Le(ptr, v) }

// returnBytes hands data to the guest the Envoy way: guest-allocated copy,
// then (ptr,size) written to the out-pointers. Empty data allocates nothing.
func (h *Host) returnBytes(ctx context.Context, data []byte, ptrPtr, sizePtr uint32) uint32 {
	var ptr uint32
	if len(data) > 0 {
		p, err := h.alloc(ctx, uint32(len(data)))
		if err != nil {
			// The allocator broke a rule or trapped: the VM is unusable.
			panic(err)
		}
		if !h.guest.Memory().Write(p, data) {
			return statusInvalidMemoryAccess
		}
		ptr = p
	}
	if !h.writeU32(ptrPtr, ptr) || !h.writeU32(sizePtr, uint32(len(data))) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// alloc calls the guest allocator with Envoy's restricted-callback rules.
func (h *Host) alloc(ctx context.Context, size uint32) (uint32, error) {
	f := h.fn("malloc")
	if f == nil {
		f = h.fn("proxy_on_memory_allocate")
	}
	if f == nil {
		return 0, fmt.Errorf("module exports neither malloc nor proxy_on_memory_allocate")
	}
	prev := h.phase
	h.phase = phaseAlloc
	res, err := f.Call(ctx, uint64(size))
	h.phase = prev
	if err != nil {
		return 0, fmt.Errorf("proxy_on_memory_allocate(%d): %w", size, err)
	}
	p := uint32(res[0])
	h.allocs.record(p)
	if p == 0 {
		return 0, fmt.Errorf("proxy_on_memory_allocate(%d) returned 0", size)
	}
	return p, nil
}

// encodePairs uses the proxy-wasm map serialization: u32 count, u32 key/value
// sizes, then each key NUL value NUL.
func encodePairs(pairs [][2]string) []byte {
	n := 4 + 8*len(pairs)
	for _, p := range pairs {
		n += len(p[0]) + len(p[1]) + 2
	}
	buf := make([]byte, n)
	binary.LittleEndian.PutUint32(buf, uint32(len(pairs)))
	off := 4
	for _, p := range pairs {
		binary.LittleEndian.PutUint32(buf[off:], uint32(len(p[0])))
		binary.LittleEndian.PutUint32(buf[off+4:], uint32(len(p[1])))
		off += 8
	}
	for _, p := range pairs {
		off += copy(buf[off:], p[0]) + 1
		off += copy(buf[off:], p[1]) + 1
	}
	return buf
}

func decodePairs(b []byte) ([][2]string, bool) {
	if len(b) == 0 {
		return nil, true
	}
	if len(b) < 4 {
		return nil, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n > len(b)/8 {
		return nil, false
	}
	off := 4 + 8*n
	if off > len(b) {
		return nil, false
	}
	out := make([][2]string, 0, n)
	for i := 0; i < n; i++ {
		kl := int(binary.LittleEndian.Uint32(b[4+8*i:]))
		vl := int(binary.LittleEndian.Uint32(b[8+8*i:]))
		if off+kl+vl+2 > len(b) {
			return nil, false
		}
		k := string(b[off : off+kl])
		off += kl + 1
		v := string(b[off : off+vl])
		off += vl + 1
		out = append(out, [2]string{k, v})
	}
	return out, true
}
