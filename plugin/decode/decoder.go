// Package decode undoes a response's Content-Encoding (gzip, deflate) as the
// body streams by, in bounded memory, so compressed usage can be read
// without holding the body.
package decode

import (
	"encoding/binary"
	"hash"
	"hash/adler32"
	"hash/crc32"
	"strings"
)

type wrapper uint8

const (
	identity wrapper = iota
	gzipWrap
	zlibWrap // HTTP "deflate"; raw DEFLATE when the zlib header is absent
)

// Decoder is the per-stream state. The zero value passes bytes through.
type Decoder struct {
	wrap   wrapper
	inf    *inflater // allocated only for compressed bodies
	phase  phase
	hdr    [10]byte
	nhdr   int
	flags  byte
	skip   int // bytes of a gzip extra field left
	crc    uint32
	adler  hash.Hash32
	size   uint32
	raw    bool // deflate without the zlib wrapper
	err    string
	closed bool
}

type phase uint8

const (
	phHeader phase = iota
	phBody
	phTrailer
	phDone
)

// Supported reports whether the plugin reads bodies in a content coding.
func Supported(coding string) bool {
	switch strings.ToLower(strings.TrimSpace(coding)) {
	case "", "identity", "gzip", "x-gzip", "deflate":
		return true
	}
	return false
}

// Start prepares for a Content-Encoding; false means it cannot be read.
func (d *Decoder) Start(contentEncoding string) bool {
	*d = Decoder{}
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
		return true
	case "gzip", "x-gzip":
		d.wrap = gzipWrap
	case "deflate":
		d.wrap = zlibWrap
	default:
		return false
	}
	d.inf = new(inflater)
	d.adler = adler32.New()
	return true
}

// Identity reports whether bytes pass through undecoded, so that a caller
// may leave some of them unread.
func (d *Decoder) Identity() bool { return d.wrap == identity }

// Err says why decoding stopped, or is empty.
func (d *Decoder) Err() string { return d.err }

// Feed decodes the next chunk and hands the plain bytes to emit.
func (d *Decoder) Feed(p []byte, emit func([]byte)) {
	if d.wrap == identity {
		emit(p)
		return
	}
	if d.err != "" || d.phase == phDone {
		return
	}
	f := d.inf
	f.emit = emit
	f.check = d.sum
	for {
		for f.nbits <= 56 && len(p) > 0 {
			f.bits |= uint64(p[0]) << f.nbits
			f.nbits += 8
			p = p[1:]
		}
		if !d.step() {
			if f.errInflate != nil {
				d.err = f.errInflate.Error()
			}
			if len(p) == 0 || d.err != "" || d.phase == phDone {
				break
			}
		}
	}
	f.flush()
}

func (d *Decoder) sum(p []byte) {
	if d.wrap == gzipWrap {
		d.crc = crc32.Update(d.crc, crc32.IEEETable, p)
		d.size += uint32(len(p))
	} else if !d.raw {
		d.adler.Write(p)
	}
}

// step runs the wrapper around the inflater; false means it needs input.
func (d *Decoder) step() bool {
	f := d.inf
	switch d.phase {
	case phHeader:
		return d.header()
	case phBody:
		if f.state == stDone {
			d.phase, d.nhdr = phTrailer, 0
			return true
		}
		return f.step()
	case phTrailer:
		return d.trailer()
	}
	return false
}

// readByte takes a whole byte from the bit buffer, which is byte-aligned
// outside DEFLATE data.
func (d *Decoder) readByte() (byte, bool) {
	if d.inf.nbits < 8 {
		return 0, false
	}
	return byte(d.inf.take(8)), true
}

func (d *Decoder) header() bool {
	if d.wrap == zlibWrap {
		f := d.inf
		if f.nbits < 16 {
			return false
		}
		cmf, flg := byte(f.bits), byte(f.bits>>8)
		if cmf&0x0f == 8 && (uint16(cmf)<<8|uint16(flg))%31 == 0 && flg&0x20 == 0 {
			f.take(16)
		} else {
			d.raw = true // servers that send bare DEFLATE as "deflate"
		}
		d.phase = phBody
		return true
	}
	return d.gzipHeader()
}

// gzipHeader reads RFC 1952's member header, skipping its optional fields.
func (d *Decoder) gzipHeader() bool {
	for d.nhdr < 10 {
		b, ok := d.readByte()
		if !ok {
			return false
		}
		d.hdr[d.nhdr] = b
		d.nhdr++
	}
	if d.nhdr == 10 {
		if d.hdr[0] != 0x1f || d.hdr[1] != 0x8b || d.hdr[2] != 8 {
			d.err = "not gzip data"
			return false
		}
		d.flags, d.nhdr, d.skip = d.hdr[3], 11, -1
	}
	for _, field := range []byte{4, 8, 16, 2} { // FEXTRA, FNAME, FCOMMENT, FHCRC
		if d.flags&field == 0 {
			continue
		}
		if !d.gzipField(field) {
			return false
		}
		d.flags &^= field
		d.skip = -1
	}
	d.phase = phBody
	return true
}

func (d *Decoder) gzipField(field byte) bool {
	for {
		switch {
		case field == 4 && d.skip < 0: // XLEN, then that many bytes
			if d.inf.nbits < 16 {
				return false
			}
			d.skip = int(d.inf.take(16))
			continue
		case field == 2 && d.skip < 0: // a 2-byte header CRC
			d.skip = 2
			continue
		case (field == 4 || field == 2) && d.skip == 0:
			return true
		}
		b, ok := d.readByte()
		if !ok {
			return false
		}
		switch field {
		case 8, 16: // zero-terminated
			if b == 0 {
				return true
			}
		default:
			d.skip--
		}
	}
}

func (d *Decoder) trailer() bool {
	want := 8
	if d.wrap == zlibWrap {
		want = 4
		if d.raw {
			want = 0
		}
	}
	for d.nhdr < want {
		b, ok := d.readByte()
		if !ok {
			return false
		}
		d.hdr[d.nhdr] = b
		d.nhdr++
	}
	d.inf.flush() // the checksum covers every byte, the last batch too
	switch {
	case d.wrap == gzipWrap && (binary.LittleEndian.Uint32(d.hdr[0:4]) != d.crc || binary.LittleEndian.Uint32(d.hdr[4:8]) != d.size):
		d.err = "gzip checksum mismatch"
	case d.wrap == zlibWrap && !d.raw && binary.BigEndian.Uint32(d.hdr[0:4]) != d.adler.Sum32():
		d.err = "zlib checksum mismatch"
	}
	d.phase = phDone
	return false
}

// NarrowAccept keeps, from a client's Accept-Encoding, only the codings the
// plugin can read; with none left, identity.
func NarrowAccept(v string) string {
	var keep []string
	for _, part := range strings.Split(v, ",") {
		coding, _, _ := strings.Cut(part, ";")
		if c := strings.TrimSpace(coding); c != "" && c != "*" && Supported(c) {
			keep = append(keep, strings.TrimSpace(part))
		}
	}
	if len(keep) == 0 {
		return "identity"
	}
	return strings.Join(keep, ", ")
}
