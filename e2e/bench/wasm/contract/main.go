// Command contract is the contract-only filter as a proxy-wasm module, built
// with the same wasmexport glue as plugin.wasm.
package main

import (
	"github.com/llmproxy/llmproxy/e2e/bench/baseline"
	"github.com/llmproxy/llmproxy/plugin/abi/wasmexport"
	"github.com/llmproxy/llmproxy/plugin/proxy"
)

func init() { wasmexport.SetRoot(func() proxy.Root { return baseline.NewContract() }) }

func main() {}
