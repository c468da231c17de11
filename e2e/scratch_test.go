package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// TestScratchSurvivesAReaderPanic: the Go binding lends one scratch buffer
// to the host for every read. A reader that panics while holding it must
// not keep it lent, or every later host write becomes a Go allocation
// inside proxy_on_memory_allocate.
func TestScratchSurvivesAReaderPanic(t *testing.T) {
	h, err := host.New(t.Context(), panicGuest(t), host.Options{ObserveOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	exchange := func(body string) *host.Result {
		t.Helper()
		ex := seedRequest(body)
		ex.ResponseBody = [][]byte{[]byte(`{"ok":true}`)}
		res, err := h.Do(t.Context(), ex)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	exchange(`{"warm":"up"}`)
	_, before := h.Allocations()
	exchange(`{"warm":"up"}`)
	calls, seen := h.Allocations()
	if len(seen) != 1 {
		t.Fatalf("before any panic the allocator gave %d addresses for %d calls, want the scratch alone", len(seen), calls)
	}
	var scratch uint32
	for p := range seen {
		scratch = p
	}
	if _, ok := before[scratch]; !ok {
		t.Fatalf("scratch moved before the panic")
	}

	res := exchange(`{"please":"panic"}`)
	if len(res.Logs) == 0 || res.Logs[0].Message != "recovered: the reader failed" {
		t.Fatalf("the reader did not panic: %v", res.Logs)
	}
	h.Allocations()
	for range 50 {
		exchange(`{"after":"the panic"}`)
	}
	calls, seen = h.Allocations()
	if len(seen) != 1 || seen[scratch] != calls {
		t.Fatalf("after the panic: %d allocator calls, %d at the scratch buffer, %d distinct addresses; want every one at the scratch",
			calls, seen[scratch], len(seen))
	}
	t.Logf("after the panic: %d allocator calls, all answered with the scratch buffer", calls)
}

// panicGuest builds e2e/testdata/panicguest.
func panicGuest(t *testing.T) *host.Module {
	t.Helper()
	root, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "panicguest.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./e2e/testdata/panicguest")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := host.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}
