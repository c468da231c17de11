package proxy

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// hopByHop are the connection's own headers, which Envoy's codec strips
// and never shows a filter; expect is answered by the proxy itself.
var hopByHop = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "te": true, "trailer": true, "expect": true, "host": true}

// requestHeaders is the request as Envoy's HTTP/1 codec gives it to the
// filters: pseudo-headers first, names lower-case, the connection's own
// headers gone, x-forwarded-proto and x-request-id added when missing
// (Envoy's defaults).
func requestHeaders(r *http.Request) [][2]string {
	hs := [][2]string{{":method", r.Method}, {":path", r.RequestURI}, {":authority", r.Host}, {":scheme", "http"}}
	hs = append(hs, headerPairs(r.Header)...)
	if headerValue(hs, "x-forwarded-proto") == "" {
		hs = append(hs, [2]string{"x-forwarded-proto", "http"})
	}
	if headerValue(hs, "x-request-id") == "" {
		hs = append(hs, [2]string{"x-request-id", requestID()})
	}
	return hs
}

// headerPairs lower-cases names and leaves hop-by-hop headers out; Go's
// maps lose the wire order, so names are sorted.
func headerPairs(h http.Header) [][2]string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out [][2]string
	for _, k := range names {
		name := strings.ToLower(k)
		if hopByHop[name] {
			continue
		}
		for _, v := range h[k] {
			out = append(out, [2]string{name, v})
		}
	}
	return out
}

func hasValues(h http.Header) bool {
	for _, vs := range h {
		if len(vs) > 0 {
			return true
		}
	}
	return false
}

func headerValue(hs [][2]string, name string) string {
	for _, p := range hs {
		if p[0] == name {
			return p[1]
		}
	}
	return ""
}

// requestID is a random UUID (version 4), as Envoy generates.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
