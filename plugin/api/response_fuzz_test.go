package api

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/llmproxy/llmproxy/plugin/usage"
)

// feed hands r a chunk as the filter does: straight into the tail when
// only the tail is kept, copying as the proxy would.
func feed(r *Response, p []byte) {
	if !r.Tailing() {
		r.Feed(p)
		return
	}
	r.BeginTail(len(p))
	for start, dst := r.TailSpace(); len(dst) > 0; start, dst = r.TailSpace() {
		r.TailFilled(copy(dst, p[start:]))
	}
}

// read feeds an SSE body to a fresh Response cut at cuts and returns the
// record.
func read(f *Family, body []byte, cuts []int) usage.Record {
	var r Response
	r.Start(f, FormatSSE, 200)
	for _, p := range fixture.Split(body, cuts) {
		feed(&r, p)
	}
	var rec usage.Record
	r.Finish(&rec, true)
	return rec
}

// FuzzTailedStream checks that a stream read by its tail gives the same
// record however it is cut, chunks larger than the tail included, so
// wherever the ring wraps. The filter's TestLongStreams checks the record
// itself against each fixture's.
func FuzzTailedStream(f *testing.F) {
	for _, name := range []string{"openai/chat_stream_usage", "anthropic/stream", "gemini/stream_sse", "openai_compat/vllm_continuous_usage"} {
		sse, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cases", name, "response.sse"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sse, uint16(40), int64(1), uint8(0))
	}
	families := []*Family{OpenAI, Anthropic, Gemini, AzureOpenAI}
	f.Fuzz(func(t *testing.T, sse []byte, copies uint16, seed int64, fam uint8) {
		fm := families[int(fam)%len(families)]
		// Grow the stream by repeating its second event, so that it
		// outgrows the tail.
		events := bytes.SplitAfter(sse, []byte("\n\n"))
		if len(events) >= 3 {
			var b bytes.Buffer
			b.Write(events[0])
			for i := 0; i < int(copies%400); i++ {
				b.Write(events[1])
			}
			for _, e := range events[1:] {
				b.Write(e)
			}
			sse = b.Bytes()
		}
		whole := read(fm, sse, nil)
		rng := rand.New(rand.NewSource(seed))
		cuts := fixture.RandomCuts(rng, len(sse), 1+rng.Intn(3*TailSize))
		if got := read(fm, sse, cuts); got != whole {
			t.Fatalf("cuts %v changed the record:\n%+v\n%+v", cuts, got, whole)
		}
	})
}
