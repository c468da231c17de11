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
	slot := &slots[hash(b)%uint32(len(slots))]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}

// hash mixes the length and at most the first and last 8 bytes: a byte
// loop is dear in wasm, and strings that share them only share a slot.
func hash(b []byte) uint32 {
	h := uint32(2166136261) ^ uint32(len(b)) // FNV-1a
	head, tail := b, b[:0]
	if len(b) > 8 {
		head, tail = b[:8], b[len(b)-8:]
	}
	for _, c := range head {
		h = (h ^ uint32(c)) * 16777619
	}
	for _, c := range tail {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}
