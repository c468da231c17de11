package eventstream

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

// encode builds one message with string headers, as AWS sends them.
func encode(headers [][2]string, payload string) []byte {
	var hb bytes.Buffer
	for _, h := range headers {
		hb.WriteByte(byte(len(h[0])))
		hb.WriteString(h[0])
		hb.WriteByte(7)
		binary.Write(&hb, binary.BigEndian, uint16(len(h[1])))
		hb.WriteString(h[1])
	}
	var m bytes.Buffer
	binary.Write(&m, binary.BigEndian, uint32(16+hb.Len()+len(payload)))
	binary.Write(&m, binary.BigEndian, uint32(hb.Len()))
	binary.Write(&m, binary.BigEndian, crc32.ChecksumIEEE(m.Bytes()))
	m.Write(hb.Bytes())
	m.WriteString(payload)
	binary.Write(&m, binary.BigEndian, crc32.ChecksumIEEE(m.Bytes()))
	return m.Bytes()
}

type message struct {
	Event, Type, Payload string
	Valid                bool
}

type recorder struct {
	msgs []message
	cur  message
}

func (r *recorder) Start(ev, mt []byte) { r.cur = message{Event: string(ev), Type: string(mt)} }
func (r *recorder) Payload(p []byte)    { r.cur.Payload += string(p) }
func (r *recorder) End(valid bool) {
	r.cur.Valid = valid
	r.msgs = append(r.msgs, r.cur)
}

func decode(b []byte, cuts []int) ([]message, string) {
	var d Decoder
	r := &recorder{}
	for _, ch := range fixture.Split(b, cuts) {
		d.Feed(ch, r)
	}
	return r.msgs, d.Err()
}

func event(ev, payload string) []byte {
	return encode([][2]string{{":event-type", ev}, {":content-type", "application/json"}, {":message-type", "event"}}, payload)
}

func TestDecoder(t *testing.T) {
	stream := bytes.Join([][]byte{
		event("messageStart", `{"role":"assistant"}`),
		event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hi"}}`),
		event("metadata", `{"usage":{"inputTokens":12,"outputTokens":3,"totalTokens":15},"metrics":{"latencyMs":210}}`),
		encode([][2]string{{":exception-type", "throttlingException"}, {":message-type", "exception"}}, `{"message":"slow down"}`),
		encode(nil, ""),
	}, nil)
	want := fmt.Sprint([]message{
		{"messageStart", "event", `{"role":"assistant"}`, true},
		{"contentBlockDelta", "event", `{"contentBlockIndex":0,"delta":{"text":"Hi"}}`, true},
		{"metadata", "event", `{"usage":{"inputTokens":12,"outputTokens":3,"totalTokens":15},"metrics":{"latencyMs":210}}`, true},
		{"throttlingException", "exception", `{"message":"slow down"}`, true},
		{"", "", "", true},
	})
	for c := 0; c < len(stream); c++ {
		var cuts []int
		if c > 0 {
			cuts = []int{c}
		}
		got, err := decode(stream, cuts)
		if fmt.Sprint(got) != want || err != "" {
			t.Fatalf("cut at %d: %v (err %q)\nwant %s", c, got, err, want)
		}
	}
}

func TestCorruption(t *testing.T) {
	good := event("metadata", `{"usage":{"inputTokens":1}}`)
	bad := append([]byte(nil), good...)
	bad[len(bad)-10] ^= 0xff // payload byte: message CRC fails, framing holds
	msgs, err := decode(append(bad, good...), nil)
	if len(msgs) != 2 || msgs[0].Valid || !msgs[1].Valid || err != "" {
		t.Fatalf("payload corruption: %+v %q", msgs, err)
	}
	bad = append([]byte(nil), good...)
	bad[2] ^= 0x01 // length: prelude CRC fails, decoding stops
	if msgs, err = decode(append(bad, good...), nil); len(msgs) != 0 || err != "prelude checksum mismatch" {
		t.Fatalf("prelude corruption: %+v %q", msgs, err)
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add(event("metadata", `{"usage":{"inputTokens":1}}`), int64(1))
	f.Add(append(event("chunk", `{"bytes":"e30="}`), 0, 0, 0, 5), int64(2))
	f.Fuzz(func(t *testing.T, in []byte, seed int64) {
		whole, werr := decode(in, nil)
		cuts := fixture.RandomCuts(rand.New(rand.NewSource(seed)), len(in), 13)
		if got, err := decode(in, cuts); fmt.Sprint(got) != fmt.Sprint(whole) || err != werr {
			t.Fatalf("cuts %v changed the result", cuts)
		}
	})
}
