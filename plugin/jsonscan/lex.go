package jsonscan

import (
	"bytes"
	"unicode/utf8"
)

var (
	skipStop [256]bool // bytes that matter inside a skipped container
	litStop  [256]bool // bytes that end a literal
	space    [256]bool // JSON whitespace: one load, not four compares
	litStart [256]bool // bytes that start a number, true, false or null
)

func init() {
	for _, c := range []byte(`"{}[]`) {
		skipStop[c] = true
	}
	for _, c := range []byte("-0123456789tfn") {
		litStart[c] = true
	}
	for _, c := range []byte(" \t\r\n") {
		space[c] = true
	}
	for _, c := range []byte(" \t\r\n,]}") {
		litStop[c] = true
	}
}

// scanString consumes string bytes from p[i:] and returns the next index.
func (s *Scanner) scanString(p []byte, i int) int {
	if s.stream {
		return s.streamString(p, i)
	}
	j := i
	if s.esc && j < len(p) { // the escaped byte came in this chunk
		s.esc = false
		j++
	}
	quote := -1
	for {
		j = nextStringStop(p, j, &quote)
		if j == len(p) {
			s.store(p[i:j])
			return j
		}
		if p[j] == '\\' {
			if j+1 == len(p) {
				s.esc = true
				s.store(p[i:])
				return len(p)
			}
			j += 2
			continue
		}
		s.store(p[i:j])
		s.endString()
		return j + 1
	}
}

// streamString passes a streamed string on as it arrives.
func (s *Scanner) streamString(p []byte, i int) int {
	j := i
	if s.esc && j < len(p) {
		s.esc = false
		j++
	}
	for j < len(p) {
		if p[j] == '\\' {
			j += 2
			continue
		}
		if p[j] == '"' {
			break
		}
		j++
	}
	if j > len(p) { // a backslash ended the chunk
		j = len(p)
		s.esc = true
	}
	// stream is set only for a PieceSink; the checked form keeps TinyGo,
	// which cannot recover, from any failing assertion.
	sink, ok := s.sink.(PieceSink)
	if ok && j > i {
		sink.Piece(s.pending.Slot, p[i:j])
	}
	if j == len(p) {
		return j
	}
	s.stream = false
	if ok {
		sink.Value(s.pending.Slot, String, nil)
	}
	s.valueDone()
	return j + 1
}

func (s *Scanner) endString() {
	if s.isKey {
		s.pending = nil
		if !s.over {
			s.pending = s.stack[s.depth-1].node.lookup(s.buf[:s.n])
		}
		s.state = stColon
		return
	}
	if s.capture {
		raw := s.buf[:s.n]
		if s.over {
			raw = wholeRunes(raw)
		}
		s.sink.Value(s.pending.Slot, String, unescape(s.dec[:0], raw))
	}
	s.valueDone()
}

// wholeRunes drops a rune that the MaxValue cut left incomplete.
func wholeRunes(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// scanSkip passes over a container nobody asked for, counting only nesting.
func (s *Scanner) scanSkip(p []byte, i int) int {
	quote := -1
	for i < len(p) {
		if s.skipStr {
			if s.esc {
				s.esc = false
				i++
				continue
			}
			i = nextStringStop(p, i, &quote)
			if i == len(p) {
				return i
			}
			if p[i] == '\\' {
				s.esc = true
			} else {
				s.skipStr = false
			}
			i++
			continue
		}
		for i < len(p) && !skipStop[p[i]] {
			i++
		}
		if i == len(p) {
			return i
		}
		switch p[i] {
		case '"':
			s.skipStr = true
		case '{', '[':
			s.skipDepth++
		default:
			s.skipDepth--
			if s.skipDepth == 0 {
				s.valueDone()
				return i + 1
			}
		}
		i++
	}
	return i
}

func (s *Scanner) scanLiteral(p []byte, i int) int {
	j := i
	for j < len(p) && !litStop[p[j]] {
		j++
	}
	s.store(p[i:j])
	if j < len(p) {
		s.endLiteral()
	}
	return j // the delimiter is read by the structural state
}

func (s *Scanner) endLiteral() {
	if s.capture && !(s.kind == Number && (s.over || s.n > maxNum)) {
		s.sink.Value(s.pending.Slot, s.kind, s.buf[:s.n])
	}
	s.valueDone()
}

// unescape decodes JSON string escapes. A value cut by MaxValue may end in
// half an escape, which is dropped.
func unescape(dst, src []byte) []byte {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		if i+1 >= len(src) {
			break
		}
		i++
		switch src[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := hexRune(src[i+1:])
			if n == 0 {
				return dst
			}
			i += n
			if utf16Surrogate(r) && i+2 < len(src) && src[i+1] == '\\' && src[i+2] == 'u' {
				if lo, m := hexRune(src[i+3:]); m == 4 && lo >= 0xdc00 && lo < 0xe000 {
					r = (r-0xd800)<<10 + (lo - 0xdc00) + 0x10000
					i += 2 + m
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/' and anything lenient
			dst = append(dst, src[i])
		}
	}
	return dst
}

func utf16Surrogate(r rune) bool { return r >= 0xd800 && r < 0xdc00 }

func hexRune(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, 0
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, 0
		}
		r = r<<4 | rune(c)
	}
	return r, 4
}

// nextStringStop is the index of the next '"' or '\\' in p[j:], or len(p).
// String contents are most of an LLM body, so they are skipped with
// IndexByte (vectorised natively, assembly on wasm) rather than a byte loop.
// *quote caches the next '"' at or after j, so that many escapes before a
// far quote cost one search, not one each.
func nextStringStop(p []byte, j int, quote *int) int {
	if *quote < j {
		*quote = len(p)
		if q := bytes.IndexByte(p[j:], '"'); q >= 0 {
			*quote = j + q
		}
	}
	if b := bytes.IndexByte(p[j:*quote], '\\'); b >= 0 {
		return j + b
	}
	return *quote
}
