// Package envoyconfig reads the repository's envoy.yaml the way Envoy would:
// strictly, into go-control-plane's types, with every typed config resolved
// and validated. Tests, `make run` and the e2e take the stats_tags, the
// plugin configuration and the access-log format from it, so the documented
// config is the tested one.
package envoyconfig

import (
	"fmt"
	"os"
	"sort"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	streamv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"sigs.k8s.io/yaml"

	// Typed configs envoy.yaml refers to, registered for Any resolution.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// HistogramBuckets is one stats_config.histogram_bucket_settings entry,
// matched by prefix or exactly.
type HistogramBuckets struct {
	Prefix, Exact string
	Buckets       []float64
}

// StatsTag is one stats_config.stats_tags entry.
type StatsTag struct{ Name, Regex string }

// Config is what the tests need from envoy.yaml.
type Config struct {
	Bootstrap *bootstrapv3.Bootstrap
	StatsTags []StatsTag
	// HistogramBuckets are stats_config.histogram_bucket_settings.
	HistogramBuckets []HistogramBuckets
	NodeMetadata     map[string]string
	PluginConfig     string
	// AccessLog maps each JSON access-log key to its format string.
	AccessLog map[string]string
}

// AccessLogKeys are the access-log keys in a stable order.
func (c *Config) AccessLogKeys() []string {
	keys := make([]string, 0, len(c.AccessLog))
	for k := range c.AccessLog {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Load parses and validates an Envoy bootstrap file.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	b := &bootstrapv3.Bootstrap{}
	if err := protojson.Unmarshal(js, b); err != nil { // unknown fields fail
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if err := validateTree(b); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return extract(b)
}

type validator interface{ ValidateAll() error }

// validateTree runs the proto validation rules on m and on every typed
// config inside it; ValidateAll alone does not look inside Any.
func validateTree(m proto.Message) error {
	if v, ok := m.(validator); ok {
		if err := v.ValidateAll(); err != nil {
			return err
		}
	}
	var err error
	walkAny(m.ProtoReflect(), func(a *anypb.Any) {
		if err != nil {
			return
		}
		inner, e := a.UnmarshalNew()
		if e != nil {
			err = fmt.Errorf("typed config %s: %v", a.GetTypeUrl(), e)
			return
		}
		if e := validateTree(inner); e != nil {
			err = fmt.Errorf("typed config %s: %v", a.GetTypeUrl(), e)
		}
	})
	return err
}

// walkAny calls fn for every Any directly reachable from m without passing
// through another Any.
func walkAny(m protoreflect.Message, fn func(*anypb.Any)) {
	if a, ok := m.Interface().(*anypb.Any); ok {
		fn(a)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				walkAny(v.List().Get(i).Message(), fn)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				walkAny(mv.Message(), fn)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			walkAny(v.Message(), fn)
		}
		return true
	})
}

func extract(b *bootstrapv3.Bootstrap) (*Config, error) {
	c := &Config{Bootstrap: b, NodeMetadata: map[string]string{}}
	for _, hb := range b.GetStatsConfig().GetHistogramBucketSettings() {
		c.HistogramBuckets = append(c.HistogramBuckets, HistogramBuckets{
			Prefix: hb.GetMatch().GetPrefix(), Exact: hb.GetMatch().GetExact(), Buckets: hb.GetBuckets()})
	}
	for _, t := range b.GetStatsConfig().GetStatsTags() {
		c.StatsTags = append(c.StatsTags, StatsTag{Name: t.GetTagName(), Regex: t.GetRegex()})
	}
	for k, v := range b.GetNode().GetMetadata().GetFields() {
		c.NodeMetadata[k] = v.GetStringValue()
	}
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				hcm := &hcmv3.HttpConnectionManager{}
				if f.GetTypedConfig().UnmarshalTo(hcm) != nil {
					continue
				}
				if err := c.fromHCM(hcm); err != nil {
					return nil, err
				}
			}
		}
	}
	if c.AccessLog == nil {
		return nil, fmt.Errorf("no JSON access log found")
	}
	return c, nil
}

func (c *Config) fromHCM(hcm *hcmv3.HttpConnectionManager) error {
	for _, f := range hcm.GetHttpFilters() {
		w := &wasmfilterv3.Wasm{}
		if f.GetTypedConfig().UnmarshalTo(w) != nil {
			continue
		}
		s := &wrapperspb.StringValue{}
		if err := w.GetConfig().GetConfiguration().UnmarshalTo(s); err != nil {
			return fmt.Errorf("wasm filter %s: configuration must be a StringValue: %v", f.GetName(), err)
		}
		c.PluginConfig = s.GetValue()
	}
	for _, al := range hcm.GetAccessLog() {
		out := &streamv3.StdoutAccessLog{}
		if al.GetTypedConfig().UnmarshalTo(out) != nil {
			continue
		}
		c.AccessLog = map[string]string{}
		for k, v := range out.GetLogFormat().GetJsonFormat().GetFields() {
			c.AccessLog[k] = v.GetStringValue()
		}
	}
	return nil
}
