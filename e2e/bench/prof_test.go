package bench

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// TestWasmProfile times every guest function while the llmproxy module runs
// one workload, and prints the functions by self time. Timing each call
// costs far more than most calls, so the figures rank, they do not measure.
// LLMPROXY_WASMPROF=<workload> runs it; LLMPROXY_WASMPROF_ONLY=<regexp>
// times only the matching functions, whose figures are then close to true;
// LLMPROXY_WASMPROF_SORT=total sorts by inclusive time, =calls by calls;
// LLMPROXY_WASMPROF_IMPL=floor|contract|publish|bufparse profiles a baseline instead.
func TestWasmProfile(t *testing.T) {
	name := os.Getenv("LLMPROXY_WASMPROF")
	if name == "" {
		t.Skip("set LLMPROXY_WASMPROF to a workload name")
	}
	v := llmproxy
	for _, o := range variants {
		if o.name == os.Getenv("LLMPROXY_WASMPROF_IMPL") {
			v = o
		}
	}
	v.module(t)
	file := v
	if v.base != nil {
		file = v.base
	}
	wasm, err := os.ReadFile(wasmDir + "/" + file.name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	p := &profiler{fns: map[string]*fnStat{}}
	if re := os.Getenv("LLMPROXY_WASMPROF_ONLY"); re != "" {
		p.only = regexp.MustCompile(re)
	}
	ctx := experimental.WithFunctionListenerFactory(context.Background(), p)
	mod, err := host.Compile(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.New(ctx, mod, replay.Options(envoy))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	for _, w := range workloads {
		if w.Name != name {
			continue
		}
		for i := 0; i < 3; i++ { // warm up
			h.Do(ctx, w.Exchange)
		}
		p.reset()
		const n = 50
		for i := 0; i < n; i++ {
			if _, err := h.Do(ctx, w.Exchange); err != nil {
				t.Fatal(err)
			}
		}
		p.print(n)
	}
}

type fnStat struct {
	calls       int
	self, total time.Duration
}

type frame struct {
	st    *fnStat
	start time.Time
	child time.Duration
}

type profiler struct {
	fns   map[string]*fnStat
	stack []frame
	only  *regexp.Regexp // functions to time; nil times all
}

func (p *profiler) reset() {
	for _, s := range p.fns {
		*s = fnStat{}
	}
}

func (p *profiler) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if p.only != nil && !p.only.MatchString(def.DebugName()) {
		return nil
	}
	st := p.fns[def.DebugName()]
	if st == nil {
		st = &fnStat{}
		p.fns[def.DebugName()] = st
	}
	return listener{p, st}
}

type listener struct {
	p  *profiler
	st *fnStat
}

func (l listener) Before(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
	l.p.stack = append(l.p.stack, frame{st: l.st, start: time.Now()})
}

func (l listener) After(context.Context, api.Module, api.FunctionDefinition, []uint64) { l.p.pop() }

func (l listener) Abort(context.Context, api.Module, api.FunctionDefinition, error) { l.p.pop() }

func (p *profiler) pop() {
	n := len(p.stack) - 1
	f := p.stack[n]
	p.stack = p.stack[:n]
	d := time.Since(f.start)
	f.st.calls++
	f.st.total += d
	f.st.self += d - f.child
	if n > 0 {
		p.stack[n-1].child += d
	}
}

func (p *profiler) print(n int) {
	type row struct {
		name string
		fnStat
	}
	var rows []row
	var all time.Duration
	for name, s := range p.fns {
		if s.calls > 0 {
			rows = append(rows, row{name, *s})
			all += s.self
		}
	}
	// Calls do not drift with the VM's speed, as times do.
	calls := 0
	for _, r := range rows {
		calls += r.calls
	}
	fmt.Printf("function calls per exchange, imports included: %d\n", calls/n)
	order := os.Getenv("LLMPROXY_WASMPROF_SORT")
	sort.Slice(rows, func(i, j int) bool {
		if order == "calls" {
			return rows[i].calls > rows[j].calls
		}
		if order == "total" {
			return rows[i].total > rows[j].total
		}
		return rows[i].self > rows[j].self
	})
	fmt.Printf("%-60s %10s %8s %12s %12s\n", "function", "calls/op", "self%", "self/op", "total/op")
	for i, r := range rows {
		if i == 70 {
			break
		}
		name := strings.TrimPrefix(r.name, ".github.com_llmproxy_llmproxy_plugin_")
		fmt.Printf("%-60.60s %10d %7.1f%% %12v %12v\n", name, r.calls/n,
			100*float64(r.self)/float64(all), r.self/time.Duration(n), r.total/time.Duration(n))
	}
}
