package filter

import (
	"github.com/llmproxy/llmproxy/plugin/api"
	"github.com/llmproxy/llmproxy/plugin/config"
	"github.com/llmproxy/llmproxy/plugin/proxy"
	"github.com/llmproxy/llmproxy/plugin/publish"
)

// Plugin is one configured plugin instance (the proxy's root context). It
// holds what outlives a stream: the configuration, the node identity and
// the counters defined so far.
type Plugin struct {
	cfg config.Config

	nodeRead  bool
	workload  string
	namespace string

	metrics      map[series]uint32
	overflow     overflows // what the last seriesFor call ran out of
	paths        map[string]*api.Family
	lastPath     string      // the last path detected, and its family:
	lastFamily   *api.Family // a proxy sees the same few paths over and over
	models       map[string]struct{}
	destinations map[string]struct{}
	consumers    map[string]struct{}
	tagSets      map[publish.Tags]struct{}
	genAISets    map[publish.GenAITags]struct{}
	reserved     int // metrics the admitted tag sets may define
	lastPrice    lastPrice
	// The last API key fingerprinted and its fingerprint; never logged.
	lastKey, lastFingerprint string
	full                     bool // max_metrics reached: said once in the log

	free []*call // finished calls, for reuse
	last lastSeries
}

// maxFree bounds the calls kept for reuse: the streams a VM usually has in
// flight at once.
const maxFree = 32

// newCall returns a zeroed call, reusing a finished one: a call is a few
// KiB, and allocating one per stream kept Go's allocator and collector busy.
func (p *Plugin) newCall() *call {
	n := len(p.free)
	if n == 0 {
		c := new(call)
		c.readReq, c.readResp, c.feedResp = c.req.Feed, c.readResponse, c.resp.Feed
		return c
	}
	c := p.free[n-1]
	p.free = p.free[:n-1]
	return c
}

func (p *Plugin) release(c *call) {
	if len(p.free) < maxFree {
		rq, rs, fr := c.readReq, c.readResp, c.feedResp
		*c = call{readReq: rq, readResp: rs, feedResp: fr}
		p.free = append(p.free, c)
	}
}

// OtherModel is the model label used once MaxModelLabels distinct models
// have been seen, and the destination label likewise.
const OtherModel = "other"

// NewPlugin returns a plugin with the default configuration.
func NewPlugin() *Plugin {
	return &Plugin{
		cfg:          config.Defaults,
		metrics:      map[series]uint32{},
		models:       map[string]struct{}{},
		destinations: map[string]struct{}{},
		consumers:    map[string]struct{}{},
		tagSets:      map[publish.Tags]struct{}{},
		genAISets:    map[publish.GenAITags]struct{}{},
	}
}

// Configure applies a configuration. On error it logs one line naming the
// field and the plugin must refuse to start.
func (p *Plugin) Configure(h proxy.Host, raw []byte) error {
	c, err := config.Parse(raw)
	if err != nil {
		h.Log(proxy.Error, "llmproxy: "+err.Error())
		return err
	}
	p.cfg = c
	p.last = lastSeries{} // its tags were cleaned under the old limits
	p.paths, p.lastPath, p.lastFamily = map[string]*api.Family{}, "", nil
	for path, name := range c.Paths {
		p.paths[path] = api.Families[name]
	}
	return nil
}

// detect is api.Detect under the configured paths, remembering the last
// answer: detection tries a dozen path shapes, a comparison with the last
// path (mostly the same interned string) is one.
func (p *Plugin) detect(path string) *api.Family {
	if path != p.lastPath || path == "" {
		p.lastPath, p.lastFamily = path, api.Detect(path, p.paths)
	}
	return p.lastFamily
}

// NewStream starts the state of one HTTP stream.
func (p *Plugin) NewStream() *Stream { return &Stream{p: p} }

// NewHTTP implements proxy.Root.
func (p *Plugin) NewHTTP() proxy.HTTP { return p.NewStream() }

var _ proxy.Root = (*Plugin)(nil)

// source reads the proxy's workload identity once: node attributes are
// under xds.node on Envoy >= 1.33 and under node before.
func (p *Plugin) source(h proxy.Host) (workload, namespace string) {
	if !p.nodeRead {
		p.nodeRead = true
		p.workload = nodeMetadata(h, "WORKLOAD_NAME")
		p.namespace = nodeMetadata(h, "NAMESPACE")
	}
	return p.workload, p.namespace
}

func nodeMetadata(h proxy.Host, key string) string {
	if v, ok := h.Property("xds", "node", "metadata", key); ok && v != "" {
		return v
	}
	if v, ok := h.Property("node", "metadata", key); ok {
		return v
	}
	return ""
}

// Paths read on every call are kept as slices: a variadic call through
// an interface allocates its arguments.
var (
	xdsClusterName    = []string{"xds", "cluster_name"}
	legacyClusterName = []string{"cluster_name"}
)

func clusterName(h proxy.Host) string {
	if v, ok := h.Property(xdsClusterName...); ok && v != "" {
		return v
	}
	v, _ := h.Property(legacyClusterName...)
	return v
}
