package filter

import (
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

	counters map[publish.Tags]*counterIDs
	models   map[string]struct{}
}

// Counters of one tag set, indexed like counterNames.
type counterIDs struct {
	id      [2]uint32
	defined [2]bool
}

const (
	promptCounter = iota
	completionCounter
)

var counterNames = [2]string{publish.MetricPromptTokens, publish.MetricCompletionTokens}

// OtherModel is the model label used once MaxModelLabels distinct models
// have been seen.
const OtherModel = "other"

// NewPlugin returns a plugin with the default configuration.
func NewPlugin() *Plugin {
	return &Plugin{
		cfg:      config.Defaults,
		counters: map[publish.Tags]*counterIDs{},
		models:   map[string]struct{}{},
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
	return nil
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

func clusterName(h proxy.Host) string {
	if v, ok := h.Property("xds", "cluster_name"); ok && v != "" {
		return v
	}
	v, _ := h.Property("cluster_name")
	return v
}

// modelLabel caps the distinct model labels of this VM.
func (p *Plugin) modelLabel(model string) string {
	if _, ok := p.models[model]; ok {
		return model
	}
	if len(p.models) >= p.cfg.MaxModelLabels {
		return OtherModel
	}
	p.models[model] = struct{}{}
	return model
}

// addCounter adds to one counter of a tag set, defining it the first time
// it has something to count: a call that reports no completion tokens
// leaves no zero-valued completion series behind.
func (p *Plugin) addCounter(h proxy.Host, metric int, t publish.Tags, delta uint64) {
	ids := p.counters[t]
	if ids == nil {
		ids = new(counterIDs)
		p.counters[t] = ids
	}
	if !ids.defined[metric] {
		id, err := h.DefineCounter(publish.StatName(counterNames[metric], t))
		if err != nil {
			h.Log(proxy.Warn, "llmproxy: cannot define counter "+counterNames[metric]+": "+err.Error())
			return
		}
		ids.id[metric], ids.defined[metric] = id, true
	}
	if err := h.AddCounter(ids.id[metric], delta); err != nil {
		h.Log(proxy.Debug, "llmproxy: cannot increment counter: "+err.Error())
	}
}
