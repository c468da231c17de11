package filter

import (
	"strconv"
	"strings"

	"github.com/llmproxy/llmproxy/plugin/cost"
	"github.com/llmproxy/llmproxy/plugin/fingerprint"
	"github.com/llmproxy/llmproxy/plugin/proxy"
	"github.com/llmproxy/llmproxy/plugin/publish"
)

// readConsumer finds who made the call, once: a configured header, or the
// first 12 hex digits of the SHA-256 of the client's API key.
func (p *Plugin) readConsumer(h proxy.Host, c *call) {
	cs := p.cfg.Consumer
	if c.consumerRead || !cs.Enabled() {
		return
	}
	c.consumerRead = true
	if cs.Header != "" {
		v, _ := h.Header(proxy.RequestHeaders, cs.Header)
		c.consumer = publish.CleanValue(v, p.cfg.MaxValueLength)
		return
	}
	if key := clientKey(h); key != "" {
		if key != p.lastKey { // one client mostly sends the same key
			p.lastKey, p.lastFingerprint = key, fingerprint.Of(key)
		}
		c.consumer = p.lastFingerprint
	}
}

// clientKey is the API key the client sent, in whichever header its SDK
// uses: a bearer token, or a bare key.
func clientKey(h proxy.Host) string {
	if v, ok := h.Header(proxy.RequestHeaders, "authorization"); ok {
		if scheme, token, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "bearer") {
			return strings.TrimSpace(token)
		}
	}
	for _, name := range credentialHeaders[1:] {
		if v, ok := h.Header(proxy.RequestHeaders, name); ok && v != "" {
			return v
		}
	}
	return ""
}

// publishParams sets the request parameters once, when the request body
// is read or ends: what came before a cut or a syntax error still counts.
func (s *Stream) publishParams(h proxy.Host) {
	c := s.call
	if !s.p.cfg.RequestParameters || c.paramsDone {
		return
	}
	c.paramsDone = true
	pr := c.req.Params(c.path)
	for _, kv := range [...][2]string{
		{publish.KeyTemperature, pr.Temperature},
		{publish.KeyTopP, pr.TopP},
		{publish.KeyMaxTokens, pr.MaxTokens},
		{publish.KeyReqStream, pr.Stream},
		{publish.KeySeed, pr.Seed},
		{publish.KeyN, pr.N},
	} {
		if kv[1] != "" {
			s.setOwn(h, kv[0], kv[1]) // numbers and booleans only
		}
	}
	if pr.ToolsSet {
		s.setOwn(h, publish.KeyTools, strconv.Itoa(pr.Tools))
	}
}

// price computes the call's cost, if a price table is configured and the
// call reported usage: the response model first, which names the exact
// version, then the request model.
func (s *Stream) price(dest string) {
	c, t := s.call, s.p.cfg.PriceTable
	if t.Empty() || !c.rec.HasTokens() {
		return
	}
	lp := &s.p.lastPrice
	if !lp.valid || lp.resp != c.rec.ResponseModel || lp.req != c.rec.RequestModel || lp.api != c.rec.API || lp.dest != dest {
		*lp = lastPrice{valid: true, resp: c.rec.ResponseModel, req: c.rec.RequestModel, api: c.rec.API, dest: dest}
		for _, m := range [...]string{c.rec.ResponseModel, c.rec.RequestModel} {
			if lp.price = t.Lookup(m, c.rec.API, dest); lp.price != nil {
				break
			}
		}
	}
	if lp.price != nil {
		c.price, c.costMicros = lp.price, lp.price.Micros(&c.rec)
	}
}

// lastPrice is the price of the last call's models, API and destination:
// a VM mostly sees the same few, and the table is searched entry by entry.
type lastPrice struct {
	valid                bool
	resp, req, api, dest string
	price                *cost.Price
}
