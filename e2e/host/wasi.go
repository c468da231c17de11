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
		if name == "poll_oneoff" && h.opts.LegacyPollOneoff {
			inner = api.GoModuleFunc(func(_ context.Context, _ api.Module, s []uint64) {
				s[0] = 52 // ENOSYS, as cpp-host answered before #533
			})
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
