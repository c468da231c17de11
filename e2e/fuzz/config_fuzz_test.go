// Package fuzz holds fuzz targets for parsers whose packages this suite
// does not own. FuzzConfig checks plugin/config.Parse against the README's
// configuration rules, read independently here.
package fuzz

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/plugin/config"
)

// limits are the documented integer fields and their ranges.
var limits = []struct {
	name     string
	min, max int
	get      func(*config.Config) *int
}{
	{"max_model_labels", 1, 10000, func(c *config.Config) *int { return &c.MaxModelLabels }},
	{"max_tag_length", 16, 1024, func(c *config.Config) *int { return &c.MaxTagLength }},
	{"max_value_length", 16, 4096, func(c *config.Config) *int { return &c.MaxValueLength }},
	{"max_destination_labels", 1, 10000, func(c *config.Config) *int { return &c.MaxDestinationLabels }},
	{"max_metrics", config.MinMetrics, 1000000, func(c *config.Config) *int { return &c.MaxMetrics }},
	{"max_consumer_labels", 1, 10000, func(c *config.Config) *int { return &c.MaxConsumerLabels }},
}

var integer = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// member is one key of a JSON object and its raw value.
type member struct {
	key string
	val json.RawMessage
}

// members reads raw as exactly one JSON object, keys in order.
func members(raw []byte) ([]member, bool) {
	if !json.Valid(raw) || raw[0] != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.Token() // {
	var ms []member
	for dec.More() {
		tok, _ := dec.Token()
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return nil, false
		}
		ms = append(ms, member{tok.(string), v})
	}
	return ms, true
}

// fieldNames are the configuration's JSON names, read from config.Config
// so that fields added later are known here too.
func fieldNames() map[string]bool {
	names := map[string]bool{}
	t := reflect.TypeFor[config.Config]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names[name] = true
	}
	return names
}

// limitsOnly is the configuration raw must give when it holds nothing but
// limits; ok is false when raw holds anything else.
func limitsOnly(raw []byte) (c config.Config, valid, ok bool) {
	c = config.Defaults
	ms, isObject := members(bytes.TrimSpace(raw))
	if !isObject {
		return c, false, false
	}
	valid = true
	for _, m := range ms {
		i := limitIndex(m.key)
		if i < 0 {
			return c, false, false
		}
		if string(m.val) == "null" {
			continue // a null leaves the default
		}
		n, err := strconv.Atoi(string(m.val))
		if !integer.Match(m.val) || err != nil {
			return c, false, true
		}
		*limits[i].get(&c) = n
	}
	for _, l := range limits {
		if n := *l.get(&c); n < l.min || n > l.max {
			valid = false
		}
	}
	return c, valid, true
}

func limitIndex(name string) int {
	for i, l := range limits {
		if l.name == name {
			return i
		}
	}
	return -1
}

func FuzzConfig(f *testing.F) {
	for _, seed := range []string{
		``, `null`, `{}`, ` {"max_model_labels": 5} `, `{"max_tag_length":16,"max_value_length":4096}`,
		`{"max_model_labels":0}`, `{"max_model_labels":10001}`, `{"max_model_labels":"5"}`,
		`{"max_model_labels":5.0}`, `{"max_model_labels":1e2}`, `{"max_model_labels":null}`,
		`{"max_model_labels":5,"max_model_labels":null}`, `{"unknown":1}`,
		`{"max_model_labels":99999999999999999999}`, `[]`, `{} {}`, `{"a`,
		`{"paths":{"/v1/chat":"openai","/gw/*":"openai"}}`, `{"paths":{"v1":"openai"}}`,
		`{"paths":{"/a":"nope"}}`, `{"keep_accept_encoding":1}`,
		`{"max_metrics":64,"max_destination_labels":1}`, `{"max_consumer_labels":0}`,
		`{"prices":[{"model":"gpt-4o*","input":2.5,"output":10}]}`, `{"prices":[{"model":"m","input":1e-3,"output":1}]}`,
		`{"consumer":{"header":"x-user"},"consumer_label":true}`, `{"metrics":["gen_ai"]}`, `{"request_parameters":true}`,
	} {
		f.Add([]byte(seed))
	}
	names := fieldNames()
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := config.Parse(raw)
		want, valid, onlyLimits := limitsOnly(raw)
		switch {
		case err != nil && onlyLimits && valid:
			t.Fatalf("Parse(%q) refused a valid configuration: %v", raw, err)
		case err != nil:
			checkMessage(t, raw, err.Error())
		case onlyLimits && (!valid || !reflect.DeepEqual(got, want)):
			t.Fatalf("Parse(%q) = %+v, want %+v (valid %v)", raw, got, want, valid)
		default:
			checkAccepted(t, raw, got, names)
		}
	})
}

// checkAccepted: what Parse accepts is empty, null, or one JSON object of
// documented, case-sensitive keys whose limits are in range and taken from
// the input.
func checkAccepted(t *testing.T, raw []byte, got config.Config, names map[string]bool) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		if !reflect.DeepEqual(got, config.Defaults) {
			t.Fatalf("Parse(%q) = %+v, want the defaults", raw, got)
		}
		return
	}
	ms, ok := members(trimmed)
	if !ok {
		t.Fatalf("Parse(%q) accepted what is not exactly one JSON object", raw)
	}
	for _, m := range ms {
		if !names[m.key] {
			t.Fatalf("Parse(%q) accepted key %q, which is not a configuration field", raw, m.key)
		}
	}
	for _, l := range limits {
		if n := *l.get(&got); n < l.min || n > l.max {
			t.Fatalf("Parse(%q): %s = %d is out of range", raw, l.name, n)
		}
	}
}

// checkMessage: the plugin logs the error as its one line on refusing to
// start, so it must be one line and begin with "configuration".
func checkMessage(t *testing.T, raw []byte, msg string) {
	if !strings.HasPrefix(msg, "configuration") || strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("Parse(%q) error %q: want one line starting with \"configuration\"", raw, msg)
	}
}
