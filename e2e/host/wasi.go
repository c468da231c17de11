package host

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

const wasiModule = "wasi_snapshot_preview1"

// envoyWASI is the WASI set Envoy links (cpp-host FOR_ALL_WASI_FUNCTIONS);
// a module importing anything else fails to load there.
var envoyWASI = setOf("fd_write", "fd_read", "fd_seek", "fd_close", "fd_fdstat_get",
	"fd_fdstat_set_flags", "environ_get", "environ_sizes_get", "args_get", "args_sizes_get",
	"clock_time_get", "random_get", "sched_yield", "poll_oneoff", "proc_exit", "path_open",
	"fd_prestat_get", "fd_prestat_dir_name")

type wasiFunc struct {
	fn      api.GoModuleFunction
	params  []api.ValueType
	results []api.ValueType
}

var (
	wasiOnce  sync.Once
	wasiFuncs map[string]wasiFunc
	wasiErr   error
)

// loadWASI extracts wazero's WASI implementations once, so each can be
// re-exported wrapped with the restricted-callback check. FunctionExporter
// alone cannot wrap single functions.
func loadWASI() (map[string]wasiFunc, error) {
	wasiOnce.Do(func() {
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
		defer rt.Close(ctx)
		b := rt.NewHostModuleBuilder(wasiModule)
		wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
		cm, err := b.Compile(ctx)
		if err != nil {
			wasiErr = err
			return
		}
		wasiFuncs = map[string]wasiFunc{}
		for name, def := range cm.ExportedFunctions() {
			fn, ok := def.GoFunction().(api.GoModuleFunction)
			if !ok {
				wasiErr = fmt.Errorf("wasi %s: unexpected Go function type %T", name, def.GoFunction())
				return
			}
			wasiFuncs[name] = wasiFunc{fn: fn, params: def.ParamTypes(), results: def.ResultTypes()}
		}
	})
	return wasiFuncs, wasiErr
}

func (h *Host) instantiateWASI(ctx context.Context) error {
	funcs, err := loadWASI()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(funcs))
	for name := range funcs {
		if h.opts.FullWASI || envoyWASI[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	b := h.rt.NewHostModuleBuilder(wasiModule)
	for _, name := range names {
		wf := funcs[name]
		full := wasiModule + "." + name
		inner := wf.fn
		if f := h.cppHostWASI(name, inner); f != nil && !h.opts.FullWASI {
			inner = f
		}
		calls := h.counter(full)
		wrapped := api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
			h.guard(full, calls)
			inner.Call(ctx, m, s)
		})
		b.NewFunctionBuilder().WithGoModuleFunction(wrapped, wf.params, wf.results).Export(name)
	}
	_, err = b.Instantiate(ctx)
	return err
}

// WASI errno values cpp-host answers with.
const (
	errnoSuccess = 0
	errnoBadF    = 8
	errnoFault   = 21
	errnoNoEnt   = 44
	errnoNoSys   = 52
)

// PollOneoff is how the proxy answers WASI poll_oneoff, which Go's runtime
// calls to sleep (the GC's background workers, timers).
type PollOneoff int

const (
	// PollOneoffENOSYS is cpp-host before #533, pinned by Envoy up to
	// 1.38: ENOSYS, which makes Go's runtime throw.
	PollOneoffENOSYS PollOneoff = iota
	// PollOneoffNoEvents is cpp-host #533 (Envoy 1.39): success at once
	// with no events, also inside proxy_on_memory_allocate.
	PollOneoffNoEvents
	// PollOneoffSleep is wazero's real poll_oneoff, which no Envoy has.
	PollOneoffSleep
)

// cppHostWASI is cpp-host's answer for a WASI function where it is not
// wazero's (proxy-wasm-cpp-host src/exports.cc, wasi_unstable_*): only
// stdout and stderr exist, nothing is read, no flag can be set, and
// proc_exit does not return control to a guest that can go on.
func (h *Host) cppHostWASI(name string, real api.GoModuleFunction) api.GoModuleFunction {
	errno := func(e uint64) api.GoModuleFunction {
		return api.GoModuleFunc(func(_ context.Context, _ api.Module, s []uint64) { s[0] = e })
	}
	stdio := func(fd uint64) bool { return uint32(fd) == 1 || uint32(fd) == 2 }
	switch name {
	case "fd_write":
		return api.GoModuleFunc(func(ctx context.Context, m api.Module, s []uint64) {
			if !stdio(s[0]) {
				s[0] = errnoBadF
				return
			}
			real.Call(ctx, m, s)
		})
	case "fd_fdstat_get":
		return api.GoModuleFunc(func(_ context.Context, m api.Module, s []uint64) {
			if !stdio(s[0]) {
				s[0] = errnoBadF
				return
			}
			var stat [24]byte
			stat[8] = 64 // fs_rights_base: FD_WRITE; the rest zero
			if !m.Memory().Write(uint32(s[1]), stat[:]) {
				s[0] = errnoFault
				return
			}
			s[0] = errnoSuccess
		})
	case "fd_fdstat_set_flags", "fd_read", "fd_prestat_dir_name":
		return errno(errnoNoSys)
	case "fd_prestat_get":
		return errno(errnoBadF)
	case "path_open":
		return errno(errnoNoEnt)
	case "fd_seek", "fd_close", "sched_yield":
		return errno(errnoSuccess) // Envoy only logs fd_seek and fd_close
	case "proc_exit":
		return api.GoModuleFunc(func(context.Context, api.Module, []uint64) {
			h.violation(true, "proc_exit: Envoy logs it and returns, and the guest cannot go on")
		})
	case "poll_oneoff":
		switch h.opts.PollOneoff {
		case PollOneoffENOSYS:
			return errno(errnoNoSys)
		case PollOneoffNoEvents:
			return api.GoModuleFunc(func(_ context.Context, m api.Module, s []uint64) {
				if !m.Memory().WriteUint32Le(uint32(s[3]), 0) {
					s[0] = errnoFault
					return
				}
				s[0] = errnoSuccess
			})
		}
	}
	return nil
}
