// Package host loads a proxy-wasm module (ABI 0.2.1) into wazero and drives it
// the way Envoy does, so the real plugin .wasm can be tested without Envoy.
// Host.Do plays an exchange known in advance; Host.Open gives a Stream fed
// event by event, for a proxy in front of real traffic (live.go).
//
// Envoy facts this host reproduces (sources read for this package):
//
//   - During _initialize only an allow-list of host calls may run: env.proxy_log,
//     WASI fd_write, args_*, environ_*, fd_prestat_*, clock_time_get,
//     random_get, fd_fdstat_get, fd_fdstat_set_flags (proxy-wasm-cpp-host
//     src/wasm.cc WasmBase::startVm, commit c4d7bb0, Dec 2024). Any other call
//     traps with "restricted_callback" (src/v8/v8.cc) and the VM fails.
//   - During proxy_on_memory_allocate only env.proxy_log, fd_write and
//     clock_time_get are allowed (include/proxy-wasm/wasm.h
//     WasmBase::allocMemory). poll_oneoff was only added to that list in
//     April 2026 (cpp-host #533), so older Envoy kills a Go VM whose GC sleeps
//     inside the allocator.
//   - Envoy links only these WASI imports (include/proxy-wasm/exports.h
//     FOR_ALL_WASI_FUNCTIONS before #533): fd_write fd_read fd_seek fd_close
//     fd_fdstat_get fd_fdstat_set_flags environ_get environ_sizes_get args_get
//     args_sizes_get clock_time_get random_get sched_yield poll_oneoff
//     proc_exit path_open fd_prestat_get fd_prestat_dir_name; and registers
//     proxy_get_log_level only for ABI 0.2.1 (src/wasm.cc registerCallbacks).
//   - StopIteration from on_*_headers is turned into StopAllIterationAndWatermark
//     unless allow_on_headers_stop_iteration is set (src/context.cc
//     convertVmCallResultToFilterHeadersStatus; cpp-host issue #143).
//   - Envoy 1.33 removed the legacy get_property names (node, cluster_name, ...)
//     in favour of xds.* (envoy changelogs/1.33.0.yaml, "Remove previously
//     deprecated xDS attributes from get_property").
//   - proxy_set_property stores filter state under "wasm." + path, the path
//     bytes taken verbatim (envoy source/extensions/common/wasm/context.cc
//     Context::setProperty, CelStateKeyPrefix); get_property falls back to the
//     same key (Context::findValue).
//   - Buffering, header map lifetimes, local replies and metric rules follow
//     the same context.cc (decodeData, getMap/getConstMap, incrementMetric);
//     a response that overflows the buffer gets a 500 only while its headers
//     are still held, otherwise a reset (envoy source/common/http/
//     filter_manager.cc ActiveStreamEncoderFilter::responseDataTooLarge).
//
// WASI comes from wazero's wasi_snapshot_preview1 exporter; each function is
// re-exported through a wrapper so the allow-lists above can be enforced.
package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// StatsTag is one Envoy stats_config.stats_tags entry with a regex.
type StatsTag struct{ Name, Regex string }

// Options configure one Host (one plugin instance in one VM).
type Options struct {
	PluginConfig, VMConfig []byte
	NodeMetadata           map[string]string
	LegacyAttributes       bool // Envoy < 1.33 attribute names (node.*, cluster_name)
	StatsTags              []StatsTag
	HistogramBuckets       []HistogramBuckets // stats_config.histogram_bucket_settings
	ObserveOnly            bool               // any non-Continue callback result fails Do()
	BufferLimit            int                // 0 => 1 MiB (Envoy per_connection_buffer_limit_bytes default)
	// LogLevel is what proxy_get_log_level returns (0=trace … 5=critical);
	// nil means info (2). A pointer because 0 is a real level.
	LogLevel       *int
	Stdout, Stderr io.Writer
	// Env is passed as WASI environment (Envoy vm_config.environment_variables).
	Env map[string]string
	// AllowOnHeadersStopIteration mirrors Envoy's plugin option of the same
	// name: when false (Envoy default) StopIteration from a headers callback
	// pauses the whole stream (StopAllIterationAndWatermark).
	AllowOnHeadersStopIteration bool
	// FullWASI links every WASI function wazero has, instead of only the set
	// Envoy provides.
	FullWASI bool
	// PollOneoff is how poll_oneoff answers; by default ENOSYS, as in
	// every Envoy up to 1.38. WASI otherwise answers as cpp-host does
	// (wasi.go) unless FullWASI is set.
	PollOneoff PollOneoff
	RootID     string // plugin root_id, readable as plugin_root_id
	PluginName string
	RouteName  string // xds.route_name
	// Routes pick the upstream cluster from the request headers, as
	// Envoy's route table does (route.go); without them each exchange's
	// ClusterName is used.
	Routes []Route
	// RouteCache is which of Envoy's rules clears the route cache.
	RouteCache RouteCache
	// OnLogFirst runs proxy_on_log before the access log is written, as
	// Envoy >= 1.32 does for HTTP/1 and HTTP/2 streams (envoy#35959). By
	// default the access log comes first, as in Envoy <= 1.31 and for
	// HTTP/3 streams, whose logging is deferred, in every version
	// (conn_manager_impl.h, accessLogHandlers). A plugin must be right in
	// both orders.
	OnLogFirst bool
	// PluginLog, if set, gets every proxy_log line as the plugin writes
	// it, as Envoy's log does; the lines are still kept for Logs and
	// Result.Logs. It runs inside the callback and must not call the Host.
	PluginLog func(LogLine)
	// Lean leaves the per-callback record out of the Result: the forwarded
	// bodies and Actions. Collecting them copies every chunk and grows a
	// list per callback, work Envoy does not do; benchmarks set it so that
	// the host's bookkeeping is not timed. ObserveOnly still applies.
	Lean bool
}

// LogLine is one proxy_log call.
type LogLine struct{ Level, Message string }

// Module is a compiled plugin; compile once, create many Hosts.
type Module struct {
	wasm    []byte
	cache   wazero.CompilationCache
	abi     string
	imports []api.FunctionDefinition
	exports map[string]api.FunctionDefinition
}

var abiMarkers = []string{"proxy_abi_version_0_2_1", "proxy_abi_version_0_2_0", "proxy_abi_version_0_1_0"}

// Compile validates and compiles wasm. Hosts created from the returned Module
// share the compiled code through a wazero.CompilationCache.
func Compile(ctx context.Context, wasm []byte) (*Module, error) {
	m := &Module{wasm: wasm, cache: wazero.NewCompilationCache()}
	rt := m.newRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	m.imports = cm.ImportedFunctions()
	m.exports = cm.ExportedFunctions()
	for _, name := range abiMarkers {
		if _, ok := m.exports[name]; ok {
			m.abi = name
			break
		}
	}
	return m, nil
}

// newRuntime runs guests as Envoy does, to completion: wazero's
// close-on-context-done checks at every loop header and call site made
// guest code about four times slower, which skewed the benchmarks.
func (m *Module) newRuntime(ctx context.Context) wazero.Runtime {
	cfg := wazero.NewRuntimeConfig().WithCompilationCache(m.cache)
	return wazero.NewRuntimeWithConfig(ctx, cfg)
}

// Close releases the compiled code.
func (m *Module) Close(ctx context.Context) error { return m.cache.Close(ctx) }

// ABIVersion is the exported proxy_abi_version_* marker, or "".
func (m *Module) ABIVersion() string { return m.abi }

// Imports lists the module's function imports as "module.name", sorted.
func (m *Module) Imports() []string {
	var out []string
	for _, d := range m.imports {
		mod, name, _ := d.Import()
		out = append(out, mod+"."+name)
	}
	sort.Strings(out)
	return out
}

// Host is one running VM with one root context.
type Host struct {
	mu        sync.Mutex
	opts      Options
	mod       *Module
	rt        wazero.Runtime
	guest     api.Module
	fns       map[string]api.Function
	rootID    uint32
	nextID    uint32
	dead      error
	phase     phase
	cb        string  // callback being run, for errors and FilterStateSetIn
	cur       *stream // effective stream context; nil means the root context
	streams   map[uint32]*stream
	cfgPlugin bool // plugin configuration buffer readable (proxy_on_configure)

	logs       []LogLine
	violations []string
	hostCalls  map[string]*int
	tickMillis uint32
	stats      *statsStore
	allocs     allocations
}

// New instantiates m and runs Envoy's start-up sequence: _initialize,
// proxy_on_context_create(root), proxy_on_vm_start, proxy_on_configure.
func New(ctx context.Context, m *Module, opts Options) (*Host, error) {
	if m.abi == "" {
		return nil, errors.New("module exports no proxy_abi_version_0_1_0/0_2_0/0_2_1 marker")
	}
	if opts.BufferLimit <= 0 {
		opts.BufferLimit = 1 << 20
	}
	stats, err := newStatsStore(opts.StatsTags)
	if err != nil {
		return nil, err
	}
	h := &Host{
		opts: opts, mod: m, rootID: 1, nextID: 2, fns: map[string]api.Function{},
		streams: map[uint32]*stream{}, hostCalls: map[string]*int{}, stats: stats,
	}
	h.rt = m.newRuntime(ctx)
	if err := h.instantiateWASI(ctx); err != nil {
		h.rt.Close(ctx)
		return nil, err
	}
	if err := h.instantiateEnv(ctx); err != nil {
		h.rt.Close(ctx)
		return nil, err
	}
	cm, err := h.rt.CompileModule(ctx, m.wasm)
	if err != nil {
		h.rt.Close(ctx)
		return nil, err
	}
	mc := wazero.NewModuleConfig().WithName("plugin").WithStartFunctions().
		WithStdout(orDiscard(opts.Stdout)).WithStderr(orDiscard(opts.Stderr)).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader)
	keys := make([]string, 0, len(opts.Env))
	for k := range opts.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		mc = mc.WithEnv(k, opts.Env[k])
	}
	h.guest, err = h.rt.InstantiateModule(ctx, cm, mc)
	if err != nil {
		h.rt.Close(ctx)
		return nil, fmt.Errorf("link/instantiate: %w", err)
	}
	if err := h.start(ctx); err != nil {
		h.rt.Close(ctx)
		return nil, err
	}
	return h, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func (h *Host) start(ctx context.Context) error {
	init := "_initialize"
	if h.fn(init) == nil {
		init = "_start"
	}
	if h.fn(init) != nil {
		h.phase = phaseInit
		_, err := h.call(ctx, init)
		h.phase = phaseNormal
		if err != nil {
			return err
		}
	}
	if _, err := h.call(ctx, "proxy_on_context_create", uint64(h.rootID), 0); err != nil {
		return err
	}
	rc, err := h.call(ctx, "proxy_on_vm_start", uint64(h.rootID), uint64(len(h.opts.VMConfig)))
	if err != nil {
		return err
	}
	if h.fn("proxy_on_vm_start") != nil && uint32(rc) != 1 {
		return errors.New("proxy_on_vm_start returned failure")
	}
	h.cfgPlugin = true
	logged := len(h.logs)
	rc, err = h.call(ctx, "proxy_on_configure", uint64(h.rootID), uint64(len(h.opts.PluginConfig)))
	h.cfgPlugin = false
	if err != nil {
		return err
	}
	if h.fn("proxy_on_configure") != nil && uint32(rc) != 1 {
		return &ConfigureError{Logs: append([]LogLine(nil), h.logs[logged:]...)}
	}
	return nil
}

// ConfigureError is a configuration the plugin refused; Logs are the lines
// it wrote meanwhile, which say why (Envoy shows them in its log).
type ConfigureError struct{ Logs []LogLine }

func (e *ConfigureError) Error() string {
	var why []string
	for _, l := range e.Logs {
		if l.Level == "warn" || l.Level == "error" || l.Level == "critical" {
			why = append(why, l.Message)
		}
	}
	msg := "plugin refused configuration (proxy_on_configure returned 0)"
	if len(why) > 0 {
		msg += ": " + strings.Join(why, "; ")
	}
	return msg
}

// fn returns a cached guest export or nil.
func (h *Host) fn(name string) api.Function {
	if f, ok := h.fns[name]; ok {
		return f
	}
	f := h.guest.ExportedFunction(name)
	h.fns[name] = f
	return f
}

// call runs a guest export. A missing export is skipped (Envoy treats it as
// Continue). A trap or a restricted host call kills the VM.
func (h *Host) call(ctx context.Context, name string, args ...uint64) (uint64, error) {
	if h.dead != nil {
		return 0, fmt.Errorf("VM is dead: %w", h.dead)
	}
	f := h.fn(name)
	if f == nil {
		return 0, nil
	}
	// ABI 0.1.0 headers callbacks take no end_of_stream argument.
	if n := len(f.Definition().ParamTypes()); n < len(args) {
		args = args[:n]
	}
	prevCb, prevCur := h.cb, h.cur
	h.cb = name
	res, err := f.Call(ctx, args...)
	h.cb, h.cur = prevCb, prevCur
	if err != nil {
		h.dead = &CallbackError{Callback: name, Err: err}
		return 0, h.dead
	}
	if len(res) == 0 {
		return 0, nil
	}
	return res[0], nil
}

// Close shuts the VM down.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rt.Close(ctx)
}

// CallbackError is a trap (or restricted host call) inside a guest export;
// after one the VM is dead, as in Envoy.
type CallbackError struct {
	Callback string
	Err      error
}

func (e *CallbackError) Error() string { return e.Callback + ": " + trimTrace(e.Err) }
func (e *CallbackError) Unwrap() error { return e.Err }
