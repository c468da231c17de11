// Package harness is what the suites that run the built plugin.wasm share:
// loading it with envoy.yaml's host options, and reading back the part of
// the filter state every release publishes.
package harness

import (
	"context"
	"path/filepath"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// Load compiles plugin.wasm ($LLMPROXY_WASM, else a fresh build) and reads
// envoy.yaml.
func Load(ctx context.Context) (*host.Module, *envoyconfig.Config, error) {
	root, err := fixture.Root()
	if err != nil {
		return nil, nil, err
	}
	envoy, err := envoyconfig.Load(filepath.Join(root, "envoy.yaml"))
	if err != nil {
		return nil, nil, err
	}
	mod, err := replay.LoadWasm(ctx)
	return mod, envoy, err
}

// ASMState is the ASM part of a filter state: the model and token keys.
// Other keys a release may add are left out, so that recorded expectations
// and baselines compare on the contract alone.
func ASMState(state map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{fixture.StateRequestModel, fixture.StatePromptTokens, fixture.StateCompletionTokens} {
		if v, ok := state[k]; ok {
			out[k] = v
		}
	}
	return out
}

// Chunks cuts b into pieces of n bytes, as a proxy delivers a body.
func Chunks(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		k := min(len(b), n)
		out = append(out, b[:k:k])
		b = b[k:]
	}
	return out
}
