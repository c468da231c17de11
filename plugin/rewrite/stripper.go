package rewrite

import "bytes"

// Stripper removes from an OpenAI-style event stream what
// stream_options.include_usage added: the usage-only chunk ("choices":[]
// with a usage object) and the "usage":null member of every other chunk.
// It rewrites chunk by chunk; an event still incomplete at the end of a
// chunk is held and sent with the next one, up to max bytes, past which it
// gives up and passes the stream on as it comes.
type Stripper struct {
	held   []byte
	out    []byte
	max    int
	off    bool
	Events int // usage chunks removed
}

// NewStripper holds at most max bytes of an incomplete event.
func NewStripper(max int) *Stripper { return &Stripper{max: max} }

// GaveUp reports whether an event outgrew the limit.
func (s *Stripper) GaveUp() bool { return s.off }

// Feed takes the next chunk and returns the bytes to send in its place;
// at the end of the stream everything held is returned.
func (s *Stripper) Feed(p []byte, end bool) []byte {
	if s.off {
		return p
	}
	buf := p
	if len(s.held) > 0 {
		s.held = append(s.held, p...)
		buf = s.held
	}
	s.out = s.out[:0]
	i := 0
	for {
		n := eventEnd(buf[i:])
		if n < 0 {
			break
		}
		s.out = s.event(s.out, buf[i:i+n])
		i += n
	}
	rest := buf[i:]
	switch {
	case end:
		s.out = append(s.out, rest...)
		rest = nil
	case len(rest) > s.max:
		s.off = true
		s.out = append(s.out, rest...)
		rest = nil
	}
	s.held = append(s.held[:0], rest...)
	return s.out
}

// eventEnd is the length of the first complete event in b, its blank line
// included, or -1.
func eventEnd(b []byte) int {
	lf := bytes.Index(b, []byte("\n\n"))
	crlf := bytes.Index(b, []byte("\r\n\r\n"))
	switch {
	case crlf >= 0 && (lf < 0 || crlf < lf):
		return crlf + 4
	case lf >= 0:
		return lf + 2
	}
	return -1
}

// event appends one event, rewritten, to out.
func (s *Stripper) event(out, e []byte) []byte {
	line, ok := bytes.CutPrefix(e, []byte("data:"))
	if !ok || bytes.Count(e, []byte("\n")) != 2 && !bytes.HasSuffix(e, []byte("\r\n\r\n")) {
		return append(out, e...)
	}
	head := len(e) - len(line)
	if len(line) > 0 && line[0] == ' ' {
		head++
	}
	payload := bytes.TrimRight(e[head:], "\r\n")
	ms, _, err := topMembers(payload)
	if err != nil {
		return append(out, e...)
	}
	u := find(ms, "usage")
	if u == nil {
		return append(out, e...)
	}
	if string(payload[u.valueStart:u.valueEnd]) != "null" {
		if c := find(ms, "choices"); c != nil && isEmptyArray(payload[c.valueStart:c.valueEnd]) {
			s.Events++
			return out // the usage-only chunk
		}
		return append(out, e...)
	}
	from, to := memberSpan(payload, ms, u)
	out = append(out, e[:head+from]...)
	return append(out, e[head+to:]...)
}

func isEmptyArray(v []byte) bool {
	v = bytes.TrimSpace(v)
	return len(v) >= 2 && v[0] == '[' && len(bytes.TrimSpace(v[1:len(v)-1])) == 0
}

// memberSpan is the span to cut to remove member m with one comma: the one
// before it, or after it when it comes first.
func memberSpan(b []byte, ms []member, m *member) (from, to int) {
	if m != &ms[0] {
		from = m.start
		for from > 0 && b[from-1] != ',' {
			from--
		}
		return from - 1, m.valueEnd
	}
	to = skipSpace(b, m.valueEnd)
	if to < len(b) && b[to] == ',' {
		to = skipSpace(b, to+1)
	}
	return m.start, to
}
