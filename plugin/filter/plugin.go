package filter

import (
	"github.com/llmproxy/llmproxy/plugin/config"
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

	counters map[publish.Tags]counterPair
	models   map[string]struct{}
}

type counterPair struct{ prompt, completion uint32 }

// OtherModel is the model label used once MaxModelLabels distinct models
// have been seen.
const OtherModel = "other"

// NewPlugin returns a plugin with the default configuration.
func NewPlugin() *Plugin {
	return &Plugin{
		cfg:      config.Defaults,
		counters: map[publish.Tags]counterPair{},
		models:   map[string]struct{}{},
	}
}

// Configure applies a configuration. On error it logs one line naming the
// field and the plugin must refuse to start.
func (p *Plugin) Configure(h Host, raw []byte) error {
	c, err := config.Parse(raw)
	if err != nil {
		h.Log(Error, "llmproxy: "+err.Error())
		return err
	}
	p.cfg = c
	return nil
}

// NewStream starts the state of one HTTP stream.
func (p *Plugin) NewStream() *Stream { return &Stream{p: p} }

// source reads the proxy's workload identity once: node attributes are
// under xds.node on Envoy >= 1.33 and under node before.
func (p *Plugin) source(h Host) (workload, namespace string) {
	if !p.nodeRead {
		p.nodeRead = true
		p.workload = nodeMetadata(h, "WORKLOAD_NAME")
		p.namespace = nodeMetadata(h, "NAMESPACE")
	}
	return p.workload, p.namespace
}

func nodeMetadata(h Host, key string) string {
	if v, ok := h.Property("xds", "node", "metadata", key); ok && v != "" {
		return v
	}
	if v, ok := h.Property("node", "metadata", key); ok {
		return v
	}
	return ""
}

func clusterName(h Host) string {
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

// countersFor returns the counter ids of one tag set, defining them the
// first time.
func (p *Plugin) countersFor(h Host, t publish.Tags) (counterPair, bool) {
	if c, ok := p.counters[t]; ok {
		return c, true
	}
	prompt, err1 := h.DefineCounter(publish.StatName(publish.MetricPromptTokens, t))
	completion, err2 := h.DefineCounter(publish.StatName(publish.MetricCompletionTokens, t))
	if err1 != nil || err2 != nil {
		h.Log(Warn, "llmproxy: cannot define token counters")
		return counterPair{}, false
	}
	c := counterPair{prompt, completion}
	p.counters[t] = c
	return c, true
}
