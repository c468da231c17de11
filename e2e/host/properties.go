package host

import (
	"context"
	"encoding/binary"
	"strings"

	"github.com/tetratelabs/wazero"
)

func (h *Host) exportProperties(b wazero.HostModuleBuilder) {
	h.export(b, "proxy_get_property", params(4), func(ctx context.Context, s []uint64) uint32 {
		path, ok := h.readString(uint32(s[0]), uint32(s[1]))
		if !ok {
			return statusInvalidMemoryAccess
		}
		v, st := h.getProperty(path)
		if st != statusOK {
			return st
		}
		return h.returnBytes(ctx, v, uint32(s[2]), uint32(s[3]))
	})
	h.export(b, "proxy_set_property", params(4), func(_ context.Context, s []uint64) uint32 {
		path, ok1 := h.readString(uint32(s[0]), uint32(s[1]))
		val, ok2 := h.readString(uint32(s[2]), uint32(s[3]))
		if !ok1 || !ok2 {
			return statusInvalidMemoryAccess
		}
		st := h.cur
		if st == nil {
			return statusNotFound // no stream info on the root context
		}
		// Envoy keys filter state by "wasm." + the raw path bytes.
		key := "wasm." + path
		if _, seen := st.res.FilterState[key]; !seen {
			st.res.FilterStateOrder = append(st.res.FilterStateOrder, key)
		}
		st.res.FilterState[key] = val
		st.res.FilterStateSetIn[key] = h.cb
		return statusOK
	})
}

// getProperty resolves a NUL-separated attribute path like Envoy's
// Context::getProperty: the first element picks a root, the rest descend.
func (h *Host) getProperty(path string) ([]byte, uint32) {
	parts := strings.Split(strings.TrimSuffix(path, "\x00"), "\x00")
	if len(parts) == 0 || parts[0] == "" {
		return nil, statusNotFound
	}
	s, rest := h.cur, parts[1:]
	legacy := h.opts.LegacyAttributes
	var v []byte
	found := false
	switch parts[0] {
	case "request":
		v, found = h.requestAttr(s, rest)
	case "response":
		v, found = h.responseAttr(s, rest)
	case "xds":
		if !legacy {
			v, found = h.xdsAttr(s, rest)
		}
	case "node":
		if legacy {
			v, found = h.nodeAttr(rest)
		}
	case "cluster_name", "route_name":
		if legacy && len(rest) == 0 {
			v, found = h.xdsAttr(s, parts[:1])
		}
	case "plugin_name":
		v, found = []byte(h.opts.PluginName), len(rest) == 0
	case "plugin_root_id":
		v, found = []byte(h.opts.RootID), len(rest) == 0
	case "plugin_vm_id":
		v, found = []byte(""), len(rest) == 0
	case "filter_state":
		if s != nil && len(rest) == 1 {
			var str string
			str, found = s.res.FilterState[rest[0]]
			v = []byte(str)
		}
	}
	if found {
		return v, statusOK
	}
	// Fallback used by Envoy: filter state written by proxy_set_property.
	if s != nil && len(rest) == 0 {
		if str, ok := s.res.FilterState["wasm."+parts[0]]; ok {
			return []byte(str), statusOK
		}
	}
	return nil, statusNotFound
}

func (h *Host) requestAttr(s *stream, rest []string) ([]byte, bool) {
	if s == nil || len(rest) == 0 {
		return nil, false
	}
	if rest[0] == "protocol" && len(rest) == 1 {
		return []byte("HTTP/1.1"), true // from stream info, always there
	}
	// Header-backed attributes need Envoy's request header map, which exists
	// only until the filter continues the headers, and again in on_log.
	if !s.req.hdrOpen && !s.logPhase {
		return nil, false
	}
	return headerAttr(s.req.hdr, rest)
}

func headerAttr(m *headerMap, rest []string) ([]byte, bool) {
	get := func(k string) ([]byte, bool) {
		v, ok := m.get(k)
		return []byte(v), ok
	}
	switch rest[0] {
	case "headers":
		return mapAttr(m, rest[1:])
	case "trailers":
		return nil, false
	}
	if len(rest) != 1 {
		return nil, false
	}
	switch rest[0] {
	case "path":
		return get(":path")
	case "url_path":
		p, ok := m.get(":path")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return []byte(p), ok
	case "query":
		p, ok := m.get(":path")
		q := ""
		if i := strings.IndexByte(p, '?'); i >= 0 {
			q = p[i+1:]
		}
		return []byte(q), ok
	case "host":
		return get(":authority")
	case "scheme":
		return get(":scheme")
	case "method":
		return get(":method")
	case "referer":
		return get("referer")
	case "useragent":
		return get("user-agent")
	case "id":
		return get("x-request-id")
	}
	return nil, false
}

// mapAttr serves x.headers (whole map as pairs) or x.headers.<name>; repeated
// values are joined with "," as Envoy's CEL header wrapper does.
func mapAttr(m *headerMap, rest []string) ([]byte, bool) {
	if m == nil || len(rest) > 1 {
		return nil, false
	}
	if len(rest) == 0 {
		return encodePairs(m.pairs), true
	}
	key := strings.ToLower(rest[0])
	var vals []string
	for _, p := range m.pairs {
		if p[0] == key {
			vals = append(vals, p[1])
		}
	}
	if len(vals) == 0 {
		return nil, false
	}
	return []byte(strings.Join(vals, ",")), true
}

func (h *Host) responseAttr(s *stream, rest []string) ([]byte, bool) {
	if s == nil || len(rest) == 0 || s.respCode == 0 || !(s.resp.started || s.logPhase) {
		return nil, false
	}
	switch {
	case rest[0] == "code" && len(rest) == 1:
		b := make([]byte, 8) // CEL int64, native little-endian
		binary.LittleEndian.PutUint64(b, uint64(s.respCode))
		return b, true
	case rest[0] == "code_details" && len(rest) == 1:
		if lr := s.res.LocalReply; lr != nil {
			return []byte(lr.Details), true
		}
		return []byte("via_upstream"), true
	case rest[0] == "headers" && (s.resp.hdrOpen || s.logPhase):
		return mapAttr(s.resp.hdr, rest[1:])
	case rest[0] == "trailers" && (s.resp.trlOpen || s.logPhase):
		return mapAttr(s.resp.trl, rest[1:])
	}
	return nil, false
}

func (h *Host) xdsAttr(s *stream, rest []string) ([]byte, bool) {
	if len(rest) == 0 {
		return nil, false
	}
	switch rest[0] {
	case "node":
		return h.nodeAttr(rest[1:])
	case "cluster_name":
		// Stricter than Envoy on purpose: HCM's refreshCachedRoute (envoy
		// source/common/http/conn_manager_impl.cc) often sets it before the
		// filters run, but plugins must not rely on that in request headers.
		if s == nil || !s.reqHdrsDone || s.cluster == "" || len(rest) != 1 {
			return nil, false
		}
		return []byte(s.cluster), true
	case "route_name":
		if s == nil || h.opts.RouteName == "" || len(rest) != 1 {
			return nil, false
		}
		return []byte(h.opts.RouteName), true
	}
	return nil, false
}

func (h *Host) nodeAttr(rest []string) ([]byte, bool) {
	if len(rest) != 2 || rest[0] != "metadata" {
		return nil, false
	}
	v, ok := h.opts.NodeMetadata[rest[1]]
	return []byte(v), ok
}
