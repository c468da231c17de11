// Package mockllm is a mock LLM provider for the Envoy-in-Docker e2e. It
// replays the recorded exchanges under testdata/cases byte for byte, so the
// Envoy in front of it sees what real providers send: their status, headers
// and body framing, with streams arriving in small flushed pieces.
package mockllm

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

// CaseHeader names the case to replay, e.g. "openai/chat_stream_usage". The
// response carries it too, saying which case answered.
const CaseHeader = "x-mock-case"

// Server answers POSTs with recorded responses.
type Server struct {
	cases  []fixture.Case // sorted by name
	byName map[string]int
	// Chunk is the size of each streamed write, Pause the wait after it;
	// they make Envoy hand the filter a stream in many pieces.
	Chunk int
	Pause time.Duration
}

// New serves the given cases.
func New(cases []fixture.Case) *Server {
	s := &Server{cases: append([]fixture.Case(nil), cases...), byName: map[string]int{}, Chunk: 64}
	sort.Slice(s.cases, func(i, j int) bool { return s.cases[i].Name < s.cases[j].Name })
	for i, c := range s.cases {
		s.byName[c.Name] = i
	}
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "the mock answers POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c, err := s.pick(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	s.replay(w, c)
}

// pick is the named case, else the best recorded case for the same path
// whose request asks for the same framing: one with the same model, then one
// that reported usage, then one with a plain (not compressed) body.
func (s *Server) pick(r *http.Request, body []byte) (*fixture.Case, error) {
	if name := r.Header.Get(CaseHeader); name != "" {
		i, ok := s.byName[name]
		if !ok {
			return nil, fmt.Errorf("no case %q", name)
		}
		return &s.cases[i], nil
	}
	stream, model := streamRequested(r.Header, body), topLevelModel(body)
	var best *fixture.Case
	bestScore := -1
	for i := range s.cases {
		c := &s.cases[i]
		if c.Path != r.RequestURI || streamRequested(caseHeaders(c), c.RequestBody) != stream {
			continue
		}
		score := 0
		if model != "" && topLevelModel(c.RequestBody) == model {
			score += 4
		}
		if c.Expect.Outcome == "reported" {
			score += 2
		}
		if header(c.ResponseHeaders, "content-encoding") == "" {
			score++
		}
		if score > bestScore { // cases are sorted, so ties go to the first name
			best, bestScore = c, score
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no recorded case for POST %s (stream %v); name one with the %s header", r.RequestURI, stream, CaseHeader)
	}
	return best, nil
}

// streamRequested tells a streaming request by the ways providers are asked
// for one: "stream": true in the body, DashScope's X-DashScope-SSE header,
// or an Accept of text/event-stream.
func streamRequested(h http.Header, body []byte) bool {
	var top struct {
		Stream *bool `json:"stream"`
	}
	_ = json.Unmarshal(body, &top)
	return top.Stream != nil && *top.Stream ||
		strings.EqualFold(h.Get("X-DashScope-SSE"), "enable") ||
		strings.Contains(h.Get("Accept"), "text/event-stream")
}

func topLevelModel(body []byte) string {
	var top struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(body, &top)
	return top.Model
}

func caseHeaders(c *fixture.Case) http.Header {
	h := http.Header{}
	for k, v := range c.RequestHeaders {
		h.Set(k, v)
	}
	return h
}

func header(m map[string]string, name string) string {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Hop-by-hop and length headers are the server's to write, not the case's.
var ownHeaders = map[string]bool{"content-length": true, "transfer-encoding": true, "connection": true}

// replay writes the recorded response. A stream goes out in Chunk-sized
// flushed writes; any other body at once, with its length.
func (s *Server) replay(w http.ResponseWriter, c *fixture.Case) {
	h := w.Header()
	for k, v := range c.ResponseHeaders {
		if !ownHeaders[strings.ToLower(k)] {
			h.Set(k, v)
		}
	}
	h.Set(CaseHeader, c.Name)
	if !c.Expect.Stream {
		h.Set("Content-Length", strconv.Itoa(len(c.ResponseBody)))
		w.WriteHeader(c.Status)
		_, _ = w.Write(c.ResponseBody)
		return
	}
	w.WriteHeader(c.Status)
	flusher, _ := w.(http.Flusher)
	chunk := max(s.Chunk, 1)
	for rest := c.ResponseBody; len(rest) > 0; {
		n := min(chunk, len(rest))
		if _, err := w.Write(rest[:n]); err != nil {
			return // the client went away
		}
		if flusher != nil {
			flusher.Flush()
		}
		rest = rest[n:]
		if s.Pause > 0 && len(rest) > 0 {
			time.Sleep(s.Pause)
		}
	}
}

// Names lists the cases served.
func (s *Server) Names() []string {
	names := make([]string, 0, len(s.cases))
	for _, c := range s.cases {
		names = append(names, c.Name)
	}
	return names
}
