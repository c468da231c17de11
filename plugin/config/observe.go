package config

import (
	"fmt"
	"strings"

	"github.com/llmproxy/llmproxy/plugin/api"
	"github.com/llmproxy/llmproxy/plugin/cost"
)

// checkObservability validates prices, consumer and metrics, and derives
// what the filter reads on every call.
func (c *Config) checkObservability() error {
	for i := range c.Prices {
		field := fmt.Sprintf("prices[%d]", i)
		if err := c.Prices[i].Check(field); err != nil {
			return err
		}
		if a := c.Prices[i].API; a != "" && api.Families[a] == nil {
			return fmt.Errorf("configuration field %q: unknown API family %q (known: %s)", field+".api", a, familyNames())
		}
	}
	if len(c.Prices) > 0 {
		c.PriceTable = cost.NewTable(c.Prices)
	}
	switch cs := &c.Consumer; {
	case cs.Header != "" && cs.APIKeyFingerprint:
		return fmt.Errorf("configuration field %q: set header or api_key_fingerprint, not both", "consumer")
	case cs.Header != "":
		cs.Header = strings.ToLower(cs.Header)
		if strings.HasPrefix(cs.Header, ":") || strings.ContainsAny(cs.Header, " \t") {
			return fmt.Errorf("configuration field %q: %q is not a request header name", "consumer.header", cs.Header)
		}
	case c.ConsumerLabel && !cs.Enabled():
		return fmt.Errorf("configuration field %q: needs a consumer (header or api_key_fingerprint)", "consumer_label")
	}
	asm := len(c.Metrics) == 0
	for _, m := range c.Metrics {
		switch m {
		case "asm":
			asm = true
		case "gen_ai":
			c.GenAI = true
		default:
			return fmt.Errorf("configuration field %q: unknown metrics %q (known: asm, gen_ai)", "metrics", m)
		}
	}
	if !asm {
		return fmt.Errorf("configuration field %q: must include asm, the ASM counters operators rely on", "metrics")
	}
	return nil
}
