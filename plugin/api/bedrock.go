package api

import (
	"encoding/base64"
	"strings"

	"github.com/llmproxy/llmproxy/plugin/jsonscan"
)

var bedrockOps = []string{"/converse", "/converse-stream", "/invoke", "/invoke-with-response-stream"}

// bedrockOperation is the operation of a /model/{modelId}/{op} path, or "".
func bedrockOperation(path string) string {
	if !strings.HasPrefix(path, "/model/") {
		return ""
	}
	for _, op := range bedrockOps {
		if strings.HasSuffix(path, op) && len(path) > len("/model/")+len(op) {
			return op
		}
	}
	return ""
}

// Bedrock is AWS Bedrock Runtime. Converse reports usage in its body or in
// the metadata event of its stream; InvokeModel in response headers, and
// its stream in base64 vendor chunks carrying invocation metrics.
var Bedrock = register(&Family{
	Name:       "bedrock",
	params:     bedrockParams,
	streamPath: bedrockStreamPath,
	request:    tree(requestModel),
	response: tree(merge(anthropicResponse, map[string]Field{
		"usage.inputTokens":               PromptTokens,
		"usage.outputTokens":              CompletionTokens,
		"usage.totalTokens":               TotalTokens,
		"usage.cacheReadInputTokens":      CachedTokens,
		"usage.cacheWriteInputTokens":     CacheCreationTokens,
		"usage.cacheReadInputTokenCount":  CachedTokens, // older duplicate keys
		"usage.cacheWriteInputTokenCount": CacheCreationTokens,
		"bytes*":                          InvokeChunk,
		"message":                         ErrorMessage, // an exception's body
		"Message":                         ErrorMessage,
	})),
	modelFromPath: func(path string) string {
		op := bedrockOperation(path)
		if op == "" {
			return ""
		}
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/model/"), op)
		return pathUnescape(id)
	},
	finish: finishCacheApart,
})

// invokeChunk is the vendor JSON inside an invoke stream chunk: the vendor's
// own events (Anthropic's, for Claude) and Bedrock's invocation metrics on
// the last one. Both count input without the cache, like Converse.
var invokeChunk = tree(merge(anthropicResponse, map[string]Field{
	"amazon-bedrock-invocationMetrics.inputTokenCount":           PromptTokens,
	"amazon-bedrock-invocationMetrics.outputTokenCount":          CompletionTokens,
	"amazon-bedrock-invocationMetrics.cacheReadInputTokenCount":  CachedTokens,
	"amazon-bedrock-invocationMetrics.cacheWriteInputTokenCount": CacheCreationTokens,
}))

// Bedrock InvokeModel response headers with token counts.
var bedrockHeaders = [...]struct {
	Name  string
	Field Field
}{
	{"x-amzn-bedrock-input-token-count", PromptTokens},
	{"x-amzn-bedrock-output-token-count", CompletionTokens},
	{"x-amzn-bedrock-cache-read-input-token-count", CachedTokens},
	{"x-amzn-bedrock-cache-write-input-token-count", CacheCreationTokens},
}

// chunkSink decodes the base64 vendor JSON of an invoke stream chunk and
// scans it for invocation metrics as the bytes pass.
type chunkSink struct {
	v    *values
	b64  b64Decoder
	scan jsonscan.Scanner
}

func (c *chunkSink) start() {
	c.b64 = b64Decoder{}
	c.scan.Reset(invokeChunk, c.v)
}

// Value implements jsonscan.Sink.
func (c *chunkSink) Value(slot int, k jsonscan.Kind, raw []byte) {
	if Field(slot) == InvokeChunk {
		c.scan.Finish()
		return
	}
	c.v.Value(slot, k, raw)
}

// broken reports whether the chunk's vendor JSON could not be read whole.
func (c *chunkSink) broken() bool {
	return c.b64.broken || c.scan.Started() && (c.scan.Err() != "" || !c.scan.Done())
}

// Piece implements jsonscan.PieceSink.
func (c *chunkSink) Piece(_ int, p []byte) { c.b64.feed(p, c.scan.Feed) }

// b64Decoder decodes standard base64 as it streams, dropping the '\' of a
// JSON-escaped '/'.
type b64Decoder struct {
	quad   [4]byte
	n      int
	broken bool
}

func (d *b64Decoder) feed(p []byte, emit func([]byte)) {
	var out [384]byte
	o := 0
	for _, c := range p {
		if c == '\\' || d.broken {
			continue
		}
		d.quad[d.n] = c
		if d.n++; d.n < 4 {
			continue
		}
		d.n = 0
		n, err := base64.StdEncoding.Decode(out[o:], d.quad[:])
		if err != nil {
			d.broken = true
			continue
		}
		if o += n; o+3 > len(out) {
			emit(out[:o])
			o = 0
		}
	}
	if o > 0 {
		emit(out[:o])
	}
}

// pathUnescape decodes %XX escapes as url.PathUnescape does, and returns s
// as it is if an escape is malformed. net/url would link net/netip,
// unique and internal/godebug, about 60 KB of the module, for one call.
func pathUnescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
			return s
		}
		out = append(out, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
		i += 2
	}
	return string(out)
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
