package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/llmproxy/llmproxy/e2e/mockllm"
	"github.com/llmproxy/llmproxy/e2e/proxy"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

const proxyUsage = `llmproxy-run proxy listens on a local port, forwards real HTTP/1.1 to a real
upstream, and runs every exchange through plugin.wasm on the way, with
Envoy's semantics: bodies in chunks as they arrive (a streamed answer reaches
the client chunk by chunk, never buffered), StopIterationAndBuffer honoured
with Envoy's 413 past the 1 MiB buffer limit, routing and key injection, the
route cache cleared as Envoy clears it.

It is an Envoy-like host for trying and debugging configurations with your
own application, not Envoy and not a production proxy: one VM runs one
callback at a time, HTTP/1.1 only (no HTTP/2, no WebSocket), no retries,
no timeouts, a cluster's first endpoint takes every request, and a VM that
traps fails the requests that follow (Envoy under FAIL_OPEN would pass them).

Upstream, one of:
  -mock           the bundled mock provider (e2e/mockllm), in-process on a free
                  port: it answers with the recorded case for the request's path,
                  streaming and model (or the one named by an x-mock-case header).
                  Works offline.
  -upstream URL   every request to URL, e.g. https://api.openai.com (TLS
                  originated here, the certificate checked against the system
                  roots). The Host header is the upstream's own host, as an Envoy
                  route with auto_host_rewrite sends it, unless the plugin (or a
                  host_rewrite_literal) changed :authority: then that one.
  neither         envoy.yaml's route table: virtual host domains and path
                  prefix pick a cluster, which goes to its first endpoint
                  (socket_address; TLS when its transport_socket is an
                  UpstreamTlsContext, sni honoured). The Host header is
                  :authority as it leaves. The repository's envoy.yaml points at
                  the mock provider on 127.0.0.1:8080
                  (go run ./e2e/cmd/mockllm -addr 127.0.0.1:8080).

Either way the route table of envoy.yaml picks the cluster name after the
plugin's edits, so %UPSTREAM_CLUSTER% is the cluster envoy.yaml names
(llm_upstream); a request no route matches gets Envoy's 404.

Output:
  stdout          one access-log line per call in envoy.yaml's json_format,
                  rendered from the filter state before proxy_on_log (Envoy <= 1.31,
                  and HTTP/3; -on-log-first for Envoy >= 1.32 on HTTP/1 and 2)
  stderr          the plugin's log lines as [level] message, and the proxy's own
                  complaints as [proxy] ...
  admin           /stats/prometheus as Envoy renders it (the plugin's stats, with
                  envoy.yaml's stats_tags; no envoy_* stats), /ready

Configuration: node metadata, stats_tags, routes, clusters, the access-log
format, the plugin configuration and the VM environment
(vm_config.environment_variables: host_env_keys read from this process,
key_values) come from -envoy; -config FILE replaces the plugin configuration.
A configuration the plugin refuses stops the proxy with the plugin's reason.

Example:
  llmproxy-run proxy -mock &
  curl -s localhost:10000/v1/chat/completions -H 'content-type: application/json' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
  curl -s localhost:9901/stats/prometheus | grep asm_llm

Flags:
`

// addrs are where a started proxy listens.
type addrs struct{ proxy, admin string }

// runProxy runs the proxy until ctx ends; ready, if set, learns the
// addresses once both listeners are up.
func runProxy(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addrs)) error {
	fs, c := newFlags("llmproxy-run proxy", proxyUsage, stderr)
	listen := fs.String("listen", "127.0.0.1:10000", "address for the traffic (envoy.yaml's listener is 0.0.0.0:10000; this stays local)")
	admin := fs.String("admin", "127.0.0.1:9901", "address of the admin interface")
	upstream := fs.String("upstream", "", "send every request to this `URL` (http:// or https://, no path)")
	mock := fs.Bool("mock", false, "start the bundled mock provider and send every request to it")
	mockPause := fs.Duration("mock-pause", 10*time.Millisecond, "with -mock, the pause between the mock's streamed writes of 64 bytes")
	onLogFirst := fs.Bool("on-log-first", false, "run proxy_on_log before the access log is written, as Envoy >= 1.32 does for HTTP/1 and HTTP/2")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case *mock && *upstream != "":
		return errors.New("-mock and -upstream each name the upstream; give one")
	}
	s, err := c.load(ctx, stderr)
	if err != nil {
		return err
	}
	s.opts.ObserveOnly = false // a proxy lets the plugin do what Envoy lets it
	s.opts.OnLogFirst = *onLogFirst
	h, err := s.newHost(ctx)
	if err != nil {
		return err
	}
	defer h.Close(context.Background())

	var up proxy.Upstream
	var upDesc string
	switch {
	case *mock:
		url, stop, n, err := startMock(*mockPause)
		if err != nil {
			return err
		}
		defer stop()
		if up, err = proxy.NewFixed(url); err != nil {
			return err
		}
		upDesc = fmt.Sprintf("%s, the bundled mock provider (%d recorded cases)", url, n)
	case *upstream != "":
		if up, err = proxy.NewFixed(*upstream); err != nil {
			return err
		}
		upDesc = *upstream
	default:
		clusters, err := proxy.ClustersOf(s.cfg)
		if err != nil {
			return fmt.Errorf("%s: %v", c.envoy, err)
		}
		up, upDesc = clusters, describe(clusters)
	}

	srv := &http.Server{Handler: &proxy.Server{Host: h, Upstream: up, AccessLog: s.cfg.AccessLog, AccessOut: stdout, Errors: stderr},
		ReadHeaderTimeout: 30 * time.Second}
	adminSrv := &http.Server{Handler: proxy.Admin(h), ReadHeaderTimeout: 30 * time.Second}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	adminLn, err := net.Listen("tcp", *admin)
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(stderr, "# llmproxy-run proxy: %s in an Envoy-like host (not Envoy, not for production)\n", c.wasm)
	fmt.Fprintf(stderr, "#   plugin configuration from %s: %s\n", s.configFrom, oneLine(s.cfg.PluginConfig))
	fmt.Fprintf(stderr, "#   listening on http://%s -> upstream %s\n", ln.Addr(), upDesc)
	fmt.Fprintf(stderr, "#   admin on http://%s (/stats/prometheus, /ready); access log on stdout\n", adminLn.Addr())
	errs := make(chan error, 2)
	go func() { errs <- srv.Serve(ln) }()
	go func() { errs <- adminSrv.Serve(adminLn) }()
	if ready != nil {
		ready(addrs{ln.Addr().String(), adminLn.Addr().String()})
	}
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	adminSrv.Shutdown(shutdown)
	return err
}

// startMock serves the recorded cases on a free loopback port.
func startMock(pause time.Duration) (url string, stop func(), cases int, err error) {
	all, err := fixture.Load()
	if err != nil {
		return "", nil, 0, err
	}
	m := mockllm.New(all)
	m.Pause = pause
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, 0, err
	}
	srv := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, len(m.Names()), nil
}

func describe(cs proxy.Clusters) string {
	names := make([]string, 0, len(cs))
	for n := range cs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := "envoy.yaml's clusters:"
	for _, n := range names {
		out += fmt.Sprintf(" %s=%s", n, cs[n].URL)
	}
	return out
}
