//go:build tinygo

package main

import (
	"github.com/llmproxy/llmproxy/plugin/abi/tetrate"
	"github.com/llmproxy/llmproxy/plugin/filter"
	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// TinyGo runs main from _start, where the SDK registers the VM. The build
// uses -buildmode=wasi-legacy (Makefile), whose _start returns after main:
// the default one then calls proc_exit, which cpp-host refuses while it
// starts the VM (docs/tinygo.md).
func start() { tetrate.Start(func() proxy.Root { return filter.NewPlugin() }) }
