// Command benchtable summarises `go test -bench BenchmarkExchange` output
// (read from stdin): the median of each figure per level, workload and
// filter, its ratio to the copy floor and to buffer-then-parse, and issue 5's
// targets for llmproxy.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// key names one sub-benchmark: level=, work= and impl= of its name.
type key struct{ level, work, impl string }

// samples holds every value read per unit, one per -count run.
type samples map[string][]float64

func main() {
	res, order, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	table(os.Stdout, res, order)
	targets(os.Stdout, res, order)
}

func parse(r io.Reader) (map[key]samples, []key, error) {
	res := map[key]samples{}
	var order []key
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "BenchmarkExchange/") {
			continue
		}
		k, ok := nameKey(f[0])
		if !ok {
			continue
		}
		if res[k] == nil {
			res[k] = samples{}
			order = append(order, k)
		}
		for i := 2; i+1 < len(f); i += 2 { // after the iteration count: value unit pairs
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				res[k][f[i+1]] = append(res[k][f[i+1]], v)
			}
		}
	}
	if len(order) == 0 {
		return nil, nil, fmt.Errorf("no BenchmarkExchange results on stdin")
	}
	return res, order, sc.Err()
}

func nameKey(name string) (key, bool) {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		name = name[:i] // the GOMAXPROCS suffix
	}
	var k key
	for _, part := range strings.Split(name, "/")[1:] {
		kv := strings.SplitN(part, "=", 2)
		if len(kv) != 2 {
			return k, false
		}
		switch kv[0] {
		case "level":
			k.level = kv[1]
		case "work":
			k.work = kv[1]
		case "impl":
			k.impl = kv[1]
		}
	}
	return k, k.level != "" && k.work != "" && k.impl != ""
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func (s samples) med(unit string) float64 { return median(s[unit]) }

func table(w io.Writer, res map[key]samples, order []key) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "level\twork\timpl\tns/exchange\t× floor\tbufparse ÷ impl\tretained/stream\t.wasm bytes\t")
	for _, k := range order {
		s := res[k]
		ns := s.med("ns/exchange")
		floor := res[key{k.level, k.work, "floor"}].med("ns/exchange")
		buf := res[key{k.level, k.work, "bufparse"}].med("ns/exchange")
		wasm := "-"
		if v, ok := s["wasm-B"]; ok {
			wasm = fmt.Sprintf("%.0f", median(v))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t\n", k.level, k.work, k.impl, ns,
			ratio(ns, floor), ratio(buf, ns), bytesText(s.med("retained-B/stream")), wasm)
	}
	tw.Flush()
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func bytesText(b float64) string {
	if b >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", b/1024)
}

// targets checks llmproxy against issue 5: on streams at most 1.3× the copy
// floor and at least 3× faster than buffer-then-parse; at every size at
// most 64 KiB retained per stream. Next to the floor ratio it shows the
// contract-only and publish-only filters', the part of it no reader can
// save.
func targets(w io.Writer, res map[key]samples, order []key) {
	fmt.Fprintln(w, "\nissue 5 targets for llmproxy:")
	for _, k := range order {
		if k.impl != "llmproxy" {
			continue
		}
		s := res[k]
		ns := s.med("ns/exchange")
		line := fmt.Sprintf("  %-6s %-7s retained %s (≤ 64 KiB: %s)", k.level, k.work,
			bytesText(s.med("retained-B/stream")), verdict(s.med("retained-B/stream") <= 64<<10))
		if strings.HasPrefix(k.work, "sse") {
			floor := ns / res[key{k.level, k.work, "floor"}].med("ns/exchange")
			speedup := res[key{k.level, k.work, "bufparse"}].med("ns/exchange") / ns
			line += fmt.Sprintf("; %.2f× floor (≤ 1.3×: %s); %.2f× faster than bufparse (≥ 3×: %s)",
				floor, verdict(floor <= 1.3), speedup, verdict(speedup >= 3))
			for _, o := range [...]struct{ impl, what string }{{"contract", "the contract's outputs"}, {"publish", "publishing"}} {
				if p := res[key{k.level, k.work, o.impl}].med("ns/exchange"); p > 0 {
					line += fmt.Sprintf("; %s alone %.2f× floor", o.what, p/res[key{k.level, k.work, "floor"}].med("ns/exchange"))
				}
			}
		}
		fmt.Fprintln(w, line)
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
