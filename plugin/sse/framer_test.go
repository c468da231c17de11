package sse

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

type event struct{ Type, Data string }

type recorder struct {
	events []event
	cur    event
}

func (r *recorder) EventType(name []byte) { r.cur.Type = string(name) }
func (r *recorder) Data(p []byte)         { r.cur.Data += string(p) }
func (r *recorder) Dispatch() {
	r.events = append(r.events, r.cur)
	r.cur = event{}
}

func frame(stream string, cuts []int) []event {
	var f Framer
	r := &recorder{}
	prev := 0
	for _, c := range cuts {
		f.Feed([]byte(stream[prev:c]), r)
		prev = c
	}
	f.Feed([]byte(stream[prev:]), r)
	return r.events
}

func TestFramer(t *testing.T) {
	cases := []struct {
		name   string
		stream string
		want   []event
	}{
		{"openai style", "data: {\"a\":1}\n\ndata: [DONE]\n\n",
			[]event{{"", `{"a":1}`}, {"", "[DONE]"}}},
		{"no space, comments, id (DashScope native)", "id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"x\":1}\n\nid:2\nevent:result\n:HTTP_STATUS/200\ndata:{\"x\":2}\n\n",
			[]event{{"result", `{"x":1}`}, {"result", `{"x":2}`}}},
		{"CRLF", "event: message_start\r\ndata: {}\r\n\r\ndata: b\r\n\r\n",
			[]event{{"message_start", "{}"}, {"", "b"}}},
		{"lone CR", "data: a\rdata: b\r\rdata: c\r\r",
			[]event{{"", "a\nb"}, {"", "c"}}},
		{"multi-line data joins with LF", "data: line1\ndata:line2\ndata\n\n",
			[]event{{"", "line1\nline2\n"}}},
		{"only one leading space is removed", "data:  two\n\n",
			[]event{{"", " two"}}},
		{"comment-only blocks make no event", ": keep-alive\n\n: ping\n\ndata: x\n\n",
			[]event{{"", "x"}}},
		{"unknown and overlong fields are ignored", "datax: no\nretry: 5\nverylongfieldname: z\ndata: y\n\n",
			[]event{{"", "y"}}},
		{"leading blank lines", "\n\n\r\ndata: z\n\n",
			[]event{{"", "z"}}},
		{"unterminated last event is not dispatched", "data: a\n\ndata: b\n",
			[]event{{"", "a"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := fmt.Sprint(tc.want)
			if got := fmt.Sprint(frame(tc.stream, nil)); got != want {
				t.Fatalf("got %s\nwant %s", got, want)
			}
			for c := 1; c < len(tc.stream); c++ {
				if got := fmt.Sprint(frame(tc.stream, []int{c})); got != want {
					t.Fatalf("cut at %d: got %s want %s", c, got, want)
				}
			}
			rng := rand.New(rand.NewSource(7))
			for k := 0; k < 200; k++ {
				cuts := fixture.RandomCuts(rng, len(tc.stream), 5)
				if got := fmt.Sprint(frame(tc.stream, cuts)); got != want {
					t.Fatalf("cuts %v: got %s want %s", cuts, got, want)
				}
			}
		})
	}
}

func TestEventTypeIsCut(t *testing.T) {
	long := make([]byte, 200)
	for i := range long {
		long[i] = 'e'
	}
	got := frame("event: "+string(long)+"\ndata: d\n\n", nil)
	if len(got) != 1 || len(got[0].Type) != MaxEventType {
		t.Fatalf("got %+v", got)
	}
}

func FuzzFramer(f *testing.F) {
	f.Add([]byte("id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"x\":1}\n\n"), int64(1))
	f.Add([]byte("data: a\r\ndata: b\r\r\n\n"), int64(2))
	f.Fuzz(func(t *testing.T, stream []byte, seed int64) {
		whole := fmt.Sprint(frame(string(stream), nil))
		cuts := fixture.RandomCuts(rand.New(rand.NewSource(seed)), len(stream), 9)
		if got := fmt.Sprint(frame(string(stream), cuts)); got != whole {
			t.Fatalf("cuts %v changed events:\n%s\n%s", cuts, got, whole)
		}
		if EndsEvent(stream) {
			if got := fmt.Sprint(backward(string(stream))); got != whole {
				t.Fatalf("events from the end:\n%s\n%s", got, whole)
			}
		}
	})
}

// TestManyCRsStayLinear: lone CRs before a far LF end many lines, each of
// which must not search for the LF again.
func TestManyCRsStayLinear(t *testing.T) {
	stream := "data: a\r" + strings.Repeat("\r", 1<<20) + "x\n"
	got := frame(stream, []int{1 << 19})
	if len(got) != 1 || got[0].Data != "a" {
		t.Fatalf("got %d events", len(got))
	}
}

// backward splits a stream that ends with a blank line into events from the
// end, as EventBefore finds them, and frames each on its own.
func backward(stream string) []event {
	b := []byte(stream)
	var out []event
	for end := len(b); end > 0; {
		start, _ := EventBefore(b, end)
		out = append(frame(stream[start:end], nil), out...)
		end = start
	}
	return out
}

// TestEventBefore checks that the events found from the end are the ones
// the framer finds from the start, on the recorded streams and edge cases.
func TestEventBefore(t *testing.T) {
	streams := []string{
		"data: a\n\ndata: b\n\n",
		"event: x\r\ndata: {}\r\n\r\ndata: b\r\n\r\n",
		"data: a\rdata: b\r\rdata: c\r\r",
		"data: a\n\r\ndata: b\r\n\n: ping\n\n\n\ndata: c\n\n",
		"\n\ndata: z\n\n",
	}
	cases, err := fixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if strings.HasPrefix(c.ResponseHeaders["content-type"], "text/event-stream") && c.ResponseHeaders["content-encoding"] == "" {
			streams = append(streams, string(c.ResponseBody))
		}
	}
	for _, s := range streams {
		if !EndsEvent([]byte(s)) {
			t.Fatalf("EndsEvent(%q) = false", s)
		}
		if got, want := backward(s), frame(s, nil); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%q:\nbackward %q\n forward %q", s, got, want)
		}
	}
	for _, s := range []string{"", "data: a", "data: a\n", "data: a\r\n", "\n\n"} {
		if EndsEvent([]byte(s)) {
			t.Fatalf("EndsEvent(%q) = true", s)
		}
	}
	b := []byte("a\ndata: x\n\ndata: y\n\n")
	if start, whole := EventBefore(b, len(b)); start != 11 || !whole {
		t.Fatalf("last event at %d, %v", start, whole)
	}
	if start, whole := EventBefore(b, 11); start != 0 || whole {
		t.Fatalf("first event at %d, %v", start, whole)
	}
}
