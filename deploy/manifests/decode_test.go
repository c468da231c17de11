package manifests

import (
	"strings"
	"testing"
)

const wasmPlugin = `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: p
spec:
  url: oci://example.com/p:1
  phase: STATS
  failStrategy: FAIL_OPEN
  match:
  - mode: CLIENT
  pluginConfig:
    any_key: 1
`

const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: c
data:
  k: v
`

const operator = `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  meshConfig:
    extensionProviders:
    - name: log
      envoyFileAccessLog:
        logFormat:
          labels: {a: "%RESPONSE_CODE%"}
`

func TestDecodeAccepts(t *testing.T) {
	for name, doc := range map[string]string{"WasmPlugin": wasmPlugin, "ConfigMap": configMap, "IstioOperator": operator} {
		o, err := Decode([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if o.GVK.Kind != name {
			t.Fatalf("%s decoded as %v", name, o.GVK)
		}
	}
}

// Each edit makes a manifest that a strict API server (or istioctl) rejects.
func TestDecodeRejects(t *testing.T) {
	for name, c := range map[string]struct{ doc, from, to string }{
		"unknown spec field":        {wasmPlugin, "phase: STATS", "phase: STATS\n  phases: [STATS]"},
		"proto spelling of a field": {wasmPlugin, "failStrategy:", "fail_strategy:"},
		"unknown nested field":      {wasmPlugin, "- mode: CLIENT", "- mode: CLIENT\n    direction: out"},
		"bad enum":                  {wasmPlugin, "FAIL_OPEN", "FAIL_SOMETIMES"},
		"wrong type":                {wasmPlugin, "url: oci://example.com/p:1", "url: [oci]"},
		"unknown metadata field":    {wasmPlugin, "name: p", "name: p\n  label: x"},
		"unknown top-level field":   {wasmPlugin, "kind: WasmPlugin", "kind: WasmPlugin\nstatuses: {}"},
		"unknown version":           {wasmPlugin, "v1alpha1", "v1beta9"},
		"duplicate key":             {wasmPlugin, "phase: STATS", "phase: STATS\n  phase: AUTHN"},
		"ConfigMap unknown field":   {configMap, "data:", "datas:"},
		"ConfigMap wrong type":      {configMap, "k: v", "k: [v]"},
		"operator unknown field":    {operator, "meshConfig:", "meshConfig:\n    accessLogFiles: x"},
		"operator spec field":       {operator, "spec:", "spec:\n  profil: demo"},
		"operator oneof spelling":   {operator, "envoyFileAccessLog:", "envoy_file_access_log:"},
	} {
		bad := strings.Replace(c.doc, c.from, c.to, 1)
		if bad == c.doc {
			t.Fatalf("%s: edit did not apply", name)
		}
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("%s: accepted:\n%s", name, bad)
		}
	}
}
