package api

import (
	"strings"

	"github.com/llmproxy/llmproxy/plugin/jsonscan"
	"github.com/llmproxy/llmproxy/plugin/sse"
	"github.com/llmproxy/llmproxy/plugin/usage"
)

// Format is how a response body is framed.
type Format uint8

// Response body formats.
const (
	FormatNone Format = iota // unreadable: unknown type or encoding
	FormatJSON
	FormatSSE
)

// FormatOf picks the framing from the response headers.
func FormatOf(contentType, contentEncoding string) Format {
	if e := strings.TrimSpace(contentEncoding); e != "" && !strings.EqualFold(e, "identity") {
		return FormatNone
	}
	mt := contentType
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case mt == "text/event-stream":
		return FormatSSE
	case mt == "application/json", strings.HasSuffix(mt, "+json"), mt == "":
		return FormatJSON
	}
	return FormatNone
}

// Response reads the usage of a response body as it streams by. Memory does
// not depend on the body: JSON is scanned, never held, and SSE events are
// scanned piece by piece as their data arrives.
type Response struct {
	fam    *Family
	format Format
	status int
	scan   jsonscan.Scanner
	frame  sse.Framer
	v      values

	inEvent  bool
	dataLen  int
	head     [6]byte // start of an event's data, to tell "[DONE]" from JSON
	badDocs  int     // JSON documents that did not parse
	errEvent bool
	sawBody  bool
}

// Start begins reading a response; status is the HTTP status code.
func (r *Response) Start(f *Family, format Format, status int) {
	*r = Response{fam: f, format: format, status: status}
	if format == FormatJSON {
		r.scan.Reset(f.response, &r.v)
	}
}

// Readable reports whether the body is worth reading.
func (r *Response) Readable() bool { return r.format != FormatNone }

// Feed reads the next body chunk.
func (r *Response) Feed(p []byte) {
	if len(p) == 0 {
		return
	}
	r.sawBody = true
	switch r.format {
	case FormatJSON:
		r.scan.Feed(p)
	case FormatSSE:
		r.frame.Feed(p, r)
	}
}

// EventType implements sse.Handler.
func (r *Response) EventType(name []byte) {
	if string(name) == "error" {
		r.errEvent = true
	}
}

// Data implements sse.Handler.
func (r *Response) Data(p []byte) {
	if !r.inEvent {
		r.inEvent, r.dataLen = true, 0
		r.scan.Reset(r.fam.response, &r.v)
	}
	if r.dataLen < len(r.head) {
		copy(r.head[r.dataLen:], p)
	}
	r.dataLen += len(p)
	r.scan.Feed(p)
}

// Dispatch implements sse.Handler.
func (r *Response) Dispatch() {
	if !r.inEvent {
		return
	}
	r.inEvent = false
	if r.dataLen == len(r.head) && string(r.head[:]) == "[DONE]" {
		return
	}
	r.scan.Finish()
	if r.scan.Err() != "" || !r.scan.Done() {
		r.badDocs++
	}
}

// Finish completes the record. complete is false when the stream ended
// without its end (a reset or a truncated body).
func (r *Response) Finish(rec *usage.Record, complete bool) {
	finish(&r.v, rec)
	rec.Stream = r.format == FormatSSE
	switch {
	case r.status < 200 || r.status > 299 || r.v.errBody || r.errEvent:
		rec.Outcome = usage.Error
	case rec.HasTokens():
		rec.Outcome = usage.Reported
	case r.format == FormatNone || !complete || r.unparsed():
		rec.Outcome = usage.Unreadable
	default:
		rec.Outcome = usage.Missing
	}
}

func (r *Response) unparsed() bool {
	if r.format == FormatJSON {
		r.scan.Finish()
		return !r.sawBody || r.scan.Err() != "" || !r.scan.Done()
	}
	return r.badDocs > 0
}

// Why says in a few words what stopped the reading, for the log line.
func (r *Response) Why() string {
	switch {
	case r.format == FormatNone:
		return "unsupported content type or encoding"
	case r.format == FormatJSON && r.scan.Err() != "":
		return "malformed JSON: " + r.scan.Err()
	case r.badDocs > 0:
		return "malformed stream events"
	}
	return ""
}
