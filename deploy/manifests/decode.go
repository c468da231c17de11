// Package manifests decodes the Kubernetes and Istio manifests under istio/
// as strictly as an API server with strict field validation (kubectl's
// default): every field must be known to the schema of its kind, spelled as
// the CRD spells it, or the manifest is rejected. We cannot run Kubernetes
// here, so this is how the manifests are checked.
package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"

	extensionsv1alpha1 "istio.io/client-go/pkg/apis/extensions/v1alpha1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest.
type Object struct {
	GVK schema.GroupVersionKind
	// Value is the typed object: *corev1.ConfigMap, *extensionsv1alpha1.WasmPlugin,
	// *IstioOperator, ...
	Value any
	Meta  metav1.ObjectMeta
}

// scheme holds every kind the manifests may use, with client-go's types.
var scheme = runtime.NewScheme()

func init() {
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme,
		extensionsv1alpha1.AddToScheme, telemetryv1.AddToScheme, networkingv1.AddToScheme,
	} {
		utilruntime.Must(add(scheme))
	}
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// LoadFile decodes every YAML document in a file.
func LoadFile(path string) ([]Object, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Object
	for i, doc := range docSep.Split(string(raw), -1) {
		if len(bytes.TrimSpace(stripComments([]byte(doc)))) == 0 {
			continue
		}
		o, err := Decode([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("%s document %d: %v", path, i+1, err)
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no manifest", path)
	}
	return out, nil
}

var comment = regexp.MustCompile(`(?m)^\s*#.*$`)

func stripComments(b []byte) []byte { return comment.ReplaceAll(b, nil) }

// Decode reads one manifest strictly, choosing its type by apiVersion and
// kind.
func Decode(doc []byte) (Object, error) {
	js, err := yaml.YAMLToJSONStrict(doc) // duplicate keys fail
	if err != nil {
		return Object{}, err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return Object{}, err
	}
	gvk := tm.GroupVersionKind()
	if gvk == IstioOperatorGVK {
		return decodeIstioOperator(js)
	}
	obj, err := scheme.New(gvk)
	if err != nil {
		return Object{}, fmt.Errorf("apiVersion %q kind %q: not a kind of Kubernetes or Istio 1.31", tm.APIVersion, tm.Kind)
	}
	if err := DecodeInto(js, obj); err != nil {
		return Object{}, fmt.Errorf("%s: %v", tm.Kind, err)
	}
	meta := reflect.ValueOf(obj).Elem().FieldByName("ObjectMeta").Interface().(metav1.ObjectMeta)
	return Object{GVK: gvk, Value: obj, Meta: meta}, nil
}

// DecodeInto decodes JSON into a typed object with unknown fields failing.
// Istio types decode their spec leniently (jsonpb with unknown fields
// allowed), so the spec is decoded again strictly as its proto.
func DecodeInto(js []byte, obj any) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return err
	}
	spec, ok := protoSpec(obj)
	if !ok {
		return nil
	}
	var raw struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		return err
	}
	if len(raw.Spec) == 0 {
		return fmt.Errorf("no spec")
	}
	return decodeProto(raw.Spec, spec)
}
