package e2e

import (
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/e2e/host"
)

// istioRoutes is what an Istio sidecar's outbound route table looks like
// for a ServiceEntry of the provider, reduced to a path prefix so that the
// path rewrite matters too: the provider's API path goes to its cluster,
// anything else leaves through PassthroughCluster.
var istioRoutes = []host.Route{
	{Domains: []string{"dashscope.aliyuncs.com"}, Prefix: "/compatible-mode/", Cluster: "outbound|443||dashscope.aliyuncs.com"},
	{Domains: []string{"*"}, Cluster: "PassthroughCluster"},
}

// TestRoutingRepicksTheRoute: the router must send a routed request to the
// provider's cluster under each of Envoy's route-cache rules: edits clear
// the cache (every Envoy, for ABI 0.2.1 modules), only clear_route_cache
// does (envoy#36671 for later ABIs), or edits do and the function does not
// exist (before 1.33).
func TestRoutingRepicksTheRoute(t *testing.T) {
	config := strings.Replace(seedRouting, `"path"`, `"match_hosts": ["dashscope.aliyuncs.com", "llm.internal"], "path"`, 1)
	seed := caseNamed(t, "dashscope_compatible/seed_qwen_turbo")
	for _, mode := range []struct {
		name        string
		rule        host.RouteCache
		wantCleared int
	}{
		{"envoy>=1.33", host.RouteCacheEnvoy, 1},
		{"envoy#36671 explicit", host.RouteCacheExplicit, 1},
		{"envoy<1.33", host.RouteCacheLegacy, 0},
	} {
		for _, authority := range []string{"dashscope.aliyuncs.com", "llm.internal"} {
			t.Run(mode.name+"/"+authority, func(t *testing.T) {
				opts := routingOptions(config)
				opts.Routes, opts.RouteCache = istioRoutes, mode.rule
				h := newHost(t, opts)
				ex := seedRequest(`{"messages":[]}`)
				ex.RequestHeaders = withHeader(ex.RequestHeaders, ":authority", authority)
				ex.ResponseBody = [][]byte{seed.ResponseBody}
				res, err := h.Do(t.Context(), ex)
				if err != nil {
					t.Fatal(err)
				}
				if want := "outbound|443||dashscope.aliyuncs.com"; res.UpstreamCluster != want {
					t.Fatalf("routed to %q, want %q (clear_route_cache calls: %d)", res.UpstreamCluster, want, res.RouteCacheCleared)
				}
				if res.RouteCacheCleared != mode.wantCleared {
					t.Fatalf("clear_route_cache succeeded %d times, want %d", res.RouteCacheCleared, mode.wantCleared)
				}
				if got := header(res.ForwardedRequestHeaders, ":authority"); got != "dashscope.aliyuncs.com" {
					t.Fatalf(":authority %q", got)
				}
				for _, l := range res.Logs {
					if l.Level == "warn" || l.Level == "error" {
						t.Fatalf("plugin logged %s: %s", l.Level, l.Message)
					}
				}
			})
		}
	}
}

// TestUnroutedRequestsKeepTheirRoute: a request the plugin does not route
// makes no edit that could move it.
func TestUnroutedRequestsKeepTheirRoute(t *testing.T) {
	opts := routingOptions(seedRouting)
	opts.Routes = istioRoutes
	h := newHost(t, opts)
	ex := seedRequest(`{"messages":[]}`)
	ex.RequestHeaders = withHeader(ex.RequestHeaders, ":authority", "api.openai.com")
	res, err := h.Do(t.Context(), ex)
	if err != nil {
		t.Fatal(err)
	}
	if res.UpstreamCluster != "PassthroughCluster" || res.RouteCacheCleared != 0 {
		t.Fatalf("cluster %q, cleared %d", res.UpstreamCluster, res.RouteCacheCleared)
	}
}

// TestCredentialsNeverCrossProviders: when routing injects the provider's
// key, no other credential the client sent goes upstream, whichever header
// the client's SDK put it in.
func TestCredentialsNeverCrossProviders(t *testing.T) {
	clientKeys := [][2]string{
		{"authorization", "Bearer sk-client-openai"}, // OpenAI, and Anthropic's SDK with an auth token
		{"x-api-key", "sk-client-anthropic"},         // Anthropic
		{"api-key", "sk-client-azure"},               // Azure OpenAI
		{"x-goog-api-key", "sk-client-gemini"},       // Gemini
	}
	for _, tc := range []struct{ auth, header, value string }{
		{"bearer", "authorization", "Bearer sk-test-123"},
		{"x-api-key", "x-api-key", "sk-test-123"},
		{"api-key", "api-key", "sk-test-123"},
		{"x-goog-api-key", "x-goog-api-key", "sk-test-123"},
	} {
		for _, sent := range clientKeys {
			t.Run(tc.auth+"/client "+sent[0], func(t *testing.T) {
				config := strings.Replace(seedRouting, `"api_key_env"`, `"auth": "`+tc.auth+`", "api_key_env"`, 1)
				h := newHost(t, routingOptions(config))
				res, err := h.Do(t.Context(), seedRequest(`{"messages":[]}`, sent))
				if err != nil {
					t.Fatal(err)
				}
				fwd := res.ForwardedRequestHeaders
				if got := header(fwd, tc.header); got != tc.value {
					t.Fatalf("%s = %q, want %q", tc.header, got, tc.value)
				}
				for _, kv := range fwd {
					if strings.Contains(kv[1], "sk-client") {
						t.Fatalf("client credential forwarded: %s: %s", kv[0], kv[1])
					}
				}
			})
		}
	}
}

func routingOptions(config string) host.Options {
	opts := routingHostOptions()
	opts.PluginConfig = []byte(config)
	return opts
}

func withHeader(hs [][2]string, name, value string) [][2]string {
	out := make([][2]string, 0, len(hs))
	for _, kv := range hs {
		if kv[0] == name {
			kv[1] = value
		}
		out = append(out, kv)
	}
	return out
}
