package replay

import (
	"encoding/json"
	"fmt"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/e2e/host"
)

// connectionManagers are the HTTP connection managers of the bootstrap's
// static listeners, in file order.
func connectionManagers(cfg *envoyconfig.Config) []*hcmv3.HttpConnectionManager {
	var out []*hcmv3.HttpConnectionManager
	for _, l := range cfg.Bootstrap.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				hcm := &hcmv3.HttpConnectionManager{}
				if f.GetTypedConfig().UnmarshalTo(hcm) == nil {
					out = append(out, hcm)
				}
			}
		}
	}
	return out
}

// WasmPlugin is the first Wasm HTTP filter's plugin configuration.
func WasmPlugin(cfg *envoyconfig.Config) *wasmv3.PluginConfig {
	for _, hcm := range connectionManagers(cfg) {
		for _, f := range hcm.GetHttpFilters() {
			w := &wasmfilterv3.Wasm{}
			if f.GetTypedConfig().UnmarshalTo(w) == nil {
				return w.GetConfig()
			}
		}
	}
	return &wasmv3.PluginConfig{}
}

// VMEnv is the VM environment of vm_config.environment_variables:
// host_env_keys read from this process's environment with lookup (a key
// that is not set is left out, as Envoy does), then key_values.
func VMEnv(cfg *envoyconfig.Config, lookup func(string) (string, bool)) map[string]string {
	vars := WasmPlugin(cfg).GetVmConfig().GetEnvironmentVariables()
	env := map[string]string{}
	for _, k := range vars.GetHostEnvKeys() {
		if v, ok := lookup(k); ok {
			env[k] = v
		}
	}
	for k, v := range vars.GetKeyValues() {
		env[k] = v
	}
	return env
}

// Routes is the route table of the first connection manager, reduced to
// what picks a cluster: virtual host domains, a path prefix, the cluster,
// and host_rewrite_literal. A route the host cannot model (another path
// match, headers, another cluster specifier) is an error rather than a
// silently different pick.
func Routes(cfg *envoyconfig.Config) ([]host.Route, error) {
	hcms := connectionManagers(cfg)
	if len(hcms) == 0 {
		return nil, nil
	}
	var out []host.Route
	for _, vh := range hcms[0].GetRouteConfig().GetVirtualHosts() {
		for i, r := range vh.GetRoutes() {
			route, err := reduceRoute(r)
			if err != nil {
				return nil, fmt.Errorf("virtual host %s route %d: %v", vh.GetName(), i, err)
			}
			route.Domains = vh.GetDomains()
			out = append(out, route)
		}
	}
	return out, nil
}

func reduceRoute(r *routev3.Route) (host.Route, error) {
	m, a := r.GetMatch(), r.GetRoute()
	if _, ok := m.GetPathSpecifier().(*routev3.RouteMatch_Prefix); !ok {
		return host.Route{}, fmt.Errorf("only prefix matches are modelled")
	}
	if len(m.GetHeaders()) > 0 || len(m.GetQueryParameters()) > 0 {
		return host.Route{}, fmt.Errorf("header and query matches are not modelled")
	}
	if a.GetCluster() == "" {
		return host.Route{}, fmt.Errorf("only a route to a fixed cluster is modelled")
	}
	return host.Route{Prefix: m.GetPrefix(), Cluster: a.GetCluster(), HostRewrite: a.GetHostRewriteLiteral()}, nil
}

// optIn says whether a plugin configuration turns on a feature that
// changes requests (providers, inject_stream_usage), which buffers request
// bodies as Envoy allows. A configuration that does not parse is for the
// plugin to refuse, with its own words.
func optIn(pluginConfig string) bool {
	var c struct {
		Providers         []json.RawMessage `json:"providers"`
		InjectStreamUsage bool              `json:"inject_stream_usage"`
	}
	if json.Unmarshal([]byte(pluginConfig), &c) != nil {
		return false
	}
	return len(c.Providers) > 0 || c.InjectStreamUsage
}
