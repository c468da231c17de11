package host

import (
	"context"

	"github.com/tetratelabs/wazero"
)

// Map types and buffer types of the ABI.
const (
	mapRequestHeaders = iota
	mapRequestTrailers
	mapResponseHeaders
	mapResponseTrailers
)

const (
	bufRequestBody  = 0
	bufResponseBody = 1
	bufVMConfig     = 6
	bufPluginConfig = 7
)

var mapNames = []string{"request headers", "request trailers", "response headers", "response trailers"}

// mutableMap is Envoy's getMap: nil once the filter let the headers go.
func (h *Host) mutableMap(t uint32) *headerMap {
	s := h.cur
	if s == nil {
		return nil
	}
	switch t {
	case mapRequestHeaders:
		if s.req.hdrOpen {
			return s.req.hdr
		}
	case mapRequestTrailers:
		if s.req.trlOpen {
			return s.req.trl
		}
	case mapResponseHeaders:
		if s.resp.hdrOpen {
			return s.resp.hdr
		}
	case mapResponseTrailers:
		if s.resp.trlOpen {
			return s.resp.trl
		}
	}
	return nil
}

// constMap is Envoy's getConstMap: in proxy_on_log the access-log maps.
func (h *Host) constMap(t uint32) *headerMap {
	s := h.cur
	if s == nil || !s.logPhase {
		return h.mutableMap(t)
	}
	switch t {
	case mapRequestHeaders:
		return s.req.hdr
	case mapResponseHeaders:
		return s.resp.hdr
	case mapResponseTrailers:
		return s.resp.trl
	}
	return nil
}

// writableMap returns the map for a mutation, recording a violation when the
// plugin edits headers Envoy already sent on.
func (h *Host) writableMap(t uint32) (*headerMap, uint32) {
	if t > mapResponseTrailers {
		return nil, statusBadArgument
	}
	m := h.mutableMap(t)
	if m == nil {
		if h.cur != nil {
			h.violation(false, "modified %s after they were forwarded", mapNames[t])
		}
		return nil, statusBadArgument
	}
	return m, statusOK
}

func (h *Host) exportHTTP(b wazero.HostModuleBuilder) {
	h.export(b, "proxy_get_header_map_value", params(5), func(ctx context.Context, s []uint64) uint32 {
		key, ok := h.readString(uint32(s[1]), uint32(s[2]))
		if !ok {
			return statusInvalidMemoryAccess
		}
		m := h.constMap(uint32(s[0]))
		if m == nil {
			if h.cur != nil && h.cur.logPhase {
				return statusNotFound
			}
			return statusBadArgument
		}
		v, found := m.get(key)
		if !found {
			return statusNotFound
		}
		return h.returnBytes(ctx, []byte(v), uint32(s[3]), uint32(s[4]))
	})
	h.export(b, "proxy_get_header_map_pairs", params(3), func(ctx context.Context, s []uint64) uint32 {
		if uint32(s[0]) > 7 {
			return statusBadArgument
		}
		var data []byte
		if m := h.constMap(uint32(s[0])); m != nil && len(m.pairs) > 0 {
			data = encodePairs(m.pairs)
		}
		return h.returnBytes(ctx, data, uint32(s[1]), uint32(s[2]))
	})
	h.export(b, "proxy_set_header_map_pairs", params(3), func(_ context.Context, s []uint64) uint32 {
		raw, ok := h.read(uint32(s[1]), uint32(s[2]))
		if !ok {
			return statusInvalidMemoryAccess
		}
		pairs, ok := decodePairs(raw)
		if !ok {
			return statusBadArgument
		}
		m, st := h.writableMap(uint32(s[0]))
		if m == nil {
			return st
		}
		h.edited(uint32(s[0]))
		*m = *newHeaderMap(pairs)
		return statusOK
	})
	h.export(b, "proxy_add_header_map_value", params(5), h.mapEdit(func(m *headerMap, k, v string) { m.add(k, v) }))
	h.export(b, "proxy_replace_header_map_value", params(5), h.mapEdit(func(m *headerMap, k, v string) { m.replace(k, v) }))
	h.export(b, "proxy_remove_header_map_value", params(3), func(_ context.Context, s []uint64) uint32 {
		key, ok := h.readString(uint32(s[1]), uint32(s[2]))
		if !ok {
			return statusInvalidMemoryAccess
		}
		m, st := h.writableMap(uint32(s[0]))
		if m == nil {
			return st
		}
		h.edited(uint32(s[0]))
		m.remove(key)
		return statusOK
	})
	h.export(b, "proxy_get_header_map_size", params(2), func(_ context.Context, s []uint64) uint32 {
		m := h.mutableMap(uint32(s[0]))
		if m == nil {
			return statusBadArgument
		}
		return okIf(h.writeU32(uint32(s[1]), uint32(m.byteSize())))
	})
	h.export(b, "proxy_get_buffer_bytes", params(5), func(ctx context.Context, s []uint64) uint32 {
		buf, ok := h.buffer(uint32(s[0]))
		if !ok {
			return statusNotFound
		}
		start, length := uint64(uint32(s[1])), uint64(uint32(s[2]))
		size := uint64(len(buf))
		if start > size {
			length = 0
		} else if start+length > size {
			length = size - start
		}
		var data []byte
		if length > 0 {
			data = buf[start : start+length]
		}
		return h.returnBytes(ctx, data, uint32(s[3]), uint32(s[4]))
	})
	h.export(b, "proxy_get_buffer_status", params(3), func(_ context.Context, s []uint64) uint32 {
		buf, ok := h.buffer(uint32(s[0]))
		if !ok {
			return statusNotFound
		}
		return okIf(h.writeU32(uint32(s[1]), uint32(len(buf))) && h.writeU32(uint32(s[2]), 0))
	})
	h.export(b, "proxy_set_buffer_bytes", params(5), func(_ context.Context, s []uint64) uint32 {
		t := uint32(s[0])
		buf, ok := h.buffer(t)
		if !ok {
			return statusNotFound
		}
		data, ok := h.read(uint32(s[3]), uint32(s[4]))
		if !ok {
			return statusInvalidMemoryAccess
		}
		if t != bufRequestBody && t != bufResponseBody {
			return statusBadArgument // configuration buffers are immutable
		}
		// Envoy Buffer::copyFrom: start 0 drains length then prepends; start
		// at/after the end appends; anything else is refused.
		start, length := int(uint32(s[1])), int(uint32(s[2]))
		var out []byte
		switch {
		case start == 0:
			if length > len(buf) {
				length = len(buf)
			}
			out = append(append(out, data...), buf[length:]...)
		case start >= len(buf):
			out = append(append(out, buf...), data...)
		default:
			return statusBadArgument
		}
		sd := &h.cur.req
		if t == bufResponseBody {
			sd = &h.cur.resp
		}
		sd.setCurrent(out)
		return statusOK
	})
}

// edited tells the route model that the request headers changed.
func (h *Host) edited(t uint32) {
	if t == mapRequestHeaders && h.cur != nil {
		h.requestHeadersEdited(h.cur)
	}
}

func (h *Host) mapEdit(op func(m *headerMap, k, v string)) envFn {
	return func(_ context.Context, s []uint64) uint32 {
		key, ok1 := h.readString(uint32(s[1]), uint32(s[2]))
		val, ok2 := h.readString(uint32(s[3]), uint32(s[4]))
		if !ok1 || !ok2 {
			return statusInvalidMemoryAccess
		}
		m, st := h.writableMap(uint32(s[0]))
		if m == nil {
			return st
		}
		h.edited(uint32(s[0]))
		op(m, key, val)
		return statusOK
	}
}

// buffer is Envoy's getBuffer: body buffers exist only inside body callbacks
// (or while paused); plugin configuration only during proxy_on_configure.
func (h *Host) buffer(t uint32) ([]byte, bool) {
	switch t {
	case bufVMConfig:
		return h.opts.VMConfig, true
	case bufPluginConfig:
		if h.cfgPlugin {
			return h.opts.PluginConfig, true
		}
		return nil, false
	case bufRequestBody, bufResponseBody:
		if h.cur == nil {
			return nil, false
		}
		sd := &h.cur.req
		if t == bufResponseBody {
			sd = &h.cur.resp
		}
		if !sd.bodyOpen {
			return nil, false
		}
		return sd.current(), true
	}
	return nil, false
}
