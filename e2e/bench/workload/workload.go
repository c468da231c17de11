// Package workload builds the benchmark exchanges from the recorded OpenAI
// shapes in testdata/cases, at the sizes issue 5 names, with bodies cut into
// the 16 KiB chunks a proxy delivers when the bytes are all there, or, for a
// stream delivered live, one event per chunk.
package workload

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/llmproxy/llmproxy/e2e/harness"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// Chunk is the size of the body pieces delivered to the filter.
const Chunk = 16 << 10

// Workload is one benchmarked LLM call and the filter state it must yield.
type Workload struct {
	Name     string
	Stream   bool // response is an event stream
	Exchange host.Exchange
	Want     map[string]string
}

// Bytes is the request and response body size.
func (w *Workload) Bytes() int64 {
	n := 0
	for _, c := range w.Exchange.RequestBody {
		n += len(c)
	}
	for _, c := range w.Exchange.ResponseBody {
		n += len(c)
	}
	return int64(n)
}

// All returns the workloads: a 2 KB JSON chat completion, a 400-event
// stream in 16 KiB chunks and live (one event per chunk, as a model writes
// it), a 1 MB request, a 1 MB stream and a 20 MB stream.
func All() ([]Workload, error) {
	cases, err := fixture.Load()
	if err != nil {
		return nil, err
	}
	chat, err := named(cases, "openai/chat_json")
	if err != nil {
		return nil, err
	}
	stream, err := named(cases, "openai/chat_stream_usage")
	if err != nil {
		return nil, err
	}
	tmpl, err := parseStream(stream.ResponseBody)
	if err != nil {
		return nil, err
	}
	json2k := bytes.Replace(chat.ResponseBody, []byte(`"content": "`),
		[]byte(`"content": "`+strings.Repeat("Envoy filters observe traffic. ", 36)), 1)
	bigReq := []byte(`{"messages":[{"role":"user","content":"` + strings.Repeat("lorem ipsum ", 1<<20/12) +
		`"}],"model":"gpt-4o-mini","temperature":0.2}`)
	return []Workload{
		build("json2k", chat, chat.RequestBody, json2k, false),
		build("sse400", stream, stream.RequestBody, tmpl.events(400), true),
		live(build("sse400live", stream, stream.RequestBody, tmpl.events(400), true)),
		build("req1m", chat, bigReq, chat.ResponseBody, false),
		build("sse1m", stream, stream.RequestBody, tmpl.size(1<<20), true),
		build("sse20m", stream, stream.RequestBody, tmpl.size(20<<20), true),
	}, nil
}

func named(cases []fixture.Case, name string) (fixture.Case, error) {
	for _, c := range cases {
		if c.Name == name {
			return c, nil
		}
	}
	return fixture.Case{}, fmt.Errorf("workload: no case %s", name)
}

func build(name string, c fixture.Case, req, resp []byte, stream bool) Workload {
	ex := replay.Exchange(c, nil, 0)
	ex.RequestBody, ex.ResponseBody = harness.Chunks(req, Chunk), harness.Chunks(resp, Chunk)
	return Workload{Name: name, Stream: stream, Exchange: ex, Want: c.Expect.FilterState()}
}

// live delivers the response one event per chunk, the way a proxy gets a
// stream whose events the server writes as they are generated.
func live(w Workload) Workload {
	body := bytes.Join(w.Exchange.ResponseBody, nil)
	w.Exchange.ResponseBody = bytes.SplitAfter(body, []byte("\n\n"))
	if n := len(w.Exchange.ResponseBody); n > 0 && len(w.Exchange.ResponseBody[n-1]) == 0 {
		w.Exchange.ResponseBody = w.Exchange.ResponseBody[:n-1]
	}
	return w
}

// streamShape is a recorded stream taken apart: the first event, the content
// events, and the closing events (finish reason, usage, [DONE]).
type streamShape struct {
	head, tail []byte
	content    [][]byte
}

func parseStream(sse []byte) (streamShape, error) {
	events := bytes.SplitAfter(sse, []byte("\n\n"))
	if len(events) > 0 && len(events[len(events)-1]) == 0 {
		events = events[:len(events)-1]
	}
	if len(events) < 5 {
		return streamShape{}, fmt.Errorf("workload: stream template has %d events", len(events))
	}
	n := len(events)
	return streamShape{
		head:    events[0],
		content: events[1 : n-3],
		tail:    bytes.Join(events[n-3:], nil),
	}, nil
}

// events is a stream of n JSON events (and [DONE]), usage in the last.
func (s streamShape) events(n int) []byte {
	var b bytes.Buffer
	b.Write(s.head)
	for i := 0; i < n-3; i++ {
		b.Write(s.content[i%len(s.content)])
	}
	b.Write(s.tail)
	return b.Bytes()
}

// size is a stream of at least n bytes.
func (s streamShape) size(n int) []byte {
	var b bytes.Buffer
	b.Write(s.head)
	for i := 0; b.Len() < n; i++ {
		b.Write(s.content[i%len(s.content)])
	}
	b.Write(s.tail)
	return b.Bytes()
}
