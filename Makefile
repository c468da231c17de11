# llmproxy: `make build` the plugin, `make test` everything that runs here,
# `make run` to watch it work in the in-process host.

GO        ?= go
WASM      ?= plugin.wasm
TINYGO    ?= tinygo
# TinyGo 0.41 is the first release that accepts Go 1.26, the module's go
# line; this image bundles Go 1.26.2 (docs/tinygo.md).
TINYGO_IMAGE ?= ghcr.io/tinygo-org/tinygo:0.41.1

.PHONY: all build build-tinygo test test-native test-wasm run proxy check e2e clean

all: build

# Go >= 1.24 reactor module for Envoy >= 1.33 / Istio >= 1.25, without DWARF
# and the symbol table (-s -w), which Envoy never reads.
build:
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags="-s -w" -o $(WASM) ./plugin
	@ls -l $(WASM) | awk '{print "built " $$NF ", " $$5 " bytes"}'

# TinyGo + tetratelabs proxy-wasm-go-sdk, for older proxies (docs/tinygo.md).
# Built in $(TINYGO_IMAGE) when a Docker engine runs, so `make e2e` always
# uses that image; else with a local tinygo of exactly the image's version.
# tinygo.mod: the plugin's one dependency, under a go line the image's Go
# accepts (go.mod's is raised by the test tools' dependencies).
# -buildmode=wasi-legacy: _start runs main and returns. The default _start
# calls proc_exit(0) after main, which cpp-host refuses while it starts the VM.
build-tinygo: TINYGO_VERSION = $(lastword $(subst :, ,$(TINYGO_IMAGE)))
build-tinygo: TINYGO_BUILD = build -o plugin-tinygo.wasm -target=wasip1 -scheduler=none -buildmode=wasi-legacy ./plugin
build-tinygo:
	@if $(DOCKER) info >/dev/null 2>&1; then \
		echo "build-tinygo: in $(TINYGO_IMAGE)"; \
		$(DOCKER) run --rm -u "$$(id -u):$$(id -g)" -e HOME=/tmp -e GOTOOLCHAIN=local -e GOFLAGS=-modfile=tinygo.mod \
			-v "$(CURDIR)":/src -w /src $(TINYGO_IMAGE) tinygo $(TINYGO_BUILD); \
	elif $(TINYGO) version 2>/dev/null | grep -q "version $(TINYGO_VERSION) "; then \
		echo "build-tinygo: with $$(command -v $(TINYGO)), $(TINYGO_VERSION)"; \
		GOTOOLCHAIN=local GOFLAGS=-modfile=tinygo.mod $(TINYGO) $(TINYGO_BUILD); \
	else \
		echo "build-tinygo: needs a running Docker engine for $(TINYGO_IMAGE), or tinygo $(TINYGO_VERSION) on PATH; neither is here"; exit 1; \
	fi

# Everything that runs on this machine: native tests, the TinyGo glue under
# the SDK's emulator, and the built plugin.wasm in the in-process host.
test: build
	LLMPROXY_WASM=$(CURDIR)/$(WASM) $(GO) test -count=1 ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

# The plugin in an Envoy-like in-process host (wazero), not Envoy.
run: build
	$(GO) run ./e2e/cmd/llmproxy-run -wasm $(WASM) -envoy envoy.yaml $(ARGS)

# `make proxy`: the plugin on real HTTP traffic on localhost:10000, admin on
# :9901; the upstream is the bundled mock unless ARGS says otherwise, e.g.
# ARGS='-upstream https://api.openai.com'. An Envoy-like host, not Envoy.
PROXY_ARGS ?= -mock
proxy: build
	$(GO) run ./e2e/cmd/llmproxy-run proxy -wasm $(WASM) -envoy envoy.yaml $(if $(ARGS),$(ARGS),$(PROXY_ARGS))

check:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./plugin/...
	$(GO) vet -tags e2e,prometheus ./e2e/...
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

clean:
	rm -f $(WASM) plugin-tinygo.wasm

# --- Robustness and performance (issue 5) ---
# `make bench`: llmproxy vs the copy floor vs buffer-then-parse, natively and
# as .wasm in the in-process host; raw results in $(BENCHOUT), then the
# summary with ratios and targets, then benchstat.
# `make soak`: $(SOAK_EXCHANGES) mixed exchanges in one VM per host mode.
# `make fuzz`: every fuzz target in the repository for $(FUZZTIME) each.

BENCHCOUNT     ?= 6
BENCHTIME      ?= 1s
BENCHOUT       ?= build/bench.txt
BENCHSTAT      ?= golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
SOAK_EXCHANGES ?= 1000000
FUZZTIME       ?= 10s
# Minimising a new input runs the target over and over and counts no execs;
# Go's 60 s default stalled the stream fuzzers for most of a short run.
FUZZMINIMIZE   ?= 5s
TEST_FUZZTIME  ?= 5s

.PHONY: bench bench-ab bench-guest soak fuzz

bench:
	@mkdir -p $(dir $(BENCHOUT))
	@{ $(GO) test -run '^$$' -bench '^BenchmarkExchange$$' -benchtime $(BENCHTIME) -count $(BENCHCOUNT) \
		-timeout 0 ./e2e/bench 2>&1; echo $$? > $(BENCHOUT).rc; } | tee $(BENCHOUT); \
		rc=$$(cat $(BENCHOUT).rc); rm -f $(BENCHOUT).rc; exit $$rc
	$(GO) run ./e2e/bench/cmd/benchtable < $(BENCHOUT)
	$(GO) run $(BENCHSTAT) -col /impl -row /level,/work $(BENCHOUT)

# `make bench-ab BASE=<commit>`: plugin.wasm built at BASE (a worktree
# under build/ab) against the working tree's, interleaved round by round in
# one process (AB_ROUNDS, AB_WORK), then benchstat with A = BASE, B = now.
BASE      ?= HEAD
AB_ROUNDS ?= 20
AB_WORK   ?= json2k,sse400
AB_BUILD   = GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags="-s -w"
bench-ab:
	@rm -rf build/ab && git worktree prune && mkdir -p build/ab
	git worktree add --detach build/ab/base $(BASE)
	cd build/ab/base && $(AB_BUILD) -o $(CURDIR)/build/ab/a.wasm ./plugin; \
		rc=$$?; cd $(CURDIR) && git worktree remove --force build/ab/base; exit $$rc
	$(AB_BUILD) -o build/ab/b.wasm ./plugin
	@{ LLMPROXY_AB_A=$(CURDIR)/build/ab/a.wasm LLMPROXY_AB_B=$(CURDIR)/build/ab/b.wasm \
		LLMPROXY_AB_ROUNDS=$(AB_ROUNDS) LLMPROXY_AB_WORK=$(AB_WORK) \
		$(GO) test -run '^$$' -bench '^BenchmarkAB$$' -benchtime 200ms -count 1 -timeout 0 ./e2e/bench 2>&1; \
		echo $$? > build/ab/rc; } | sed -E 's/#[0-9]+//' | tee build/ab/ab.txt; exit $$(cat build/ab/rc)
	$(GO) run $(BENCHSTAT) -col /impl -row /work build/ab/ab.txt

# `make bench-guest`: the native level compiled to wasm and run by wazero's
# CLI, so that the filters' own guest time shows without any host call.
bench-guest:
	@mkdir -p build
	cd e2e/bench && GOOS=wasip1 GOARCH=wasm $(GO) test -c -o $(CURDIR)/build/bench-guest.wasm .
	$(GO) run github.com/tetratelabs/wazero/cmd/wazero run -mount=$(CURDIR):$(CURDIR) -mount=/tmp:/tmp \
		-env PWD=$(CURDIR)/e2e/bench -env TMPDIR=/tmp $(CURDIR)/build/bench-guest.wasm \
		-test.run '^$$' -test.bench 'BenchmarkExchange/level=native/' -test.benchtime $(BENCHTIME) -test.count $(BENCHCOUNT)

soak: build
	LLMPROXY_WASM=$(CURDIR)/$(WASM) LLMPROXY_SOAK=$(SOAK_EXCHANGES) \
		$(GO) test -count=1 -v -timeout 0 -run '^TestSoak$$' ./e2e/soak

# Targets are found with `go test -list`, so new ones need no edit here.
# Go 1.26's fuzzing coordinator can report the end of -fuzztime itself as
# a bare "context deadline exceeded" failure (go.dev/issue/75804, fixed in
# Go 1.27): such a run, with no failing input written, is not a finding.
fuzz:
	@list=$$($(GO) test -list '^Fuzz' ./...) || { echo "$$list"; exit 1; }; \
	log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	echo "$$list" | awk '/^Fuzz/ { names = names " " $$1 } /^ok / { if (names != "") print $$2 names; names = "" }' | \
	while read pkg names; do \
		for n in $$names; do \
			echo "fuzz $$pkg $$n for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$n$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg > "$$log" 2>&1; \
			rc=$$?; cat "$$log"; [ $$rc -eq 0 ] && continue; \
			if grep -qx '    context deadline exceeded' "$$log" && ! grep -q 'Failing input written' "$$log"; then \
				echo "fuzz: $$n stopped on Go's -fuzztime shutdown race (go.dev/issue/75804), no failing input: not a finding"; \
			else exit 1; fi; \
		done; \
	done

# --- Deployment (issue 4) ---
# `make image`: plugin.wasm as the image Istio's WasmPlugin pulls (one layer,
# empty base; deploy/wasmimage), written to $(IMAGE_TAR); with REGISTRY set,
# also pushed as $(REGISTRY)/$(IMAGE). No Docker daemon needed.
# `make e2e`: the Envoy-in-Docker e2e (e2e/docker) for the Go build and the
# TinyGo build. Without a running Docker engine it says so and fails: it did
# not run. `make test` never needs Docker.

IMAGE     ?= llmproxy:0.1.0
IMAGE_TAR ?= build/llmproxy-image.tar
REGISTRY  ?=
DOCKER    ?= docker
DOCKER_OK  = $(shell $(DOCKER) info >/dev/null 2>&1 && $(DOCKER) compose version >/dev/null 2>&1 && echo yes)

.PHONY: image e2e e2e-run

image: build
	$(GO) run ./deploy/cmd/wasmimage -wasm $(WASM) -out $(IMAGE_TAR) -tag $(IMAGE) $(if $(REGISTRY),-push $(REGISTRY)/$(IMAGE))

e2e:
	$(if $(DOCKER_OK),,$(error e2e NOT RUN: the Envoy-in-Docker e2e needs a running Docker engine with compose, and none is available here))
	$(MAKE) --no-print-directory build build-tinygo
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -o build/mockllm ./e2e/cmd/mockllm
	$(MAKE) --no-print-directory e2e-run E2E_WASM=$(CURDIR)/$(WASM)
	$(MAKE) --no-print-directory e2e-run E2E_WASM=$(CURDIR)/plugin-tinygo.wasm

# One e2e pass with the plugin at $(E2E_WASM).
e2e-run:
	LLMPROXY_WASM=$(E2E_WASM) $(GO) test -tags e2e -count=1 -v -timeout 10m ./e2e/docker

# --- The official SDKs and a real Prometheus (issue 14) ---
# `make e2e-sdk`: the npm SDKs (openai, @anthropic-ai/sdk; @google/genai and
# ollama where they install) -> llmproxy-run proxy -mock, under node's test
# runner (e2e/sdk). Needs node >= 20 and npm; writes build/e2e-sdk/*.json.

LLMPROXY_RUN ?= build/llmproxy-run

.PHONY: e2e-sdk

e2e-sdk: build
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "e2e-sdk NOT RUN: needs node (>= 20) and npm on PATH"; exit 1; }
	$(GO) build -o $(LLMPROXY_RUN) ./e2e/cmd/llmproxy-run
	cd e2e/sdk && npm ci --no-audit --no-fund --loglevel=error
	cd e2e/sdk && LLMPROXY_RUN=$(abspath $(LLMPROXY_RUN)) LLMPROXY_WASM=$(CURDIR)/$(WASM) node --test --test-timeout=120000

# `make e2e-prometheus`: llmproxy-run proxy -mock plays every recorded case;
# a real Prometheus (Debian's package: apt-get install prometheus) on
# loopback scrapes its admin port each second, and every query of
# istio/grafana-dashboard.json must return a series (e2e/prometheus);
# results in build/e2e-prometheus/.

PROMETHEUS ?= prometheus

.PHONY: e2e-prometheus

e2e-prometheus: build
	@command -v $(PROMETHEUS) >/dev/null || { echo "e2e-prometheus NOT RUN: needs a prometheus binary (apt-get install prometheus, or PROMETHEUS=path)"; exit 1; }
	$(GO) build -o $(LLMPROXY_RUN) ./e2e/cmd/llmproxy-run
	LLMPROXY_RUN=$(abspath $(LLMPROXY_RUN)) LLMPROXY_WASM=$(CURDIR)/$(WASM) PROMETHEUS=$$(command -v $(PROMETHEUS)) \
		$(GO) test -tags prometheus -count=1 -v -timeout 5m -run '^TestDashboardQueriesReturnData$$' ./e2e/prometheus
