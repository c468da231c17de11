package filter

import (
	"bytes"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/llmproxy/llmproxy/plugin/api"
)

// lengthen repeats an event from the middle of an SSE stream until the
// stream is at least n bytes. The events before and after keep their
// places, so the closing events still report what the fixture expects.
func lengthen(sse []byte, n int) ([]byte, bool) {
	events := bytes.SplitAfter(sse, []byte("\n\n"))
	if len(events) > 0 && len(events[len(events)-1]) == 0 {
		events = events[:len(events)-1]
	}
	if len(events) < 3 {
		return nil, false
	}
	var b bytes.Buffer
	b.Write(events[0])
	for b.Len() < n {
		b.Write(events[1])
	}
	for _, e := range events[1:] {
		b.Write(e)
	}
	return b.Bytes(), true
}

// TestLongStreams replays every recorded SSE stream grown past the tail an
// API's closing events are read from, in chunks both smaller and larger
// than the tail: the record must be the recorded one.
func TestLongStreams(t *testing.T) {
	cases, err := fixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	const size = 12 * api.TailSize
	tested := 0
	for _, c := range cases {
		if api.FormatOf(c.ResponseHeaders["content-type"]) != api.FormatSSE || c.ResponseHeaders["content-encoding"] != "" {
			continue
		}
		long, ok := lengthen(c.ResponseBody, size)
		if !ok {
			continue
		}
		tested++
		c.ResponseBody = long
		t.Run(c.Name, func(t *testing.T) {
			want := wantRecord(c.Expect)
			rng := rand.New(rand.NewSource(int64(len(long))))
			for i, max := range []int{len(long), api.TailSize, 512, api.TailSize / 3, api.TailSize + 1, 3 * api.TailSize} {
				var cuts []int
				switch i {
				case 0:
				case 1: // chunks of exactly the tail's size
					for at := max; at < len(long); at += max {
						cuts = append(cuts, at)
					}
				default:
					cuts = fixture.RandomCuts(rng, len(long), max)
				}
				h := newFakeHost(sleepNode)
				got, _ := replay(t, NewPlugin(), h, c, nil, cuts).Record()
				if core(got) != want {
					t.Fatalf("chunks up to %d bytes: record\n got %+v\nwant %+v", max, core(got), want)
				}
				if want := c.Expect.FilterState(); !reflect.DeepEqual(fixture.WithoutTTFT(h.state), want) {
					t.Fatalf("chunks up to %d bytes: filter state\n got %v\nwant %v", max, h.state, want)
				}
			}
		})
	}
	if tested < 15 {
		t.Fatalf("only %d SSE cases could be lengthened", tested)
	}
}

// TestTailOnlyReadsTheTail checks that an OpenAI stream, once its model is
// known, is read only at its end: chunks larger than the tail are read in
// part, and the closing usage is still found.
func TestTailOnlyReadsTheTail(t *testing.T) {
	c := loadCase(t, "openai/chat_stream_usage")
	long, _ := lengthen(c.ResponseBody, 40*api.TailSize)
	c.ResponseBody = long
	h := newFakeHost(sleepNode)
	var cuts []int // 64 KiB chunks, as Envoy often delivers
	for at := 4 * api.TailSize; at < len(long); at += 4 * api.TailSize {
		cuts = append(cuts, at)
	}
	got, _ := replay(t, NewPlugin(), h, c, nil, cuts).Record()
	if core(got) != wantRecord(c.Expect) {
		t.Fatalf("record\n got %+v\nwant %+v", core(got), wantRecord(c.Expect))
	}
	if read := h.read[1]; read > len(long)/3 {
		t.Fatalf("read %d of %d response bytes", read, len(long))
	}

	// A family that reads every event reads every byte.
	r := loadCase(t, "openai_responses/stream")
	r.ResponseBody, _ = lengthen(r.ResponseBody, 8*api.TailSize)
	h = newFakeHost(sleepNode)
	replay(t, NewPlugin(), h, r, nil, fixture.RandomCuts(rand.New(rand.NewSource(2)), len(r.ResponseBody), 4*api.TailSize))
	if h.read[1] != len(r.ResponseBody) {
		t.Fatalf("responses stream: read %d of %d bytes", h.read[1], len(r.ResponseBody))
	}
}

// TestClosingEventBeyondTheTail pins the limit: a closing event longer than
// the tail is not read, and the call counts as reporting no usage. An
// OpenAI stream is read by its tail from the first byte, so its response
// model, which that event carried, is unknown too.
func TestClosingEventBeyondTheTail(t *testing.T) {
	c := loadCase(t, "openai/chat_stream_usage")
	huge := `"system_fingerprint":"` + strings.Repeat("x", api.TailSize) + `",`
	i := bytes.LastIndex(c.ResponseBody, []byte(`"usage":{`))
	if i < 0 {
		t.Fatal("no usage in the fixture")
	}
	c.ResponseBody = append(append(append([]byte(nil), c.ResponseBody[:i]...), huge...), c.ResponseBody[i:]...)
	got, _ := replay(t, NewPlugin(), newFakeHost(sleepNode), c, nil, nil).Record()
	if got.HasTokens() || got.Outcome.String() != "missing" || got.ResponseModel != "" {
		t.Fatalf("record %+v", core(got))
	}
}

func loadCase(t *testing.T, name string) fixture.Case {
	t.Helper()
	c, err := fixture.Named(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
