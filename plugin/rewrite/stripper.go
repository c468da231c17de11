package rewrite

import "bytes"

// Stripper removes from an OpenAI-style event stream what
// stream_options.include_usage added: the usage-only chunk ("choices":[]
// with a usage object) and, where the provider adds it only with the
// option (OpenAI, Azure), the "usage":null member of every other chunk.
// It rewrites chunk by chunk; an event still incomplete at the end of a
// chunk is held and sent with the next one, up to max bytes, past which it
// gives up and passes the stream on as it comes.
type Stripper struct {
	held       []byte
	out        []byte
	max        int
	stripNulls bool
	off        bool
	Events     int // usage chunks removed
}

// NewStripper holds at most max bytes of an incomplete event; stripNulls
// says whether "usage":null members came with the option. (DashScope's
// compatible mode sends them either way.)
func NewStripper(max int, stripNulls bool) *Stripper {
	return &Stripper{max: max, stripNulls: stripNulls}
}

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
	if !s.stripNulls {
		return append(out, e...)
	}
	from, to := memberSpan(payload, ms, u)
	edits := []edit{{head + from, head + to, ""}}
	if o := find(ms, "obfuscation"); o != nil {
		if pad, ok := repad(payload[o.valueStart:o.valueEnd], to-from); ok {
			edits = append(edits, edit{head + o.valueStart, head + o.valueEnd, pad})
		}
	}
	return append(out, apply(e, edits)...)
}

// repad keeps OpenAI's obfuscation padding true after removing n bytes:
// a chunk's length without its obfuscation member, plus the obfuscation's
// length, is a multiple of 16 in every recorded stream, so the value
// changes length by n modulo 16. Shortening keeps its own characters.
func repad(quoted []byte, n int) (string, bool) {
	if len(quoted) < 2 || bytes.IndexByte(quoted, '\\') >= 0 {
		return "", false
	}
	v := quoted[1 : len(quoted)-1]
	want := (len(v) + n) % 16
	for len(v) < want {
		v = append(v[:len(v):len(v)], 'x')
	}
	return `"` + string(v[:want]) + `"`, true
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
