package host

import (
	"context"
	"strings"
)

// Route is one route of an Envoy route configuration, reduced to what picks
// a cluster: a virtual host's domains and a path prefix.
type Route struct {
	Domains []string // "*", "*.suffix", "prefix.*" or exact; port-insensitive
	Prefix  string   // path prefix; "" matches every path
	Cluster string
}

// The routing Envoy does around a Wasm filter (sources read):
//
//   - The connection manager picks the route from the request headers before
//     the filter chain runs and caches it (envoy source/common/http/
//     conn_manager_impl.cc, refreshCachedRoute); the router uses the cached
//     route when the headers reach it.
//   - Before Envoy 1.33 every request-header edit from a Wasm filter cleared
//     that cache (source/extensions/common/wasm/context.cc, the
//     add/replace/remove header map functions), so the router picked again
//     from the edited headers.
//   - Since Envoy 1.33 (envoy#36671) an edit leaves the cache alone; a
//     filter clears it with the foreign function clear_route_cache
//     (source/extensions/common/wasm/foreign.cc). Older Envoy answers
//     NotFound for that name (proxy-wasm-cpp-host src/exports.cc).
//
// Options.Routes turns the model on; without it the exchange's ClusterName
// stands, as before.

const foreignClearRouteCache = "clear_route_cache"

// pickRoute is the cluster of the first route matching the headers, as
// they stand.
func (h *Host) pickRoute(m *headerMap) string {
	authority, _ := m.get(":authority")
	path, _ := m.get(":path")
	best, bestRank := "", 0
	for _, r := range h.opts.Routes {
		rank := domainRank(r.Domains, authority)
		if rank > bestRank && strings.HasPrefix(path, r.Prefix) {
			best, bestRank = r.Cluster, rank
		}
	}
	return best
}

// domainRank follows Envoy's virtual host order: an exact domain first,
// then suffix wildcards, then prefix wildcards, then "*". 0 is no match.
func domainRank(domains []string, authority string) int {
	host := strings.ToLower(authority)
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	best := 0
	for _, d := range domains {
		d = strings.ToLower(d)
		rank := 0
		switch {
		case d == "*":
			rank = 1
		case d == host || d == strings.ToLower(authority):
			rank = 4
		case strings.HasPrefix(d, "*") && strings.HasSuffix(host, d[1:]):
			rank = 3
		case strings.HasSuffix(d, "*") && strings.HasPrefix(host, d[:len(d)-1]):
			rank = 2
		}
		best = max(best, rank)
	}
	return best
}

// routeAtStart caches the route of the headers as they arrived.
func (h *Host) routeAtStart(s *stream) {
	if len(h.opts.Routes) > 0 {
		s.cluster = h.pickRoute(s.req.hdr)
	} else {
		s.cluster = s.ex.ClusterName
	}
	s.res.UpstreamCluster = s.cluster
}

// requestHeadersEdited is called on every edit of the request headers.
func (h *Host) requestHeadersEdited(s *stream) {
	if h.opts.LegacyRouteCache {
		s.routeCleared = true
	}
}

// routeAtRouter is the router receiving the request headers: the cached
// route, or a new pick if the cache was cleared.
func (h *Host) routeAtRouter(s *stream) {
	if s.routeCleared && len(h.opts.Routes) > 0 {
		s.cluster = h.pickRoute(s.req.hdr)
		s.res.UpstreamCluster = s.cluster
	}
	s.routeCleared = false
}

// callForeign implements proxy_call_foreign_function for the functions
// Envoy registers that this host models.
func (h *Host) callForeign(_ context.Context, name string) uint32 {
	if name != foreignClearRouteCache || h.opts.LegacyRouteCache {
		return statusNotFound
	}
	s := h.cur
	if s == nil {
		return statusNotFound // Envoy: no decoder callbacks on the root context
	}
	s.res.RouteCacheCleared++
	s.routeCleared = true
	return statusOK
}
