package filter

import (
	"strconv"
	"strings"

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
		c.consumer = fingerprint.Of(key)
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
	for _, m := range [...]string{c.rec.ResponseModel, c.rec.RequestModel} {
		if pr := t.Lookup(m, c.rec.API, dest); pr != nil {
			c.price, c.costMicros = pr, pr.Micros(&c.rec)
			return
		}
	}
}
