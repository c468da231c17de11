package api

import "sync"

// Reading every event of a long stream is most of what observing it costs,
// yet for some APIs the events between the one naming the model and the
// closing ones report nothing the closing ones do not repeat: usage comes
// last, or cumulatively with the last value winning. Such streams keep only
// their last TailSize bytes, from the first byte or from the event naming
// the model (Family.tail), and their closing events are read from them when
// the stream ends.

// TailSize bounds what a stream holds for its closing events; a closing
// event longer than this is not read.
const TailSize = 16 << 10

// closingEvents is how many events, from the last, are read before the
// whole tail is: enough for [DONE], pings and stop events after the usage.
const closingEvents = 8

// tailBufs keeps a few rings for reuse. A VM runs one callback at a time,
// so the lock is never contended; it is there for native callers.
var tailBufs struct {
	sync.Mutex
	free []*[TailSize]byte
}

const maxFreeTails = 8

func getTailBuf() *[TailSize]byte {
	tailBufs.Lock()
	defer tailBufs.Unlock()
	n := len(tailBufs.free)
	if n == 0 {
		return new([TailSize]byte)
	}
	b := tailBufs.free[n-1]
	tailBufs.free = tailBufs.free[:n-1]
	return b
}

// DropFreeTails empties the rings kept for reuse, so that a measurement of
// what streams hold counts their rings.
func DropFreeTails() {
	tailBufs.Lock()
	defer tailBufs.Unlock()
	tailBufs.free = nil
}

func putTailBuf(b *[TailSize]byte) {
	tailBufs.Lock()
	defer tailBufs.Unlock()
	if len(tailBufs.free) < maxFreeTails {
		tailBufs.free = append(tailBufs.free, b)
	}
}

// tail is a ring of the last bytes of a stream.
type tail struct {
	buf  *[TailSize]byte
	pos  int  // next write, mod TailSize
	n    int  // bytes held
	lost bool // bytes before the held ones were dropped, so the first held event is partial

	next, left int // chunk offset and bytes still to read, for begin/space/filled
}

func (t *tail) start() { *t = tail{buf: getTailBuf()} }

// write keeps the end of p, as a chunk read straight into the ring would.
func (t *tail) write(p []byte) {
	t.begin(len(p))
	for start, dst := t.space(); len(dst) > 0; start, dst = t.space() {
		t.filled(copy(dst, p[start:]))
	}
}

// gap records bytes that went by unread.
func (t *tail) gap() { t.pos, t.n, t.lost, t.left = 0, 0, true, 0 }

// begin starts a chunk of size bytes read straight into the ring: only its
// last TailSize bytes.
func (t *tail) begin(size int) {
	keep := min(size, TailSize)
	if keep == TailSize { // it replaces the whole ring: start it afresh, in one read
		t.lost = t.lost || t.n > 0 || size > keep
		t.pos, t.n = 0, 0
	}
	t.next, t.left = size-keep, keep
}

// space is the chunk offset to read from next and the ring space to read
// into; dst is empty when the chunk is done.
func (t *tail) space() (start int, dst []byte) {
	if t.left == 0 {
		return 0, nil
	}
	return t.next, t.buf[t.pos:min(TailSize, t.pos+t.left)]
}

// filled records n bytes read into space's dst.
func (t *tail) filled(n int) {
	if t.n+n > TailSize {
		t.lost = true
	}
	t.pos = (t.pos + n) % TailSize
	t.n = min(t.n+n, TailSize)
	t.next += n
	t.left -= n
}

// bytes returns the held bytes, oldest first. Until the ring is full,
// writes start at 0 and pos equals n; after, it is unrolled into a fresh
// buffer.
func (t *tail) bytes() []byte {
	if t.n < TailSize || t.pos == 0 {
		return t.buf[:t.n]
	}
	lin := getTailBuf()
	k := copy(lin[:], t.buf[t.pos:])
	copy(lin[k:], t.buf[:t.pos])
	putTailBuf(t.buf)
	t.buf, t.pos = lin, 0
	return t.buf[:]
}

// newest returns the bytes written since the ring last wrapped, when it
// has: the stream's last bytes, in order, preceded by older ones.
func (t *tail) newest() []byte {
	if t.n < TailSize || t.pos == 0 {
		return nil
	}
	return t.buf[:t.pos]
}

func (t *tail) release() {
	if t.buf != nil {
		putTailBuf(t.buf)
	}
	*t = tail{}
}
