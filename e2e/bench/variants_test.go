// Benchmarks of llmproxy against the copy floor and buffer-then-parse, at
// two levels: natively through an in-memory proxy.Host, and as .wasm modules
// in the in-process host. `make bench` runs them and prints the summary.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	// llmproxy with an option on: its plugin configuration, the variant
	// whose module it runs, and the workloads it is timed on.
	config string
	base   *variant
	works  []string

	once sync.Once
	mod  *host.Module
	size int
	err  error
}

var llmproxy = &variant{name: "llmproxy", native: func() proxy.Root { return filter.NewPlugin() }, pkg: "./plugin", reads: true}

var variants = []*variant{
	{name: "floor", native: func() proxy.Root { return baseline.Floor{} }, pkg: "./e2e/bench/wasm/floor"},
	{name: "contract", native: func() proxy.Root { return baseline.NewContract() }, pkg: "./e2e/bench/wasm/contract", state: baseline.ContractState},
	{name: "publish", native: func() proxy.Root { return baseline.NewPublish() }, pkg: "./e2e/bench/wasm/publish", state: baseline.PublishState},
	{name: "bufparse", native: func() proxy.Root { return baseline.NewBufParse() }, pkg: "./e2e/bench/wasm/bufparse", reads: true},
	llmproxy,
	// Each opt-in option alone, then all of them, on the common call and
	// a stream: what each costs is its row less llmproxy's.
	withOption("params", `{"request_parameters": true}`),
	withOption("prices", pricesConfig()),
	withOption("consumer", `{"consumer": {"api_key_fingerprint": true}, "consumer_label": true}`),
	withOption("genai", `{"metrics": ["asm", "gen_ai"]}`),
	withOption("all", allOptions()),
}

func withOption(name, config string) *variant {
	return &variant{name: "llmproxy+" + name, native: llmproxy.native, pkg: llmproxy.pkg, reads: true,
		config: config, base: llmproxy, works: []string{"json2k", "sse400"}}
}

// pricesConfig is examples/prices.json, the table users start from.
func pricesConfig() string {
	root, _ := fixture.Root()
	b, err := os.ReadFile(filepath.Join(root, "examples", "prices.json"))
	if err != nil {
		panic(err)
	}
	return string(b)
}

func allOptions() string {
	var c map[string]any
	if err := json.Unmarshal([]byte(pricesConfig()), &c); err != nil {
		panic(err)
	}
	c["request_parameters"], c["metrics"] = true, []string{"asm", "gen_ai"}
	c["consumer"], c["consumer_label"] = map[string]any{"api_key_fingerprint": true}, true
	b, _ := json.Marshal(c)
	return string(b)
}

// pluginConfig is the variant's plugin configuration.
func (v *variant) pluginConfig() string {
	if v.config != "" {
		return v.config
	}
	return envoy.PluginConfig
}

// runs says whether the variant is timed on workload w.
func (v *variant) runs(w *workload.Workload) bool {
	return v.works == nil || slices.Contains(v.works, w.Name)
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
	if v.base != nil {
		return v.base.module(tb)
	}
	v.once.Do(func() {
		root, err := fixture.Root()
		if err != nil {
			v.err = err
			return
		}
		out := filepath.Join(wasmDir, v.name+".wasm")
		ldflags := "-ldflags=-s -w" // as make build
		if os.Getenv("LLMPROXY_WASMPROF") != "" {
			ldflags = "-ldflags=" // the profiler needs the function names
		}
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", ldflags, "-o", out, v.pkg)
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
	opts.PluginConfig = []byte(v.pluginConfig())
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
