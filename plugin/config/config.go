// Package config parses the plugin configuration: JSON in, a typed Config
// with defaults out, and errors that name the field.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/llmproxy/llmproxy/plugin/api"
	"github.com/llmproxy/llmproxy/plugin/cost"
)

// Config is the plugin configuration. Every field is optional.
type Config struct {
	// MaxModelLabels caps the distinct llmproxy_model values per VM; further
	// models are counted under "other", so clients cannot blow up the
	// number of series.
	MaxModelLabels int `json:"max_model_labels"`
	// MaxDestinationLabels caps the distinct llmproxy_destination_service
	// values per VM the same way: outside Istio's outbound clusters the
	// destination is the request's authority, which the client chooses.
	MaxDestinationLabels int `json:"max_destination_labels"`
	// MaxMetrics bounds the stats the plugin defines in one VM, whatever
	// their tags: Envoy never frees a defined stat. Once new tag sets would
	// pass it, they are counted under destination and model "other".
	MaxMetrics int `json:"max_metrics"`
	// MaxTagLength caps each tag value in a stat name, in bytes.
	MaxTagLength int `json:"max_tag_length"`
	// MaxValueLength caps each filter-state value, in bytes.
	MaxValueLength int `json:"max_value_length"`
	// Paths maps further request paths to an API family, for self-hosted
	// gateways; a path ending in '*' is a prefix.
	Paths map[string]string `json:"paths"`
	// KeepAcceptEncoding leaves the client's Accept-Encoding alone instead
	// of narrowing it to the encodings the plugin can read.
	KeepAcceptEncoding bool `json:"keep_accept_encoding"`

	// Providers route requests as ASM's LLMProvider and LLMRoute do.
	Providers []Provider `json:"providers"`
	// InjectStreamUsage asks OpenAI-style streams for usage when the client
	// did not, and removes what that adds from the client's stream.
	InjectStreamUsage bool `json:"inject_stream_usage"`
	// MaxRewriteBodyBytes bounds the request bodies buffered for a rewrite;
	// larger ones pass unchanged. Keep it below Envoy's buffer limit
	// (per_connection_buffer_limit_bytes, 1 MiB by default), which would
	// otherwise answer 413.
	MaxRewriteBodyBytes int `json:"max_rewrite_body_bytes"`

	// Prices is the operator's price table; with it each call's cost is
	// published. Empty: no cost.
	Prices []cost.Price `json:"prices"`
	// Consumer says where the caller's identity comes from.
	Consumer Consumer `json:"consumer"`
	// ConsumerLabel adds llmproxy_consumer to the token, cost and request
	// counters, capped by MaxConsumerLabels.
	ConsumerLabel     bool `json:"consumer_label"`
	MaxConsumerLabels int  `json:"max_consumer_labels"`
	// Metrics are the metric vocabularies to publish: "asm" (always), and
	// "gen_ai" for OpenTelemetry GenAI client metrics.
	Metrics []string `json:"metrics"`
	// RequestParameters publishes temperature, top_p, the output token
	// limit, stream, seed, n and the number of tools from request bodies.
	RequestParameters bool `json:"request_parameters"`

	// Derived from the above by Parse.
	PriceTable *cost.Table `json:"-"`
	GenAI      bool        `json:"-"`
}

// Consumer is where the caller's identity comes from: one request header,
// or a fingerprint of the client's API key. The key itself never leaves
// the plugin.
type Consumer struct {
	Header            string `json:"header"`
	APIKeyFingerprint bool   `json:"api_key_fingerprint"`
}

// Enabled reports whether a consumer is configured.
func (c Consumer) Enabled() bool { return c.Header != "" || c.APIKeyFingerprint }

// Defaults are used for absent fields and for an empty configuration.
var Defaults = Config{
	MaxModelLabels:       100,
	MaxDestinationLabels: 100,
	MaxMetrics:           5000,
	MaxTagLength:         128,
	MaxValueLength:       256,

	MaxRewriteBodyBytes: 256 << 10,
	MaxConsumerLabels:   100,
}

// MinMetrics is the smallest max_metrics: room for the plugin's own
// counters and a few tag sets, the overflow set among them.
const MinMetrics = 64

type limit struct {
	name     string
	val      *int
	min, max int
}

// Parse reads a configuration. Empty input (or only white space, or the
// JSON null Envoy sends for a missing StringValue) means the defaults.
func Parse(raw []byte) (Config, error) {
	c := Defaults
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return c, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, explain(err)
	}
	if rest := bytes.TrimSpace(raw[dec.InputOffset():]); len(rest) > 0 {
		return Config{}, errors.New("configuration: trailing data after the JSON object")
	}
	if err := checkKeys(raw, reflect.TypeOf(c), ""); err != nil {
		return Config{}, err
	}
	for _, l := range []limit{
		{"max_model_labels", &c.MaxModelLabels, 1, 10000},
		{"max_destination_labels", &c.MaxDestinationLabels, 1, 10000},
		{"max_metrics", &c.MaxMetrics, MinMetrics, 1000000},
		{"max_tag_length", &c.MaxTagLength, 16, 1024},
		{"max_value_length", &c.MaxValueLength, 16, 4096},
		{"max_rewrite_body_bytes", &c.MaxRewriteBodyBytes, 1 << 10, 16 << 20},
		{"max_consumer_labels", &c.MaxConsumerLabels, 1, 10000},
	} {
		if *l.val < l.min || *l.val > l.max {
			return Config{}, fmt.Errorf("configuration field %q: %d is out of range [%d, %d]", l.name, *l.val, l.min, l.max)
		}
	}
	if err := c.checkProviders(); err != nil {
		return Config{}, err
	}
	if err := c.checkObservability(); err != nil {
		return Config{}, err
	}
	for path, fam := range c.Paths {
		if !strings.HasPrefix(path, "/") {
			return Config{}, fmt.Errorf("configuration field %q: path %q must start with '/'", "paths", path)
		}
		if api.Families[fam] == nil {
			return Config{}, fmt.Errorf("configuration field %q: unknown API family %q for %s (known: %s)", "paths", fam, path, familyNames())
		}
	}
	return c, nil
}

func familyNames() string {
	names := make([]string, 0, len(api.Families))
	for n := range api.Families {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func explain(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("configuration field %q: expected %s, got JSON %s", te.Field, te.Type, te.Value)
	case errors.As(err, &te):
		return fmt.Errorf("configuration: expected a JSON object, got JSON %s", te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("configuration: invalid JSON at offset %d: %v", se.Offset, se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("configuration field %s: unknown field", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fmt.Errorf("configuration: %v", err)
}
