package replay

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/host"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// loadEnvoy reads the repository's envoy.yaml, edited by replacing old
// with new, as Envoy would.
func loadEnvoy(t *testing.T, old, new string) *envoyconfig.Config {
	t.Helper()
	root, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), old) {
		t.Fatalf("envoy.yaml has no %q", old)
	}
	path := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(raw), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := envoyconfig.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestObserveOnlyUnlessOptedIn: the host refuses a held stream only where
// the plugin must never hold one; routing and usage injection buffer
// request bodies, as Envoy lets them.
func TestObserveOnlyUnlessOptedIn(t *testing.T) {
	cfg := loadEnvoy(t, "", "")
	for _, tc := range []struct {
		config string
		want   bool
	}{
		{`{"max_model_labels": 100}`, true},
		{``, true},
		{`{"inject_stream_usage": false}`, true},
		{`{"inject_stream_usage": true}`, false},
		{`{"providers": [{"host": "api.openai.com"}]}`, false},
		{`{"max_model_lables": 100}`, true}, // for the plugin to refuse
	} {
		cfg.PluginConfig = tc.config
		if got := Options(cfg).ObserveOnly; got != tc.want {
			t.Errorf("%s: ObserveOnly %v, want %v", tc.config, got, tc.want)
		}
	}
}

func TestRoutes(t *testing.T) {
	routes, err := Routes(loadEnvoy(t, "", ""))
	want := []host.Route{{Domains: []string{"*"}, Prefix: "/", Cluster: "llm_upstream"}}
	if err != nil || !reflect.DeepEqual(routes, want) {
		t.Fatalf("routes %+v (%v), want %+v", routes, err, want)
	}
	routes, err = Routes(loadEnvoy(t, "cluster: llm_upstream\n", "cluster: llm_upstream\n                  host_rewrite_literal: api.openai.com\n"))
	if err != nil || routes[0].HostRewrite != "api.openai.com" {
		t.Fatalf("host_rewrite_literal: %+v (%v)", routes, err)
	}
	if _, err := Routes(loadEnvoy(t, `match: {prefix: "/"}`, `match: {path: "/v1/chat/completions"}`)); err == nil {
		t.Fatal("a path match was reduced to a prefix")
	}
}

// TestVMEnv: vm_config.environment_variables reach the VM, host_env_keys
// from this process when set there.
func TestVMEnv(t *testing.T) {
	cfg := loadEnvoy(t, "vm_id: llmproxy\n", `vm_id: llmproxy
                  environment_variables:
                    host_env_keys: [OPENAI_API_KEY, UNSET_KEY]
                    key_values: {REGION: eu}
`)
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{"OPENAI_API_KEY": "sk-host"}[k]
		return v, ok
	}
	want := map[string]string{"OPENAI_API_KEY": "sk-host", "REGION": "eu"}
	if got := VMEnv(cfg, lookup); !reflect.DeepEqual(got, want) {
		t.Fatalf("VM env %v, want %v", got, want)
	}
}

// TestPlayPaced: a paced replay gives the plugin real time to measure.
func TestPlayPaced(t *testing.T) {
	ctx := context.Background()
	mod, err := LoadWasm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := loadEnvoy(t, "", "")
	h, err := host.New(ctx, mod, Options(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	cases, err := fixture.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.Name != "openai/chat_stream_usage" {
			continue
		}
		const pace = 30 * time.Millisecond
		res, err := Play(ctx, h, Exchange(c, nil, 0), pace)
		if err != nil {
			t.Fatal(err)
		}
		ttft, err := strconv.Atoi(res.LoggedFilterState[fixture.StateTTFT])
		if err != nil || ttft < int(pace/time.Millisecond) {
			t.Fatalf("ttft_ms %q, want at least %v", res.LoggedFilterState[fixture.StateTTFT], pace)
		}
		if got := res.LoggedFilterState[fixture.StateCompletionTokens]; got != "9" {
			t.Fatalf("completion tokens %q", got)
		}
		return
	}
	t.Fatal("no case openai/chat_stream_usage")
}
