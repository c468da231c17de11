package api

import "testing"

func TestParseCount(t *testing.T) {
	for _, tc := range []struct {
		raw string
		n   uint64
		ok  bool
	}{
		{"0", 0, true},
		{"1234", 1234, true},
		{"007", 7, true},
		{"999999999999999999", 999999999999999999, true}, // 18 digits, the plain loop
		{"9223372036854775807", 1<<63 - 1, true},         // int64 max, through strconv
		{"9223372036854775808", 0, false},                // beyond what Envoy counters take
		{"18446744073709551616", 0, false},
		{"-3", 0, false},
		{"11.0", 11, true},
		{"1.1e1", 11, true},
		{"1.5", 0, false},
		{"1e300", 0, false},
		{"", 0, false},
		{"12a", 0, false},
	} {
		if n, ok := parseCount([]byte(tc.raw)); ok != tc.ok || ok && n != tc.n {
			t.Errorf("parseCount(%q) = %d, %v; want %d, %v", tc.raw, n, ok, tc.n, tc.ok)
		}
	}
}
