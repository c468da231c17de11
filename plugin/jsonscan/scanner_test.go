package jsonscan

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

type got struct {
	slot int
	kind Kind
	v    string
}

type recorder []got

func (r *recorder) Value(slot int, kind Kind, v []byte) {
	*r = append(*r, got{slot, kind, string(v)})
}

const (
	slotModel = iota + 1
	slotPrompt
	slotCompletion
	slotUsage
	slotItem
)

var testTree = NewTree(map[string]int{
	"model":                   slotModel,
	"usage":                   slotUsage,
	"usage.prompt_tokens":     slotPrompt,
	"usage.completion_tokens": slotCompletion,
	"[].u.a":                  slotItem,
})

// scan feeds doc cut at the given offsets and returns what was reported.
func scan(doc string, cuts []int) (recorder, *Scanner) { return scanBy(doc, cuts, false) }

// scanBy is scan, with the whole-document path turned off if slowOnly.
func scanBy(doc string, cuts []int, slowOnly bool) (recorder, *Scanner) {
	var r recorder
	s := new(Scanner)
	s.Reset(testTree, &r)
	s.slowOnly = slowOnly
	prev := 0
	for _, c := range cuts {
		s.Feed([]byte(doc[prev:c]))
		prev = c
	}
	s.Feed([]byte(doc[prev:]))
	s.Finish()
	return r, s
}

func TestScanner(t *testing.T) {
	longMessages := strings.Repeat(`{"role":"user","content":"say \"model\": {no} [x] \\ `+"\u00e9"+`"},`, 200)
	cases := []struct {
		name string
		doc  string
		want []got
		err  bool
	}{
		{
			name: "model last after messages, nested model ignored",
			doc:  `{"messages":[` + longMessages + `{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"model":"nested"}}}],"metadata":{"model":"meta"},"model":"gpt-4o"}`,
			want: []got{{slotModel, String, "gpt-4o"}},
		},
		{
			name: "usage numbers and null",
			doc:  `{"id":"x","model":"qwen-turbo","usage":{"prompt_tokens":11,"completion_tokens":90,"total_tokens":101}}`,
			want: []got{{slotModel, String, "qwen-turbo"}, {slotUsage, Object, ""}, {slotPrompt, Number, "11"}, {slotCompletion, Number, "90"}},
		},
		{
			name: "usage null is reported as null",
			doc:  `{"usage":null,"model":"m"}`,
			want: []got{{slotUsage, Null, "null"}, {slotModel, String, "m"}},
		},
		{
			name: "escapes are decoded",
			doc:  `{"model":"qwen\u002dturbo \ud83d\ude00 \"q\" \\ \/"}`,
			want: []got{{slotModel, String, "qwen-turbo \U0001F600 \"q\" \\ /"}},
		},
		{
			name: "top-level array elements",
			doc:  ` [ {"u":{"a":1}} , {"u":{"b":[1,{"a":9}],"a":2}} ] `,
			want: []got{{slotItem, Number, "1"}, {slotItem, Number, "2"}},
		},
		{
			name: "overlong number is not reported",
			doc:  `{"usage":{"prompt_tokens":` + strings.Repeat("9", 40) + `,"completion_tokens":-3}}`,
			want: []got{{slotUsage, Object, ""}, {slotCompletion, Number, "-3"}},
		},
		{
			name: "long string value is cut",
			doc:  `{"model":"` + strings.Repeat("m", 1000) + `"}`,
			want: []got{{slotModel, String, strings.Repeat("m", MaxValue)}},
		},
		{
			name: "empty containers",
			doc:  `{"a":{},"b":[],"usage":{},"model":"x"}`,
			want: []got{{slotUsage, Object, ""}, {slotModel, String, "x"}},
		},
		{
			name: "malformed stops reading",
			doc:  `{"usage":{"prompt_tokens":5 "completion_tokens":6},"model":"x"}`,
			want: []got{{slotUsage, Object, ""}, {slotPrompt, Number, "5"}},
			err:  true,
		},
		{
			name: "not json",
			doc:  `[DONE]`,
			err:  true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, s := scan(tc.doc, nil)
			if fmt.Sprint(r) != fmt.Sprint(recorder(tc.want)) {
				t.Fatalf("whole doc:\n got %v\nwant %v", r, tc.want)
			}
			if (s.Err() != "") != tc.err {
				t.Fatalf("err = %q, want error %v", s.Err(), tc.err)
			}
			if !tc.err && !s.Done() {
				t.Fatalf("document not complete")
			}
			// Every single cut point, then random multi-cuts.
			for c := 1; c < len(tc.doc); c++ {
				if r2, _ := scan(tc.doc, []int{c}); fmt.Sprint(r2) != fmt.Sprint(r) {
					t.Fatalf("cut at %d: got %v want %v", c, r2, r)
				}
			}
			rng := rand.New(rand.NewSource(1))
			for k := 0; k < 200; k++ {
				if r2, _ := scan(tc.doc, fixture.RandomCuts(rng, len(tc.doc), 8)); fmt.Sprint(r2) != fmt.Sprint(r) {
					t.Fatalf("random cuts: got %v want %v", r2, r)
				}
			}
		})
	}
}

// FuzzScanner checks, for any input, that the scanner never panics, that the
// chunking never changes what it reports, that the whole-document path and
// the state machine agree, and that on valid JSON the top-level model agrees
// with encoding/json.
func FuzzScanner(f *testing.F) {
	for _, seed := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
		`{"messages":[{"model":"x"}],"model":"a\u00e9\"b"}`,
		`{"usage":{"prompt_tokens":1,"completion_tokens":2}}`,
		`[{"u":{"a":1}}]`, `{"model":null}`, `{`, `"\`, `[DONE]`,
		` {"usage" : {"prompt_tokens" : 12 , "completion_tokens":tru"e}} x`, `{"a":[{"b":"]}"}],"model":"m"}`,
		`{"model":"\u0041"}`, `{"usage":{"prompt_tokens":` + strings.Repeat("1", 40) + `}}`, `[]`, `{}`, `"s" `,
		`{"c":"streamed \" text","a":[1,"x",{}]}`, `{"c":"plain","a":[]}`,
		strings.Repeat(`{"d":`, 17) + `7` + strings.Repeat(`}`, 17),
	} {
		f.Add([]byte(seed), uint16(3))
	}
	f.Fuzz(func(t *testing.T, doc []byte, split uint16) {
		whole, s := scan(string(doc), nil)
		var cuts []int
		for at := 0; split > 0 && len(doc) > 0; {
			at += 1 + int(split)%7
			if at >= len(doc) {
				break
			}
			cuts = append(cuts, at)
		}
		if parts, _ := scan(string(doc), cuts); fmt.Sprint(parts) != fmt.Sprint(whole) {
			t.Fatalf("split changed result: %v vs %v", parts, whole)
		}
		for _, pieces := range []bool{false, true} {
			fast, fs := scanTree(oddTree, doc, pieces, false)
			slow, ss := scanTree(oddTree, doc, pieces, true)
			if fast != slow || fs.Err() != ss.Err() || fs.Done() != ss.Done() {
				t.Fatalf("streamed and deep paths (pieces %v): whole-document path %q (err %q), state machine %q (err %q)",
					pieces, fast, fs.Err(), slow, ss.Err())
			}
		}
		slow, ss := scanBy(string(doc), nil, true)
		if fmt.Sprint(slow) != fmt.Sprint(whole) || ss.Err() != s.Err() || ss.Done() != s.Done() ||
			ss.TopLevelArray() != s.TopLevelArray() || ss.Started() != s.Started() {
			t.Fatalf("whole-document path: %v (err %q, done %v, array %v), state machine: %v (err %q, done %v, array %v)",
				whole, s.Err(), s.Done(), s.TopLevelArray(), slow, ss.Err(), ss.Done(), ss.TopLevelArray())
		}
		var v map[string]any
		if json.Unmarshal(doc, &v) != nil {
			return
		}
		if s.Err() != "" {
			t.Fatalf("valid JSON rejected: %s", s.Err())
		}
		model, ok := v["model"].(string)
		if !ok || len(model) > MaxValue/2 {
			return
		}
		var last string
		for _, g := range whole {
			if g.slot == slotModel {
				last = g.v
			}
		}
		if last != model && perByteReplacement(last) != model {
			t.Fatalf("model %q, encoding/json says %q", last, model)
		}
	})
}

// oddTree has what testTree lacks: a streamed string, a reported array, and
// a path deeper than maxDepth.
var oddTree = NewTree(map[string]int{
	"c*":                                1,
	"a":                                 2,
	"a.[]":                              3,
	"d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d": 4,
	"d.d.d.d.d.d.d.d.d.d.d.d.d.d.d.d":   5,
})

// pieceRecorder logs values and streamed pieces in order.
type pieceRecorder struct{ log []string }

func (r *pieceRecorder) Value(slot int, kind Kind, v []byte) {
	r.log = append(r.log, fmt.Sprintf("v%d:%d:%q", slot, kind, v))
}

func (r *pieceRecorder) Piece(slot int, p []byte) {
	r.log = append(r.log, fmt.Sprintf("p%d:%q", slot, p))
}

// valueOnly hides Piece, so streamed strings arrive whole.
type valueOnly struct{ r *pieceRecorder }

func (v valueOnly) Value(slot int, kind Kind, b []byte) { v.r.Value(slot, kind, b) }

// scanTree reads doc in one Feed with tree, through a PieceSink if pieces.
func scanTree(tree *Node, doc []byte, pieces, slowOnly bool) (string, *Scanner) {
	var r pieceRecorder
	var sink Sink = valueOnly{&r}
	if pieces {
		sink = &r
	}
	s := new(Scanner)
	s.Reset(tree, sink)
	s.slowOnly = slowOnly
	s.Feed(doc)
	s.Finish()
	return strings.Join(r.log, " "), s
}

// TestWholeDocumentPath checks that documents that arrive whole take the
// single loop, and those it does not handle leave it having reported nothing.
func TestWholeDocumentPath(t *testing.T) {
	for _, tc := range []struct {
		doc   string
		whole bool
	}{
		{`{"id":"c1","model":"gpt-4o","usage":{"prompt_tokens":9,"completion_tokens":12}}`, true},
		{` [ {"u":{"a":1}} , {"u":{"b":[1,{"a":9}],"a":2}} ] ` + "\n", true},
		{`{"messages":[{"role":"user","content":"say \"hi\""}],"model":"m"}`, true},
		{`{"model":"a\"b"}`, false},                                    // escape in a reported value
		{`{"model":"` + strings.Repeat("m", MaxValue+1) + `"}`, false}, // cut by MaxValue
		{`{"model":"m"`, false},                                        // incomplete
		{`{"model" "m"}`, false},                                       // malformed
	} {
		var r recorder
		var s Scanner
		s.Reset(testTree, &r)
		if got := s.whole([]byte(tc.doc)); got != tc.whole || !got && (len(r) > 0 || s.Started()) {
			t.Errorf("whole(%.40q) = %v, reported %v; want %v and nothing reported on false", tc.doc, got, r, tc.whole)
		}
	}
}

// TestStringSkip checks the one-search rule for a string's end against
// backslash runs before a quote: an odd run escapes it, an even one not.
func TestStringSkip(t *testing.T) {
	for _, tc := range []struct {
		s    string // the contents after the opening quote
		want int    // index after the closing quote, or -1
	}{
		{`"`, 1},
		{`abc"x"`, 4},
		{`a\\"x"`, 4},    // \\ is a backslash: the first quote closes
		{`a\\"x`, 4},     // even when nothing follows
		{`a\\\\"x"`, 6},  // two backslashes
		{`a\"x"`, 5},     // an escaped quote, then the closing one
		{`a\\\"b"x"`, 7}, // \\ then \": the quote after b closes
		{`\\"`, 3},
		{`\"`, -1},
		{`a\"`, -1},
		{`abc`, -1},
		{``, -1},
	} {
		if got := stringSkip([]byte(tc.s), 0); got != tc.want {
			t.Errorf("stringSkip(%q) = %d, want %d", tc.s, got, tc.want)
		}
		end, _ := stringEnd([]byte(tc.s), 0)
		if want := tc.want - 1; tc.want < 0 && end != -1 || tc.want >= 0 && end != want {
			t.Errorf("stringEnd(%q) = %d, disagrees with %d", tc.s, end, tc.want)
		}
	}
}

// TestManyEscapesStayLinear feeds strings made of escapes before a far
// quote, in tracked and skipped positions; a rescan per escape would not
// finish.
func TestManyEscapesStayLinear(t *testing.T) {
	esc := strings.Repeat(`\n`, 1<<22)
	doc := `{"messages":[{"content":"` + esc + `"}],"model":"m` + esc + `"}`
	for _, cuts := range [][]int{{len(doc) / 3, len(doc) / 2}, nil} { // nil: the whole-document loop
		r, s := scan(doc, cuts)
		if s.Err() != "" || len(r) != 1 || !strings.HasPrefix(r[0].v, "m\n\n") {
			t.Fatalf("cuts %v: err %q, got %d values", cuts, s.Err(), len(r))
		}
	}
}

// perByteReplacement turns each invalid UTF-8 byte into U+FFFD, as
// encoding/json does when it decodes a string.
func perByteReplacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
