// Benchmarks of llmproxy against the copy floor and buffer-then-parse, at
// two levels: natively through an in-memory proxy.Host, and as .wasm modules
// in the in-process host. `make bench` runs them and prints the summary.
package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/llmproxy/llmproxy/e2e/bench/baseline"
	"github.com/llmproxy/llmproxy/e2e/bench/workload"
	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/harness"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/llmproxy/llmproxy/plugin/filter"
	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// variant is one filter under measurement. The .wasm modules share
// the wasmexport glue, so the glue's cost is the same in each.
type variant struct {
	name   string
	native func() proxy.Root
	pkg    string            // the package main built into the .wasm
	reads  bool              // publishes the model and usage
	state  map[string]string // fixed filter state it leaves, if it does not read

	once sync.Once
	mod  *host.Module
	size int
	err  error
}

var variants = []*variant{
	{name: "floor", native: func() proxy.Root { return baseline.Floor{} }, pkg: "./e2e/bench/wasm/floor"},
	{name: "contract", native: func() proxy.Root { return baseline.NewContract() }, pkg: "./e2e/bench/wasm/contract", state: baseline.ContractState},
	{name: "publish", native: func() proxy.Root { return baseline.NewPublish() }, pkg: "./e2e/bench/wasm/publish", state: baseline.PublishState},
	{name: "bufparse", native: func() proxy.Root { return baseline.NewBufParse() }, pkg: "./e2e/bench/wasm/bufparse", reads: true},
	{name: "llmproxy", native: func() proxy.Root { return filter.NewPlugin() }, pkg: "./plugin", reads: true},
}

var (
	workloads []workload.Workload
	envoy     *envoyconfig.Config
	wasmDir   string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if workloads, err = workload.All(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	root, _ := fixture.Root()
	if envoy, err = envoyconfig.Load(filepath.Join(root, "envoy.yaml")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if wasmDir, err = os.MkdirTemp("", "llmproxy-bench"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(wasmDir)
	return m.Run()
}

// module builds the variant's .wasm once, the way `make build` builds
// plugin.wasm, and compiles it for the host.
func (v *variant) module(tb testing.TB) (*host.Module, int) {
	tb.Helper()
	v.once.Do(func() {
		root, err := fixture.Root()
		if err != nil {
			v.err = err
			return
		}
		out := filepath.Join(wasmDir, v.name+".wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, v.pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			v.err = fmt.Errorf("building %s: %v\n%s", v.pkg, err, b)
			return
		}
		wasm, err := os.ReadFile(out)
		if err != nil {
			v.err = err
			return
		}
		v.size = len(wasm)
		v.mod, v.err = host.Compile(context.Background(), wasm)
	})
	if v.err != nil {
		tb.Fatal(v.err)
	}
	return v.mod, v.size
}

// newHost starts a VM of the variant configured like envoy.yaml. A timed
// host does not collect the forwarded bodies: that copy is the host's
// bookkeeping, not a proxy's work, and would pad every variant alike.
func (v *variant) newHost(tb testing.TB, timed bool) *host.Host {
	tb.Helper()
	mod, _ := v.module(tb)
	opts := replay.Options(envoy)
	opts.Lean = timed
	h, err := host.New(context.Background(), mod, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// want is the filter state the variant must leave for w.
func (v *variant) want(w *workload.Workload) map[string]string {
	if v.state != nil {
		return harness.ASMState(v.state)
	}
	if !v.reads {
		return map[string]string{}
	}
	return harness.ASMState(w.Want)
}
