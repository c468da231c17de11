package docker

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"sigs.k8s.io/yaml"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

// composeFile is the part of the compose spec compose.yaml uses; decoding
// is strict, so a field added there must be added here.
type composeFile struct {
	Name     string `json:"name"`
	Services map[string]struct {
		Image     string   `json:"image"`
		DependsOn []string `json:"depends_on"`
		Command   []string `json:"command"`
		Volumes   []string `json:"volumes"`
		Ports     []string `json:"ports"`
		Build     *struct {
			Context    string `json:"context"`
			Dockerfile string `json:"dockerfile"`
		} `json:"build"`
	} `json:"services"`
}

// The compose file, the mock's Dockerfile and envoy.yaml must agree on
// paths, names and ports, since Docker is not here to tell.
func TestComposeMatchesEnvoyYAML(t *testing.T) {
	root, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "e2e", "docker", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.UnmarshalStrict(raw, &cf); err != nil {
		t.Fatal(err)
	}
	envoy, mock := cf.Services["envoy"], cf.Services["mockllm"]
	if !regexp.MustCompile(`^envoyproxy/envoy:v1\.39\.\d+$`).MatchString(envoy.Image) {
		t.Fatalf("envoy image %q, want a pinned v1.39.x", envoy.Image)
	}
	cfg, err := envoyconfig.Load(filepath.Join(root, "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Bootstrap
	mounts := strings.Join(envoy.Volumes, "\n")
	for _, want := range []string{
		"../../envoy.yaml:/etc/envoy/envoy.yaml:ro",
		":" + wasmFile(t, cfg) + ":ro",
	} {
		if !strings.Contains(mounts, want) {
			t.Errorf("envoy volumes %v lack %s", envoy.Volumes, want)
		}
	}
	ports := strings.Join(envoy.Ports, "\n")
	for _, p := range []uint32{
		b.GetAdmin().GetAddress().GetSocketAddress().GetPortValue(),
		b.GetStaticResources().GetListeners()[0].GetAddress().GetSocketAddress().GetPortValue(),
	} {
		if !strings.Contains(ports, fmt.Sprintf("127.0.0.1:%d:%d", p, p)) {
			t.Errorf("envoy ports %v do not publish %d", envoy.Ports, p)
		}
	}
	up := b.GetStaticResources().GetClusters()[0].GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	if _, ok := cf.Services[up.GetAddress()]; !ok || mock.Build == nil {
		t.Fatalf("envoy.yaml's upstream %s is not the built mock service", up.GetAddress())
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "e2e", "docker", filepath.Base(mock.Build.Dockerfile)))
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
