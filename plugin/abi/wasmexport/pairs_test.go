package wasmexport

import (
	"encoding/binary"
	"testing"
)

// encode serialises header pairs as proxy_get_header_map_pairs returns them.
func encode(pairs [][2]string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(pairs)))
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[0])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[1])))
	}
	for _, p := range pairs {
		b = append(append(append(append(b, p[0]...), 0), p[1]...), 0)
	}
	return b
}

func TestLookupPair(t *testing.T) {
	b := encode([][2]string{{":method", "POST"}, {":path", "/v1/chat/completions"}, {"x-empty", ""},
		{"content-type", "application/json"}, {"content-type", "text/plain"}})
	for _, c := range []struct{ name, want string }{
		{":method", "POST"}, {":path", "/v1/chat/completions"}, {"x-empty", ""},
		{"content-type", "application/json"}, // the first of repeated headers, as Envoy returns
		{"Content-Type", "application/json"},
	} {
		if got, ok := lookupPair(b, c.name); !ok || got != c.want {
			t.Errorf("%s: %q %v, want %q", c.name, got, ok, c.want)
		}
	}
	if _, ok := lookupPair(b, "accept-encoding"); ok {
		t.Error("absent header found")
	}
	// Truncated or lying serialisations find nothing and never panic.
	for i := range b {
		lookupPair(b[:i], "content-type")
	}
	bad := append([]byte(nil), b...)
	bad[0] = 0xff
	if _, ok := lookupPair(bad, ":method"); ok {
		t.Error("a count beyond the data was trusted")
	}
	if _, ok := lookupPair(encode(nil), ":method"); ok {
		t.Error("found in an empty map")
	}
}
