// Package ndjson splits newline-delimited JSON into documents as bytes
// arrive, handing each line on in pieces without holding it.
package ndjson

// Handler receives one stream's lines.
type Handler interface {
	Data(p []byte) // a piece of the current line
	Dispatch()     // the line ended
}

// Framer is the per-stream state. The zero value is ready to use.
type Framer struct{ inLine bool }

// Feed parses the next chunk.
func (f *Framer) Feed(p []byte, h Handler) {
	for len(p) > 0 {
		i := 0
		for i < len(p) && p[i] != '\n' {
			i++
		}
		if i > 0 {
			h.Data(p[:i])
			f.inLine = true
		}
		if i == len(p) {
			return
		}
		if f.inLine {
			h.Dispatch()
			f.inLine = false
		}
		p = p[i+1:]
	}
}

// Close ends the stream: a last line without a newline still counts.
func (f *Framer) Close(h Handler) {
	if f.inLine {
		h.Dispatch()
		f.inLine = false
	}
}
