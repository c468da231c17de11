// Package proxy is the contract between an ABI binding and a filter: the
// binding implements Host and drives Root and HTTP; the filter implements
// them and calls nothing else of the proxy.
package proxy

import "errors"

// Host is what the filter needs from the proxy.
type Host interface {
	Log(level Level, msg string)
	// Header reads one header of the current stream.
	Header(m HeaderMap, name string) (string, bool)
	// Property reads an attribute such as xds.cluster_name.
	Property(path ...string) (string, bool)
	// SetFilterState sets one filter-state value; key is a single path
	// element, stored by Envoy as "wasm." + key.
	SetFilterState(key, value string) error
	// ReadBody hands the current body chunk to fn, possibly in several
	// pieces, without asking the proxy to buffer anything.
	ReadBody(b Body, size int, fn func([]byte)) error
	// ReadBodyInto copies bytes of the current body chunk from start into
	// dst, and returns how many it copied.
	ReadBodyInto(b Body, start int, dst []byte) (int, error)
	// SetHeader and RemoveHeader change a header map while its headers
	// callback runs.
	SetHeader(m HeaderMap, name, value string) error
	RemoveHeader(m HeaderMap, name string) error
	// ClearRouteCache makes the proxy pick the route again from the request
	// headers as they now stand. Envoy >= 1.33 no longer does it after a
	// Wasm header edit (envoy#36671); ErrNotFound means an older proxy,
	// where the edit itself cleared the cache.
	ClearRouteCache() error
	// SetBody replaces the current body chunk of size bytes (or, after
	// buffering, the buffered body) with data.
	SetBody(b Body, size int, data []byte) error
	DefineMetric(kind MetricKind, name string) (uint32, error)
	AddCounter(id uint32, delta uint64) error
	RecordHistogram(id uint32, value uint64) error
	// Now is the proxy's wall clock in nanoseconds.
	Now() int64
}

// ErrNotFound is what a binding returns when the proxy answers NotFound,
// for instance to a foreign function it does not have.
var ErrNotFound = errors.New("not found")

// MetricKind is a metric type, numbered as in the proxy-wasm ABI.
type MetricKind uint32

// Metric kinds.
const (
	Counter   MetricKind = 0
	Histogram MetricKind = 2
)

// Level is a log level, numbered as in the proxy-wasm ABI.
type Level uint32

// Log levels.
const (
	Trace Level = iota
	Debug
	Info
	Warn
	Error
)

// HeaderMap names a header map of the stream.
type HeaderMap uint32

// Header maps, numbered as in the proxy-wasm ABI.
const (
	RequestHeaders  HeaderMap = 0
	ResponseHeaders HeaderMap = 2
)

// Body names a body buffer of the stream.
type Body uint32

// Bodies, numbered as in the proxy-wasm ABI.
const (
	RequestBody  Body = 0
	ResponseBody Body = 1
)

// Action is what a callback tells the proxy to do with the stream.
type Action uint32

// Actions. An observe-only filter only ever continues; a body it must
// rewrite it buffers until its end.
const (
	Continue               Action = 0
	StopIterationAndBuffer Action = 1 // body callbacks only
)

// Root is one configured plugin instance (the proxy's root context).
type Root interface {
	// Configure applies the plugin configuration; an error means the
	// plugin must refuse to start.
	Configure(h Host, raw []byte) error
	NewHTTP() HTTP
}

// HTTP is the state of one HTTP stream.
type HTTP interface {
	OnRequestHeaders(h Host, endOfStream bool) Action
	OnRequestBody(h Host, size int, endOfStream bool) Action
	OnResponseHeaders(h Host, endOfStream bool) Action
	OnResponseBody(h Host, size int, endOfStream bool) Action
	// OnLog runs before the access log is written.
	OnLog(h Host)
}
