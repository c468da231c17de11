package tetrate

import (
	"math/rand"
	"sync"
	"testing"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/llmproxy/llmproxy/plugin/filter"
	"github.com/llmproxy/llmproxy/plugin/proxy"
)

func newRoot() proxy.Root { return filter.NewPlugin() }

const seedTags = "|llmproxy_source_workload=sleep|llmproxy_source_workload_namespace=default" +
	"|llmproxy_destination_service=dashscope.aliyuncs.com|llmproxy_model=qwen-turbo"

// sdkHost is the SDK's emulator with the host-block accounting of
// hostmem_test.go.
type sdkHost struct {
	proxytest.HostEmulator
	mem *hostAccount
}

// newEmulator starts the SDK's emulator with opt. It is released when the
// test ends, or earlier through the returned func, so that a failed test
// never leaves the emulator's lock held for the next one.
func newEmulator(t *testing.T, opt *proxytest.EmulatorOption) (*sdkHost, func()) {
	mem := countHost(t)
	host, reset := proxytest.NewHostEmulator(opt)
	var once sync.Once
	release := func() { once.Do(reset) }
	t.Cleanup(release)
	return &sdkHost{host, mem}, release
}

// seedOptions are the emulator options of the seed walkthrough: the sleep
// workload calling DashScope through Istio.
func seedOptions(config string) *proxytest.EmulatorOption {
	return proxytest.NewEmulatorOption().
		WithVMContext(&VMContext{NewRoot: newRoot}).
		WithPluginConfiguration([]byte(config)).
		WithProperty([]string{"xds", "node", "metadata", "WORKLOAD_NAME"}, []byte("sleep")).
		WithProperty([]string{"xds", "node", "metadata", "NAMESPACE"}, []byte("default")).
		WithProperty([]string{"xds", "cluster_name"}, []byte("outbound|443||dashscope.aliyuncs.com"))
}

func emulator(t *testing.T, config string) (*sdkHost, func()) {
	host, reset := newEmulator(t, seedOptions(config))
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("plugin did not start: %v", host.GetErrorLogs())
	}
	return host, reset
}

// exchange plays one case through the SDK's emulator and checks every
// callback lets the stream continue and every host block came back.
func exchange(t *testing.T, host *sdkHost, c fixture.Case, rng *rand.Rand) {
	t.Helper()
	id := host.InitializeHttpContext()
	check := func(a types.Action) {
		t.Helper()
		if a != types.ActionContinue {
			t.Fatalf("action %v, want Continue", a)
		}
	}
	check(host.CallOnRequestHeaders(id, c.RequestHeaderList(), false))
	chunks := fixture.Split(c.RequestBody, fixture.RandomCuts(rng, len(c.RequestBody), 300))
	for i, ch := range chunks {
		check(host.CallOnRequestBody(id, ch, i == len(chunks)-1))
	}
	check(host.CallOnResponseHeaders(id, c.ResponseHeaderList(), false))
	chunks = fixture.Split(c.ResponseBody, fixture.RandomCuts(rng, len(c.ResponseBody), 300))
	for i, ch := range chunks {
		check(host.CallOnResponseBody(id, ch, i == len(chunks)-1))
	}
	host.CompleteHttpContext(id)
	host.mem.balanced(t)
}

func TestFixturesThroughSDK(t *testing.T) {
	cases, err := fixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(len(c.Name))))
			for i := 0; i < 10; i++ {
				host, reset := emulator(t, "")
				exchange(t, host, c, rng)
				want := c.Expect.FilterState()
				for _, key := range []string{fixture.StateRequestModel, fixture.StatePromptTokens, fixture.StateCompletionTokens} {
					// The SDK stores the path as given; Envoy prefixes "wasm.".
					got, err := host.GetProperty([]string{key[len("wasm."):]})
					if w, ok := want[key]; ok != (err == nil) || string(got) != w {
						t.Fatalf("%s = %q (err %v), want %q (set %v)", key, got, err, w, ok)
					}
				}
				reset()
			}
		})
	}
}

func TestSeedCountersThroughSDK(t *testing.T) {
	cases, err := fixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	host, reset := emulator(t, `{"max_model_labels": 10}`)
	defer reset()
	for _, c := range cases {
		if c.Name == "dashscope_compatible/seed_qwen_turbo" {
			exchange(t, host, c, rand.New(rand.NewSource(1)))
			exchange(t, host, c, rand.New(rand.NewSource(2)))
		}
	}
	for name, want := range map[string]uint64{
		"asm_llm_proxy_prompt_tokens" + seedTags:     22,
		"asm_llm_proxy_completion_tokens" + seedTags: 180,
	} {
		if got, err := host.GetCounterMetric(name); err != nil || got != want {
			t.Fatalf("%s = %d (%v), want %d", name, got, err, want)
		}
	}
}

func TestInvalidConfigurationRefusesToStart(t *testing.T) {
	host, _ := newEmulator(t, proxytest.NewEmulatorOption().
		WithVMContext(&VMContext{NewRoot: newRoot}).
		WithPluginConfiguration([]byte(`{"max_model_labels": "many"}`)))
	if st := host.StartPlugin(); st != types.OnPluginStartStatusFailed {
		t.Fatalf("status %v, want failed", st)
	}
	logs := host.GetErrorLogs()
	if len(logs) != 1 || logs[0] != `llmproxy: configuration field "max_model_labels": expected int, got JSON string` {
		t.Fatalf("error logs %q", logs)
	}
}
