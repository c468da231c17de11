package tetrate

import (
	"fmt"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// metrics is each id this VM defined, with its kind.
type metrics map[uint32]proxy.MetricKind

// sdkCall turns the SDK's panics on host errors into errors.
func sdkCall(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

func (host) DefineMetric(kind proxy.MetricKind, name string) (id uint32, err error) {
	err = sdkCall(func() {
		if kind == proxy.Histogram {
			id = uint32(proxywasm.DefineHistogramMetric(name))
		} else {
			id = uint32(proxywasm.DefineCounterMetric(name))
		}
	})
	return id, err
}

func (host) AddCounter(id uint32, delta uint64) error {
	return sdkCall(func() { proxywasm.MetricCounter(id).Increment(delta) })
}

func (host) RecordHistogram(id uint32, value uint64) error {
	return sdkCall(func() { proxywasm.MetricHistogram(id).Record(value) })
}
