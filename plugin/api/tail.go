package api

import "sync"

// Reading every event of a long stream is most of what observing it costs,
// yet for some APIs the events between the one naming the model and the
// closing ones report nothing the closing ones do not repeat: usage comes
// last, or cumulatively with the last value winning. Such streams, once the
// model is known, keep only their last TailSize bytes, and their closing
// events are read from them when the stream ends.

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
}

func (t *tail) start() { *t = tail{buf: getTailBuf()} }

func (t *tail) write(p []byte) {
	if t.n+len(p) > TailSize {
		t.lost = true
	}
	if len(p) > TailSize {
		p = p[len(p)-TailSize:]
	}
	c := copy(t.buf[t.pos:], p)
	copy(t.buf[:], p[c:])
	t.pos = (t.pos + len(p)) % TailSize
	t.n = min(t.n+len(p), TailSize)
}

// gap records bytes that went by unread.
func (t *tail) gap() { t.pos, t.n, t.lost = 0, 0, true }

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

func (t *tail) release() {
	if t.buf != nil {
		putTailBuf(t.buf)
	}
	*t = tail{}
}
