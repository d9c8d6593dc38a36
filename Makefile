# sidetrail's two commands are `make run` and `make test`; see README.md.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
TOOLS     := $(CURDIR)/.tools/bin
VL_VERSION := v1.52.1
# An execution count, not a duration: Go 1.26's fuzz coordinator can fail a
# duration-bounded run with a bare "context deadline exceeded" at the
# deadline (golang/go#75804, fixed in Go 1.27). A count has no deadline.
FUZZTIME  ?= 100000x
export SIDETRAIL_VICTORIALOGS := $(TOOLS)/victoria-logs

.PHONY: all build build-static run test test-unit fuzz tools lint bench soak clean

all: build

## build: the sidetrail binary in bin/
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/sidetrail ./cmd/sidetrail

## build-static: the release binary (what the Dockerfile runs)
build-static:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/sidetrail ./cmd/sidetrail

## run: tail the sample nginx logs in examples/logs and print records to stdout
## (stdout holds only records: `make run | jq .` works)
run:
	@$(MAKE) --no-print-directory -s build
	@./bin/sidetrail run

## tools: what the tests need besides Go (installed only when missing)
tools: $(TOOLS)/victoria-logs
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
		echo "installing nginx (Debian package)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx >/dev/null; }

$(TOOLS)/victoria-logs:
	GOBIN=$(TOOLS) $(GO) install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$(VL_VERSION)

## lint: vet and formatting
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## test: the whole suite: lint, the release build (the Dockerfile's step), unit, integration (real nginx and VictoriaLogs), crash tests, short fuzzing
test: tools lint build-static
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz

# Every fuzz target, a few seconds each: parsers, redaction, the segment
# decoder, the encoders. Longer runs by hand: make fuzz FUZZTIME=5m
FUZZ_TARGETS := \
	. FuzzCodec \
	. FuzzJSONString \
	. FuzzJSONBytesReference \
	. FuzzDecodeReference \
	. FuzzLeafTreeGroupsAsAppendObject \
	parser FuzzCompileAndParse \
	parser FuzzJSON \
	parser FuzzJSONWarm \
	parser FuzzJSONKeys \
	parser FuzzNginxWarm \
	parser FuzzNginxError \
	redact FuzzRedact \
	redact FuzzOracle \
	redact FuzzQueryCandidate \
	redact FuzzSummary \
	redact FuzzFindMember \
	redact FuzzValueMemo \
	buffer FuzzSegmentDecode \
	sinks/loki FuzzEncode \
	sinks/elasticsearch FuzzScanBulk \
	cmd/sidetrail/internal/config FuzzParse

fuzz:
	@set -e; set -- $(FUZZ_TARGETS); while [ $$# -gt 0 ]; do \
		echo "fuzz $$2 ($$1, $(FUZZTIME))"; \
		out=$$($(GO) test -run='^$$' -fuzz="^$$2$$" -fuzztime=$(FUZZTIME) ./$$1 2>&1) || { echo "$$out"; exit 1; }; \
		shift 2; done; echo "fuzz: all targets passed"

## bench: the throughput harness (figures, not pass/fail)
bench: build
	$(GO) run ./internal/bench

## soak: the long mission test
soak: tools
	SIDETRAIL_SOAK=1 $(GO) test -race -count=1 -timeout 60m -run 'Mission|Soak' -v ./e2e/...

clean:
	rm -rf bin data
