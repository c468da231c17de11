package tetrate

import (
	"errors"
	"strings"
	"time"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// host implements proxy.Host with the SDK's host calls.
type host struct{ vm *vmState }

func (host) Log(level proxy.Level, msg string) {
	switch level {
	case proxy.Trace:
		proxywasm.LogTrace(msg)
	case proxy.Debug:
		proxywasm.LogDebug(msg)
	case proxy.Info:
		proxywasm.LogInfo(msg)
	case proxy.Warn:
		proxywasm.LogWarn(msg)
	default:
		proxywasm.LogError(msg)
	}
}

// Header clones the value: the SDK's string is the host's block, which goes
// back before Header returns.
func (host) Header(m proxy.HeaderMap, name string) (string, bool) {
	get := hostCalls.reqHeader
	if m == proxy.ResponseHeaders {
		get = hostCalls.respHeader
	}
	v, err := get(name)
	if err != nil {
		return "", false
	}
	kept := strings.Clone(v)
	releaseString(v)
	return kept, true
}

// errEmptyPath stands for the SDK's panic: it takes the address of the first
// byte of the serialized path, which has none for no path or one empty
// element.
var errEmptyPath = errors.New("empty property path")

func emptyPath(path []string) bool { return len(path) == 0 || len(path) == 1 && path[0] == "" }

func (host) Property(path ...string) (string, bool) {
	if emptyPath(path) {
		return "", false
	}
	v, err := hostCalls.property(path)
	if err != nil {
		return "", false
	}
	kept := string(v)
	release(v)
	return kept, true
}

func (host) SetFilterState(key, value string) error {
	if key == "" {
		return errEmptyPath
	}
	return proxywasm.SetProperty([]string{key}, []byte(value))
}

// pieceSize bounds each copy the host makes of a body chunk.
const pieceSize = 64 << 10

func bodyCall(b proxy.Body) func(start, maxSize int) ([]byte, error) {
	if b == proxy.ResponseBody {
		return hostCalls.respBody
	}
	return hostCalls.reqBody
}

func (host) ReadBody(b proxy.Body, size int, fn func([]byte)) error {
	get := bodyCall(b)
	for start := 0; start < size; {
		piece, err := get(start, min(size-start, pieceSize))
		if err != nil {
			return err
		}
		if len(piece) == 0 {
			return nil
		}
		lend(piece, fn)
		start += len(piece)
	}
	return nil
}

// lend hands a host block to fn and gives it back once fn returns: the
// filter reads a piece only while fn runs.
func lend(piece []byte, fn func([]byte)) {
	defer release(piece)
	fn(piece)
}

func (host) ReadBodyInto(b proxy.Body, start int, dst []byte) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	piece, err := bodyCall(b)(start, len(dst))
	if err != nil {
		return 0, err
	}
	n := copy(dst, piece)
	release(piece)
	return n, nil
}

func (host) SetHeader(m proxy.HeaderMap, name, value string) error {
	if m != proxy.RequestHeaders {
		return proxywasm.ReplaceHttpResponseHeader(name, value)
	}
	return proxywasm.ReplaceHttpRequestHeader(name, value)
}

func (host) RemoveHeader(m proxy.HeaderMap, name string) error {
	if m != proxy.RequestHeaders {
		return proxywasm.RemoveHttpResponseHeader(name)
	}
	return proxywasm.RemoveHttpRequestHeader(name)
}

const clearRouteCache = "clear_route_cache"

// ClearRouteCache calls Envoy's clear_route_cache foreign function. Envoy's
// returns no data (foreign.cc); whatever a host returns goes back. On an
// error the SDK drops the result pointer, so a host that allocated a result
// and failed would leak it; Envoy never does.
func (host) ClearRouteCache() error {
	ret, err := hostCalls.foreign(clearRouteCache, nil)
	switch {
	case err == nil:
		release(ret)
		return nil
	case errors.Is(err, types.ErrorStatusNotFound):
		return proxy.ErrNotFound
	}
	return errors.New("call_foreign_function " + clearRouteCache + ": " + err.Error())
}

// SetBody uses the SDK's replacement, which asks Envoy to drain MaxInt32.
func (host) SetBody(b proxy.Body, _ int, data []byte) error {
	if b == proxy.ResponseBody {
		return proxywasm.ReplaceHttpResponseBody(data)
	}
	return proxywasm.ReplaceHttpRequestBody(data)
}

// Now reads the WASI clock; the SDK has no call for the proxy's.
func (host) Now() int64 { return time.Now().UnixNano() }
