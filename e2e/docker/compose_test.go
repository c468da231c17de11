package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// loadCompose loads compose.yaml, or content in its place, as `docker
// compose` would: the Compose Specification's loader validates it against
// the schema, interpolates env, resolves paths against e2e/docker and
// checks that references between services hold.
func loadCompose(t *testing.T, env types.Mapping, content []byte) (*types.Project, error) {
	t.Helper()
	root, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "e2e", "docker")
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "compose.yaml"), Content: content}},
		Environment: env,
	})
}

// compose.yaml refuses to start without the plugin to mount.
func TestComposeNeedsLLMProxyWasm(t *testing.T) {
	if _, err := loadCompose(t, types.Mapping{}, nil); err == nil || !strings.Contains(err.Error(), "LLMPROXY_WASM") {
		t.Fatalf("loaded without LLMPROXY_WASM (err %v)", err)
	}
}

// Each edit makes a file Docker Compose refuses; so must the loader here.
func TestComposeRejects(t *testing.T) {
	root, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "e2e", "docker", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	env := types.Mapping{"LLMPROXY_WASM": filepath.Join(root, "plugin.wasm")}
	for _, tc := range []struct{ name, from, to, want string }{
		{"unknown key", "    image: envoyproxy/envoy", "    imag: envoyproxy/envoy", "services.envoy.imag"},
		{"neither image nor build", "    image: envoyproxy/envoy", "    x-image: envoyproxy/envoy", "neither an image nor a build context"},
		{"depends on a missing service", "depends_on: [envoy]", "depends_on: [proxy]", `undefined service "proxy"`},
		{"ports not a list", "    ports:\n", "    ports: 10000\n    x-ports:\n", "services.envoy.ports must be a array"},
		{"bad port", `"127.0.0.1:9901:9901"`, `"127.0.0.1:9901:admin"`, "invalid containerPort: admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(raw), tc.from, tc.to, 1)
			if bad == string(raw) {
				t.Fatal("edit did not apply")
			}
			if _, err := loadCompose(t, env, []byte(bad)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// The compose file, the mock's Dockerfile and envoy.yaml must agree on
// paths, names and ports, since Docker is not here to tell. The file is
// loaded with the environment of each pass of `make e2e`.
func TestComposeMatchesEnvoyYAML(t *testing.T) {
	root, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := envoyconfig.Load(filepath.Join(root, "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, build := range []string{"plugin.wasm", "plugin-tinygo.wasm"} {
		t.Run(build, func(t *testing.T) {
			wasm := filepath.Join(root, build) // $(CURDIR)/... in the Makefile
			project, err := loadCompose(t, types.Mapping{"LLMPROXY_WASM": wasm}, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkCompose(t, root, project, cfg, wasm)
		})
	}
}

func checkCompose(t *testing.T, root string, project *types.Project, cfg *envoyconfig.Config, wasm string) {
	envoy, err := project.GetService("envoy")
	if err != nil {
		t.Fatal(err)
	}
	mock, err := project.GetService("mockllm")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^envoyproxy/envoy:v1\.39\.\d+$`).MatchString(envoy.Image) {
		t.Fatalf("envoy image %q, want a pinned v1.39.x", envoy.Image)
	}
	b := cfg.Bootstrap
	wasmTarget := wasmFile(t, cfg)
	if !filepath.IsAbs(wasmTarget) { // Envoy reads it relative to its working directory
		wasmTarget = filepath.Join(envoy.WorkingDir, wasmTarget)
	}
	for source, target := range map[string]string{
		filepath.Join(root, "envoy.yaml"): "/etc/envoy/envoy.yaml",
		wasm:                              wasmTarget,
	} {
		mounted := false
		for _, v := range envoy.Volumes {
			mounted = mounted || v.Type == types.VolumeTypeBind && v.Source == source && v.Target == target && v.ReadOnly
		}
		if !mounted {
			t.Errorf("envoy volumes %+v lack %s:%s:ro", envoy.Volumes, source, target)
		}
	}
	for _, p := range []uint32{
		b.GetAdmin().GetAddress().GetSocketAddress().GetPortValue(),
		b.GetStaticResources().GetListeners()[0].GetAddress().GetSocketAddress().GetPortValue(),
	} {
		published := false
		for _, port := range envoy.Ports {
			published = published || port.HostIP == "127.0.0.1" && port.Published == fmt.Sprint(p) && port.Target == p && port.Protocol == "tcp"
		}
		if !published {
			t.Errorf("envoy ports %+v do not publish %d on 127.0.0.1", envoy.Ports, p)
		}
	}
	up := b.GetStaticResources().GetClusters()[0].GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	// envoy.yaml's upstream is the mock on loopback, as on a developer's
	// machine; in compose the mock shares Envoy's network namespace.
	if up.GetAddress() != "127.0.0.1" || mock.Build == nil || mock.NetworkMode != "service:envoy" {
		t.Fatalf("envoy.yaml's upstream %s: want the built mock on 127.0.0.1 in Envoy's network namespace (network_mode %q)",
			up.GetAddress(), mock.NetworkMode)
	}
	if _, ok := mock.DependsOn["envoy"]; !ok {
		t.Errorf("the mock does not start after the Envoy whose namespace it joins")
	}
	dockerfilePath := mock.Build.Dockerfile // relative to the build context, as Compose reads it
	if !filepath.IsAbs(dockerfilePath) {
		dockerfilePath = filepath.Join(mock.Build.Context, dockerfilePath)
	}
	dockerfile, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dockerfile), fmt.Sprintf(`"-addr", ":%d"`, up.GetPortValue())) {
		t.Fatalf("the mock does not listen on envoy.yaml's upstream port %d", up.GetPortValue())
	}
}

// wasmFile is where envoy.yaml loads the plugin from.
func wasmFile(t *testing.T, cfg *envoyconfig.Config) string {
	t.Helper()
	for _, fc := range cfg.Bootstrap.GetStaticResources().GetListeners()[0].GetFilterChains() {
		for _, f := range fc.GetFilters() {
			hcm := &hcmv3.HttpConnectionManager{}
			if f.GetTypedConfig().UnmarshalTo(hcm) != nil {
				continue
			}
			for _, hf := range hcm.GetHttpFilters() {
				w := &wasmfilterv3.Wasm{}
				if hf.GetTypedConfig().UnmarshalTo(w) == nil {
					return w.GetConfig().GetVmConfig().GetCode().GetLocal().GetFilename()
				}
			}
		}
	}
	t.Fatal("no wasm filter in envoy.yaml")
	return ""
}
