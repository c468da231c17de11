package host

import (
	"fmt"
	"strings"
)

// Logs returns proxy_log lines emitted outside any stream.
func (h *Host) Logs() []LogLine {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]LogLine(nil), h.logs...)
}

// Violations lists every forbidden host call seen so far.
func (h *Host) Violations() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.violations...)
}

// HostCalls counts calls per import ("env.proxy_log", "wasi_snapshot_preview1.poll_oneoff", ...).
func (h *Host) HostCalls() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.hostCalls))
	for k, v := range h.hostCalls {
		if *v > 0 {
			out[k] = *v
		}
	}
	return out
}

// TickPeriodMillis is the last proxy_set_tick_period_milliseconds value.
func (h *Host) TickPeriodMillis() uint32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tickMillis
}

// MemoryPages is the guest linear memory size in 64 KiB pages.
func (h *Host) MemoryPages() uint32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.guest.Memory().Size() / 65536
}

// Err reports why the VM died, or nil.
func (h *Host) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dead
}

func levelName(l uint32) string {
	names := []string{"trace", "debug", "info", "warn", "error", "critical"}
	if int(l) < len(names) {
		return names[l]
	}
	return fmt.Sprintf("level%d", l)
}

func (h *Host) logLine(level uint32, msg string) {
	line := LogLine{Level: levelName(level), Message: msg}
	if h.opts.PluginLog != nil {
		h.opts.PluginLog(line)
	}
	if h.cur != nil {
		h.cur.res.Logs = append(h.cur.res.Logs, line)
		return
	}
	h.logs = append(h.logs, line)
}

// trimTrace keeps the first line of a wazero error, dropping the wasm stack.
func trimTrace(err error) string {
	s := err.Error()
	if i := strings.Index(s, "\nwasm stack trace"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, " (recovered by wazero)", "")
}

// allocations is what the guest allocator returned: a guest that reuses one
// buffer for host data answers the same few addresses over and over.
type allocations struct {
	calls int
	seen  map[uint32]int
}

func (a *allocations) record(p uint32) {
	if a.seen == nil {
		a.seen = map[uint32]int{}
	}
	a.calls++
	if len(a.seen) < 1<<16 {
		a.seen[p]++
	}
}

// Allocations returns how often the host called the guest allocator and
// how many times it got each address, then starts counting afresh.
func (h *Host) Allocations() (calls int, byAddress map[uint32]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	calls, byAddress = h.allocs.calls, h.allocs.seen
	h.allocs = allocations{}
	return calls, byAddress
}
