// Package memhost is an in-memory proxy.Host that drives a proxy.Root
// natively through a host.Exchange, so a filter's own cost can be measured
// without a VM. Like the wasm binding, it copies each body chunk into one
// reused 64 KiB buffer before the filter sees it: that copy is part of the
// floor every filter pays.
package memhost

import (
	"time"

	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/plugin/proxy"
)

const scratchSize = 64 << 10

// Host is one proxy with one plugin instance. It is not safe for concurrent
// use.
type Host struct {
	node     map[string]string
	ex       *host.Exchange
	chunk    []byte
	scratch  []byte
	State    map[string]string // filter state of the last stream, "wasm." + key
	Counters map[string]uint64
	names    []string
	Logs     []string
}

// New returns a host whose node metadata is node (WORKLOAD_NAME, NAMESPACE).
func New(node map[string]string) *Host {
	return &Host{node: node, scratch: make([]byte, scratchSize),
		State: map[string]string{}, Counters: map[string]uint64{}}
}

var _ proxy.Host = (*Host)(nil)

// Log implements proxy.Host.
func (h *Host) Log(level proxy.Level, msg string) { h.Logs = append(h.Logs, msg) }

// Header implements proxy.Host.
func (h *Host) Header(m proxy.HeaderMap, name string) (string, bool) {
	hs := h.ex.RequestHeaders
	if m == proxy.ResponseHeaders {
		hs = h.ex.ResponseHeaders
	}
	for _, kv := range hs {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

// Property implements proxy.Host for the node metadata and the cluster name.
func (h *Host) Property(path ...string) (string, bool) {
	switch {
	case len(path) == 4 && path[0] == "xds" && path[1] == "node" && path[2] == "metadata":
		v, ok := h.node[path[3]]
		return v, ok
	case len(path) == 2 && path[0] == "xds" && path[1] == "cluster_name":
		return h.ex.ClusterName, true
	}
	return "", false
}

// SetFilterState implements proxy.Host.
func (h *Host) SetFilterState(key, value string) error {
	h.State["wasm."+key] = value
	return nil
}

// ReadBody implements proxy.Host: the chunk is copied out in scratch-sized
// pieces, as proxy_get_buffer_bytes copies it into guest memory.
func (h *Host) ReadBody(b proxy.Body, size int, fn func([]byte)) error {
	for p := h.chunk[:size]; len(p) > 0; {
		n := copy(h.scratch, p)
		fn(h.scratch[:n])
		p = p[n:]
	}
	return nil
}

// ReadBodyInto implements proxy.Host, copying as proxy_get_buffer_bytes
// does.
func (h *Host) ReadBodyInto(b proxy.Body, start int, dst []byte) (int, error) {
	return copy(dst, h.chunk[start:]), nil
}

// SetHeader implements proxy.Host; the exchange is shared by iterations, so
// the edit is not applied.
func (h *Host) SetHeader(proxy.HeaderMap, string, string) error { return nil }

// RemoveHeader implements proxy.Host, and is not applied either.
func (h *Host) RemoveHeader(proxy.HeaderMap, string) error { return nil }

// ClearRouteCache implements proxy.Host; there is no route to clear.
func (h *Host) ClearRouteCache() error { return nil }

// SetBody implements proxy.Host, and is not applied either: the default
// configuration only observes.
func (h *Host) SetBody(proxy.Body, int, []byte) error { return nil }

// DefineMetric implements proxy.Host.
func (h *Host) DefineMetric(kind proxy.MetricKind, name string) (uint32, error) {
	h.names = append(h.names, name)
	return uint32(len(h.names) - 1), nil
}

// RecordHistogram implements proxy.Host; samples are not kept.
func (h *Host) RecordHistogram(uint32, uint64) error { return nil }

// Now implements proxy.Host.
func (h *Host) Now() int64 { return time.Now().UnixNano() }

// AddCounter implements proxy.Host.
func (h *Host) AddCounter(id uint32, delta uint64) error {
	h.Counters[h.names[id]] += delta
	return nil
}

// Steps is the number of callbacks Play can deliver for ex.
func Steps(ex *host.Exchange) int { return len(ex.RequestBody) + len(ex.ResponseBody) + 3 }

// Run delivers the whole exchange to s, with a fresh filter state. It
// reports whether every callback returned Continue.
func (h *Host) Run(s proxy.HTTP, ex *host.Exchange) bool {
	clear(h.State)
	return h.Play(s, ex, 0, Steps(ex))
}

// Play delivers callbacks [from, to) of ex to s: request headers, request
// body chunks, response headers, response body chunks, then the log
// callback. Several streams can be held part-way to measure what each keeps.
// It reports whether every callback returned Continue.
func (h *Host) Play(s proxy.HTTP, ex *host.Exchange, from, to int) bool {
	h.ex = ex
	req, resp := len(ex.RequestBody), len(ex.ResponseBody)
	var acts proxy.Action
	for i := from; i < to; i++ {
		switch {
		case i == 0:
			acts |= s.OnRequestHeaders(h, req == 0)
		case i <= req:
			h.chunk = ex.RequestBody[i-1]
			acts |= s.OnRequestBody(h, len(h.chunk), i == req)
		case i == req+1:
			acts |= s.OnResponseHeaders(h, resp == 0)
		case i <= req+1+resp:
			h.chunk = ex.ResponseBody[i-req-2]
			acts |= s.OnResponseBody(h, len(h.chunk), i == req+1+resp)
		default:
			s.OnLog(h)
		}
	}
	h.chunk = nil
	return acts == proxy.Continue
}
