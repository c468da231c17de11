package decode

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"math/rand"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

// sample mixes text that compresses well, random bytes that do not (stored
// blocks), and long repeats (far matches).
func sample(rng *rand.Rand, n int) []byte {
	var b bytes.Buffer
	words := strings.Fields(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"delta":{"content":"hello"}}],"usage":null}`)
	for b.Len() < n {
		switch rng.Intn(4) {
		case 0:
			r := make([]byte, rng.Intn(2000))
			rng.Read(r)
			b.Write(r)
		case 1:
			if b.Len() > 100 {
				b.Write(b.Bytes()[rng.Intn(b.Len()-50):][:50])
			}
		default:
			b.WriteString(words[rng.Intn(len(words))] + " ")
		}
	}
	return b.Bytes()[:n]
}

func compress(t testing.TB, coding string, level int, p []byte) []byte {
	var b bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	var err error
	switch coding {
	case "gzip":
		var g *gzip.Writer
		g, err = gzip.NewWriterLevel(&b, level)
		if err == nil {
			g.Name, g.Comment, g.Extra = "resp.json", "c", []byte{1, 2, 3}
		}
		w = g
	case "deflate":
		w, err = zlib.NewWriterLevel(&b, level)
	case "raw":
		w, err = flate.NewWriter(&b, level)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func decodeAll(coding string, in []byte, cuts []int) ([]byte, string) {
	var d Decoder
	if coding == "raw" {
		coding = "deflate"
	}
	if !d.Start(coding) {
		return nil, "unsupported"
	}
	var out bytes.Buffer
	for _, ch := range fixture.Split(in, cuts) {
		d.Feed(ch, func(p []byte) { out.Write(p) })
	}
	return out.Bytes(), d.Err()
}

func TestAgainstCompressPackages(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, coding := range []string{"gzip", "deflate", "raw"} {
		for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression, flate.HuffmanOnly} {
			for _, n := range []int{0, 1, 100, 70000, 300000} {
				plain := sample(rng, n)
				z := compress(t, coding, level, plain)
				for k := 0; k < 5; k++ {
					var cuts []int
					if k > 0 {
						cuts = fixture.RandomCuts(rng, len(z), 1+rng.Intn(3000))
					}
					got, err := decodeAll(coding, z, cuts)
					if err != "" || !bytes.Equal(got, plain) {
						t.Fatalf("%s level %d, %d bytes, cuts %d: err %q, %d bytes out", coding, level, n, len(cuts), err, len(got))
					}
				}
			}
		}
	}
}

func TestCorruptionIsAnError(t *testing.T) {
	plain := sample(rand.New(rand.NewSource(2)), 5000)
	z := compress(t, "gzip", flate.DefaultCompression, plain)
	z[len(z)-6] ^= 0xff // inside the CRC
	if _, err := decodeAll("gzip", z, nil); err != "gzip checksum mismatch" {
		t.Fatalf("err %q", err)
	}
	if _, err := decodeAll("gzip", []byte("{\"not\":\"gzip\"}"), nil); err != "not gzip data" {
		t.Fatalf("err %q", err)
	}
	if (&Decoder{}).Start("br") {
		t.Fatal("br accepted")
	}
}

func TestNarrowAccept(t *testing.T) {
	for in, want := range map[string]string{
		"gzip, deflate, br, zstd":     "gzip, deflate",
		"br;q=1.0, gzip;q=0.8, *;q=0": "gzip;q=0.8",
		"br":                          "identity",
		"identity":                    "identity",
	} {
		if got := NarrowAccept(in); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
}

func FuzzDecoder(f *testing.F) {
	plain := sample(rand.New(rand.NewSource(3)), 3000)
	f.Add(compress(f, "gzip", 6, plain), int64(1), false)
	f.Add(compress(f, "deflate", 1, plain), int64(2), true)
	f.Fuzz(func(t *testing.T, in []byte, seed int64, zlibCoding bool) {
		coding := "gzip"
		if zlibCoding {
			coding = "deflate"
		}
		whole, werr := decodeAll(coding, in, nil)
		cuts := fixture.RandomCuts(rand.New(rand.NewSource(seed)), len(in), 17)
		if got, err := decodeAll(coding, in, cuts); !bytes.Equal(got, whole) || err != werr {
			t.Fatalf("cuts changed the result: %q vs %q", err, werr)
		}
		// Whatever Go's decoder accepts whole, this one must agree with.
		var ref bytes.Buffer
		var rerr error
		if coding == "gzip" {
			var r *gzip.Reader
			if r, rerr = gzip.NewReader(bytes.NewReader(in)); rerr == nil {
				r.Multistream(false)
				_, rerr = ref.ReadFrom(r)
			}
		} else {
			var r interface{ Read([]byte) (int, error) }
			if r, rerr = zlib.NewReader(bytes.NewReader(in)); rerr == nil {
				_, rerr = ref.ReadFrom(r)
			}
		}
		if rerr == nil && (werr != "" || !bytes.Equal(whole, ref.Bytes())) {
			t.Fatalf("Go decodes %d bytes, this decoder %d (err %q)", ref.Len(), len(whole), werr)
		}
	})
}
