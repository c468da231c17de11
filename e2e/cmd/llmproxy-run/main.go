// Command llmproxy-run shows the built plugin.wasm at work in an
// in-process proxy-wasm host (e2e/host, on wazero) that follows Envoy's
// semantics. It is an Envoy-like host for trying and debugging
// configurations, not Envoy and not a production proxy.
//
//	llmproxy-run [flags]         replays recorded provider exchanges (make run)
//	llmproxy-run proxy [flags]   a local proxy for your own requests
//
// The replay prints, for each exchange, its case name, the plugin's log
// lines and the access-log line of envoy.yaml's json_format, then the
// plugin's Prometheus stats. The proxy forwards real HTTP/1.1 to a real
// upstream (or the bundled mock provider) through the plugin.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/e2e/replay"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// tour is what a replay without -case plays: one exchange per API family,
// in the providers' recorded wire formats.
var tour = []string{
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "proxy" {
		err = runProxy(ctx, os.Args[2:], os.Stdout, os.Stderr, nil)
	} else {
		err = runReplay(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "llmproxy-run:", err)
		os.Exit(1)
	}
}

const replayUsage = `llmproxy-run plays recorded LLM provider exchanges (testdata/cases) through
the built plugin.wasm in an in-process proxy-wasm host (wazero) that follows
Envoy's semantics, and prints what an operator would see:

  # case NAME          before each exchange (stdout)
  [level] message      the plugin's log lines, as it writes them (stderr)
  {"api":...}          the access-log line in envoy.yaml's json_format (stdout)

then the plugin's lines of /stats/prometheus. It is an Envoy-like host for
trying and debugging configurations, not Envoy and not a production proxy.

Usage:
  llmproxy-run [flags]          this replay (make run)
  llmproxy-run proxy [flags]    a local proxy for your own requests (proxy -h)

Cases: -case list shows every recorded case; -case NAME (repeated, or a
comma list) plays those; -case all plays every one. Without -case, a tour
of one exchange per API family.

Configuration: node metadata, stats_tags, the route table (the
upstream_cluster of the access log is the cluster envoy.yaml names), the
access-log format, the plugin configuration and the VM environment come
from -envoy; -config FILE replaces the plugin configuration. A
configuration that opts into routing (providers) or inject_stream_usage is
played too: the host then lets the plugin buffer request bodies, as Envoy
does; otherwise any held stream fails the exchange. The recorded response
is played whatever the request became.

Time: a replay has no real time between chunks, so ttft_ms and the latency
histograms would say 0. They are left out unless -pace D is given: then each
response starts D after its request and each further chunk follows D after
the one before, and the plugin measures that real time.

Your own request: start llmproxy-run proxy -mock (offline: the recorded
cases answer) or llmproxy-run proxy -upstream https://api.openai.com, and
point your client at it, e.g. OPENAI_BASE_URL=http://localhost:10000/v1.

Flags:
`

// runReplay is the replay (make run).
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlags("llmproxy-run", replayUsage, stderr)
	var names caseList
	fs.Var(&names, "case", "case `NAME` to play (repeated or comma list); list shows them; all plays every one")
	pace := fs.Duration("pace", 0, "play each response `D` after its request and each chunk D after the one before, so that ttft_ms is real (0: no time, ttft left out)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the proxy is `llmproxy-run proxy`)", fs.Arg(0))
	}
	cases, err := fixture.Load()
	if err != nil {
		return err
	}
	byName := map[string]fixture.Case{}
	for _, cs := range cases {
		byName[cs.Name] = cs
	}
	if slices.Contains(names, "list") {
		listCases(stdout, cases)
		return nil
	}
	play, err := pick(names, cases, byName)
	if err != nil {
		return err
	}
	s, err := c.load(ctx, stderr)
	if err != nil {
		return err
	}
	h, err := s.newHost(ctx)
	if err != nil {
		return err
	}
	defer h.Close(ctx)
	accessLog := s.cfg.AccessLog
	if *pace == 0 {
		accessLog = withoutTTFT(accessLog)
	}
	fmt.Fprintf(stdout, "# %s in an in-process proxy-wasm host (wazero) that follows Envoy's semantics; it is not Envoy.\n", c.wasm)
	fmt.Fprintf(stdout, "# from %s: node metadata %v, stats_tags, route table, access-log format\n", c.envoy, s.cfg.NodeMetadata)
	fmt.Fprintf(stdout, "# plugin configuration from %s: %s\n", s.configFrom, oneLine(s.cfg.PluginConfig))
	if *pace == 0 {
		fmt.Fprintln(stdout, "# ttft_ms and the latency histograms are left out: a replay has no real time between chunks (-pace 20ms gives it some).")
	}
	fmt.Fprintln(stdout, "# plugin log lines go to stderr as [level] message; send your own request through `llmproxy-run proxy -mock`.")
	rng := rand.New(rand.NewSource(1))
	var failed []string
	for _, cs := range play {
		fmt.Fprintf(stdout, "\n# case %s\n", cs.Name)
		ex := replay.Exchange(cs, rng, 256) // bodies in chunks, as the network delivers them
		res, err := replay.Play(ctx, h, ex, *pace)
		if err != nil {
			fmt.Fprintf(stdout, "# case %s failed: %v\n", cs.Name, err)
			failed = append(failed, cs.Name)
			if res == nil {
				continue
			}
		}
		line, err := host.AccessLogJSON(accessLog, ex, res)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintln(stdout, "\n# /stats/prometheus (the plugin's stats; histogram buckets left out)")
	printStats(stdout, h.Prometheus(), *pace > 0)
	if len(failed) > 0 {
		return fmt.Errorf("%d case(s) failed: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// caseList is a repeatable, comma-separated -case.
type caseList []string

func (l *caseList) String() string { return strings.Join(*l, ",") }

func (l *caseList) Set(v string) error {
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			*l = append(*l, name)
		}
	}
	return nil
}

func pick(names []string, cases []fixture.Case, byName map[string]fixture.Case) ([]fixture.Case, error) {
	switch {
	case len(names) == 0:
		names = tour
	case slices.Contains(names, "all"):
		return cases, nil
	}
	var out []fixture.Case
	for _, n := range names {
		cs, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("no case %q (-case list shows them)", n)
		}
		out = append(out, cs)
	}
	return out, nil
}

func listCases(w io.Writer, cases []fixture.Case) {
	fmt.Fprintln(w, "# recorded cases (testdata/cases); * marks the tour played without -case")
	for _, cs := range cases {
		mark := " "
		if slices.Contains(tour, cs.Name) {
			mark = "*"
		}
		desc := cs.Description
		if i := strings.IndexAny(desc, ":;("); i > 0 {
			desc = desc[:i]
		}
		fmt.Fprintf(w, "%s %-42s %s\n", mark, cs.Name, strings.TrimSpace(desc))
	}
}

// withoutTTFT drops the access-log keys that show the time to first
// token, which an unpaced replay cannot know.
func withoutTTFT(format map[string]string) map[string]string {
	out := maps.Clone(format)
	for k, v := range format {
		if strings.Contains(v, "ttft_ms") {
			delete(out, k)
		}
	}
	return out
}

// latencyHistograms are the plugin's histograms of time.
var latencyHistograms = []string{"llmproxy_time_to_first_token_milliseconds", "llmproxy_request_duration_milliseconds"}

// printStats prints the plugin's Prometheus lines, the histograms' sums
// and counts but not their buckets; with timed false, no histograms of
// time at all.
func printStats(w io.Writer, prom string, timed bool) {
	for _, l := range strings.Split(prom, "\n") {
		if !strings.Contains(l, "llm_proxy_") && !strings.Contains(l, "llmproxy_") || strings.Contains(l, "_bucket") {
			continue
		}
		if !timed && slices.ContainsFunc(latencyHistograms, func(n string) bool { return strings.Contains(l, n) }) {
			continue
		}
		fmt.Fprintln(w, l)
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "(empty: the defaults)"
	}
	return s
}
