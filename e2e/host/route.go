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
	// HostRewrite is the route's host_rewrite_literal: the router sets
	// :authority to it before the request goes upstream, so the access
	// log shows it too.
	HostRewrite string
}

// The routing Envoy does around a Wasm filter (sources read):
//
//   - The connection manager picks the route from the request headers before
//     the filter chain runs and caches it (envoy source/common/http/
//     conn_manager_impl.cc, refreshCachedRoute); the router uses the cached
//     route when the headers reach it.
//   - A Wasm edit of the request headers clears that cache, so the router
//     picks again from the edited headers (source/extensions/common/wasm/
//     context.cc, onHeadersModified after each header map edit).
//   - envoy#36671 (Envoy 1.33) stops that for modules of an ABI after
//     0.2.1 and adds the foreign function clear_route_cache (source/
//     extensions/common/wasm/foreign.cc), which clears the cache and
//     answers Ok. Every ABI Envoy loads today is 0.2.1 or older, so in
//     1.33 to 1.39 edits still clear the cache; a plugin that calls
//     clear_route_cache is right under both rules. Before 1.33 the name is
//     unknown and cpp-host answers NotFound (src/exports.cc).
//
// Options.Routes turns the model on; without it the exchange's ClusterName
// stands, as before.

// RouteCache is which of Envoy's rules clears the route cache.
type RouteCache int

const (
	// RouteCacheEnvoy is Envoy 1.33 and later with an ABI 0.2.1 module:
	// request-header edits clear the cache, and so does clear_route_cache.
	RouteCacheEnvoy RouteCache = iota
	// RouteCacheExplicit is envoy#36671's rule for ABIs after 0.2.1: only
	// clear_route_cache clears the cache.
	RouteCacheExplicit
	// RouteCacheLegacy is Envoy before 1.33: edits clear the cache, and
	// clear_route_cache does not exist.
	RouteCacheLegacy
)

const foreignClearRouteCache = "clear_route_cache"

// pickRoute is the best route matching the headers as they stand, or the
// zero Route.
func (h *Host) pickRoute(m *headerMap) Route {
	authority, _ := m.get(":authority")
	path, _ := m.get(":path")
	var best Route
	bestRank := 0
	for _, r := range h.opts.Routes {
		rank := domainRank(r.Domains, authority)
		if rank > bestRank && strings.HasPrefix(path, r.Prefix) {
			best, bestRank = r, rank
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
		s.route = h.pickRoute(s.req.hdr)
		s.cluster = s.route.Cluster
	} else {
		s.cluster = s.ex.ClusterName
	}
	s.res.UpstreamCluster = s.cluster
}

// requestHeadersEdited is called on every edit of the request headers.
func (h *Host) requestHeadersEdited(s *stream) {
	if h.opts.RouteCache != RouteCacheExplicit {
		s.routeCleared = true
	}
}

// routeAtRouter is the router receiving the request headers: the cached
// route, or a new pick if the cache was cleared.
func (h *Host) routeAtRouter(s *stream) {
	if s.routeCleared && len(h.opts.Routes) > 0 {
		s.route = h.pickRoute(s.req.hdr)
		s.cluster = s.route.Cluster
		s.res.UpstreamCluster = s.cluster
	}
	s.routeCleared = false
	if s.route.HostRewrite != "" {
		s.req.hdr.replace(":authority", s.route.HostRewrite)
	}
}

// callForeign implements proxy_call_foreign_function for the functions
// Envoy registers that this host models.
func (h *Host) callForeign(_ context.Context, name string) uint32 {
	if name != foreignClearRouteCache || h.opts.RouteCache == RouteCacheLegacy {
		return statusNotFound
	}
	// Envoy answers Ok even where there is nothing to clear (the root
	// context, or after the route was used).
	if s := h.cur; s != nil && !s.req.hdrSent {
		s.res.RouteCacheCleared++
		s.routeCleared = true
	}
	return statusOK
}
