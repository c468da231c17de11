package intern

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

func TestBytes(t *testing.T) {
	buf := []byte("/v1/chat/completions")
	a := Bytes(buf)
	buf[1] = 'x' // the string must not alias the bytes
	if a != "/v1/chat/completions" {
		t.Fatalf("got %q", a)
	}
	b := Bytes([]byte("/v1/chat/completions"))
	if b != a || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatalf("second lookup did not reuse the first string")
	}
	long := strings.Repeat("m", MaxLen+1)
	if got := Bytes([]byte(long)); got != long {
		t.Fatalf("long string changed")
	}
	if Bytes(nil) != "" {
		t.Fatal("empty")
	}
	// Many distinct values, more than the slots: each result is right.
	for i := 0; i < 10*len(slots); i++ {
		want := fmt.Sprintf("model-%d", i)
		if got := Bytes([]byte(want)); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
}

func TestBytesAllocatesOnlyOnMiss(t *testing.T) {
	b := []byte("gpt-4o-mini-2024-07-18")
	Bytes(b)
	if n := testing.AllocsPerRun(100, func() { Bytes(b) }); n != 0 {
		t.Fatalf("%v allocations per hit", n)
	}
}
