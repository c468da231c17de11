package proxy

import (
	"io"
	"net/http"

	"github.com/llmproxy/llmproxy/e2e/host"
)

// Admin serves the part of Envoy's admin interface that shows the plugin:
// /stats/prometheus as Envoy renders it (the plugin's stats only, with
// stats_tags applied; no envoy_* stats of the proxy itself), and /ready.
func Admin(h *host.Host) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats/prometheus", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=UTF-8")
		io.WriteString(w, h.Prometheus())
	})
	// Envoy answers LIVE while it serves; here, while the VM lives.
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		if h.Err() != nil {
			http.Error(w, "DRAINING: the plugin VM failed: "+h.Err().Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "LIVE\n")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "llmproxy-run proxy admin (Envoy-like, not Envoy)\n  /stats/prometheus  the plugin's stats\n  /ready             LIVE while the plugin VM runs\n")
	})
	return mux
}
