package host

import (
	"context"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// envFn implements one env.proxy_* import; s holds params, the return is the
// WasmResult status written as the single i32 result.
type envFn func(ctx context.Context, s []uint64) uint32

var i32 = api.ValueTypeI32

func params(n int) []api.ValueType {
	p := make([]api.ValueType, n)
	for i := range p {
		p[i] = i32
	}
	return p
}

func (h *Host) export(b wazero.HostModuleBuilder, name string, ps []api.ValueType, fn envFn) {
	full := "env." + name
	calls := h.counter(full)
	f := api.GoModuleFunc(func(ctx context.Context, _ api.Module, s []uint64) {
		h.guard(full, calls)
		s[0] = uint64(fn(ctx, s))
	})
	b.NewFunctionBuilder().WithGoModuleFunction(f, ps, []api.ValueType{i32}).Export(name)
}

// unimplemented are imports Envoy links but this host does not model; they
// answer Unimplemented so modules importing them still load.
var unimplemented = []string{"proxy_http_call", "proxy_dispatch_http_call", "proxy_grpc_call",
	"proxy_grpc_stream", "proxy_grpc_send", "proxy_grpc_cancel", "proxy_grpc_close",
	"proxy_get_shared_data", "proxy_set_shared_data", "proxy_register_shared_queue",
	"proxy_resolve_shared_queue", "proxy_dequeue_shared_queue", "proxy_enqueue_shared_queue",
	"proxy_get_status", "proxy_clear_route_cache",
	"proxy_get_configuration", "pthread_equal", "emscripten_notify_memory_growth"}

func (h *Host) instantiateEnv(ctx context.Context) error {
	b := h.rt.NewHostModuleBuilder("env")
	h.exportCore(b)
	h.exportHTTP(b)
	h.exportProperties(b)
	h.exportMetrics(b)
	switch h.mod.abi {
	case "proxy_abi_version_0_1_0":
		h.export(b, "proxy_continue_request", nil, func(context.Context, []uint64) uint32 {
			return h.continueStream(0)
		})
		h.export(b, "proxy_continue_response", nil, func(context.Context, []uint64) uint32 {
			return h.continueStream(1)
		})
	default:
		h.export(b, "proxy_continue_stream", params(1), func(_ context.Context, s []uint64) uint32 {
			return h.continueStream(uint32(s[0]))
		})
		h.export(b, "proxy_close_stream", params(1), func(_ context.Context, s []uint64) uint32 {
			return h.closeStream(uint32(s[0]))
		})
	}
	h.export(b, "proxy_call_foreign_function", params(6), func(ctx context.Context, s []uint64) uint32 {
		name, ok := h.readString(uint32(s[0]), uint32(s[1]))
		if !ok {
			return statusInvalidMemoryAccess
		}
		return h.callForeign(ctx, name)
	})
	if h.mod.abi == "proxy_abi_version_0_2_1" {
		h.export(b, "proxy_get_log_level", params(1), func(_ context.Context, s []uint64) uint32 {
			lvl := 2
			if h.opts.LogLevel != nil {
				lvl = *h.opts.LogLevel
			}
			return okIf(h.writeU32(uint32(s[0]), uint32(lvl)))
		})
	}
	// Stubs take whatever signature the module declares for a known name.
	for _, d := range h.mod.imports {
		mod, name, _ := d.Import()
		if mod != "env" || !contains(unimplemented, name) {
			continue
		}
		full := "env." + name
		calls := h.counter(full)
		res := d.ResultTypes()
		f := api.GoModuleFunc(func(_ context.Context, _ api.Module, s []uint64) {
			h.guard(full, calls)
			if len(res) > 0 {
				s[0] = statusUnimplemented
			}
		})
		b.NewFunctionBuilder().WithGoModuleFunction(f, d.ParamTypes(), res).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func okIf(ok bool) uint32 {
	if ok {
		return statusOK
	}
	return statusInvalidMemoryAccess
}

func (h *Host) exportCore(b wazero.HostModuleBuilder) {
	h.export(b, "proxy_log", params(3), func(_ context.Context, s []uint64) uint32 {
		msg, ok := h.readString(uint32(s[1]), uint32(s[2]))
		if !ok {
			return statusInvalidMemoryAccess
		}
		if uint32(s[0]) > 5 {
			return statusBadArgument
		}
		h.logLine(uint32(s[0]), msg)
		return statusOK
	})
	h.export(b, "proxy_get_current_time_nanoseconds", params(1), func(_ context.Context, s []uint64) uint32 {
		return okIf(h.writeU64(uint32(s[0]), uint64(time.Now().UnixNano())))
	})
	h.export(b, "proxy_set_tick_period_milliseconds", params(1), func(_ context.Context, s []uint64) uint32 {
		h.tickMillis = uint32(s[0])
		return statusOK
	})
	h.export(b, "proxy_set_effective_context", params(1), func(_ context.Context, s []uint64) uint32 {
		id := uint32(s[0])
		if id == h.rootID {
			h.cur = nil
			return statusOK
		}
		st, ok := h.streams[id]
		if !ok {
			return statusBadArgument
		}
		h.cur = st
		return statusOK
	})
	h.export(b, "proxy_done", nil, func(context.Context, []uint64) uint32 { return statusOK })
	h.export(b, "proxy_send_local_response", params(8), func(_ context.Context, s []uint64) uint32 {
		if h.cur == nil {
			return statusBadArgument
		}
		details, ok1 := h.readString(uint32(s[1]), uint32(s[2]))
		body, ok2 := h.readString(uint32(s[3]), uint32(s[4]))
		raw, ok3 := h.read(uint32(s[5]), uint32(s[6]))
		if !ok1 || !ok2 || !ok3 {
			return statusInvalidMemoryAccess
		}
		hdrs, ok := decodePairs(raw)
		if !ok {
			return statusBadArgument
		}
		if h.cur.pendingLR == nil && h.cur.res.LocalReply == nil {
			h.cur.pendingLR = &LocalReply{Status: uint32(s[0]), Body: body, Headers: hdrs,
				Details: details, GrpcStatus: int32(uint32(s[7]))}
		}
		return statusOK
	})
}

// continueStream: 0=Request 1=Response 2=Downstream 3=Upstream (HTTP context).
func (h *Host) continueStream(t uint32) uint32 {
	s := h.cur
	switch t {
	case 0, 1:
		if s == nil {
			return statusOK
		}
		sd := &s.req
		if t == 1 {
			sd = &s.resp
		}
		sd.continued = true
		sd.hdrOpen = false // Envoy forgets the header map right away
		return statusOK
	case 2:
		return statusOK
	case 3:
		return statusUnimplemented
	}
	return statusBadArgument
}

func (h *Host) closeStream(t uint32) uint32 {
	switch t {
	case 0, 1:
		if h.cur != nil {
			h.cur.res.Reset, h.cur.ended = true, true
		}
		return statusOK
	case 2, 3:
		return statusOK
	}
	return statusBadArgument
}
