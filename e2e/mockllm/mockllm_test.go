package mockllm

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

func load(t *testing.T) []fixture.Case {
	t.Helper()
	cases, err := fixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// post sends a case's recorded request, with extra headers.
func post(t *testing.T, url string, c fixture.Case, extra map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+c.Path, bytes.NewReader(c.RequestBody))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.RequestHeaders {
		req.Header.Set(k, v)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	// Recorded compressed bodies must arrive as recorded, not inflated.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestEveryCaseReplaysByteForByte(t *testing.T) {
	cases := load(t)
	srv := httptest.NewServer(New(cases))
	defer srv.Close()
	for _, c := range cases {
		resp := post(t, srv.URL, c, map[string]string{CaseHeader: c.Name})
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != c.Status || !bytes.Equal(body, c.ResponseBody) {
			t.Errorf("%s: status %d, %d body bytes; want %d, %d", c.Name, resp.StatusCode, len(body), c.Status, len(c.ResponseBody))
		}
		for k, v := range c.ResponseHeaders {
			if !ownHeaders[strings.ToLower(k)] && resp.Header.Get(k) != v {
				t.Errorf("%s: header %s = %q, want %q", c.Name, k, resp.Header.Get(k), v)
			}
		}
		if resp.Header.Get(CaseHeader) != c.Name {
			t.Errorf("%s: answered by %q", c.Name, resp.Header.Get(CaseHeader))
		}
	}
}

// Without the header, a recorded request gets a case recorded for the same
// path, framing and model.
func TestDefaultCaseMatchesTheRequest(t *testing.T) {
	cases := load(t)
	s := New(cases)
	srv := httptest.NewServer(s)
	defer srv.Close()
	byName := map[string]fixture.Case{}
	for _, c := range cases {
		byName[c.Name] = c
	}
	for _, c := range cases {
		resp := post(t, srv.URL, c, nil)
		got, ok := byName[resp.Header.Get(CaseHeader)]
		if !ok {
			t.Fatalf("%s: answered by %q (status %d)", c.Name, resp.Header.Get(CaseHeader), resp.StatusCode)
		}
		if got.Path != c.Path || got.Expect.Stream != c.Expect.Stream || topLevelModel(got.RequestBody) != topLevelModel(c.RequestBody) {
			t.Errorf("%s: answered by %s", c.Name, got.Name)
		}
	}
	// The README's walkthrough: the seed request, no header.
	resp := post(t, srv.URL, byName["dashscope_compatible/seed_qwen_turbo"], nil)
	if resp.Header.Get(CaseHeader) != "dashscope_compatible/seed_qwen_turbo" {
		t.Fatalf("seed request answered by %q", resp.Header.Get(CaseHeader))
	}
}

func TestErrors(t *testing.T) {
	srv := httptest.NewServer(New(load(t)))
	defer srv.Close()
	for name, tc := range map[string]struct {
		method, path, caseName string
		status                 int
		says                   string
	}{
		"unknown case": {"POST", "/v1/chat/completions", "openai/nope", 404, `no case "openai/nope"`},
		"unknown path": {"POST", "/v9/unknown", "", 404, "no recorded case for POST /v9/unknown"},
		"GET":          {"GET", "/v1/chat/completions", "", 405, "POST only"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(`{"model":"m"}`))
		if tc.caseName != "" {
			req.Header.Set(CaseHeader, tc.caseName)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.says) {
			t.Errorf("%s: %d %q", name, resp.StatusCode, body)
		}
	}
}

// flushRecorder records what was written between flushes.
type flushRecorder struct {
	*httptest.ResponseRecorder
	pieces [][]byte
	cur    []byte
}

func (f *flushRecorder) Write(b []byte) (int, error) {
	f.cur = append(f.cur, b...)
	return f.ResponseRecorder.Write(b)
}

func (f *flushRecorder) Flush() {
	f.pieces = append(f.pieces, f.cur)
	f.cur = nil
}

func TestStreamsGoOutInFlushedPieces(t *testing.T) {
	cases := load(t)
	s := New(cases)
	s.Chunk = 16
	for _, c := range cases {
		rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
		s.replay(rec, &c)
		if !bytes.Equal(rec.Body.Bytes(), c.ResponseBody) {
			t.Fatalf("%s: body differs", c.Name)
		}
		if !c.Expect.Stream {
			if len(rec.pieces) != 0 || rec.Header().Get("Content-Length") == "" {
				t.Errorf("%s: JSON body flushed %d times, Content-Length %q", c.Name, len(rec.pieces), rec.Header().Get("Content-Length"))
			}
			continue
		}
		want := (len(c.ResponseBody) + 15) / 16
		if len(rec.pieces) != want || len(rec.cur) != 0 {
			t.Errorf("%s: %d flushed pieces, want %d", c.Name, len(rec.pieces), want)
		}
		for _, p := range rec.pieces {
			if len(p) > 16 {
				t.Errorf("%s: a piece of %d bytes", c.Name, len(p))
				break
			}
		}
		if rec.Header().Get("Content-Length") != "" {
			t.Errorf("%s: a stream with a Content-Length", c.Name)
		}
	}
}
