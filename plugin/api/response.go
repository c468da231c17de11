package api

import (
	"strings"

	"github.com/llmproxy/llmproxy/plugin/eventstream"
	"github.com/llmproxy/llmproxy/plugin/jsonscan"
	"github.com/llmproxy/llmproxy/plugin/ndjson"
	"github.com/llmproxy/llmproxy/plugin/sse"
	"github.com/llmproxy/llmproxy/plugin/usage"
)

// Format is how a response body is framed.
type Format uint8

// Response body formats.
const (
	FormatNone Format = iota // unreadable: unknown type
	FormatJSON               // one document, or Gemini's streamed array
	FormatSSE
	FormatNDJSON
	FormatEventStream
)

// Streamed says whether the framing is a stream's. A JSON body can still
// turn out to be Gemini's streamed array, which only its first byte shows.
func (f Format) Streamed() bool {
	return f == FormatSSE || f == FormatNDJSON || f == FormatEventStream
}

// FormatOf picks the framing from the response Content-Type.
func FormatOf(contentType string) Format {
	mt, _, _ := strings.Cut(contentType, ";")
	switch mt = strings.ToLower(strings.TrimSpace(mt)); {
	case mt == "text/event-stream":
		return FormatSSE
	case mt == "application/x-ndjson", mt == "application/jsonl", mt == "application/json-seq":
		return FormatNDJSON
	case mt == "application/vnd.amazon.eventstream":
		return FormatEventStream
	case mt == "application/json", strings.HasSuffix(mt, "+json"), mt == "":
		return FormatJSON
	}
	return FormatNone
}

type tailState uint8

const (
	tailNo   tailState = iota // every event is read
	tailHeld                  // only the last bytes are kept
	tailRead                  // the kept bytes were read
)

// Response reads the usage of a response body as it streams by. Memory does
// not depend on the body: JSON is scanned, never held, and each event or
// line is scanned piece by piece as its data arrives.
type Response struct {
	fam    *Family
	format Format
	status int
	scan   jsonscan.Scanner
	sink   jsonscan.Sink
	v      values // from complete, well-formed documents
	doc    values // from the document being read

	sse    sse.Framer
	lines  ndjson.Framer
	events eventstream.Decoder
	chunk  chunkSink

	tail      tail
	tailing   tailState
	resync    bool // the next event read from the tail is partial: drop it
	tailFound bool // the tail reported usage or an error

	inEvent  bool
	dataLen  int
	head     [6]byte // start of an event's data, to tell "[DONE]" from JSON
	badDocs  int     // documents or messages that did not parse
	errEvent bool
	sawBody  bool
	complete bool
	unread   string // why the body could not be read, if it could not
}

// Start begins reading a response; status is the HTTP status code.
func (r *Response) Start(f *Family, format Format, status int) {
	*r = Response{fam: f, format: format, status: status}
	r.sink = &r.doc
	r.chunk.v = &r.doc
	if format == FormatJSON {
		r.scan.Reset(f.response, r.sink)
	}
	if format == FormatNone {
		r.unread = "unsupported content type"
	}
	if format == FormatSSE && f.tail == tailFromStart {
		r.tailing = tailHeld
		r.tail.start()
	}
}

// Unreadable marks the body as one the plugin cannot read, such as an
// encoding it cannot decode.
func (r *Response) Unreadable(why string) {
	r.format, r.unread = FormatNone, why
}

// Readable reports whether the body is worth reading.
func (r *Response) Readable() bool { return r.format != FormatNone }

// Header takes token counts some APIs send as response headers.
func (r *Response) Header(get func(name string) (string, bool)) {
	if r.fam != Bedrock {
		return
	}
	for _, h := range bedrockHeaders {
		if v, ok := get(h.Name); ok {
			r.v.Value(int(h.Field), jsonscan.Number, []byte(v))
		}
	}
	if r.status >= 300 {
		if v, ok := get("x-amzn-errortype"); ok {
			r.v.setErr(ErrorCode, v)
		}
	}
}

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
		if r.tailing == tailHeld {
			r.tail.write(p)
		} else if n := r.sse.Feed(p, r); n < len(p) {
			r.tail.write(p[n:])
		}
	case FormatNDJSON:
		r.lines.Feed(p, r)
	case FormatEventStream:
		r.events.Feed(p, eventHandler{r})
	}
}

// Tailing reports whether only the stream's last bytes are kept: the caller
// may then read a chunk straight into the tail, with BeginTail, TailSpace
// and TailFilled, instead of feeding it.
func (r *Response) Tailing() bool { return r.tailing == tailHeld }

// BeginTail starts reading a chunk of size bytes into the tail.
func (r *Response) BeginTail(size int) {
	r.sawBody = r.sawBody || size > 0
	r.tail.begin(size)
}

// TailSpace is the chunk offset to read from next and where to copy the
// bytes; dst is empty when the chunk is done.
func (r *Response) TailSpace() (start int, dst []byte) { return r.tail.space() }

// TailFilled records n bytes copied into TailSpace's dst; n == 0 means the
// read failed, and the chunk counts as gone by unread.
func (r *Response) TailFilled(n int) {
	if n <= 0 {
		r.tail.gap()
		return
	}
	r.tail.filled(n)
}

// holdTail, after an event, starts keeping only the stream's last bytes if
// nothing but its closing events can add to what is known.
func (r *Response) holdTail() {
	if r.fam.tail == tailAfterModel && r.format == FormatSSE && r.tailing == tailNo && r.v.model != "" {
		r.tailing = tailHeld
		r.tail.start()
		r.sse.Pause()
	}
}

// readTail reads the closing events kept by holdTail.
func (r *Response) readTail() {
	if r.tailing != tailHeld {
		return
	}
	r.tailing = tailRead
	defer r.tail.release()
	// The closing events are mostly in the newest stretch of the ring:
	// read them there before putting the ring in order.
	if newest := r.tail.newest(); newest != nil && r.readClosing(newest, true) {
		return
	}
	b := r.tail.bytes()
	if !r.readClosing(b, r.tail.lost) {
		r.readEvents(b, r.tail.lost)
	}
}

// readClosing reads the tail's events from the last one back and stops at
// the first that reports usage or an error, once the model is known; for a
// family read by its tail the ones before add nothing. It gives up, leaving
// no trace, after a few events, at the start of b if partial, or if the
// stream ended inside an event.
func (r *Response) readClosing(b []byte, partial bool) bool {
	if !sse.EndsEvent(b) {
		return false
	}
	v, bad, errEvent := r.v, r.badDocs, r.errEvent
	for end, n := len(b), 0; end > 0 && n < closingEvents; n++ {
		start, whole := sse.EventBefore(b, end)
		if !whole && partial {
			break
		}
		r.readEvents(b[start:end], false)
		if r.tailFound && r.v.model != "" {
			return true
		}
		end = start
	}
	r.v, r.badDocs, r.errEvent, r.tailFound = v, bad, errEvent, false
	return false
}

// readEvents reads whole events from b; partial means b starts inside one.
func (r *Response) readEvents(b []byte, partial bool) {
	r.sse = sse.Framer{}
	r.inEvent, r.resync = false, partial
	r.sse.Feed(b, r)
}

// commit keeps what the document just read reported, if it was whole and
// well-formed: numbers read before a syntax error are not usage.
func (r *Response) commit(ok bool) {
	if ok {
		r.v.merge(&r.doc)
	}
	if r.tailing == tailRead && (ok && r.doc.reported() || r.errEvent) {
		r.tailFound = true
	}
	r.doc = values{}
}

// Finish completes the record. complete is false when the stream ended
// without its end (a reset or a truncated body): its usage is unreadable.
func (r *Response) Finish(rec *usage.Record, complete bool) {
	switch r.format {
	case FormatNDJSON:
		if complete {
			r.lines.Close(r)
		}
	case FormatSSE:
		r.readTail()
		if r.inEvent { // the body ended inside an event: it was cut short
			r.badDocs++
		}
	case FormatJSON:
		r.scan.Finish()
		r.commit(r.scan.Done() && r.scan.Err() == "")
	}
	r.fam.finish(&r.v, rec)
	if !rec.Total.Set && rec.Prompt.Set && rec.Completion.Set {
		rec.Total.Put(rec.Prompt.N + rec.Completion.N)
	}
	rec.ResponseModel = r.v.model
	rec.Stream = r.format.Streamed() || r.format == FormatJSON && r.scan.TopLevelArray()
	switch {
	case r.status == 0: // no response reached the plugin
		rec.Outcome = usage.Incomplete
	case r.status < 200 || r.status > 299 || r.v.errBody || r.errEvent:
		rec.Outcome = usage.Error
		rec.ErrorType = classify(r.status, r.v.errOf(ErrorCode), r.v.errOf(ErrorKind),
			r.v.errOf(ErrorMessage), r.v.errOf(ErrorDetail))
	case !complete || r.v.invalid > 0:
		rec.Outcome = usage.Unreadable
		if !complete {
			rec.Outcome = usage.Incomplete
		}
		rec.Prompt, rec.Completion, rec.Total = usage.Count{}, usage.Count{}, usage.Count{}
		rec.CachedInput, rec.CacheCreation, rec.Reasoning = usage.Count{}, usage.Count{}, usage.Count{}
	case rec.HasTokens():
		rec.Outcome = usage.Reported
	case r.format == FormatNone || r.unparsed():
		rec.Outcome = usage.Unreadable
	default:
		rec.Outcome = usage.Missing
	}
	r.complete = complete
}

func (r *Response) unparsed() bool {
	switch r.format {
	case FormatJSON:
		return !r.sawBody || r.scan.Err() != "" || !r.scan.Done()
	case FormatEventStream:
		return r.events.Err() != "" || r.badDocs > 0
	}
	return r.badDocs > 0
}

// Why says in a few words what stopped the reading, for the log line.
func (r *Response) Why() string {
	switch {
	case r.unread != "":
		return r.unread
	case r.format == FormatJSON && r.scan.Err() != "":
		return "malformed JSON: " + r.scan.Err()
	case r.format == FormatEventStream && r.events.Err() != "":
		return "broken event stream: " + r.events.Err()
	case r.badDocs > 0:
		return "malformed stream events"
	case r.v.invalid > 0:
		return "a token count is negative, fractional or beyond int64"
	case !r.complete:
		return "the stream ended before its end"
	}
	return "the body ended early"
}
