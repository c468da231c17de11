package api

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/llmproxy/llmproxy/plugin/usage"
)

// BenchmarkResponse reads a recorded OpenAI stream lengthened to 400
// events, its closing events alone and a recorded chat completion, in
// 16 KiB chunks, the way the filter feeds them, without any host.
func BenchmarkResponse(b *testing.B) {
	dir := filepath.Join("..", "..", "testdata", "cases", "openai")
	sse, err := os.ReadFile(filepath.Join(dir, "chat_stream_usage", "response.sse"))
	if err != nil {
		b.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(dir, "chat_json", "response.json"))
	if err != nil {
		b.Fatal(err)
	}
	events := bytes.SplitAfter(sse, []byte("\n\n"))
	var long bytes.Buffer
	long.Write(events[0])
	for long.Len() < 130<<10 {
		long.Write(events[1])
	}
	for _, e := range events[1:] {
		long.Write(e)
	}
	for _, w := range []struct {
		name   string
		format Format
		body   []byte
	}{
		{"sse400", FormatSSE, long.Bytes()},
		// The closing events alone: the fixed part of reading a stream.
		{"closing", FormatSSE, bytes.Join(events[len(events)-4:], nil)},
		{"json", FormatJSON, doc},
	} {
		b.Run(w.name, func(b *testing.B) {
			var r Response
			b.SetBytes(int64(len(w.body)))
			for b.Loop() {
				r.Start(OpenAI, w.format, 200)
				for p := w.body; len(p) > 0; {
					n := min(len(p), 16<<10)
					feed(&r, p[:n])
					p = p[n:]
				}
				var rec usage.Record
				r.Finish(&rec, true)
				if rec.Outcome != usage.Reported {
					b.Fatal(rec.Outcome)
				}
			}
		})
	}
}
