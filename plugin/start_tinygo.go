//go:build tinygo

package main

import "github.com/llmproxy/llmproxy/plugin/abi/tetrate"

// TinyGo modules run main from _start, where the SDK registers the VM.
func start() { tetrate.Start() }
