package sse

// Reading a stream's closing events from the end, without framing all that
// comes before them. Lines never hold a raw CR or LF, so every run of CR and
// LF bytes is the end of a line, and one holding two line ends (CRLF
// counting as one) is the blank line after an event.

func isEOL(c byte) bool { return c == '\n' || c == '\r' }

// lineEnds counts the line ends in a run of CR and LF bytes.
func lineEnds(run []byte) int {
	n := 0
	for i := 0; i < len(run); i++ {
		if run[i] == '\r' && i+1 < len(run) && run[i+1] == '\n' {
			i++
		}
		n++
	}
	return n
}

// EndsEvent reports whether b ends with a blank line, so that its last
// event is whole.
func EndsEvent(b []byte) bool {
	i := len(b)
	for i > 0 && isEOL(b[i-1]) {
		i--
	}
	return i > 0 && lineEnds(b[i:]) >= 2
}

// EventBefore returns where the event ending at end begins, b[:end] ending
// with that event's blank line: just after the blank line before it. If
// there is none, start is 0 and whole is false, since b may start inside
// an event.
func EventBefore(b []byte, end int) (start int, whole bool) {
	i := end
	for i > 0 && isEOL(b[i-1]) { // the event's own blank line
		i--
	}
	for i > 0 {
		for i > 0 && !isEOL(b[i-1]) {
			i--
		}
		k := i
		for k > 0 && isEOL(b[k-1]) {
			k--
		}
		if k < i && lineEnds(b[k:i]) >= 2 {
			return i, true
		}
		i = k
	}
	return 0, false
}
