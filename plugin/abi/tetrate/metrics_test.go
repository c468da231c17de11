package tetrate

import (
	"errors"
	"math"
	"testing"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/proxytest"

	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// sdkPanics reports whether f panics. Natively a panic can be recovered;
// on TinyGo it aborts the VM, which is why the binding checks first.
func sdkPanics(f func()) (panicked bool) {
	defer func() { panicked = recover() != nil }()
	f()
	return false
}

// Every metric call Envoy would refuse, and on which the SDK would panic, is
// answered with an error before the SDK is called; what Envoy accepts goes
// through to the emulator.
func TestMetricCallsCheckedBeforeTheSDK(t *testing.T) {
	emu, _ := newEmulator(t, proxytest.NewEmulatorOption().WithVMContext(&VMContext{NewRoot: newRoot}))
	h := host{&vmState{metrics: metrics{}}}
	counter, err := h.DefineMetric(proxy.Counter, "c")
	if err != nil {
		t.Fatal(err)
	}
	histogram, err := h.DefineMetric(proxy.Histogram, "h")
	if err != nil {
		t.Fatal(err)
	}
	const unknown = 999
	// The emulator refuses an unknown id, so the SDK panics on it: the
	// checks below are what keeps a TinyGo VM alive.
	if !sdkPanics(func() { proxywasm.MetricCounter(unknown).Increment(1) }) ||
		!sdkPanics(func() { proxywasm.MetricHistogram(unknown).Record(1) }) {
		t.Fatal("the SDK no longer panics on an unknown metric id; revisit metrics.go")
	}
	other := host{&vmState{metrics: metrics{}}} // another VM: its ids are not ours
	for _, c := range []struct {
		name string
		call func() error
		want error
	}{
		{"define a gauge", func() error { _, err := h.DefineMetric(1, "g"); return err }, errMetricKind},
		{"define kind 3", func() error { _, err := h.DefineMetric(3, "x"); return err }, errMetricKind},
		{"increment an unknown id", func() error { return h.AddCounter(unknown, 1) }, errUnknownMetric},
		{"increment another VM's id", func() error { return other.AddCounter(counter, 1) }, errUnknownMetric},
		{"increment a histogram", func() error { return h.AddCounter(histogram, 1) }, errUnknownMetric},
		{"increment by 0", func() error { return h.AddCounter(counter, 0) }, errZeroIncrement},
		{"record into an unknown id", func() error { return h.RecordHistogram(unknown, 1) }, errUnknownMetric},
		{"record into a counter", func() error { return h.RecordHistogram(counter, 1) }, errUnknownMetric},
	} {
		if err := c.call(); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
	if err := h.AddCounter(counter, 5); err != nil {
		t.Fatal(err)
	}
	// Beyond MaxInt64 the ABI's signed offset would turn negative: capped.
	if err := h.AddCounter(counter, math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	if got, err := emu.GetCounterMetric("c"); err != nil || got != 5+math.MaxInt64 {
		t.Fatalf("counter = %d (%v), want 5+MaxInt64", got, err)
	}
	if err := h.RecordHistogram(histogram, 42); err != nil {
		t.Fatal(err)
	}
	if got, err := emu.GetHistogramMetric("h"); err != nil || got != 42 {
		t.Fatalf("histogram = %d (%v), want 42", got, err)
	}
	if _, err := emu.GetGaugeMetric("g"); err == nil {
		t.Fatal("a refused gauge was defined")
	}
}

// The property calls the SDK would panic on (it indexes the first byte of
// the serialized path) are refused first.
func TestEmptyPropertyPathRefused(t *testing.T) {
	newEmulator(t, proxytest.NewEmulatorOption().WithVMContext(&VMContext{NewRoot: newRoot}))
	if !sdkPanics(func() { proxywasm.GetProperty([]string{""}) }) {
		t.Fatal("the SDK no longer panics on an empty property path; revisit host.go")
	}
	if _, ok := (host{}).Property(); ok {
		t.Error("Property() found something")
	}
	if _, ok := (host{}).Property(""); ok {
		t.Error(`Property("") found something`)
	}
	if err := (host{}).SetFilterState("", "v"); !errors.Is(err, errEmptyPath) {
		t.Errorf(`SetFilterState("") = %v, want %v`, err, errEmptyPath)
	}
}
