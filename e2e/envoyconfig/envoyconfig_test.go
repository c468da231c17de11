package envoyconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/llmproxy/llmproxy/plugin/config"
	"github.com/llmproxy/llmproxy/plugin/publish"
)

func load(t *testing.T) *Config {
	root, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(filepath.Join(root, "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnvoyYAML(t *testing.T) {
	c := load(t)
	if _, err := config.Parse([]byte(c.PluginConfig)); err != nil {
		t.Fatalf("the plugin rejects envoy.yaml's configuration: %v", err)
	}
	var want []StatsTag
	for _, st := range publish.StatsTags {
		want = append(want, StatsTag{st.Name, st.Regex})
	}
	if !reflect.DeepEqual(c.StatsTags, want) {
		t.Fatalf("stats_tags\n got %v\nwant %v", c.StatsTags, want)
	}
	for _, key := range []string{"request_model", "request_prompt_tokens", "request_completion_tokens"} {
		if got, want := c.AccessLog[key], "%FILTER_STATE(wasm.asm.llmproxy."+key+":PLAIN)%"; got != want {
			t.Fatalf("access log %s = %q, want %q", key, got, want)
		}
	}
	if c.NodeMetadata["WORKLOAD_NAME"] != "sleep" || c.NodeMetadata["NAMESPACE"] != "default" {
		t.Fatalf("node metadata %v", c.NodeMetadata)
	}
}

func TestStrictness(t *testing.T) {
	root, _ := fixture.Root()
	raw, err := os.ReadFile(filepath.Join(root, "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string][2]string{
		"unknown field":          {"stat_prefix: llm", "stat_prefix: llm\n          no_such_field: 1"},
		"unknown field in Any":   {"failure_policy: FAIL_OPEN", "failure_policy: FAIL_OPEN\n                fail_openly: true"},
		"validation inside Any":  {"stat_prefix: llm", "stat_prefix: \"\""},
		"bad enum":               {"failure_policy: FAIL_OPEN", "failure_policy: FAIL_SOMETIMES"},
		"config not StringValue": {"type.googleapis.com/google.protobuf.StringValue", "type.googleapis.com/google.protobuf.BytesValue"},
	} {
		bad := strings.Replace(string(raw), edit[0], edit[1], 1)
		if bad == string(raw) {
			t.Fatalf("%s: edit did not apply", name)
		}
		path := filepath.Join(t.TempDir(), "envoy.yaml")
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
