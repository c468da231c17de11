package filter

import (
	"fmt"
	"github.com/llmproxy/llmproxy/plugin/proxy"
	"math/rand"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/llmproxy/llmproxy/plugin/api"
	"github.com/llmproxy/llmproxy/plugin/usage"
)

// fakeHost is a minimal proxy: header maps, the current body chunk,
// properties, filter state and counters.
type fakeHost struct {
	req, resp [][2]string
	chunk     []byte
	props     map[string]string
	state     map[string]string
	names     []string
	counts    map[string]uint64
	samples   []string
	logs      []string
	clock     int64
	read      [2]int // body bytes handed to the filter, per body

	routeCleared int
	clearErr     error
}

func newFakeHost(props map[string]string) *fakeHost {
	return &fakeHost{props: props, state: map[string]string{}, counts: map[string]uint64{}}
}

func (f *fakeHost) Log(l proxy.Level, msg string) { f.logs = append(f.logs, msg) }
func (f *fakeHost) Header(m proxy.HeaderMap, name string) (string, bool) {
	hs := f.req
	if m == proxy.ResponseHeaders {
		hs = f.resp
	}
	for _, kv := range hs {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}
func (f *fakeHost) Property(path ...string) (string, bool) {
	v, ok := f.props[strings.Join(path, ".")]
	return v, ok
}
func (f *fakeHost) SetFilterState(key, value string) error {
	f.state["wasm."+key] = value
	return nil
}
func (f *fakeHost) ReadBody(b proxy.Body, size int, fn func([]byte)) error {
	if size != len(f.chunk) {
		return fmt.Errorf("size %d, chunk %d", size, len(f.chunk))
	}
	// Hand the chunk over in small pieces, as a binding with a small
	// scratch buffer would.
	f.read[b] += size
	for p := f.chunk; len(p) > 0; {
		n := min(len(p), 5)
		fn(p[:n])
		p = p[n:]
	}
	return nil
}
func (f *fakeHost) ReadBodyInto(b proxy.Body, start int, dst []byte) (int, error) {
	if start < 0 || start > len(f.chunk) {
		return 0, fmt.Errorf("byte %d of a %d-byte chunk", start, len(f.chunk))
	}
	n := copy(dst, f.chunk[start:])
	f.read[b] += n
	return n, nil
}
func (f *fakeHost) SetHeader(m proxy.HeaderMap, name, value string) error {
	for i, kv := range f.req {
		if kv[0] == name {
			f.req[i][1] = value
		}
	}
	return nil
}
func (f *fakeHost) RemoveHeader(m proxy.HeaderMap, name string) error {
	var kept [][2]string
	for _, kv := range f.req {
		if kv[0] != name {
			kept = append(kept, kv)
		}
	}
	f.req = kept
	return nil
}
func (f *fakeHost) ClearRouteCache() error {
	f.routeCleared++
	return f.clearErr
}
func (f *fakeHost) SetBody(b proxy.Body, size int, data []byte) error {
	f.chunk = append([]byte(nil), data...)
	return nil
}
func (f *fakeHost) DefineMetric(kind proxy.MetricKind, name string) (uint32, error) {
	f.names = append(f.names, name)
	return uint32(len(f.names) - 1), nil
}
func (f *fakeHost) AddCounter(id uint32, delta uint64) error {
	f.counts[f.names[id]] += delta
	return nil
}
func (f *fakeHost) RecordHistogram(id uint32, v uint64) error {
	f.samples = append(f.samples, f.names[id]+"="+strconv.FormatUint(v, 10))
	return nil
}

// Now advances 7 ms a call, so durations are exact.
func (f *fakeHost) Now() int64 {
	f.clock += 7e6
	return f.clock
}

var sleepNode = map[string]string{
	"xds.node.metadata.WORKLOAD_NAME": "sleep",
	"xds.node.metadata.NAMESPACE":     "default",
}

// replay runs one exchange, bodies cut as given, and returns the stream.
func replay(t *testing.T, p *Plugin, h *fakeHost, c fixture.Case, reqCuts, respCuts []int) *Stream {
	t.Helper()
	h.req, h.resp = c.RequestHeaderList(), c.ResponseHeaderList()
	s := p.NewStream()
	mustContinue(t, s.OnRequestHeaders(h, false))
	chunks := fixture.Split(c.RequestBody, reqCuts)
	for i, ch := range chunks {
		h.chunk = ch
		mustContinue(t, s.OnRequestBody(h, len(ch), i == len(chunks)-1))
	}
	mustContinue(t, s.OnResponseHeaders(h, false))
	chunks = fixture.Split(c.ResponseBody, respCuts)
	for i, ch := range chunks {
		h.chunk = ch
		mustContinue(t, s.OnResponseBody(h, len(ch), i == len(chunks)-1))
	}
	s.OnLog(h)
	return s
}

func mustContinue(t *testing.T, a proxy.Action) {
	t.Helper()
	if a != proxy.Continue {
		t.Fatalf("action %d, want Continue", a)
	}
}

func wantRecord(e fixture.Expect) usage.Record {
	r := usage.Record{API: e.API, Stream: e.Stream, RequestModel: e.RequestModel, ResponseModel: e.ResponseModel}
	put := func(c *usage.Count, v *uint64) {
		if v != nil {
			c.Put(*v)
		}
	}
	put(&r.Prompt, e.PromptTokens)
	put(&r.Completion, e.CompletionTokens)
	put(&r.Total, e.TotalTokens)
	put(&r.CachedInput, e.CachedTokens)
	put(&r.CacheCreation, e.CacheCreationTokens)
	put(&r.Reasoning, e.ReasoningTokens)
	for _, o := range []usage.Outcome{usage.Reported, usage.Missing, usage.Unreadable, usage.Error} {
		if o.String() == e.Outcome {
			r.Outcome = o
		}
	}
	return r
}

// core is the part of the record the fixtures state.
func core(r usage.Record) usage.Record {
	return usage.Record{API: r.API, Stream: r.Stream, RequestModel: r.RequestModel, ResponseModel: r.ResponseModel,
		Prompt: r.Prompt, Completion: r.Completion, Total: r.Total, CachedInput: r.CachedInput,
		CacheCreation: r.CacheCreation, Reasoning: r.Reasoning, Outcome: r.Outcome}
}

func TestFixtures(t *testing.T) {
	cases, err := fixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	const splits = 50
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			h := newFakeHost(sleepNode)
			s := replay(t, NewPlugin(), h, c, nil, nil)
			got, ok := s.Record()
			if !ok {
				t.Fatal("stream was not observed")
			}
			if want := wantRecord(c.Expect); core(got) != want {
				t.Fatalf("record\n got %+v\nwant %+v", core(got), want)
			}
			if want := c.Expect.FilterState(); !reflect.DeepEqual(fixture.WithoutTTFT(h.state), want) {
				t.Fatalf("filter state\n got %v\nwant %v", h.state, want)
			}
			// The fake clock ticks 7 ms a call: request headers, first
			// response byte, end.
			if ttft := h.state[fixture.StateTTFT]; ttft != "7" || got.Duration.N != 14 {
				t.Fatalf("ttft %q, duration %v", ttft, got.Duration)
			}
			rng := rand.New(rand.NewSource(int64(len(c.ResponseBody))))
			for i := 0; i < splits; i++ {
				h2 := newFakeHost(sleepNode)
				reqCuts := fixture.RandomCuts(rng, len(c.RequestBody), 1+rng.Intn(64))
				respCuts := fixture.RandomCuts(rng, len(c.ResponseBody), 1+rng.Intn(64))
				s2 := replay(t, NewPlugin(), h2, c, reqCuts, respCuts)
				got2, _ := s2.Record()
				if got2 != got || !reflect.DeepEqual(h2.state, h.state) || !reflect.DeepEqual(h2.counts, h.counts) {
					t.Fatalf("split %v / %v changed the result:\n%+v\n%+v", reqCuts, respCuts, got2, got)
				}
			}
		})
	}
}

func TestSeedCounters(t *testing.T) {
	cases, err := fixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	var seed fixture.Case
	for _, c := range cases {
		if c.Name == "dashscope_compatible/seed_qwen_turbo" {
			seed = c
		}
	}
	h := newFakeHost(map[string]string{
		"xds.node.metadata.WORKLOAD_NAME": "sleep",
		"xds.node.metadata.NAMESPACE":     "default",
		"xds.cluster_name":                "outbound|443||dashscope.aliyuncs.com",
	})
	p := NewPlugin()
	replay(t, p, h, seed, nil, nil)
	replay(t, p, h, seed, []int{7}, []int{100, 200})
	tags := "|llmproxy_source_workload=sleep|llmproxy_source_workload_namespace=default|llmproxy_destination_service=dashscope.aliyuncs.com|llmproxy_model=qwen-turbo"
	want := map[string]uint64{
		"asm_llm_proxy_prompt_tokens" + tags:                            22,
		"asm_llm_proxy_completion_tokens" + tags:                        180,
		"llmproxy_requests_total" + tags + "|llmproxy_outcome=reported": 2,
	}
	if !reflect.DeepEqual(h.counts, want) {
		t.Fatalf("counters\n got %v\nwant %v", h.counts, want)
	}
	// Each series defined once; the reported zero of cached tokens defines
	// its series without an increment (Envoy refuses zero increments).
	wantNames := []string{
		"llmproxy_requests_total" + tags + "|llmproxy_outcome=reported",
		"asm_llm_proxy_prompt_tokens" + tags,
		"asm_llm_proxy_completion_tokens" + tags,
		"llmproxy_cached_tokens_total" + tags,
		"llmproxy_time_to_first_token_milliseconds" + tags,
		"llmproxy_request_duration_milliseconds" + tags,
	}
	if !reflect.DeepEqual(h.names, wantNames) {
		t.Fatalf("defined\n got %q\nwant %q", h.names, wantNames)
	}
	wantSamples := []string{
		"llmproxy_time_to_first_token_milliseconds" + tags + "=7",
		"llmproxy_request_duration_milliseconds" + tags + "=14",
	}
	if wantSamples = append(wantSamples, wantSamples...); !reflect.DeepEqual(h.samples, wantSamples) {
		t.Fatalf("samples\n got %q\nwant %q", h.samples, wantSamples)
	}
}

func TestLegacyNodeAttributesAndAuthorityFallback(t *testing.T) {
	cases, _ := fixture.Load()
	var c fixture.Case
	for _, x := range cases {
		if x.Name == "openai/chat_json" {
			c = x
		}
	}
	c.Authority = "api.openai.com:443"
	h := newFakeHost(map[string]string{
		"node.metadata.WORKLOAD_NAME": "legacy-app",
		"cluster_name":                "openai_upstream", // not an Istio name
	})
	replay(t, NewPlugin(), h, c, nil, nil)
	tags := "|llmproxy_source_workload=legacy-app|llmproxy_source_workload_namespace=unknown|llmproxy_destination_service=api.openai.com|llmproxy_model=gpt-4o-mini"
	if got := h.counts["asm_llm_proxy_prompt_tokens"+tags]; got != *c.Expect.PromptTokens {
		t.Fatalf("counters %v", h.counts)
	}
}

func TestNonLLMTrafficIsNotRead(t *testing.T) {
	for _, hs := range [][][2]string{
		{{":method", "GET"}, {":path", "/v1/chat/completions"}},
		{{":method", "POST"}, {":path", "/upload"}},
		{{":method", "POST"}, {":path", "/v1/chat/completions"}, {"content-type", "multipart/form-data; boundary=x"}},
	} {
		h := newFakeHost(nil)
		h.req = hs
		s := NewPlugin().NewStream()
		s.OnRequestHeaders(h, false)
		if s.call != nil {
			t.Fatalf("%v: observed", hs)
		}
	}
}

// panicky fails inside a body read, as a bug in the glue would.
type panicky struct{ *fakeHost }

func (panicky) ReadBody(proxy.Body, int, func([]byte)) error      { panic("boom") }
func (panicky) ReadBodyInto(proxy.Body, int, []byte) (int, error) { panic("boom") }

func TestPanicLeavesStreamUnobserved(t *testing.T) {
	cases, _ := fixture.Load()
	h := panicky{newFakeHost(sleepNode)}
	h.req, h.resp = cases[0].RequestHeaderList(), cases[0].ResponseHeaderList()
	s := NewPlugin().NewStream()
	mustContinue(t, s.OnRequestHeaders(h, false))
	mustContinue(t, s.OnRequestBody(h, 10, true))
	mustContinue(t, s.OnResponseHeaders(h, false))
	mustContinue(t, s.OnResponseBody(h, 10, true))
	s.OnLog(h)
	if len(h.logs) != 1 || !strings.Contains(h.logs[0], "internal error in request body, stream left unobserved: boom") {
		t.Fatalf("logs %q", h.logs)
	}
	// What the request headers published stays, with the usage marked
	// unread; nothing is counted.
	want := map[string]string{"wasm.asm.llmproxy.api": "anthropic", "wasm.asm.llmproxy.usage_status": "unreadable"}
	if !reflect.DeepEqual(h.state, want) || len(h.names) != 0 {
		t.Fatalf("published after a panic: %v %v", h.state, h.names)
	}
}

func TestConfiguredPathsAndAcceptEncoding(t *testing.T) {
	p := NewPlugin()
	if err := p.Configure(newFakeHost(nil), []byte(`{"paths": {"/gw/llm": "openai", "/claude/*": "anthropic"}}`)); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/gw/llm": "openai", "/claude/x/y?z=1": "anthropic", "/gw/other": ""} {
		h := newFakeHost(nil)
		h.req = [][2]string{{":method", "POST"}, {":path", path}, {"accept-encoding", "gzip, deflate, br, zstd"}}
		s := p.NewStream()
		s.OnRequestHeaders(h, false)
		got, ae := "", h.req[2][1]
		if s.call != nil {
			got = s.call.fam.Name
		}
		if got != want {
			t.Fatalf("%s: family %q, want %q", path, got, want)
		}
		if wantAE := map[bool]string{true: "gzip, deflate", false: "gzip, deflate, br, zstd"}[want != ""]; ae != wantAE {
			t.Fatalf("%s: accept-encoding %q, want %q", path, ae, wantAE)
		}
	}
	keep := NewPlugin()
	keep.Configure(newFakeHost(nil), []byte(`{"keep_accept_encoding": true}`))
	h := newFakeHost(nil)
	h.req = [][2]string{{":method", "POST"}, {":path", "/v1/chat/completions"}, {"accept-encoding", "br"}}
	keep.NewStream().OnRequestHeaders(h, false)
	if h.req[2][1] != "br" {
		t.Fatalf("keep_accept_encoding: %q", h.req[2][1])
	}
}

// TestDetectRemembersOnlyTheLastPath: the family kept from the last path
// never answers for another path, nor outlives a new configuration.
func TestDetectRemembersOnlyTheLastPath(t *testing.T) {
	p := NewPlugin()
	for _, tc := range []struct {
		path string
		want *api.Family
	}{
		{"/v1/chat/completions", api.OpenAI},
		{"/v1/chat/completions", api.OpenAI},
		{"/v1/messages", api.Anthropic},
		{"/healthz", nil},
		{"", nil},
		{"/v1/messages", api.Anthropic},
	} {
		if got := p.detect(tc.path); got != tc.want {
			t.Fatalf("detect(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
	if err := p.Configure(newFakeHost(nil), []byte(`{"paths": {"/v1/messages": "openai"}}`)); err != nil {
		t.Fatal(err)
	}
	if got := p.detect("/v1/messages"); got != api.OpenAI {
		t.Fatalf("after configuring the path: %v, want openai", got)
	}
}

func TestModelLabelCap(t *testing.T) {
	cases, _ := fixture.Load()
	var c fixture.Case
	for _, x := range cases {
		if x.Name == "openai/chat_json" {
			c = x
		}
	}
	p := NewPlugin()
	if err := p.Configure(newFakeHost(nil), []byte(`{"max_model_labels": 2}`)); err != nil {
		t.Fatal(err)
	}
	h := newFakeHost(sleepNode)
	for _, model := range []string{"m1", "m2", "m3", "m1", "m4"} {
		x := c
		x.RequestBody = []byte(`{"model":"` + model + `","messages":[]}`)
		replay(t, p, h, x, nil, nil)
	}
	got := map[string]uint64{}
	for name, n := range h.counts {
		if strings.HasPrefix(name, "llmproxy_requests_total|") {
			model := name[strings.Index(name, "llmproxy_model=")+len("llmproxy_model="):]
			model, _, _ = strings.Cut(model, "|")
			got[model] += n
		}
	}
	want := map[string]uint64{"m1": 2, "m2": 1, OtherModel: 2}
	if !reflect.DeepEqual(got, want) || h.counts["llmproxy_model_label_overflow_total"] != 2 {
		t.Fatalf("requests by model %v (want %v), overflow %d", got, want, h.counts["llmproxy_model_label_overflow_total"])
	}
}
