package manifests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	typev1beta1 "istio.io/api/type/v1beta1"
	extensionsv1alpha1 "istio.io/client-go/pkg/apis/extensions/v1alpha1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/llmproxy/llmproxy/e2e/envoyconfig"
	"github.com/llmproxy/llmproxy/internal/fixture"
	"github.com/llmproxy/llmproxy/plugin/config"
	"github.com/llmproxy/llmproxy/plugin/publish"
)

func root(t *testing.T) string {
	t.Helper()
	r, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// one decodes the single manifest of an istio/ file into T.
func one[T any](t *testing.T, file string) T {
	t.Helper()
	objs, err := LoadFile(filepath.Join(root(t), "istio", file))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("%s: %d resources, want one per file", file, len(objs))
	}
	v, ok := objs[0].Value.(T)
	if !ok {
		t.Fatalf("%s: got %T", file, objs[0].Value)
	}
	return v
}

func TestEveryManifestIsStrict(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(root(t), "istio", "*.yaml"))
	demo, _ := filepath.Glob(filepath.Join(root(t), "istio", "demo", "*.yaml"))
	files = append(files, demo...)
	if len(files) < 10 {
		t.Fatalf("only %d manifests found", len(files))
	}
	for _, f := range files {
		if strings.HasSuffix(f, "-patch.yaml") {
			continue // a patch has no kind; TestBootstrapPatch decodes it
		}
		if _, err := LoadFile(f); err != nil {
			t.Error(err)
		}
	}
}

func TestWasmPlugin(t *testing.T) {
	p := &one[*extensionsv1alpha1.WasmPlugin](t, "wasmplugin.yaml").Spec
	if !strings.HasPrefix(p.GetUrl(), "oci://") || p.GetPhase().String() != "STATS" || p.GetFailStrategy().String() != "FAIL_OPEN" {
		t.Fatalf("url %q phase %v failStrategy %v", p.GetUrl(), p.GetPhase(), p.GetFailStrategy())
	}
	if len(p.GetMatch()) != 1 || p.GetMatch()[0].GetMode() != typev1beta1.WorkloadMode_CLIENT {
		t.Fatalf("match %v, want mode CLIENT only", p.GetMatch())
	}
	// Istio hands the plugin pluginConfig as protojson of the Struct.
	js, err := protojson.Marshal(p.GetPluginConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Parse(js); err != nil {
		t.Fatalf("the plugin rejects pluginConfig %s: %v", js, err)
	}
	sleep := one[*appsv1.Deployment](t, "demo/sleep-deployment.yaml")
	for k, v := range p.GetSelector().GetMatchLabels() {
		if sleep.Spec.Template.Labels[k] != v {
			t.Fatalf("selector %s=%s does not select the demo client", k, v)
		}
	}
}

func TestBootstrapConfigMap(t *testing.T) {
	cm := one[*corev1.ConfigMap](t, "bootstrap-configmap.yaml")
	raw, ok := cm.Data["custom_bootstrap.json"] // the key the injector mounts
	if !ok || len(cm.Data) != 1 {
		t.Fatalf("data keys %v, want custom_bootstrap.json only", reflect.ValueOf(cm.Data).MapKeys())
	}
	b := &bootstrapv3.Bootstrap{}
	if err := protojson.Unmarshal([]byte(raw), b); err != nil {
		t.Fatalf("custom_bootstrap.json is not a strict Envoy Bootstrap: %v", err)
	}
	if err := b.ValidateAll(); err != nil {
		t.Fatal(err)
	}
	var got []publish.StatsTag
	for _, st := range b.GetStatsConfig().GetStatsTags() {
		got = append(got, publish.StatsTag{Name: st.GetTagName(), Regex: st.GetRegex()})
		if _, err := regexp.Compile(st.GetRegex()); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, publish.StatsTags) {
		t.Fatalf("stats_tags\n got %v\nwant %v", got, publish.StatsTags)
	}
}

// The patch must apply to the demo client and name the ConfigMap in its
// namespace.
func TestBootstrapPatch(t *testing.T) {
	r := root(t)
	patchYAML, err := os.ReadFile(filepath.Join(r, "istio", "sleep-bootstrap-patch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	patch, err := yaml.YAMLToJSONStrict(patchYAML)
	if err != nil {
		t.Fatal(err)
	}
	if err := DecodeInto(patch, &appsv1.Deployment{}); err != nil {
		t.Fatalf("patch is not a partial Deployment: %v", err)
	}
	sleep := one[*appsv1.Deployment](t, "demo/sleep-deployment.yaml")
	orig, _ := json.Marshal(sleep)
	patched, err := strategicpatch.StrategicMergePatch(orig, patch, appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := json.Unmarshal(patched, &d); err != nil {
		t.Fatal(err)
	}
	cm := one[*corev1.ConfigMap](t, "bootstrap-configmap.yaml")
	if got := d.Spec.Template.Annotations["sidecar.istio.io/bootstrapOverride"]; got != cm.Name || cm.Namespace != d.Namespace {
		t.Fatalf("pod annotation %q, ConfigMap %s/%s, Deployment namespace %s", got, cm.Namespace, cm.Name, d.Namespace)
	}
	if d.Spec.Template.Spec.Containers[0].Image != sleep.Spec.Template.Spec.Containers[0].Image {
		t.Fatal("the patch changed the container")
	}
}

func TestModelTagOverride(t *testing.T) {
	spec := &one[*telemetryv1.Telemetry](t, "telemetry-metrics.yaml").Spec
	want := "filter_state['wasm." + publish.KeyRequestModel + "']"
	for _, m := range spec.GetMetrics() {
		for _, o := range m.GetOverrides() {
			if o.GetMatch().GetMetric().String() == "REQUEST_COUNT" && o.GetMatch().GetMode().String() == "CLIENT" &&
				o.GetTagOverrides()["model"].GetValue() == want && m.GetProviders()[0].GetName() == "prometheus" {
				return
			}
		}
	}
	t.Fatalf("no prometheus REQUEST_COUNT CLIENT override model=%s in %v", want, spec)
}

// The mesh access log is envoy.yaml's, so both deployments log alike.
func TestAccessLogProvider(t *testing.T) {
	op := one[*IstioOperator](t, "mesh-config.yaml")
	env, err := envoyconfig.Load(filepath.Join(root(t), "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tel := &one[*telemetryv1.Telemetry](t, "telemetry-access-log.yaml").Spec
	name := tel.GetAccessLogging()[0].GetProviders()[0].GetName()
	for _, p := range op.MeshConfig.GetExtensionProviders() {
		if p.GetName() != name {
			continue
		}
		labels := map[string]string{}
		for k, v := range p.GetEnvoyFileAccessLog().GetLogFormat().GetLabels().GetFields() {
			labels[k] = v.GetStringValue()
		}
		if !reflect.DeepEqual(labels, env.AccessLog) {
			t.Fatalf("mesh access log\n%v\nenvoy.yaml\n%v", labels, env.AccessLog)
		}
		return
	}
	t.Fatalf("Telemetry names provider %q, which mesh-config.yaml does not define", name)
}

func TestTLSOrigination(t *testing.T) {
	se := &one[*networkingv1.ServiceEntry](t, "demo/dashscope-serviceentry.yaml").Spec
	dr := &one[*networkingv1.DestinationRule](t, "demo/dashscope-destinationrule.yaml").Spec
	if len(se.GetHosts()) != 1 || se.GetHosts()[0] != dr.GetHost() {
		t.Fatalf("ServiceEntry hosts %v, DestinationRule host %s", se.GetHosts(), dr.GetHost())
	}
	var http uint32
	for _, p := range se.GetPorts() {
		if p.GetProtocol() == "HTTP" && p.GetTargetPort() == 443 {
			http = p.GetNumber()
		}
	}
	for _, pl := range dr.GetTrafficPolicy().GetPortLevelSettings() {
		if pl.GetPort().GetNumber() == http && http != 0 && pl.GetTls().GetMode().String() == "SIMPLE" {
			return
		}
	}
	t.Fatalf("no TLS origination for the plain-HTTP port %d", http)
}
