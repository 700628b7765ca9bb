# perf-exporter — see README.md. `make run` starts the demo, `make test` is what CI runs.

GO        ?= go
BIN       ?= perf-exporter
PKG       := github.com/perf-exporter/perf-exporter
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
VERSION_PKG := github.com/prometheus/common/version
LDFLAGS   := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION) \
             -X $(VERSION_PKG).Branch=$(BRANCH) -X $(VERSION_PKG).BuildDate=$(shell date -u +%Y%m%dT%H%M%SZ)
RUN_ARGS  ?=
# golangci-lint: from PATH, else where go install puts it (CI installs this version).
# make lint runs it with --allow-serial-runners: it waits for another run on the
# machine instead of failing beside it.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT ?= $(or $(shell command -v golangci-lint 2>/dev/null),$(wildcard $(shell $(GO) env GOPATH)/bin/golangci-lint))

.PHONY: all build run test lint tidy-check bench bench-go fuzz screenshots clean

all: lint build

## build: the perf-exporter binary, with version information
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/perf-exporter

## run: the demo (built-in target and a demo profile) on :9479; RUN_ARGS="--config.file=my.yaml" for yours
run: build
	./$(BIN) $(RUN_ARGS)

## lint: go.mod and go.sum tidy, go vet, gofmt and golangci-lint (.golangci.yml)
lint: tidy-check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@[ -n "$(GOLANGCI_LINT)" ] || { echo "golangci-lint not found in PATH or $$($(GO) env GOPATH)/bin; install it: go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)"; exit 1; }
	$(GOLANGCI_LINT) run --allow-serial-runners ./...

## tidy-check: fail when `go mod tidy` would change go.mod or go.sum (prints the diff)
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy and commit the result"; exit 1; }

## test: lint, then every test, under the race detector. Tests needing prometheus, promtool,
## prometheus-pushgateway, xmllint, wrk, helm or chromium skip when a tool is missing, and fail instead when
## PERF_EXPORTER_REQUIRE_TOOLS=1, as in CI. The end-to-end tests drive the built binary and
## measure rates and latencies, so they run alone, after the rest.
test: lint
	$(GO) test -count=1 -race -timeout 30m $$($(GO) list ./... | grep -v /e2e)
	$(GO) test -count=1 -timeout 20m ./e2e/...

## bench: the benchmark suite (bench/cmd/perfbench, about 6 minutes on 2 cores): perf-exporter
## against wrk and raw Fortio side by side, rate and latency accuracy, daemon cost, a soak, and
## the Go micro-benchmarks; writes BENCHMARKS.md. Needs wrk.
bench:
	$(GO) run ./bench/cmd/perfbench -go $(GO) -out BENCHMARKS.md

## bench-go: Go micro-benchmarks of the hot paths, and the change-point detector's
## evaluation on its recorded corpora (detection, false change points, the 1.2x rule)
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./loadgen/... ./collector/... ./store/... ./dashboards/... ./changepoint/... ./web/...
	CHANGEPOINT_SWEEP=1 $(GO) test -count=1 -run '^TestEvaluation$$' -v ./changepoint/

## fuzz: each fuzzer for FUZZTIME (default 30s): the engine parsers, the config loader, the API's
## query parameters and the result-document reader; failing inputs land in testdata/fuzz
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseWrk$$' -fuzztime $(FUZZTIME) ./loadgen/
	$(GO) test -run '^$$' -fuzz '^FuzzParseNighthawk$$' -fuzztime $(FUZZTIME) ./loadgen/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./config/
	$(GO) test -run '^$$' -fuzz '^FuzzQueryParameters$$' -fuzztime $(FUZZTIME) ./web/
	$(GO) test -run '^$$' -fuzz '^FuzzResultDocument$$' -fuzztime $(FUZZTIME) ./cmd/perf-exporter/

## screenshots: the README's pictures of the pages, from the browser test's demo history (needs chromium)
screenshots:
	mkdir -p docs/screenshots
	$(GO) test -count=1 -run '^TestPagesInBrowser$$' ./web/ -args -screenshots $(CURDIR)/docs/screenshots

clean:
	rm -f $(BIN)

include deploy/helm/chart.mk
