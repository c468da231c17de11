// Package replay turns recorded provider exchanges into the callbacks an
// Envoy sidecar would deliver, for the in-process host and `make run`.
package replay

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// IstioCluster is the upstream cluster name an Istio sidecar gives the
// case's provider: outbound|<port>||<host>.
func IstioCluster(c fixture.Case) string {
	h := c.Authority
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		return "outbound|" + h[i+1:] + "||" + h[:i]
	}
	return "outbound|443||" + h
}

// Exchange builds the stream with bodies cut at random offsets (rng nil:
// one chunk each), as Envoy hands a filter what the network delivered.
func Exchange(c fixture.Case, rng *rand.Rand, maxChunk int) host.Exchange {
	split := func(b []byte) [][]byte {
		if rng == nil || len(b) == 0 {
			return [][]byte{b}
		}
		return fixture.Split(b, fixture.RandomCuts(rng, len(b), maxChunk))
	}
	return host.Exchange{
		ClusterName:     IstioCluster(c),
		RequestHeaders:  c.RequestHeaderList(),
		RequestBody:     split(c.RequestBody),
		ResponseHeaders: c.ResponseHeaderList(),
		ResponseBody:    split(c.ResponseBody),
	}
}

// Options are the host options envoy.yaml describes.
func Options(cfg *envoyconfig.Config) host.Options {
	o := host.Options{
		PluginConfig: []byte(cfg.PluginConfig),
		NodeMetadata: cfg.NodeMetadata,
		ObserveOnly:  true,
	}
	for _, t := range cfg.StatsTags {
		o.StatsTags = append(o.StatsTags, host.StatsTag{Name: t.Name, Regex: t.Regex})
	}
	return o
}

// AccessLogLine renders envoy.yaml's JSON access log for one exchange as
// Envoy's json_format does.
func AccessLogLine(cfg *envoyconfig.Config, ex host.Exchange, res *host.Result) (string, error) {
	return host.AccessLogJSON(cfg.AccessLog, ex, res)
}

// LoadWasm compiles the plugin: $LLMPROXY_WASM if set (make test builds it
// once), else a fresh `go build` into a temporary directory.
func LoadWasm(ctx context.Context) (*host.Module, error) {
	path := os.Getenv("LLMPROXY_WASM")
	if path == "" {
		root, err := fixture.Root()
		if err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp("", "llmproxy-wasm")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "plugin.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", path, "./plugin")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building plugin.wasm: %v\n%s", err, out)
		}
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return host.Compile(ctx, wasm)
}
