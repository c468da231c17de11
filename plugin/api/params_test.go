package api

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

// paramsCase is one entry of testdata/params/cases.json: a request body in
// its API's documented schema and the parameters it sets.
type paramsCase struct {
	Name, API, Path, Source, Raw string
	Want                         map[string]string
}

func loadParamsCases(t *testing.T) []paramsCase {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "params", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs []paramsCase
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

func paramsMap(p Params) map[string]string {
	m := map[string]string{}
	for k, v := range map[string]string{"temperature": p.Temperature, "top_p": p.TopP, "max_tokens": p.MaxTokens,
		"stream": p.Stream, "seed": p.Seed, "n": p.N} {
		if v != "" {
			m[k] = v
		}
	}
	if p.ToolsSet {
		m["tools"] = strconv.Itoa(p.Tools)
	}
	return m
}

// TestParams: each family's documented request parameters, read in the
// pass that finds the model, under random chunk splits.
func TestParams(t *testing.T) {
	for _, tc := range loadParamsCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			fam := Families[tc.API]
			if fam == nil || Detect(tc.Path, nil) != fam {
				t.Fatalf("path %s is not %s", tc.Path, tc.API)
			}
			rng := rand.New(rand.NewSource(1))
			for i := 0; i < 20; i++ {
				var r Request
				r.Start(fam, true)
				for _, ch := range fixture.Split([]byte(tc.Raw), fixture.RandomCuts(rng, len(tc.Raw), 1+rng.Intn(16))) {
					r.Feed(ch)
				}
				if got := paramsMap(r.Params(tc.Path)); !equal(got, tc.Want) {
					t.Fatalf("split %d: %v, want %v", i, got, tc.Want)
				}
			}
		})
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestParamsOff: without request_parameters only the model is read.
func TestParamsOff(t *testing.T) {
	var r Request
	r.Start(OpenAI, false)
	r.Feed([]byte(`{"model":"m","temperature":0.2,"tools":[{}]}`))
	if got := r.Params("/v1/chat/completions"); got != (Params{}) || r.Model() != "m" {
		t.Fatalf("%+v %q", got, r.Model())
	}
}
