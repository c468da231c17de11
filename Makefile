# llmproxy: `make build` the plugin, `make test` everything that runs here,
# `make run` to watch it work in the in-process host.

GO        ?= go
WASM      ?= plugin.wasm
TINYGO    ?= tinygo
TINYGO_IMAGE ?= ghcr.io/tinygo-org/tinygo:0.40.1

.PHONY: all build build-tinygo test test-native test-wasm run check e2e clean

all: build

# Go >= 1.24 reactor module for Envoy >= 1.33 / Istio >= 1.25.
build:
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o $(WASM) ./plugin
	@ls -l $(WASM) | awk '{print "built " $$NF ", " $$5 " bytes"}'

# TinyGo + tetratelabs proxy-wasm-go-sdk, for older proxies. Uses a local
# tinygo, else TinyGo's container image.
build-tinygo:
	@if command -v $(TINYGO) >/dev/null 2>&1; then \
		$(TINYGO) build -o plugin-tinygo.wasm -scheduler=none -target=wasi ./plugin; \
	elif docker info >/dev/null 2>&1; then \
		docker run --rm -v "$(CURDIR)":/src -w /src $(TINYGO_IMAGE) \
			tinygo build -o plugin-tinygo.wasm -scheduler=none -target=wasi ./plugin; \
	else \
		echo "build-tinygo: needs tinygo on PATH or a running Docker engine; neither is here"; exit 1; \
	fi

# Everything that runs on this machine: native tests, the TinyGo glue under
# the SDK's emulator, and the built plugin.wasm in the in-process host.
test: build
	LLMPROXY_WASM=$(CURDIR)/$(WASM) $(GO) test -count=1 ./...

# The plugin in an Envoy-like in-process host (wazero), not Envoy.
run: build
	$(GO) run ./e2e/cmd/llmproxy-run -wasm $(WASM) -envoy envoy.yaml

check:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./plugin/...
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

clean:
	rm -f $(WASM) plugin-tinygo.wasm
