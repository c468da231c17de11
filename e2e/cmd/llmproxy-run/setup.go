package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
)

const defaultWasm = "plugin.wasm"

// common are the flags both commands take.
type common struct {
	wasm, envoy, config, logLevel string
	vmEnv                         []string
}

// vmEnvFlag is a repeatable -vm-env.
type vmEnvFlag struct{ c *common }

func (f vmEnvFlag) String() string { return "" }

func (f vmEnvFlag) Set(v string) error {
	if v == "" || strings.HasPrefix(v, "=") {
		return fmt.Errorf("want KEY or KEY=VALUE, got %q", v)
	}
	f.c.vmEnv = append(f.c.vmEnv, v)
	return nil
}

// newFlags is a command's flag set, printing usage and then its flags,
// with the flags every command shares already registered.
func newFlags(name, usage string, stderr io.Writer) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		io.WriteString(stderr, usage)
		fs.PrintDefaults()
	}
	c := new(common)
	c.register(fs)
	return fs, c
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.wasm, "wasm", defaultWasm, "the plugin `FILE` (make build builds plugin.wasm); when the default is missing it is built from ./plugin")
	fs.StringVar(&c.envoy, "envoy", "envoy.yaml", "Envoy bootstrap giving node metadata, stats_tags, the route table and clusters, the access-log format, the plugin configuration and the VM environment")
	fs.StringVar(&c.config, "config", "", "plugin configuration `FILE` (JSON) instead of envoy.yaml's")
	fs.Var(vmEnvFlag{c}, "vm-env", "add to the VM environment: `KEY` from this process's environment (as host_env_keys) or KEY=VALUE (as key_values); repeatable; e.g. -vm-env OPENAI_API_KEY for a provider's api_key_env")
	fs.StringVar(&c.logLevel, "log-level", "info", "the plugin's log level, as Envoy's wasm log component: trace, debug, info, warn, error, critical")
}

var levels = []string{"trace", "debug", "info", "warn", "error", "critical"}

// setup is what both commands build from the common flags.
type setup struct {
	cfg        *envoyconfig.Config
	configFrom string // where the plugin configuration came from
	opts       host.Options
	mod        *host.Module
}

// load reads envoy.yaml (and -config), compiles the plugin and prepares
// host options whose plugin log lines go to stderr as "[level] message".
func (c *common) load(ctx context.Context, stderr io.Writer) (*setup, error) {
	level := -1
	for i, l := range levels {
		if l == c.logLevel {
			level = i
		}
	}
	if level < 0 {
		return nil, fmt.Errorf("-log-level %q: want one of %v", c.logLevel, levels)
	}
	cfg, err := envoyconfig.Load(c.envoy)
	if err != nil {
		return nil, err
	}
	s := &setup{cfg: cfg, configFrom: c.envoy}
	if c.config != "" {
		raw, err := os.ReadFile(c.config)
		if err != nil {
			return nil, err
		}
		cfg.PluginConfig, s.configFrom = string(raw), c.config
	}
	if s.mod, err = loadWasm(ctx, c.wasm, stderr); err != nil {
		return nil, err
	}
	s.opts = replay.Options(cfg)
	if s.opts.Routes, err = replay.Routes(cfg); err != nil {
		return nil, fmt.Errorf("%s: %v", c.envoy, err)
	}
	for _, kv := range c.vmEnv {
		k, v, set := strings.Cut(kv, "=")
		if !set {
			if v, set = os.LookupEnv(k); !set {
				fmt.Fprintf(stderr, "# -vm-env %s: not set in this environment, left out (as Envoy leaves out a missing host_env_keys entry)\n", k)
				continue
			}
		}
		s.opts.Env[k] = v
	}
	s.opts.LogLevel = &level
	var mu sync.Mutex
	s.opts.PluginLog = func(l host.LogLine) {
		for i, name := range levels {
			if name == l.Level && i < level {
				return // Envoy drops what is below its log level
			}
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stderr, "[%s] %s\n", l.Level, l.Message)
	}
	return s, nil
}

// loadWasm compiles the plugin; the default path, when missing, is built
// from ./plugin so that `go run` works on a fresh checkout.
func loadWasm(ctx context.Context, path string, stderr io.Writer) (*host.Module, error) {
	wasm, err := os.ReadFile(path)
	switch {
	case err == nil:
		return host.Compile(ctx, wasm)
	case path != defaultWasm || !os.IsNotExist(err):
		return nil, err
	}
	fmt.Fprintf(stderr, "# %s not found: building it from ./plugin (make build does this once)\n", path)
	os.Unsetenv("LLMPROXY_WASM") // LoadWasm would take that file instead
	return replay.LoadWasm(ctx)
}

// newHost starts the VM; a refused configuration says why, in the
// plugin's words (also printed as its log line).
func (s *setup) newHost(ctx context.Context) (*host.Host, error) {
	h, err := host.New(ctx, s.mod, s.opts)
	if err != nil {
		return nil, fmt.Errorf("plugin configuration from %s: %w", s.configFrom, err)
	}
	return h, nil
}
