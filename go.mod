module github.com/llmproxy/llmproxy

go 1.24.0

require (
	github.com/tetratelabs/proxy-wasm-go-sdk v0.24.0
	github.com/tetratelabs/wazero v1.11.0
)

require golang.org/x/sys v0.41.0 // indirect
