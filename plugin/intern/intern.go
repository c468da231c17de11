// Package intern turns bytes into strings, reusing a recent string with the
// same bytes. A proxy sees the same paths, hosts, content types and model
// names over and over, and in wasm each string allocated costs Go's
// allocator, then its collector, more than a lookup here does.
package intern

import "sync/atomic"

// MaxLen is the longest string kept; longer ones are allocated each time.
const MaxLen = 128

// slots is a direct-mapped cache, bounded at len(slots) strings of at most
// MaxLen bytes. Atomic slots make it safe for native callers on several
// goroutines; a VM has one.
var slots [256]atomic.Pointer[string]

// Bytes returns string(b).
func Bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > MaxLen {
		return string(b)
	}
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &slots[h%uint32(len(slots))]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}
