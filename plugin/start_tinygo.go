//go:build tinygo

package main

import (
	"github.com/llmproxy/llmproxy/plugin/abi/tetrate"
	"github.com/llmproxy/llmproxy/plugin/filter"
	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// TinyGo modules run main from _start, where the SDK registers the VM.
func start() { tetrate.Start(func() proxy.Root { return filter.NewPlugin() }) }
