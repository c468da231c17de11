package jsonscan

import "bytes"

// A document that arrives whole in one Feed, as stream events, request
// bodies and small responses mostly do, is read by one loop over the bytes.
// The byte-at-a-time state machine costs a few calls per token, and calls
// are dear in wasm. The loop only handles what the state machine would
// read without error and report the same way; on anything else (an
// incomplete or malformed document, an escape or an overlong value where a
// value is reported, a streamed string, many reported values) it gives up
// having reported nothing, and the state machine reads the bytes instead.
// FuzzScanner holds the two paths to the same reports.

// maxWholeReports bounds the values the loop holds until the document has
// parsed.
const maxWholeReports = 32

type wholeReport struct {
	slot       int
	kind       Kind
	start, end int // the raw value in p; containers have none
}

// endsLikeDocument reports whether p ends with a closing bracket, spaces
// aside: the only way a chunk holding a whole object or array can end.
// Chunks cut inside a document mostly do not, and are not tried.
func endsLikeDocument(p []byte) bool {
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case ' ', '\n', '\r', '\t':
			continue
		case '}', ']':
			return true
		}
		return false
	}
	return false
}

// whole reads p as one complete document and reports its values; false
// means it read nothing and reported nothing.
func (s *Scanner) whole(p []byte) bool {
	var (
		reps  [maxWholeReports]wholeReport
		nrep  int
		stack [maxDepth]frame
		depth int
		node  = s.pending
		i     int
		n     = len(p)
		top   bool // the document is an array
	)
value:
	for i < n && isSpace(p[i]) {
		i++
	}
	if i == n {
		return false
	}
	switch c := p[i]; {
	case c == '"': // most values, so tested first
		start := i + 1
		if node == nil || node.Slot == 0 {
			if i = stringSkip(p, start); i < 0 {
				return false
			}
			goto after
		}
		end, esc := stringEnd(p, start)
		if end < 0 {
			return false
		}
		i = end + 1
		if esc || end-start > MaxValue || nrep == maxWholeReports || node.streamed && s.pieces() {
			return false
		}
		reps[nrep] = wholeReport{node.Slot, String, start, end}
		nrep++
		goto after
	case c == '{' || c == '[':
		if node == nil || depth == maxDepth {
			if i = skipContainer(p, i); i < 0 {
				return false
			}
			goto after
		}
		if node.Slot != 0 {
			if nrep == maxWholeReports {
				return false
			}
			kind := Object
			if c == '[' {
				kind = Array
			}
			reps[nrep] = wholeReport{slot: node.Slot, kind: kind}
			nrep++
		}
		top = top || depth == 0 && c == '['
		stack[depth] = frame{node: node, array: c == '['}
		depth++
		for i++; i < n && isSpace(p[i]); i++ {
		}
		if i == n {
			return false
		}
		if c == '[' {
			if p[i] == ']' {
				i++
				depth--
				goto after
			}
			node = node.items
			goto value
		}
		if p[i] == '}' {
			i++
			depth--
			goto after
		}
		goto key
	case litStart[c]:
		start := i
		for i < n && !litStop[p[i]] {
			i++
		}
		if i == n { // a literal ends only at a delimiter
			return false
		}
		if node != nil && node.Slot != 0 {
			kind := literalKind(c)
			switch {
			case kind == Number && i-start > maxNum:
			case i-start > MaxValue || nrep == maxWholeReports:
				return false
			default:
				reps[nrep] = wholeReport{node.Slot, kind, start, i}
				nrep++
			}
		}
		goto after
	default:
		return false
	}
after:
	if depth == 0 {
		goto done
	}
	for i < n && isSpace(p[i]) {
		i++
	}
	if i == n {
		return false
	}
	if f := stack[depth-1]; p[i] == ',' {
		i++
		if f.array {
			node = f.node.items
			goto value
		}
		goto key
	} else if p[i] == ']' && f.array || p[i] == '}' && !f.array {
		i++
		depth--
		goto after
	}
	return false
key:
	for i < n && isSpace(p[i]) {
		i++
	}
	if i == n || p[i] != '"' {
		return false
	}
	{
		start := i + 1
		end := stringSkip(p, start) - 1
		if end < 0 {
			return false
		}
		node = nil
		if end-start <= MaxValue {
			node = stack[depth-1].node.lookup(p[start:end])
		}
		for i = end + 1; i < n && isSpace(p[i]); i++ {
		}
		if i == n || p[i] != ':' {
			return false
		}
		i++
		goto value
	}
done:
	for _, r := range reps[:nrep] {
		var v []byte
		if r.kind != Object && r.kind != Array {
			v = p[r.start:r.end]
		}
		s.sink.Value(r.slot, r.kind, v)
	}
	s.topArray = top
	s.state = stDone
	s.off += int64(n)
	return true
}

// pieces reports whether streamed strings go to the sink piece by piece.
func (s *Scanner) pieces() bool {
	_, ok := s.sink.(PieceSink)
	return ok
}

func isSpace(c byte) bool { return space[c] }

// stringEnd is the index of the quote closing a string whose contents start
// at p[i], or -1 if p ends first; esc reports a backslash in it. It searches
// as the state machine does, with nextStringStop, so that many escapes
// before a far quote cost one search for the quote, not one each.
func stringEnd(p []byte, i int) (end int, esc bool) {
	quote := -1
	for {
		j := nextStringStop(p, i, &quote)
		if j == len(p) {
			return -1, esc
		}
		if p[j] == '"' {
			return j, esc
		}
		esc = true
		if i = j + 2; i > len(p) { // the backslash and the byte it escapes
			return -1, esc
		}
	}
}

// stringSkip is the index after the quote closing a string whose contents
// start at p[i], or -1 if p ends first. The first quote closes it unless a
// backslash comes right before it, so one search mostly does: each search
// is a call, and calls are dear in wasm.
func stringSkip(p []byte, i int) int {
	q := bytes.IndexByte(p[i:], '"')
	if q < 0 {
		return -1
	}
	if q == 0 || p[i+q-1] != '\\' {
		return i + q + 1
	}
	end, _ := stringEnd(p, i)
	if end < 0 {
		return -1
	}
	return end + 1
}

// skipContainer passes over the container opening at p[i] the way scanSkip
// does, counting only nesting, and returns the index after it, or -1.
// Strings are jumped over whole; only the bytes between them are looked at.
func skipContainer(p []byte, i int) int {
	depth := 0
	for {
		q := bytes.IndexByte(p[i:], '"')
		stop := len(p)
		if q >= 0 {
			stop = i + q
		}
		for ; i < stop; i++ {
			switch p[i] {
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		if q < 0 {
			return -1
		}
		if i = stringSkip(p, stop+1); i < 0 {
			return -1
		}
	}
}
