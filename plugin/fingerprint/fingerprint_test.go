package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand"
	"testing"
)

// TestMatchesCryptoSHA256 holds the hand-written SHA-256 to the standard
// library's for every length across several blocks, and random keys.
func TestMatchesCryptoSHA256(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 300; n++ {
		for range 4 {
			msg := make([]byte, n)
			rng.Read(msg)
			if got, want := sum256(msg), sha256.Sum256(msg); got != want {
				t.Fatalf("%d bytes: %x, want %x", n, got, want)
			}
		}
	}
}

// TestOf: the FIPS 180-4 example "abc" and an API-key-shaped string.
func TestOf(t *testing.T) {
	if got := Of("abc"); got != "ba7816bf8f01" { // SHA-256("abc") = ba7816bf8f01cfea…
		t.Fatalf("Of(abc) = %s", got)
	}
	key := "sk-proj-abc"
	sum := sha256.Sum256([]byte(key))
	if got, want := Of(key), hex.EncodeToString(sum[:])[:12]; got != want {
		t.Fatalf("Of(%s) = %s, want %s", key, got, want)
	}
}

func FuzzOf(f *testing.F) {
	f.Add([]byte("Bearer sk-test"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := sum256(b), sha256.Sum256(b); got != want {
			t.Fatalf("%x: %x, want %x", b, got, want)
		}
	})
}
