package api

import "github.com/llmproxy/llmproxy/plugin/sse"

// SSE and NDJSON: each event's data, or each line, is one JSON document.

var _ sse.Handler = (*Response)(nil)

// EventType implements sse.Handler.
func (r *Response) EventType(name []byte) {
	if !r.resync && r.fam.isErrorEvent(name) {
		r.errEvent = true
	}
}

// Data implements sse.Handler and ndjson.Handler.
func (r *Response) Data(p []byte) {
	if r.resync {
		return
	}
	if !r.inEvent {
		r.inEvent, r.dataLen = true, 0
		r.scan.Reset(r.fam.response, r.sink)
	}
	if r.dataLen < len(r.head) {
		copy(r.head[r.dataLen:], p)
	}
	r.dataLen += len(p)
	r.scan.Feed(p)
}

// Dispatch implements sse.Handler and ndjson.Handler.
func (r *Response) Dispatch() {
	if r.resync { // the rest of an event whose start was dropped
		r.resync = false
		return
	}
	if !r.inEvent {
		return
	}
	r.inEvent = false
	if r.dataLen == len(r.head) && string(r.head[:]) == "[DONE]" {
		return
	}
	r.scan.Finish()
	ok := r.scan.Done() && r.scan.Err() == ""
	if r.scan.Started() && !ok {
		r.badDocs++
	}
	r.commit(ok)
	r.holdTail()
}

// eventHandler reads Bedrock's eventstream messages: JSON payloads, where
// invoke stream chunks wrap the vendor JSON in base64.
type eventHandler struct{ r *Response }

func (h eventHandler) Start(eventType, messageType []byte) {
	r := h.r
	if string(messageType) == "exception" || string(messageType) == "error" {
		r.errEvent = true
		r.doc.setErr(ErrorCode, string(eventType)) // the exception's name
	}
	r.sink = &r.doc
	if string(eventType) == "chunk" {
		r.chunk.start()
		r.sink = &r.chunk
	}
	r.scan.Reset(r.fam.response, r.sink)
}

func (h eventHandler) Payload(p []byte) { h.r.scan.Feed(p) }

func (h eventHandler) End(valid bool) {
	r := h.r
	r.scan.Finish()
	ok := valid && r.scan.Done() && r.scan.Err() == "" && !r.chunk.broken()
	if !ok && (!valid || r.scan.Started()) {
		r.badDocs++
	}
	r.commit(ok)
}
