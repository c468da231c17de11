package manifests

import (
	"encoding/json"
	"fmt"
	"reflect"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// protoSpec returns the address of obj's Spec when it is an Istio proto.
func protoSpec(obj any) (proto.Message, bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	f := v.Elem().FieldByName("Spec")
	if !f.IsValid() {
		return nil, false
	}
	m, ok := f.Addr().Interface().(proto.Message)
	return m, ok
}

// decodeProto decodes JSON into m with unknown fields and bad enum values
// failing, then requires the CRD's spelling of every field name: protojson
// also takes the proto names (plugin_config), which the API server rejects.
func decodeProto(js []byte, m proto.Message) error {
	if err := protojson.Unmarshal(js, m); err != nil {
		return err
	}
	var tree any
	if err := json.Unmarshal(js, &tree); err != nil {
		return err
	}
	return checkNames(m.ProtoReflect().Descriptor(), tree, "spec")
}

// Messages whose JSON form is not an object of their fields.
var opaque = map[protoreflect.FullName]bool{
	"google.protobuf.Struct": true, "google.protobuf.Value": true, "google.protobuf.ListValue": true,
	"google.protobuf.Any": true, "google.protobuf.Duration": true, "google.protobuf.Timestamp": true,
	"google.protobuf.FieldMask": true, "google.protobuf.BoolValue": true, "google.protobuf.StringValue": true,
	"google.protobuf.Int32Value": true, "google.protobuf.UInt32Value": true, "google.protobuf.Int64Value": true,
	"google.protobuf.UInt64Value": true, "google.protobuf.DoubleValue": true, "google.protobuf.FloatValue": true,
	"google.protobuf.BytesValue": true,
}

func checkNames(md protoreflect.MessageDescriptor, v any, path string) error {
	if opaque[md.FullName()] || v == nil {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: want an object", path)
	}
	for key, val := range obj {
		fd := md.Fields().ByJSONName(key)
		if fd == nil {
			return fmt.Errorf("%s.%s: unknown field (fields are spelled in camelCase)", path, key)
		}
		p := path + "." + key
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				continue
			}
			entries, _ := val.(map[string]any)
			for k, e := range entries {
				if err := checkNames(fd.MapValue().Message(), e, p+"."+k); err != nil {
					return err
				}
			}
		case fd.IsList():
			if fd.Message() == nil {
				continue
			}
			items, _ := val.([]any)
			for i, e := range items {
				if err := checkNames(fd.Message(), e, fmt.Sprintf("%s[%d]", p, i)); err != nil {
					return err
				}
			}
		case fd.Message() != nil:
			if err := checkNames(fd.Message(), val, p); err != nil {
				return err
			}
		}
	}
	return nil
}
