//go:build !tinygo

package main

import (
	"github.com/llmproxy/llmproxy/plugin/abi/wasmexport"
	"github.com/llmproxy/llmproxy/plugin/filter"
	"github.com/llmproxy/llmproxy/plugin/proxy"
)

// A reactor module (-buildmode=c-shared) never runs main: the binding is
// wired in init, which makes no host call.
func init() { wasmexport.SetRoot(func() proxy.Root { return filter.NewPlugin() }) }

func start() {}
