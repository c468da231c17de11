package filter

import (
	"math/rand"
	"strconv"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

// FuzzStream drives whole exchanges through the filter with the panic
// guard off: TinyGo's wasm targets have no recover, so the plugin must not
// panic on any input. Every family, framing and encoding is seeded from
// the recorded cases; the fuzzer then varies the bodies, the status, the
// content types and encodings, and where the chunks are cut, with routing
// and usage injection configured.
func FuzzStream(f *testing.F) {
	cases, err := fixture.Load()
	if err != nil {
		f.Fatal(err)
	}
	for i, c := range cases {
		f.Add(uint8(i), c.RequestBody, c.ResponseBody, c.ResponseHeaders["content-type"],
			c.ResponseHeaders["content-encoding"], uint16(c.Status), int64(i))
	}
	const config = `{"inject_stream_usage": true, "max_model_labels": 2, "max_destination_labels": 2, "max_metrics": 64,
		"request_parameters": true, "metrics": ["asm", "gen_ai"], "consumer": {"api_key_fingerprint": true}, "consumer_label": true,
		"prices": [{"model": "gpt-4o*", "input": 2.5, "output": 10, "cached_input": 1.25}, {"model": "claude*", "input": 3, "output": 15, "reasoning": 20}],
		"providers": [{"host": "api.openai.com", "match_hosts": ["routed.example"], "path": "/v1/chat/completions",
		"api_key": "sk-fuzz", "default_model": "gpt-4o-mini"}]}`
	f.Fuzz(func(t *testing.T, pick uint8, reqBody, respBody []byte, ctype, cenc string, status uint16, seed int64) {
		catchPanics = false
		defer func() { catchPanics = true }()
		c := cases[int(pick)%len(cases)]
		rng := rand.New(rand.NewSource(seed))
		p := NewPlugin()
		h := newFakeHost(sleepNode)
		if err := p.Configure(h, []byte(config)); err != nil {
			t.Fatal(err)
		}
		h.req = c.RequestHeaderList()
		if seed%3 == 0 { // a host the provider routes
			h.req[2] = [2]string{":authority", "routed.example"}
		}
		h.resp = [][2]string{{":status", strconv.Itoa(int(status))}, {"content-type", ctype}, {"content-encoding", cenc}}
		s := p.NewStream()
		s.OnRequestHeaders(h, len(reqBody) == 0)
		chunks := fixture.Split(reqBody, fixture.RandomCuts(rng, len(reqBody), 1+rng.Intn(64)))
		for i, ch := range chunks {
			h.chunk = ch
			s.OnRequestBody(h, len(ch), i == len(chunks)-1)
		}
		if seed%7 == 3 { // the client leaves before any response
			s.OnLog(h)
			return
		}
		s.OnResponseHeaders(h, len(respBody) == 0)
		chunks = fixture.Split(respBody, fixture.RandomCuts(rng, len(respBody), 1+rng.Intn(64)))
		if seed%5 == 0 && len(chunks) > 1 { // a reset: no end of stream
			chunks = chunks[:len(chunks)/2]
			for _, ch := range chunks {
				h.chunk = ch
				s.OnResponseBody(h, len(ch), false)
			}
		} else {
			for i, ch := range chunks {
				h.chunk = ch
				s.OnResponseBody(h, len(ch), i == len(chunks)-1)
			}
		}
		s.OnLog(h)
	})
}
