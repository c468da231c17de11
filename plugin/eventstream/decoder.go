// Package eventstream decodes AWS's binary event-stream framing (Bedrock's
// converse-stream and invoke-with-response-stream) as bytes arrive. Each
// message is: total length, headers length, prelude CRC32, headers,
// payload, message CRC32. Payloads are handed on in pieces; only the prelude
// and up to MaxHeaders of headers are held.
package eventstream

import (
	"encoding/binary"
	"hash/crc32"
)

// Handler receives the messages of one stream.
type Handler interface {
	// Start begins a message; the values are valid only during the call.
	Start(eventType, messageType []byte)
	Payload(p []byte)
	// End closes a message; valid is false when its CRC did not match.
	End(valid bool)
}

// MaxHeaders caps the header bytes kept; larger header blocks are checked
// but not read.
const MaxHeaders = 1024

// maxMessage bounds a message as AWS does (16 MiB), so a corrupt length is
// caught early.
const maxMessage = 16 << 20

type phase uint8

const (
	inPrelude phase = iota
	inHeaders
	inPayload
	inCRC
	broken
)

// Decoder is the per-stream state. The zero value is ready to use.
type Decoder struct {
	phase   phase
	buf     [12]byte
	n       int // bytes of buf, or of headers, read so far
	headers [MaxHeaders]byte
	hlen    int // header bytes of this message
	left    int // payload bytes still to come
	crc     uint32
	err     string
}

// Err says why decoding stopped, or is empty.
func (d *Decoder) Err() string { return d.err }

// Feed decodes the next chunk.
func (d *Decoder) Feed(p []byte, h Handler) {
	for len(p) > 0 && d.phase != broken {
		switch d.phase {
		case inPrelude:
			p = d.fill(p, 12)
			if d.n == 12 {
				d.prelude()
			}
		case inHeaders:
			n := min(len(p), d.hlen-d.n)
			if d.n < MaxHeaders {
				copy(d.headers[d.n:min(d.hlen, MaxHeaders)], p[:n])
			}
			d.crc = crc32.Update(d.crc, crc32.IEEETable, p[:n])
			d.n += n
			p = p[n:]
			if d.n == d.hlen {
				d.startMessage(h)
			}
		case inPayload:
			n := min(len(p), d.left)
			d.crc = crc32.Update(d.crc, crc32.IEEETable, p[:n])
			if n > 0 {
				h.Payload(p[:n])
			}
			d.left -= n
			p = p[n:]
			if d.left == 0 {
				d.phase, d.n = inCRC, 0
			}
		case inCRC:
			p = d.fill(p, 4)
			if d.n == 4 {
				h.End(binary.BigEndian.Uint32(d.buf[:4]) == d.crc)
				d.phase, d.n = inPrelude, 0
			}
		}
	}
}

func (d *Decoder) fill(p []byte, want int) []byte {
	n := copy(d.buf[d.n:want], p)
	d.n += n
	return p[n:]
}

func (d *Decoder) prelude() {
	total := int(binary.BigEndian.Uint32(d.buf[0:4]))
	hlen := int(binary.BigEndian.Uint32(d.buf[4:8]))
	switch {
	case crc32.ChecksumIEEE(d.buf[:8]) != binary.BigEndian.Uint32(d.buf[8:12]):
		d.fail("prelude checksum mismatch")
	case total < 16 || total > maxMessage || hlen > total-16:
		d.fail("bad message length")
	default:
		d.crc = crc32.ChecksumIEEE(d.buf[:12])
		d.hlen, d.left, d.n = hlen, total-16-hlen, 0
		d.phase = inHeaders
	}
}

func (d *Decoder) fail(why string) {
	d.phase, d.err = broken, why
}

func (d *Decoder) startMessage(h Handler) {
	ev, mt := headerValues(d.headers[:min(d.hlen, MaxHeaders)])
	h.Start(ev, mt)
	d.phase = inPayload
	if d.left == 0 {
		d.phase, d.n = inCRC, 0
	}
}

// headerValues finds :event-type (or :exception-type) and :message-type.
func headerValues(b []byte) (eventType, messageType []byte) {
	for len(b) > 0 {
		nl := int(b[0])
		if len(b) < 2+nl {
			return
		}
		name, typ := b[1:1+nl], b[1+nl]
		b = b[2+nl:]
		var val []byte
		switch typ {
		case 0, 1: // bool true, false: no value
		case 2:
			val, b = cut(b, 1)
		case 3:
			val, b = cut(b, 2)
		case 4:
			val, b = cut(b, 4)
		case 5, 8:
			val, b = cut(b, 8)
		case 9:
			val, b = cut(b, 16)
		case 6, 7: // bytes, string: 2-byte length
			if len(b) < 2 {
				return
			}
			val, b = cut(b[2:], int(binary.BigEndian.Uint16(b)))
		default:
			return
		}
		if b == nil {
			return
		}
		switch string(name) {
		case ":event-type", ":exception-type":
			eventType = val
		case ":message-type":
			messageType = val
		}
	}
	return
}

// cut splits off n bytes; b is nil when too short.
func cut(b []byte, n int) (val, rest []byte) {
	if len(b) < n {
		return nil, nil
	}
	return b[:n], b[n:]
}
