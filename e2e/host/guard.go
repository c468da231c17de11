package host

import (
	"errors"
	"fmt"
)

type phase int

const (
	phaseNormal phase = iota
	phaseInit
	phaseAlloc
)

// violation records a forbidden host call. fatal ones trap the guest.
func (h *Host) violation(fatal bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if h.cb != "" {
		msg += " (in " + h.cb + ")"
	}
	h.violations = append(h.violations, msg)
	err := errors.New(msg)
	if fatal {
		panic(err)
	}
	if h.cur != nil {
		h.cur.fail(err)
	}
}

// counter is the call count of the import name, made once when the import
// is linked, so that counting costs no map lookup per call.
func (h *Host) counter(name string) *int {
	n := h.hostCalls[name]
	if n == nil {
		n = new(int)
		h.hostCalls[name] = n
	}
	return n
}

// guard enforces Envoy's restricted-callback allow-lists.
func (h *Host) guard(name string, calls *int) {
	*calls++
	switch h.phase {
	case phaseInit:
		if !initAllowed[name] {
			h.violation(true, "restricted host call %s during _initialize", name)
		}
	case phaseAlloc:
		if !allocAllowed[name] && !(name == "wasi_snapshot_preview1.poll_oneoff" && h.opts.PollOneoff == PollOneoffNoEvents) {
			h.violation(true, "restricted host call %s during proxy_on_memory_allocate", name)
		}
	}
}

var initAllowed = setOf("env.proxy_log",
	"wasi_snapshot_preview1.fd_write", "wasi_snapshot_preview1.args_sizes_get",
	"wasi_snapshot_preview1.args_get", "wasi_snapshot_preview1.environ_sizes_get",
	"wasi_snapshot_preview1.environ_get", "wasi_snapshot_preview1.fd_prestat_get",
	"wasi_snapshot_preview1.fd_prestat_dir_name", "wasi_snapshot_preview1.clock_time_get",
	"wasi_snapshot_preview1.random_get", "wasi_snapshot_preview1.fd_fdstat_get",
	"wasi_snapshot_preview1.fd_fdstat_set_flags")

var allocAllowed = setOf("env.proxy_log", "wasi_snapshot_preview1.fd_write",
	"wasi_snapshot_preview1.clock_time_get")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
