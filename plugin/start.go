//go:build !tinygo

package main

// The wasmexport binding registers itself through its exports; a reactor
// module (-buildmode=c-shared) never runs main.
import _ "github.com/llmproxy/llmproxy/plugin/abi/wasmexport"

func start() {}
