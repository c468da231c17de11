package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// IstioOperatorGVK is what `istioctl install -f` reads.
var IstioOperatorGVK = schema.GroupVersionKind{Group: "install.istio.io", Version: "v1alpha1", Kind: "IstioOperator"}

// IstioOperator mirrors istio/istio operator/pkg/apis/types.go (release-1.31):
// that module is too heavy to import for one type. Its spec's top-level
// fields are listed in full so an unknown one fails; meshConfig is decoded
// strictly as the MeshConfig proto.
type IstioOperator struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              IstioOperatorSpec `json:"spec"`
	// MeshConfig is Spec.MeshConfig, decoded.
	MeshConfig *meshv1alpha1.MeshConfig `json:"-"`
}

// IstioOperatorSpec is the operator spec; the fields this project does not
// use are kept raw.
type IstioOperatorSpec struct {
	Profile              string          `json:"profile,omitempty"`
	InstallPackagePath   string          `json:"installPackagePath,omitempty"`
	Hub                  string          `json:"hub,omitempty"`
	Tag                  any             `json:"tag,omitempty"`
	Namespace            string          `json:"namespace,omitempty"`
	Revision             string          `json:"revision,omitempty"`
	CompatibilityVersion string          `json:"compatibilityVersion,omitempty"`
	MeshConfig           json.RawMessage `json:"meshConfig,omitempty"`
	Components           json.RawMessage `json:"components,omitempty"`
	Values               json.RawMessage `json:"values,omitempty"`
	UnvalidatedValues    any             `json:"unvalidatedValues,omitempty"`
}

func decodeIstioOperator(js []byte) (Object, error) {
	op := &IstioOperator{}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(op); err != nil {
		return Object{}, fmt.Errorf("IstioOperator: %v", err)
	}
	if len(op.Spec.MeshConfig) > 0 {
		op.MeshConfig = &meshv1alpha1.MeshConfig{}
		if err := decodeProto(op.Spec.MeshConfig, op.MeshConfig); err != nil {
			return Object{}, fmt.Errorf("IstioOperator meshConfig: %v", err)
		}
	}
	return Object{GVK: IstioOperatorGVK, Value: op, Meta: op.ObjectMeta}, nil
}
