package jsonscan

import "strconv"

// Kind is the JSON type of a reported value.
type Kind uint8

// Kinds of reported values. Containers are reported when they open.
const (
	String Kind = iota + 1
	Number
	True
	False
	Null
	Object
	Array
)

// MaxValue caps how much of a reported scalar is kept. Longer strings are
// reported cut to this length; longer numbers are not reported at all.
const MaxValue = 256

const (
	maxDepth = 16 // deeper tracked containers are skipped
	maxNum   = 32
)

// Sink receives the values found at paths of interest. v is valid only
// during the call.
type Sink interface {
	Value(slot int, kind Kind, v []byte)
}

// PieceSink receives streamed strings: their raw bytes, escapes left as
// they are, piece by piece; Value(slot, String, nil) ends the string.
type PieceSink interface {
	Sink
	Piece(slot int, p []byte)
}

type state uint8

const (
	stValue    state = iota // a value must start
	stObjFirst              // after '{'
	stArrFirst              // after '['
	stKey                   // after ',' in an object
	stColon
	stAfter // after a value inside a container
	stString
	stLiteral
	stSkip // inside a container nobody asked for
	stDone
	stError
)

type frame struct {
	node  *Node
	array bool
}

// Scanner is an incremental JSON reader for one document at a time. The zero
// value is not usable; call Reset first.
type Scanner struct {
	tree  *Node
	sink  Sink
	state state
	stack [maxDepth]frame
	depth int

	pending *Node // node of the value about to start; nil means skip it

	// current string or literal
	isKey   bool
	capture bool
	stream  bool
	esc     bool
	kind    Kind
	n       int
	over    bool
	buf     [MaxValue]byte
	dec     [MaxValue]byte

	skipDepth int
	skipStr   bool

	off      int64
	err      string // what failed, at errAt, about errByte if >= 0
	errAt    int64
	errByte  int
	topArray bool
	slowOnly bool // tests: never take the whole-document path
}

// Reset prepares the scanner for a new document.
func (s *Scanner) Reset(tree *Node, sink Sink) {
	*s = Scanner{tree: tree, sink: sink, pending: tree}
}

// Done reports whether a whole top-level value has been read.
func (s *Scanner) Done() bool { return s.state == stDone }

// TopLevelArray reports whether the document is an array, as Gemini's
// streamed responses are.
func (s *Scanner) TopLevelArray() bool { return s.topArray }

// Started reports whether any non-space byte has been read.
func (s *Scanner) Started() bool { return s.state != stValue || s.depth > 0 }

// Err describes the first syntax error, or is empty.
func (s *Scanner) Err() string {
	if s.state != stError {
		return ""
	}
	msg := s.err
	if s.errByte >= 0 {
		msg += " " + strconv.QuoteRune(rune(s.errByte))
	}
	return msg + " at offset " + strconv.FormatInt(s.errAt, 10)
}

// Finish ends the document: a top-level literal needs no delimiter.
func (s *Scanner) Finish() {
	if s.state == stLiteral && s.depth == 0 {
		s.endLiteral()
	}
}

func (s *Scanner) fail(i int, msg string) {
	s.state = stError
	// The message is put together only if asked for: "[DONE]" and other
	// non-JSON events fail on every stream.
	s.err, s.errAt, s.errByte = msg, s.off+int64(i), -1
}

// Feed reads the next chunk of the document.
func (s *Scanner) Feed(p []byte) {
	if s.state == stValue && s.depth == 0 && !s.slowOnly && endsLikeDocument(p) && s.whole(p) {
		return
	}
	i := 0
	for i < len(p) && s.state < stDone {
		switch s.state {
		case stString:
			i = s.scanString(p, i)
		case stSkip:
			i = s.scanSkip(p, i)
		case stLiteral:
			i = s.scanLiteral(p, i)
		default:
			c := p[i]
			if isSpace(c) {
				i++
				continue
			}
			i++
			s.structural(c, i-1)
		}
	}
	s.off += int64(len(p))
}

// structural handles one non-space byte outside strings and literals.
func (s *Scanner) structural(c byte, at int) {
	switch s.state {
	case stValue:
		s.beginValue(c, at)
	case stObjFirst:
		if c == '}' {
			s.pop()
			return
		}
		s.beginKey(c, at)
	case stKey:
		s.beginKey(c, at)
	case stArrFirst:
		if c == ']' {
			s.pop()
			return
		}
		s.pending = s.stack[s.depth-1].node.items
		s.beginValue(c, at)
	case stColon:
		if c != ':' {
			s.fail(at, "expected ':'")
			return
		}
		s.state = stValue
	case stAfter:
		top := s.stack[s.depth-1]
		switch {
		case c == ',' && top.array:
			s.pending = top.node.items
			s.state = stValue
		case c == ',':
			s.state = stKey
		case c == ']' && top.array, c == '}' && !top.array:
			s.pop()
		default:
			s.fail(at, "expected ',' or end of container")
		}
	}
}

func (s *Scanner) beginKey(c byte, at int) {
	if c != '"' {
		s.fail(at, "expected object key")
		return
	}
	s.isKey, s.capture, s.esc, s.n, s.over = true, true, false, 0, false
	s.state = stString
}

func (s *Scanner) beginValue(c byte, at int) {
	node := s.pending
	report := node != nil && node.Slot != 0
	switch c {
	case '{', '[':
		if node == nil || s.depth == maxDepth {
			s.skipDepth, s.skipStr, s.esc = 1, false, false
			s.state = stSkip
			return
		}
		kind, st := Object, stObjFirst
		if c == '[' {
			kind, st = Array, stArrFirst
		}
		if report {
			s.sink.Value(node.Slot, kind, nil)
		}
		if s.depth == 0 && c == '[' {
			s.topArray = true
		}
		s.stack[s.depth] = frame{node: node, array: c == '['}
		s.depth++
		s.state = st
	case '"':
		s.isKey, s.capture, s.esc, s.n, s.over = false, report, false, 0, false
		if report && node.streamed {
			if _, ok := s.sink.(PieceSink); ok {
				s.capture, s.stream = false, true
			}
		}
		s.kind = String
		s.state = stString
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 't', 'f', 'n':
		s.capture, s.n, s.over = report, 0, false
		s.kind = literalKind(c)
		s.store([]byte{c})
		s.state = stLiteral
	default:
		s.fail(at, "unexpected byte")
		s.errByte = int(c)
	}
}

func literalKind(c byte) Kind {
	switch c {
	case 't':
		return True
	case 'f':
		return False
	case 'n':
		return Null
	}
	return Number
}

func (s *Scanner) pop() {
	s.depth--
	s.valueDone()
}

func (s *Scanner) valueDone() {
	if s.depth == 0 {
		s.state = stDone
		return
	}
	s.state = stAfter
}

func (s *Scanner) store(b []byte) {
	if !s.capture || s.over {
		return
	}
	room := len(s.buf) - s.n
	if len(b) > room {
		b = b[:room]
		s.over = true
	}
	s.n += copy(s.buf[s.n:], b)
}
