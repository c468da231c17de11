package wasmexport

import (
	"strings"

	"github.com/llmproxy/llmproxy/plugin/intern"
)

// lookupPair finds the first value of name in a serialised header map:
// a u32 count, a u32 key and value length per pair, then each key and
// value followed by a NUL, little-endian.
func lookupPair(b []byte, name string) (string, bool) {
	if len(b) < 4 {
		return "", false
	}
	n := int(le32(b))
	off := 4 + 8*n
	if n < 0 || n > len(b)/8 || off > len(b) {
		return "", false
	}
	for i := 0; i < n; i++ {
		kl, vl := int(le32(b[4+8*i:])), int(le32(b[8+8*i:]))
		if kl < 0 || vl < 0 || off+kl+vl+2 > len(b) || off+kl+vl+2 < off {
			return "", false
		}
		key := b[off : off+kl]
		off += kl + 1
		// The first byte, case aside, rules out most names before a
		// call; Envoy's names are lower case, as the names asked for are,
		// so an exact match mostly spares EqualFold's loop.
		if len(key) == len(name) && (len(key) == 0 || key[0]|0x20 == name[0]|0x20) &&
			(string(key) == name || strings.EqualFold(string(key), name)) {
			return intern.Bytes(b[off : off+vl]), true
		}
		off += vl + 1
	}
	return "", false
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
