package tetrate

import (
	"bytes"
	"errors"
	"math/rand"
	"strings"
	"testing"
	"unsafe"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// sdkCalls are the SDK's own functions, before any test stands in for them.
var sdkCalls = hostCalls

// hostAccount stands in for cpp-host's malloc and TinyGo's free. Each
// non-empty value an SDK read returns is copied into a fresh block, as
// cpp-host copies into what the module's malloc returns, and each block must
// come back exactly once through release. A block that comes back is
// overwritten, since TinyGo may hand it out again, so a value the glue kept
// without copying turns into garbage and the filter's results show it.
type hostAccount struct {
	t      testing.TB
	live   map[*byte][]byte
	allocs int
	frees  int
}

// countHost routes hostCalls and releases through a new account until the
// test ends.
func countHost(t testing.TB) *hostAccount {
	a := &hostAccount{t: t, live: map[*byte][]byte{}}
	t.Cleanup(func() { hostCalls, hostFreed = sdkCalls, func(*byte) {} })
	hostCalls.pluginConfig = func() ([]byte, error) { return a.bytes(sdkCalls.pluginConfig()) }
	hostCalls.reqHeader = func(n string) (string, error) { return a.str(sdkCalls.reqHeader(n)) }
	hostCalls.respHeader = func(n string) (string, error) { return a.str(sdkCalls.respHeader(n)) }
	hostCalls.property = func(p []string) ([]byte, error) { return a.bytes(sdkCalls.property(p)) }
	hostCalls.reqBody = func(s, n int) ([]byte, error) { return a.bytes(sdkCalls.reqBody(s, n)) }
	hostCalls.respBody = func(s, n int) ([]byte, error) { return a.bytes(sdkCalls.respBody(s, n)) }
	hostCalls.foreign = func(f string, p []byte) ([]byte, error) { return a.bytes(sdkCalls.foreign(f, p)) }
	hostFreed = a.free
	return a
}

// block is what the host's malloc would return, filled with v.
func (a *hostAccount) block(v []byte) []byte {
	if len(v) == 0 {
		return v // cpp-host allocates nothing for an empty value
	}
	b := make([]byte, len(v))
	copy(b, v)
	a.live[&b[0]] = b
	a.allocs++
	return b
}

func (a *hostAccount) bytes(v []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return a.block(v), nil
}

func (a *hostAccount) str(v string, err error) (string, error) {
	if err != nil || v == "" {
		return v, err
	}
	b := a.block([]byte(v))
	return unsafe.String(&b[0], len(b)), nil
}

func (a *hostAccount) free(p *byte) {
	b, ok := a.live[p]
	if !ok {
		a.t.Errorf("free(%p): not a live host block (freed twice, or never handed out)", p)
		return
	}
	delete(a.live, p)
	a.frees++
	for i := range b {
		b[i] = 0xdb
	}
}

func (a *hostAccount) isLive(p []byte) bool {
	_, ok := a.live[unsafe.SliceData(p)]
	return len(p) > 0 && ok
}

// balanced fails unless every block handed out so far came back.
func (a *hostAccount) balanced(t testing.TB) {
	t.Helper()
	if len(a.live) != 0 || a.allocs != a.frees {
		t.Fatalf("host blocks: %d handed out, %d freed, %d still held", a.allocs, a.frees, len(a.live))
	}
}

// Every recorded exchange, many times over in one VM, with random chunking:
// every block the host hands out comes back once, nothing else is freed, and
// the results stay right although each freed block is overwritten.
func TestHostBlocksAllFreedAfterManyExchanges(t *testing.T) {
	cases, err := fixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	host, reset := emulator(t, `{"max_model_labels": 1000}`)
	defer reset()
	rng := rand.New(rand.NewSource(7))
	const rounds = 20
	seed := "asm_llm_proxy_prompt_tokens" + seedTags
	var perRound uint64
	for r := range rounds {
		for _, c := range cases {
			exchange(t, host, c, rng) // checks the balance after each exchange
		}
		if r == 0 {
			perRound, _ = host.GetCounterMetric(seed)
		}
	}
	if min := rounds * len(cases) * 4; host.mem.allocs < min {
		t.Fatalf("only %d host blocks over %d exchanges; want at least %d (the accounting is not seeing the reads)",
			host.mem.allocs, rounds*len(cases), min)
	}
	t.Logf("%d exchanges: %d host blocks handed out, %d freed", rounds*len(cases), host.mem.allocs, host.mem.frees)
	// The counters are still right after all the overwriting.
	if got, err := host.GetCounterMetric(seed); err != nil || perRound == 0 || got != rounds*perRound {
		t.Fatalf("%s = %d (%v), want %d x %d", seed, got, err, rounds, perRound)
	}
}

// fakeBody serves a body from memory, through the account, in place of the
// proxy's buffer.
func fakeBody(a *hostAccount, body []byte) func(start, maxSize int) ([]byte, error) {
	return func(start, maxSize int) ([]byte, error) {
		if start >= len(body) || maxSize == 0 {
			return nil, types.ErrorStatusNotFound // what the SDK says for no bytes
		}
		return a.block(body[start:min(len(body), start+maxSize)]), nil
	}
}

// A body piece stays the host's block while the filter reads it, and goes
// back as soon as the filter's callback returns.
func TestBodyPieceFreedOnlyAfterCallback(t *testing.T) {
	a := countHost(t)
	body := bytes.Repeat([]byte("0123456789abcdef"), (3*pieceSize+100)/16)
	hostCalls.respBody = fakeBody(a, body)
	var got []byte
	pieces := 0
	err := host{}.ReadBody(proxy.ResponseBody, len(body), func(p []byte) {
		if !a.isLive(p) {
			t.Fatalf("piece %d was freed before the callback ran", pieces)
		}
		if pieces > 0 && a.frees != pieces {
			t.Fatalf("piece %d: %d earlier pieces freed, want %d", pieces, a.frees, pieces)
		}
		got = append(got, p...)
		pieces++
	})
	if err != nil {
		t.Fatal(err)
	}
	if pieces != 4 || !bytes.Equal(got, body) {
		t.Fatalf("%d pieces, %d bytes; want 4 pieces, %d bytes", pieces, len(got), len(body))
	}
	a.balanced(t)
}

// ReadBodyInto, Header and Property copy what they return before the block
// goes back; an empty value or an error frees nothing.
func TestReadsCopyThenFree(t *testing.T) {
	a := countHost(t)
	hostCalls.reqBody = fakeBody(a, []byte("hello, world"))
	dst := make([]byte, 5)
	if n, err := (host{}).ReadBodyInto(proxy.RequestBody, 7, dst); err != nil || string(dst[:n]) != "world" {
		t.Fatalf("ReadBodyInto = %q, %v", dst[:n], err)
	}
	if n, err := (host{}).ReadBodyInto(proxy.RequestBody, 0, nil); n != 0 || err != nil {
		t.Fatalf("ReadBodyInto(empty dst) = %d, %v", n, err)
	}
	headers := map[string]string{"x-model": "qwen-turbo", "x-empty": ""}
	hostCalls.reqHeader = func(name string) (string, error) {
		v, ok := headers[name]
		if !ok {
			return "", types.ErrorStatusNotFound
		}
		return a.str(v, nil)
	}
	hostCalls.property = func(path []string) ([]byte, error) {
		if strings.Join(path, ".") != "xds.cluster_name" {
			return nil, types.ErrorStatusNotFound
		}
		return a.bytes([]byte("outbound|443||dashscope.aliyuncs.com"), nil)
	}
	v, ok := host{}.Header(proxy.RequestHeaders, "x-model")
	e, eok := host{}.Header(proxy.RequestHeaders, "x-empty")
	_, mok := host{}.Header(proxy.RequestHeaders, "x-missing")
	p, pok := host{}.Property("xds", "cluster_name")
	_, qok := host{}.Property("xds", "missing")
	// Every block is back, and overwritten: the values survived because
	// they were copied.
	a.balanced(t)
	if v != "qwen-turbo" || !ok || e != "" || !eok || mok {
		t.Fatalf("headers: %q %v, %q %v, missing %v", v, ok, e, eok, mok)
	}
	if p != "outbound|443||dashscope.aliyuncs.com" || !pok || qok {
		t.Fatalf("property: %q %v, missing %v", p, pok, qok)
	}
	if a.allocs != 3 {
		t.Fatalf("%d host blocks, want 3 (body, header, property)", a.allocs)
	}
}

// The plugin configuration is copied before its block goes back.
func TestPluginConfigurationFreed(t *testing.T) {
	host, reset := emulator(t, `{"max_model_labels": 5}`)
	defer reset()
	if host.mem.allocs != 1 {
		t.Fatalf("%d host blocks at start, want 1 (the configuration)", host.mem.allocs)
	}
	host.mem.balanced(t)
}

// An SDK error is not a block: nothing is freed.
func TestErrorsFreeNothing(t *testing.T) {
	a := countHost(t)
	fail := errors.New("host says no")
	hostCalls.respBody = func(int, int) ([]byte, error) { return nil, fail }
	if err := (host{}).ReadBody(proxy.ResponseBody, 10, func([]byte) { t.Fatal("no piece expected") }); err != fail {
		t.Fatalf("ReadBody error %v, want %v", err, fail)
	}
	if a.allocs != 0 || a.frees != 0 {
		t.Fatalf("%d blocks, %d frees; want none", a.allocs, a.frees)
	}
}
