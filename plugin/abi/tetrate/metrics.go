package tetrate

import (
	"errors"
	"math"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// metrics is each id this VM defined, with its kind. The SDK's metric calls
// panic on any status but OK, and a panic aborts a TinyGo VM, so each call is
// made only when Envoy would accept it (context.cc): define with a kind it
// knows; increment a counter it defined, by 1 to MaxInt64; record into a
// histogram it defined.
type metrics map[uint32]proxy.MetricKind

var (
	errMetricKind    = errors.New("metric kind neither counter nor histogram")
	errUnknownMetric = errors.New("metric not defined by this VM with that kind")
	errZeroIncrement = errors.New("increment by 0") // Envoy: BadArgument
)

func (h host) DefineMetric(kind proxy.MetricKind, name string) (uint32, error) {
	var id uint32
	switch kind {
	case proxy.Counter:
		id = uint32(proxywasm.DefineCounterMetric(name))
	case proxy.Histogram:
		id = uint32(proxywasm.DefineHistogramMetric(name))
	default:
		return 0, errMetricKind
	}
	h.vm.metrics[id] = kind
	return id, nil
}

// AddCounter caps delta at MaxInt64, as the Go binding does: the ABI takes a
// signed offset.
func (h host) AddCounter(id uint32, delta uint64) error {
	switch {
	case !h.vm.metrics.has(id, proxy.Counter):
		return errUnknownMetric
	case delta == 0:
		return errZeroIncrement
	}
	proxywasm.MetricCounter(id).Increment(min(delta, math.MaxInt64))
	return nil
}

func (h host) RecordHistogram(id uint32, value uint64) error {
	if !h.vm.metrics.has(id, proxy.Histogram) {
		return errUnknownMetric
	}
	proxywasm.MetricHistogram(id).Record(value)
	return nil
}

func (m metrics) has(id uint32, kind proxy.MetricKind) bool {
	k, ok := m[id]
	return ok && k == kind
}
