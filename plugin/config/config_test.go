package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name      string
		config    string
		want      Config
		expectErr string // substring; the field must be named
	}{
		{name: "absent", config: "", want: Defaults},
		{name: "white space", config: " \n", want: Defaults},
		{name: "null", config: "null", want: Defaults},
		{name: "empty object", config: "{}", want: Defaults},
		{name: "one field", config: `{"max_model_labels": 5}`,
			want: Config{MaxModelLabels: 5, MaxTagLength: 128, MaxValueLength: 256}},
		{name: "all fields", config: `{"max_model_labels": 1, "max_tag_length": 16, "max_value_length": 4096}`,
			want: Config{MaxModelLabels: 1, MaxTagLength: 16, MaxValueLength: 4096}},
		{name: "invalid JSON", config: `{"max_model_labels": }`, expectErr: "invalid JSON"},
		{name: "unknown key", config: `{"max_models": 5}`, expectErr: `"max_models": unknown field`},
		{name: "wrong type", config: `{"max_tag_length": "64"}`, expectErr: `"max_tag_length": expected int`},
		{name: "not an object", config: `[1]`, expectErr: "expected a JSON object"},
		{name: "zero limit", config: `{"max_model_labels": 0}`, expectErr: `"max_model_labels": 0 is out of range`},
		{name: "too large", config: `{"max_value_length": 100000}`, expectErr: `"max_value_length": 100000 is out of range`},
		{name: "trailing data", config: `{} {}`, expectErr: "trailing data"},
		{name: "paths", config: `{"paths": {"/gw/chat": "openai", "/gw/claude/*": "anthropic"}, "keep_accept_encoding": true}`,
			want: Config{MaxModelLabels: 100, MaxTagLength: 128, MaxValueLength: 256,
				Paths: map[string]string{"/gw/chat": "openai", "/gw/claude/*": "anthropic"}, KeepAcceptEncoding: true}},
		{name: "unknown family", config: `{"paths": {"/gw": "openia"}}`, expectErr: `"paths": unknown API family "openia"`},
		{name: "relative path", config: `{"paths": {"gw": "openai"}}`, expectErr: `"paths": path "gw" must start with '/'`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.config))
			if tc.expectErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.expectErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.expectErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
