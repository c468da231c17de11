// Package sse splits a text/event-stream into events as bytes arrive, without
// holding an event: data is handed on in pieces, so memory does not depend on
// the size of an event.
package sse

import "bytes"

// Handler receives one stream's events.
type Handler interface {
	// EventType is called when an "event:" field is read; name is cut to
	// MaxEventType bytes and valid only during the call.
	EventType(name []byte)
	// Data is called with pieces of the current event's data. Several
	// "data:" lines of one event are joined with "\n".
	Data(p []byte)
	// Dispatch ends an event that had at least one field.
	Dispatch()
}

// MaxEventType caps the kept "event:" value; longer names are cut.
const MaxEventType = 64

const maxField = 8 // longer field names are ignored ("retry" is the longest)

type state uint8

const (
	lineStart state = iota
	inName
	afterColon // the one optional space after ':'
	inValue
	inIgnored // a comment or an unknown field
)

type field uint8

const (
	fieldOther field = iota
	fieldData
	fieldEvent
)

// Framer is the per-stream parser state. The zero value is ready to use.
type Framer struct {
	state   state
	afterCR bool // a CR ended the last line; a following LF belongs to it
	name    [maxField]byte
	nameLen int
	field   field
	hasData bool // the current event has a data line
	pending bool // the current event has any field
	evType  [MaxEventType]byte
	evLen   int
	lf      int // next LF in the current chunk, once searched
	paused  bool
}

// Pause, called from Dispatch, makes Feed return right after that event, so
// the caller can take the rest of the chunk another way.
func (f *Framer) Pause() { f.paused = true }

// Feed parses the next chunk and returns how much of it it read: all of it,
// unless the handler paused the framer.
func (f *Framer) Feed(p []byte, h Handler) int {
	i := 0
	f.lf = -1
	if f.afterCR && len(p) > 0 {
		f.afterCR = false
		if p[0] == '\n' {
			i = 1
		}
	}
	for i < len(p) {
		switch f.state {
		case lineStart:
			c := p[i]
			switch c {
			case '\r', '\n':
				i = f.endLine(p, i)
				f.dispatch(h)
				if f.paused {
					f.paused = false
					return i
				}
				continue
			case ':':
				f.state = inIgnored
			default:
				f.nameLen = 0
				f.state = inName
				continue
			}
			i++
		case inName:
			i = f.readName(p, i, h)
		case afterColon:
			f.state = inValue
			if p[i] == ' ' {
				i++
			}
		case inValue:
			i = f.readValue(p, i, h)
		case inIgnored:
			j := f.lineEnd(p, i)
			i = j
			if j < len(p) {
				i = f.endLine(p, j)
				f.state = lineStart
			}
		}
	}
	return len(p)
}

// endLine consumes the line end at p[i] and returns the next index.
func (f *Framer) endLine(p []byte, i int) int {
	if p[i] == '\r' {
		if i+1 == len(p) {
			f.afterCR = true
		} else if p[i+1] == '\n' {
			return i + 2
		}
	}
	return i + 1
}

func (f *Framer) readName(p []byte, i int, h Handler) int {
	for ; i < len(p); i++ {
		c := p[i]
		if c == ':' || c == '\r' || c == '\n' {
			f.startField(h)
			if c == ':' {
				f.state = afterColon
				return i + 1
			}
			f.endValue(h) // a field with no colon has an empty value
			f.state = lineStart
			return f.endLine(p, i)
		}
		if f.nameLen < maxField {
			f.name[f.nameLen] = c
		}
		f.nameLen++
	}
	return i
}

func (f *Framer) startField(h Handler) {
	f.field = fieldOther
	switch string(f.name[:min(f.nameLen, maxField)]) {
	case "data":
		if f.nameLen == 4 {
			f.field = fieldData
			if f.hasData {
				h.Data(newline)
			}
			f.hasData = true
		}
	case "event":
		if f.nameLen == 5 {
			f.field = fieldEvent
			f.evLen = 0
		}
	}
	f.pending = true
}

var newline = []byte{'\n'}

func (f *Framer) readValue(p []byte, i int, h Handler) int {
	j := f.lineEnd(p, i)
	switch f.field {
	case fieldData:
		if j > i {
			h.Data(p[i:j])
		}
	case fieldEvent:
		f.evLen += copy(f.evType[f.evLen:], p[i:j])
	}
	if j == len(p) {
		return j
	}
	f.endValue(h)
	f.state = lineStart
	return f.endLine(p, j)
}

func (f *Framer) endValue(h Handler) {
	if f.field == fieldEvent {
		h.EventType(f.evType[:f.evLen])
	}
}

func (f *Framer) dispatch(h Handler) {
	if f.pending {
		h.Dispatch()
	}
	f.pending, f.hasData = false, false
}

// lineEnd is the index of the first CR or LF in p[i:], or len(p).
// IndexByte is vectorised natively and hand-written for wasm, which beats a
// byte loop on long data lines; the next LF is cached for the chunk so that
// many lone CRs before it cost one search.
func (f *Framer) lineEnd(p []byte, i int) int {
	if f.lf < i {
		f.lf = len(p)
		if n := bytes.IndexByte(p[i:], '\n'); n >= 0 {
			f.lf = i + n
		}
	}
	if r := bytes.IndexByte(p[i:f.lf], '\r'); r >= 0 {
		return i + r
	}
	return f.lf
}
