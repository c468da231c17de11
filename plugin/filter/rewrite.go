package filter

import (
	"strconv"
	"strings"

	"github.com/llmproxy/llmproxy/plugin/api"
	"github.com/llmproxy/llmproxy/plugin/config"
	"github.com/llmproxy/llmproxy/plugin/proxy"
	"github.com/llmproxy/llmproxy/plugin/publish"
	"github.com/llmproxy/llmproxy/plugin/rewrite"
)

// Results of a request rewrite, as the llmproxy_rewrite tag.
const (
	rewriteApplied  = "applied"
	rewriteTooLarge = "too_large"
	rewriteNotJSON  = "not_json"
)

// stripHold bounds the incomplete event a usage stripper holds.
const stripHold = 64 << 10

// route sends a request for a configured provider there: host, path and
// API key. It returns the path the request now has.
func (s *Stream) route(h proxy.Host, p *config.Provider, c *call) string {
	c.provider = p
	c.routeModel, c.override = p.Pick(func(name string) (string, bool) {
		return h.Header(proxy.RequestHeaders, name)
	})
	set := func(name, value string) {
		if err := h.SetHeader(proxy.RequestHeaders, name, value); err != nil {
			h.Log(proxy.Warn, "llmproxy: cannot set "+name+": "+err.Error())
		}
	}
	set(":authority", p.Host)
	set(":path", p.Path)
	if p.APIKey != "" {
		injectKey(h, p)
	}
	// Envoy >= 1.33 keeps the route it picked before the edit unless told.
	switch err := h.ClearRouteCache(); {
	case err == proxy.ErrNotFound:
		h.Log(proxy.Debug, "llmproxy: no clear_route_cache on this proxy; the header edit re-picks the route")
	case err != nil:
		h.Log(proxy.Warn, "llmproxy: cannot clear the route cache: "+err.Error())
	}
	return p.Path
}

// credentialHeaders are the headers LLM clients send keys in: OpenAI-style
// and Anthropic's SDK with an auth token (authorization), Anthropic
// (x-api-key), Azure OpenAI (api-key) and Gemini (x-goog-api-key).
// authorization comes first: clientKey reads it as a bearer token and the
// rest as bare keys.
var credentialHeaders = [...]string{"authorization", "x-api-key", "api-key", "x-goog-api-key"}

// injectKey sets the provider's key and removes every other credential the
// client sent, so that no key travels to a provider it was not meant for.
func injectKey(h proxy.Host, p *config.Provider) {
	name, value := p.Auth, p.APIKey
	if p.Auth == "bearer" {
		name, value = "authorization", "Bearer "+p.APIKey
	}
	for _, other := range credentialHeaders {
		if other == name {
			continue
		}
		if _, ok := h.Header(proxy.RequestHeaders, other); !ok {
			continue
		}
		if err := h.RemoveHeader(proxy.RequestHeaders, other); err != nil {
			h.Log(proxy.Warn, "llmproxy: cannot remove "+other+": "+err.Error())
		}
	}
	if err := h.SetHeader(proxy.RequestHeaders, name, value); err != nil {
		h.Log(proxy.Warn, "llmproxy: cannot set "+name+": "+err.Error())
	}
}

// wantsRewrite says whether the body may need editing: a routed model, or
// usage to ask for on an OpenAI-style completion stream.
func (s *Stream) wantsRewrite(c *call) bool {
	if c.provider != nil && c.routeModel != "" {
		return true
	}
	return s.p.cfg.InjectStreamUsage && c.fam == api.OpenAI && !strings.HasSuffix(stripQuery(c.path), "/embeddings")
}

func stripQuery(p string) string {
	q, _, _ := strings.Cut(p, "?")
	return q
}

// startBuffering decides at the request headers whether to hold the body.
// A body known to be larger than the limit is never held, so Envoy's own
// buffer limit can never answer 413 because of the plugin.
func (s *Stream) startBuffering(h proxy.Host, c *call) {
	if cl, ok := h.Header(proxy.RequestHeaders, "content-length"); ok {
		if n, err := strconv.Atoi(cl); err == nil && n > s.p.cfg.MaxRewriteBodyBytes {
			s.rewriteSkipped(h, rewriteTooLarge, "body of "+cl+" bytes is over max_rewrite_body_bytes")
			return
		}
	}
	// The headers go on before the body is edited, so its length cannot be
	// announced; Envoy frames the body itself.
	if err := h.RemoveHeader(proxy.RequestHeaders, "content-length"); err != nil {
		h.Log(proxy.Debug, "llmproxy: cannot remove content-length: "+err.Error())
	}
	c.buffering = true
}

// bufferedBody holds the request body until its end, then edits it once.
func (s *Stream) bufferedBody(h proxy.Host, size int, endOfStream bool) proxy.Action {
	c := s.call
	if size > s.p.cfg.MaxRewriteBodyBytes {
		c.buffering = false
		s.rewriteSkipped(h, rewriteTooLarge, "body grew past max_rewrite_body_bytes")
		s.observeRequest(h, size, true)
		return proxy.Continue // Envoy sends on what it held, unchanged
	}
	if !endOfStream {
		return proxy.StopIterationAndBuffer
	}
	c.buffering = false
	body := make([]byte, 0, size)
	err := h.ReadBody(proxy.RequestBody, size, func(p []byte) {
		body = append(body, p...)
		c.req.Feed(p)
	})
	s.publishParams(h)
	if err != nil {
		h.Log(proxy.Warn, "llmproxy: cannot read request body: "+err.Error())
		return proxy.Continue
	}
	res, err := rewrite.EditRequest(body, rewrite.Request{
		Model: c.routeModel, Override: c.override, InjectUsage: s.p.cfg.InjectStreamUsage && c.fam == api.OpenAI,
	})
	if err != nil {
		s.rewriteSkipped(h, rewriteNotJSON, "request body is not a JSON object")
		s.publishRequestModel(h, c.req.Model())
		return proxy.Continue
	}
	if res.Body != nil {
		if err := h.SetBody(proxy.RequestBody, size, res.Body); err != nil {
			h.Log(proxy.Warn, "llmproxy: cannot replace request body: "+err.Error())
			s.publishRequestModel(h, c.req.Model())
			return proxy.Continue
		}
		s.p.add(h, noSlot, series{metric: publish.MetricRewrites, more: rewriteTag(rewriteApplied)}, 1)
		c.injected = res.Injected
	}
	s.publishRequestModel(h, res.ModelSent)
	return proxy.Continue
}

func (s *Stream) rewriteSkipped(h proxy.Host, result, why string) {
	h.Log(proxy.Info, "llmproxy: request to "+s.call.path+" forwarded without rewrite: "+why)
	s.p.add(h, noSlot, series{metric: publish.MetricRewrites, more: rewriteTag(result)}, 1)
}

// addsUsageNull says whether the upstream puts "usage":null on chunks only
// because include_usage was asked: OpenAI and Azure do; DashScope's
// compatible mode sends it either way, vLLM never.
func addsUsageNull(c *call) bool {
	host, _, _ := strings.Cut(c.authority, ":")
	return c.fam == api.AzureOpenAI || host == "api.openai.com" || strings.HasSuffix(host, ".openai.azure.com")
}

// strip passes one piece of a response chunk through the usage stripper;
// the chunk is replaced once all its pieces went through.
func (c *call) strip(p []byte) { c.out = append(c.out, c.stripper.Feed(p, false)...) }

// stripDone replaces the current response chunk with what the client gets.
func (s *Stream) stripDone(h proxy.Host, size int, endOfStream bool) {
	c := s.call
	if endOfStream {
		c.out = append(c.out, c.stripper.Feed(nil, true)...)
	}
	if err := h.SetBody(proxy.ResponseBody, size, c.out); err != nil {
		h.Log(proxy.Warn, "llmproxy: cannot rewrite response chunk: "+err.Error())
	}
	c.out = c.out[:0]
}

func rewriteTag(result string) [2]publish.Tag {
	return [2]publish.Tag{{Name: publish.TagRewrite, Value: result}}
}
