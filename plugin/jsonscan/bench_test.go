package jsonscan

import (
	"os"
	"path/filepath"
	"testing"
)

type nopSink struct{}

func (nopSink) Value(int, Kind, []byte) {}

// BenchmarkScan reads the usage out of a recorded chat completion, the
// per-document work behind every JSON body and stream event.
func BenchmarkScan(b *testing.B) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cases", "openai", "chat_json", "response.json"))
	if err != nil {
		b.Fatal(err)
	}
	tree := NewTree(map[string]int{"model": 1, "usage.prompt_tokens": 2, "usage.completion_tokens": 3,
		"usage.total_tokens": 4, "usage.prompt_tokens_details.cached_tokens": 5, "choices.[].usage.total_tokens": 6, "error": 7})
	var s Scanner
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		s.Reset(tree, nopSink{})
		s.Feed(doc)
		s.Finish()
		if !s.Done() {
			b.Fatal(s.Err())
		}
	}
}
