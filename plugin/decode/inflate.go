package decode

import "errors"

// inflater decodes DEFLATE (RFC 1951) pushed in arbitrary chunks. All state
// survives between chunks, so it never needs the input again; memory is the
// 32 KiB window and the code tables.
type inflater struct {
	bits  uint64
	nbits uint
	state inflateState
	final bool

	stored       int // bytes left in a stored block
	lit, dist    huffman
	clen         huffman
	hlit, hdist  int
	ncode        int
	lens         [320]uint8
	nlens        int
	length, sym  int // match in progress
	win          [1 << 15]byte
	wpos         int
	produced     int // capped at the window size
	out          [4096]byte
	nout         int
	emit         func([]byte)
	check        func(p []byte) // the wrapper's checksum
	errInflate   error
	fixedBuilt   bool
	fixLit, fixD huffman
}

type inflateState uint8

const (
	stBlock inflateState = iota
	stStoredLen
	stStored
	stDynCounts
	stCodeLens
	stLens
	stSymbol
	stLenExtra
	stDist
	stDone
)

var (
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dstBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dstExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder  = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

func (f *inflater) fail(msg string) { f.errInflate = errors.New(msg) }

// take consumes n bits, which must be there.
func (f *inflater) take(n uint) uint64 {
	v := f.bits & (1<<n - 1)
	f.bits >>= n
	f.nbits -= n
	return v
}

func (f *inflater) put(b byte) {
	f.win[f.wpos] = b
	f.wpos = (f.wpos + 1) & (len(f.win) - 1)
	if f.produced < len(f.win) {
		f.produced++
	}
	f.out[f.nout] = b
	if f.nout++; f.nout == len(f.out) {
		f.flush()
	}
}

func (f *inflater) flush() {
	if f.nout > 0 {
		f.check(f.out[:f.nout])
		f.emit(f.out[:f.nout])
		f.nout = 0
	}
}

// step advances by one unit of work; false means it needs more bits (or
// failed, or is done).
func (f *inflater) step() bool {
	switch f.state {
	case stBlock:
		if f.nbits < 3 {
			return false
		}
		f.final = f.take(1) == 1
		switch f.take(2) {
		case 0:
			f.take(f.nbits % 8) // stored blocks start on a byte boundary
			f.state = stStoredLen
		case 1:
			f.useFixed()
			f.state = stSymbol
		case 2:
			f.state = stDynCounts
		default:
			f.fail("invalid block type")
			return false
		}
	case stStoredLen:
		if f.nbits < 32 {
			return false
		}
		n, nn := f.take(16), f.take(16)
		if n != ^nn&0xffff {
			f.fail("stored block length mismatch")
			return false
		}
		f.stored, f.state = int(n), stStored
		f.endStoredIfEmpty()
	case stStored:
		if f.nbits < 8 {
			return false
		}
		for f.nbits >= 8 && f.stored > 0 {
			f.put(byte(f.take(8)))
			f.stored--
		}
		f.endStoredIfEmpty()
	case stDynCounts:
		if f.nbits < 14 {
			return false
		}
		f.hlit, f.hdist = int(f.take(5))+257, int(f.take(5))+1
		f.ncode, f.nlens = int(f.take(4))+4, 0
		f.lens = [320]uint8{}
		f.state = stCodeLens
	case stCodeLens:
		for f.nlens < f.ncode {
			if f.nbits < 3 {
				return false
			}
			f.lens[clOrder[f.nlens]] = uint8(f.take(3))
			f.nlens++
		}
		if !f.clen.build(f.lens[:19]) {
			f.fail("invalid code-length code")
			return false
		}
		f.lens, f.nlens, f.state = [320]uint8{}, 0, stLens
	case stLens:
		return f.stepLens()
	case stSymbol:
		return f.stepSymbol()
	case stLenExtra:
		e := uint(lenExtra[f.sym])
		if f.nbits < e {
			return false
		}
		f.length = int(lenBase[f.sym]) + int(f.take(e))
		f.state = stDist
	case stDist:
		return f.stepDist()
	default:
		return false
	}
	return f.errInflate == nil
}

func (f *inflater) endStoredIfEmpty() {
	if f.stored == 0 {
		f.endBlock()
	}
}

func (f *inflater) endBlock() {
	f.state = stBlock
	if f.final {
		f.take(f.nbits % 8) // the wrapper's trailer is byte-aligned
		f.state = stDone
	}
}

func (f *inflater) useFixed() {
	if !f.fixedBuilt {
		var l [288]uint8
		for i := range l {
			switch {
			case i < 144:
				l[i] = 8
			case i < 256:
				l[i] = 9
			case i < 280:
				l[i] = 7
			default:
				l[i] = 8
			}
		}
		f.fixLit.build(l[:])
		var d [30]uint8
		for i := range d {
			d[i] = 5
		}
		f.fixD.build(d[:])
		f.fixedBuilt = true
	}
	f.lit, f.dist = f.fixLit, f.fixD
}

func (f *inflater) stepLens() bool {
	for f.nlens < f.hlit+f.hdist {
		sym, n := f.clen.decode(f.bits, f.nbits)
		if n <= 0 {
			if n < 0 {
				f.fail("invalid code length")
			}
			return false
		}
		if sym < 16 {
			f.take(uint(n))
			f.lens[f.nlens] = uint8(sym)
			f.nlens++
			continue
		}
		extra, base := [3]uint{2, 3, 7}[sym-16], [3]int{3, 3, 11}[sym-16]
		if f.nbits < uint(n)+extra {
			return false
		}
		f.take(uint(n))
		rep := base + int(f.take(extra))
		var val uint8
		if sym == 16 {
			if f.nlens == 0 {
				f.fail("repeat with no previous length")
				return false
			}
			val = f.lens[f.nlens-1]
		}
		if f.nlens+rep > f.hlit+f.hdist {
			f.fail("too many code lengths")
			return false
		}
		for ; rep > 0; rep-- {
			f.lens[f.nlens] = val
			f.nlens++
		}
	}
	if !f.lit.build(f.lens[:f.hlit]) || !f.dist.build(f.lens[f.hlit:f.hlit+f.hdist]) {
		f.fail("invalid literal/length or distance code")
		return false
	}
	f.state = stSymbol
	return true
}

func (f *inflater) stepSymbol() bool {
	for {
		sym, n := f.lit.decode(f.bits, f.nbits)
		if n <= 0 {
			if n < 0 {
				f.fail("invalid literal/length code")
			}
			return false
		}
		f.take(uint(n))
		switch {
		case sym < 256:
			f.put(byte(sym))
		case sym == 256:
			f.endBlock()
			return true
		case sym <= 285:
			f.sym, f.state = sym-257, stLenExtra
			return true
		default:
			f.fail("invalid length symbol")
			return false
		}
	}
}

func (f *inflater) stepDist() bool {
	sym, n := f.dist.decode(f.bits, f.nbits)
	if n <= 0 {
		if n < 0 {
			f.fail("invalid distance code")
		}
		return false
	}
	if sym >= 30 {
		f.fail("invalid distance symbol")
		return false
	}
	e := uint(dstExtra[sym])
	if f.nbits < uint(n)+e {
		return false
	}
	f.take(uint(n))
	d := int(dstBase[sym]) + int(f.take(e))
	if d > f.produced {
		f.fail("distance too far back")
		return false
	}
	for i := 0; i < f.length; i++ {
		f.put(f.win[(f.wpos-d)&(len(f.win)-1)])
	}
	f.state = stSymbol
	return true
}
