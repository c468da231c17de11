package ndjson

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

type lines struct {
	got []string
	cur string
}

func (l *lines) Data(p []byte) { l.cur += string(p) }
func (l *lines) Dispatch()     { l.got, l.cur = append(l.got, l.cur), "" }

func frame(s string, cuts []int) []string {
	var f Framer
	l := &lines{}
	for _, ch := range fixture.Split([]byte(s), cuts) {
		f.Feed(ch, l)
	}
	f.Close(l)
	return l.got
}

func TestFramer(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"{\"a\":1}\n{\"b\":2}\n", []string{`{"a":1}`, `{"b":2}`}},
		{"{\"a\":1}\r\n\n\n{\"b\":2}", []string{"{\"a\":1}\r", `{"b":2}`}},
		{"\n\n", nil},
	}
	for _, tc := range cases {
		want := fmt.Sprint(tc.want)
		for c := 0; c < len(tc.in); c++ {
			var cuts []int
			if c > 0 {
				cuts = []int{c}
			}
			if got := fmt.Sprint(frame(tc.in, cuts)); got != want {
				t.Fatalf("%q cut at %d: got %s want %s", tc.in, c, got, want)
			}
		}
	}
}

func FuzzFramer(f *testing.F) {
	f.Add([]byte("{\"done\":false}\n{\"done\":true}\n"), int64(1))
	f.Fuzz(func(t *testing.T, in []byte, seed int64) {
		whole := fmt.Sprint(frame(string(in), nil))
		cuts := fixture.RandomCuts(rand.New(rand.NewSource(seed)), len(in), 7)
		if got := fmt.Sprint(frame(string(in), cuts)); got != whole {
			t.Fatalf("cuts %v: %s vs %s", cuts, got, whole)
		}
	})
}
