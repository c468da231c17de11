// Package wasmexport binds the filter to the proxy-wasm ABI 0.2.1 with the
// //go:wasmimport and //go:wasmexport directives of Go >= 1.24
// (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared). It holds no logic: each
// export finds its context and calls the filter.
//
// Go's int and pointers are 64-bit in the type system but wasm32 addresses
// and ABI sizes are 32-bit, so every size and out-pointer here is a uint32.
package wasmexport

import "github.com/llmproxy/llmproxy/plugin/proxy"

var newRoot func() proxy.Root

// SetRoot chooses the filter. Call it from an init function: a reactor
// module never runs main, and init may make no host call, which this
// does not.
func SetRoot(f func() proxy.Root) { newRoot = f }
