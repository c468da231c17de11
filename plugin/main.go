// Command plugin is llmproxy's proxy-wasm module. It only wires an ABI
// binding to the filter: the Go >= 1.24 binding by default, the
// tetratelabs SDK under TinyGo.
package main

func main() { start() }
