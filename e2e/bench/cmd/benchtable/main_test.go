package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkExchange/level=wasm/work=sse20m/impl=floor-2     3  100 ns/op  100 ns/exchange  0 retained-B/stream  3000000 wasm-B
BenchmarkExchange/level=wasm/work=sse20m/impl=floor-2     3  140 ns/op  140 ns/exchange  0 retained-B/stream  3000000 wasm-B
BenchmarkExchange/level=wasm/work=sse20m/impl=floor-2     3  120 ns/op  120 ns/exchange  0 retained-B/stream  3000000 wasm-B
BenchmarkExchange/level=wasm/work=sse20m/impl=bufparse-2  3  900 ns/op  900 ns/exchange  20971520 retained-B/stream  3100000 wasm-B
BenchmarkExchange/level=wasm/work=sse20m/impl=llmproxy-2  3  150 ns/op  150 ns/exchange  0 retained-B/stream  3200000 wasm-B
PASS
`

func TestSummary(t *testing.T) {
	res, order, err := parse(strings.NewReader(sample))
	if err != nil || len(order) != 3 {
		t.Fatalf("parse: %v, %d keys", err, len(order))
	}
	var out bytes.Buffer
	table(&out, res, order)
	targets(&out, res, order)
	for _, want := range []string{
		"floor          120    1.00×", // the median of 100, 140, 120
		"1.25× floor (≤ 1.3×: met)",
		"6.00× faster than bufparse (≥ 3×: met)",
		"20.0 MiB",
		"retained 0.0 KiB (≤ 64 KiB: met)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestNoResults(t *testing.T) {
	if _, _, err := parse(strings.NewReader("PASS\n")); err == nil {
		t.Fatal("no error for input without results")
	}
}
