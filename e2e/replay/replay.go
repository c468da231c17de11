// Package replay turns recorded provider exchanges into the callbacks an
// Envoy sidecar would deliver, for the in-process host and `make run`.
package replay

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/internal/fixture"
	"google.golang.org/protobuf/types/known/wrapperspb"
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

// Options are the host options envoy.yaml describes: the plugin and VM
// configuration, node metadata, stats_tags, the VM environment (its
// host_env_keys read from this process) and the filter's options. The host
// fails any exchange the plugin holds (ObserveOnly) unless the plugin
// configuration turns on routing (providers) or inject_stream_usage, which
// buffer request bodies as Envoy allows. The route table is not applied
// here (see Routes): the tests give each exchange its Istio cluster.
func Options(cfg *envoyconfig.Config) host.Options {
	w := WasmPlugin(cfg)
	o := host.Options{
		PluginConfig:                []byte(cfg.PluginConfig),
		NodeMetadata:                cfg.NodeMetadata,
		ObserveOnly:                 !optIn(cfg.PluginConfig),
		Env:                         VMEnv(cfg, os.LookupEnv),
		RootID:                      w.GetRootId(),
		PluginName:                  w.GetName(),
		AllowOnHeadersStopIteration: w.GetAllowOnHeadersStopIteration().GetValue(),
	}
	vmConfig := &wrapperspb.StringValue{}
	if c := w.GetVmConfig().GetConfiguration(); c != nil && c.UnmarshalTo(vmConfig) == nil {
		o.VMConfig = []byte(vmConfig.GetValue())
	}
	for _, t := range cfg.StatsTags {
		o.StatsTags = append(o.StatsTags, host.StatsTag{Name: t.Name, Regex: t.Regex})
	}
	for _, hb := range cfg.HistogramBuckets {
		o.HistogramBuckets = append(o.HistogramBuckets, host.HistogramBuckets(hb))
	}
	return o
}

// Play runs ex through a live stream of h as a network would bring it:
// with pace > 0 the response starts pace after the request and each
// further chunk comes pace after the one before, so that the plugin's
// time to first token and duration measure real time. With pace 0 the
// chunks follow at once, as in Do, and those times say nothing. A plugin
// that holds a request or answers it itself is played as Envoy would.
func Play(ctx context.Context, h *host.Host, ex host.Exchange, pace time.Duration) (*host.Result, error) {
	st, err := h.Open(ctx, ex.ClusterName)
	if err != nil {
		return nil, err
	}
	events := []func() (host.Released, error){func() (host.Released, error) {
		return st.RequestHeaders(ctx, ex.RequestHeaders, len(ex.RequestBody) == 0)
	}}
	for i, c := range ex.RequestBody {
		events = append(events, func() (host.Released, error) {
			return st.RequestBody(ctx, c, i == len(ex.RequestBody)-1)
		})
	}
	events = append(events, func() (host.Released, error) {
		time.Sleep(pace)
		return st.ResponseHeaders(ctx, ex.ResponseHeaders, len(ex.ResponseBody) == 0)
	})
	for i, c := range ex.ResponseBody {
		events = append(events, func() (host.Released, error) {
			if i > 0 {
				time.Sleep(pace)
			}
			return st.ResponseBody(ctx, c, i == len(ex.ResponseBody)-1)
		})
	}
	for _, event := range events {
		r, err := event()
		if err != nil || r.Ended {
			res, endErr := st.End(ctx)
			return res, errors.Join(err, endErr)
		}
	}
	return st.End(ctx)
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
