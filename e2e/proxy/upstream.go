package proxy

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
)

// Upstream says where a request goes once the plugin let its headers go.
type Upstream interface {
	// Target is the upstream of a cluster. arrived is the :authority the
	// client sent, leaving the one the request leaves with (after the
	// plugin and the route's host_rewrite_literal).
	Target(cluster, arrived, leaving string) (Target, error)
}

// Target is one upstream: where to connect, the Host header to send, and
// the client that connects there (TLS set up for it).
type Target struct {
	URL    *url.URL // scheme://host:port; the request's path is added
	Host   string
	Client *http.Client
}

// Fixed sends every cluster's requests to one URL.
type Fixed struct{ target Target }

// NewFixed checks a fixed upstream URL: http or https, a host, no path.
func NewFixed(raw string) (*Fixed, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("upstream %q: want http://host[:port] or https://host[:port]", raw)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, fmt.Errorf("upstream %q: no path or query, please: the request's own path is sent as it stands", raw)
	}
	u = &url.URL{Scheme: u.Scheme, Host: u.Host}
	return &Fixed{Target{URL: u, Host: u.Host, Client: newClient(5*time.Second, nil)}}, nil
}

// Target is the fixed URL. The Host header is the upstream's own host, as
// an Envoy route to that upstream with auto_host_rewrite sends it, unless
// the request leaves with another :authority than it came with (the
// plugin routed it, or a host_rewrite_literal): that one is sent.
func (f *Fixed) Target(_, arrived, leaving string) (Target, error) {
	t := f.target
	if leaving != arrived {
		t.Host = leaving
	}
	return t, nil
}

// Clusters are envoy.yaml's static clusters, each sent to its first
// endpoint, over TLS when it has an UpstreamTlsContext transport socket.
type Clusters map[string]Target

// ClustersOf reads the static clusters of a bootstrap. The Host header is
// the request's :authority as it leaves, as Envoy sends it.
func ClustersOf(cfg *envoyconfig.Config) (Clusters, error) {
	out := Clusters{}
	for _, c := range cfg.Bootstrap.GetStaticResources().GetClusters() {
		t, err := clusterTarget(c)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %v", c.GetName(), err)
		}
		out[c.GetName()] = t
	}
	return out, nil
}

func clusterTarget(c *clusterv3.Cluster) (Target, error) {
	var addr string
	for _, e := range c.GetLoadAssignment().GetEndpoints() {
		for _, lb := range e.GetLbEndpoints() {
			sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
			if sa != nil && addr == "" {
				addr = net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue())))
			}
		}
	}
	if addr == "" {
		return Target{}, fmt.Errorf("no socket_address endpoint")
	}
	scheme := "http"
	var tlsConfig *tls.Config
	if ts := c.GetTransportSocket(); ts != nil {
		utc := &tlsv3.UpstreamTlsContext{}
		if err := ts.GetTypedConfig().UnmarshalTo(utc); err != nil {
			return Target{}, fmt.Errorf("transport socket %s: only an UpstreamTlsContext is modelled", ts.GetName())
		}
		scheme = "https"
		// Go checks the certificate against the system roots, where Envoy
		// without a validation_context would not check it at all.
		host, _, _ := net.SplitHostPort(addr)
		tlsConfig = &tls.Config{ServerName: host}
		if sni := utc.GetSni(); sni != "" {
			tlsConfig.ServerName = sni
		}
	}
	timeout := 5 * time.Second
	if d := c.GetConnectTimeout(); d != nil {
		timeout = d.AsDuration()
	}
	return Target{URL: &url.URL{Scheme: scheme, Host: addr}, Client: newClient(timeout, tlsConfig)}, nil
}

// Target is the cluster's endpoint; the Host header is :authority as the
// request leaves.
func (cs Clusters) Target(cluster, _, leaving string) (Target, error) {
	t, ok := cs[cluster]
	if !ok {
		return Target{}, fmt.Errorf("no cluster %q in the configuration", cluster)
	}
	t.Host = leaving
	return t, nil
}

// newClient speaks HTTP/1.1 as Envoy's default cluster protocol does, and
// passes bytes as they are: no decompression, no redirects followed, no
// proxy from the environment.
func newClient(connectTimeout time.Duration, tlsConfig *tls.Config) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: connectTimeout}).DialContext,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: connectTimeout,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     time.Minute,
		// An empty map switches HTTP/2 off.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}
