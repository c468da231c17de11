// The module as `make build-tinygo` builds ./plugin (GOFLAGS=-modfile=tinygo.mod):
// the plugin needs only the SDK, and a go line the Go inside the TinyGo image
// accepts. go.mod's go line follows the test tools' dependencies, newer than
// that Go (docs/tinygo.md).
module github.com/llmproxy/llmproxy

go 1.26.0

require github.com/tetratelabs/proxy-wasm-go-sdk v0.24.0
