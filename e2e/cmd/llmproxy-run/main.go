// Command llmproxy-run plays recorded provider exchanges through the built
// plugin.wasm in the in-process proxy-wasm host and prints what an operator
// would see: one access-log line per exchange, then the Prometheus lines of
// the plugin's counters. It is an Envoy-like host (wazero), not Envoy.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"strings"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// The exchanges `make run` shows, in the providers' recorded wire formats.
var shown = []string{
	"dashscope_compatible/seed_qwen_turbo", // the ASM walkthrough's example
	"openai/chat_json",
	"openai/chat_stream_usage",
	"dashscope/generation_stream",
	"openai_responses/stream",
	"anthropic/stream",
	"gemini/stream_sse",
	"ollama/chat_stream",
	"azure_openai/stream",
	"bedrock/converse_stream",
	"openai_compat/deepseek_stream",
	"compressed/openai_stream_gzip",
	"openai/chat_stream_no_usage",
}

func main() {
	wasmPath := flag.String("wasm", "plugin.wasm", "the built plugin")
	envoyPath := flag.String("envoy", "envoy.yaml", "Envoy bootstrap to take stats_tags, node metadata, plugin configuration and access-log format from")
	flag.Parse()
	if err := run(*wasmPath, *envoyPath); err != nil {
		fmt.Fprintln(os.Stderr, "llmproxy-run:", err)
		os.Exit(1)
	}
}

func run(wasmPath, envoyPath string) error {
	ctx := context.Background()
	cfg, err := envoyconfig.Load(envoyPath)
	if err != nil {
		return err
	}
	os.Setenv("LLMPROXY_WASM", wasmPath)
	mod, err := replay.LoadWasm(ctx)
	if err != nil {
		return err
	}
	h, err := host.New(ctx, mod, replay.Options(cfg))
	if err != nil {
		return err
	}
	defer h.Close(ctx)
	cases, err := fixture.Load()
	if err != nil {
		return err
	}
	byName := map[string]fixture.Case{}
	for _, c := range cases {
		byName[c.Name] = c
	}
	fmt.Printf("# %s in an in-process proxy-wasm host (wazero) that follows Envoy's semantics; this is not Envoy.\n", wasmPath)
	fmt.Printf("# node metadata %v, stats_tags, plugin configuration and access-log format from %s\n", cfg.NodeMetadata, envoyPath)
	fmt.Println("\n# access log")
	rng := rand.New(rand.NewSource(1))
	for _, name := range shown {
		c, ok := byName[name]
		if !ok {
			return fmt.Errorf("no case %s", name)
		}
		ex := replay.Exchange(c, rng, 256) // bodies in chunks, as the network delivers them
		res, err := h.Do(ctx, ex)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		line, err := replay.AccessLogLine(cfg, ex, res)
		if err != nil {
			return err
		}
		fmt.Println(line)
	}
	fmt.Println("\n# /stats/prometheus (plugin counters)")
	for _, l := range strings.Split(h.Prometheus(), "\n") {
		// The histograms' buckets would drown the rest; their sums and
		// counts stay.
		if strings.Contains(l, "llm_proxy_") || strings.Contains(l, "llmproxy_") && !strings.Contains(l, "_bucket") {
			fmt.Println(l)
		}
	}
	return nil
}
