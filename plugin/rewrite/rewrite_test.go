package rewrite

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

func TestEditRequest(t *testing.T) {
	cases := []struct {
		name, body string
		req        Request
		want       string // "" means unchanged
		sent       string
		injected   bool
		err        bool
	}{
		{name: "model added first", body: `{"messages":[{"role":"user","content":"请介绍你自己"}]}`,
			req:  Request{Model: "qwen-1.8b-chat"},
			want: `{"model":"qwen-1.8b-chat","messages":[{"role":"user","content":"请介绍你自己"}]}`, sent: "qwen-1.8b-chat"},
		{name: "client model kept", body: `{"messages":[],"model":"gpt-4o"}`, req: Request{Model: "qwen-turbo"}, sent: "gpt-4o"},
		{name: "override", body: "{\n  \"messages\": [],\n  \"model\": \"gpt-4o\"\n}", req: Request{Model: "qwen-turbo", Override: true},
			want: "{\n  \"messages\": [],\n  \"model\": \"qwen-turbo\"\n}", sent: "qwen-turbo"},
		{name: "empty object", body: ` {} `, req: Request{Model: "m"}, want: ` {"model":"m"} `, sent: "m"},
		{name: "nested model is not the model", body: `{"tools":[{"model":"x"}]}`, req: Request{Model: "m"},
			want: `{"model":"m","tools":[{"model":"x"}]}`, sent: "m"},
		{name: "inject usage", body: `{"model":"gpt-4o-mini","messages":[],"stream":true}`, req: Request{InjectUsage: true},
			want: `{"stream_options":{"include_usage":true},"model":"gpt-4o-mini","messages":[],"stream":true}`, sent: "gpt-4o-mini", injected: true},
		{name: "inject into stream_options", body: `{"stream":true,"stream_options":{"continuous_usage_stats":false}}`, req: Request{InjectUsage: true},
			want: `{"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":false}}`, injected: true},
		{name: "include_usage false", body: `{"stream":true,"stream_options":{"include_usage":false}}`, req: Request{InjectUsage: true},
			want: `{"stream":true,"stream_options":{"include_usage":true}}`, injected: true},
		{name: "already asked", body: `{"stream":true,"stream_options":{"include_usage":true}}`, req: Request{InjectUsage: true}},
		{name: "not a stream", body: `{"stream":false}`, req: Request{InjectUsage: true}},
		{name: "model and usage", body: `{"messages":[],"stream":true}`, req: Request{Model: "m", InjectUsage: true},
			want: `{"model":"m","stream_options":{"include_usage":true},"messages":[],"stream":true}`, sent: "m", injected: true},
		{name: "not JSON", body: `model=gpt-4o`, req: Request{Model: "m"}, err: true},
		{name: "truncated", body: `{"messages":[`, req: Request{Model: "m"}, err: true},
		{name: "array", body: `[{"model":"x"}]`, req: Request{Model: "m"}, err: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := EditRequest([]byte(tc.body), tc.req)
			if (err != nil) != tc.err {
				t.Fatalf("err %v", err)
			}
			if string(res.Body) != tc.want || res.ModelSent != tc.sent || res.Injected != tc.injected {
				t.Fatalf("got %q sent %q injected %v", res.Body, res.ModelSent, res.Injected)
			}
		})
	}
}

const (
	withUsage = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null,\"obfuscation\":\"x\"}\n\n" +
		"data: {\"usage\":null,\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n" +
		"data: [DONE]\n\n"
	// 1 + 13 removed bytes: the padding grows to 14 characters.
	withoutUsage = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"obfuscation\":\"xxxxxxxxxxxxxx\"}\n\n" +
		"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: [DONE]\n\n"
)

func strip(stream string, cuts []int, max int) (string, *Stripper) {
	s := NewStripper(max, true)
	var out strings.Builder
	chunks := fixture.Split([]byte(stream), cuts)
	for i, ch := range chunks {
		out.Write(s.Feed(ch, i == len(chunks)-1))
	}
	return out.String(), s
}

func TestStripper(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 500; i++ {
		var cuts []int
		if i > 0 {
			cuts = fixture.RandomCuts(rng, len(withUsage), 1+rng.Intn(80))
		}
		got, s := strip(withUsage, cuts, 1<<10)
		if got != withoutUsage || s.Events != 1 {
			t.Fatalf("cuts %v:\n%q\nwant\n%q", cuts, got, withoutUsage)
		}
	}
	crlf := strings.ReplaceAll(withUsage, "\n", "\r\n")
	if got, _ := strip(crlf, []int{30, 100}, 1<<10); got != strings.ReplaceAll(withoutUsage, "\n", "\r\n") {
		t.Fatalf("CRLF: %q", got)
	}
}

func TestStripperGivesUpOnHugeEvents(t *testing.T) {
	big := "data: {\"choices\":[],\"usage\":{\"x\":\"" + strings.Repeat("y", 5000) + "\"}}\n\n"
	stream := withoutUsage[:len(withoutUsage)-len("data: [DONE]\n\n")] + big
	var cuts []int
	for at := 100; at < len(stream); at += 100 {
		cuts = append(cuts, at)
	}
	got, s := strip(stream, cuts, 1<<10)
	if !s.GaveUp() || got != stream {
		t.Fatalf("gave up %v, output %d bytes", s.GaveUp(), len(got))
	}
}

// TestStripperOnPairs replays each recorded with-usage stream under random
// chunk splits; the client must get the provider's no-usage stream.
func TestStripperOnPairs(t *testing.T) {
	root, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	for pair, stripNulls := range map[string]bool{"openai_chat": true, "openai_completions": true, "dashscope_compatible_chat": false} {
		dir := filepath.Join(root, "testdata", "usage_injection", pair)
		with, err1 := os.ReadFile(filepath.Join(dir, "with_usage.sse"))
		without, err2 := os.ReadFile(filepath.Join(dir, "without_usage.sse"))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		rng := rand.New(rand.NewSource(int64(len(with))))
		for i := 0; i < 200; i++ {
			s := NewStripper(64<<10, stripNulls)
			var out []byte
			chunks := fixture.Split(with, fixture.RandomCuts(rng, len(with), 1+rng.Intn(400)))
			for j, ch := range chunks {
				out = append(out, s.Feed(ch, j == len(chunks)-1)...)
			}
			if !bytes.Equal(out, without) || s.Events != 1 {
				t.Fatalf("%s, split %d: got\n%s\nwant\n%s", pair, i, out, without)
			}
		}
	}
}
