package baseline

import (
	"github.com/llmproxy/llmproxy/plugin/proxy"
	"github.com/llmproxy/llmproxy/plugin/publish"
)

// Contract is the copy floor plus the least any filter honouring the ASM
// contract must publish per call: the three filter-state values and the
// two token counters, with fixed values, nothing read and no other output.
// It is a lower bound, not a plugin: it leaves out the headers, the clock
// and the tags a real filter needs to know what to publish.
type Contract struct {
	ids     [2]uint32
	defined bool
}

var _ proxy.Root = (*Contract)(nil)

// ContractState is the filter state Contract leaves, "wasm." + key.
var ContractState = map[string]string{}

var contractValues = [...]struct{ key, value string }{
	{publish.KeyRequestModel, publishModel},
	{publish.KeyPromptTokens, "9"},
	{publish.KeyCompletionTokens, "9"},
}

func init() {
	for _, kv := range contractValues {
		ContractState["wasm."+kv.key] = kv.value
	}
}

// NewContract returns the contract-only filter.
func NewContract() *Contract { return &Contract{} }

// Configure implements proxy.Root.
func (*Contract) Configure(proxy.Host, []byte) error { return nil }

// NewHTTP implements proxy.Root.
func (c *Contract) NewHTTP() proxy.HTTP { return contractHTTP{c: c} }

// contractHTTP is the floor's stream, publishing at the response's end.
type contractHTTP struct {
	floorHTTP
	c *Contract
}

func (s contractHTTP) OnResponseBody(h proxy.Host, size int, end bool) proxy.Action {
	s.floorHTTP.OnResponseBody(h, size, end)
	if end {
		s.c.finish(h)
	}
	return proxy.Continue
}

func (c *Contract) finish(h proxy.Host) {
	for _, kv := range contractValues {
		h.SetFilterState(kv.key, kv.value)
	}
	if !c.defined {
		c.defined = true
		c.ids[0], _ = h.DefineMetric(proxy.Counter, publish.MetricPromptTokens)
		c.ids[1], _ = h.DefineMetric(proxy.Counter, publish.MetricCompletionTokens)
	}
	h.AddCounter(c.ids[0], 9)
	h.AddCounter(c.ids[1], 9)
}
