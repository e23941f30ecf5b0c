# Make targets for the Qiuai parking service. `make help` lists them.
#
# `make test` is the one command that runs the whole suite: it first makes sure
# redis-server, redis-cli, mosquitto and chromium are installed
# (scripts/install-deps.sh installs Debian's packages when run as root, or
# says what to run), then runs every package's tests. The tests start their
# own private redis-server and mosquitto processes on free 127.0.0.1 ports
# (internal/testenv); they never touch 6379 or 1883. The browser tests
# (cmd/parkd/browser_test.go) drive headless Chromium and save screenshots in
# artifacts/browser/ (or $PARKD_ARTIFACTS); PARKD_SKIP_BROWSER=1 skips them.

GO ?= go

# The race detector runs on the whole suite: concurrency (the ingest worker
# pool, manual acks, the sweeper, graceful shutdown) is where this service can
# lose or double-count. Measured on 2 cores (9 packages, full Qiuai
# end-to-end test included): `go test -count=1 ./...` 43 s, with -race 52 s
# on a warm build cache and 2 min 13 s on a cold one, so -race stays well
# inside 15 minutes. Should it stop doing so, drop -race here and race-test
# the concurrent packages (ingest, occupancy/redisstore, cmd/parkd) in a
# second line. -count=1 turns off the test cache, so every run talks to real
# servers. -timeout caps each package's test binary.
TESTFLAGS ?= -race -count=1 -timeout 15m

.PHONY: help test test-short build demo vet fmt clean deps bench fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

deps: ## install redis-server, redis-tools, mosquitto, chromium (and gcc) when missing
	@bash scripts/install-deps.sh

test: deps ## install what the tests need, then run every test against real Redis and Mosquitto
	$(GO) test $(TESTFLAGS) ./...

# Every `func FuzzX` in a _test.go file is fuzzed for FUZZTIME (CI: `make
# fuzz` after `make test`). A failure leaves the input in the package's
# testdata/fuzz/FuzzX/, which then runs as a regression case in every `go
# test`. FUZZTIME is a count of inputs, not a duration: with a duration, Go
# 1.26's fuzz coordinator may fail a target with a bare "context deadline
# exceeded" when the time runs out (golang/go#75804, fixed in Go 1.27; seen
# here on FuzzLoadRegistry). 40000 inputs take 1-10 s per target on 2 cores
# (4k-34k inputs/s), all 10 targets about 1.5 minutes. Longer: make fuzz
# FUZZTIME=2000000x.
FUZZTIME ?= 40000x

fuzz: ## fuzz each Fuzz target for FUZZTIME inputs (default 40000x): decoders, registry loader, query parsing
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$t $$(dirname $$f)"; \
	    $(GO) test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) $$(dirname $$f); \
	  done; \
	done

test-short: deps ## the quick tests only (skips the slow end-to-end and load suites)
	$(GO) test -short -count=1 ./...

build: ## build bin/parkd and bin/parksim
	$(GO) build -o bin/ ./cmd/parkd ./cmd/parksim

# BENCHFLAGS picks parts and durations of `parksim bench` (parksim bench -h),
# e.g. make bench BENCHFLAGS='-only c -lat-duration 60s'. The default run
# takes about 4 minutes on 2 cores; docs/benchmarks.md has the figures.
BENCHFLAGS ?=

bench: deps ## benchmark table: broker vs parkd rate, latency, API under load, memory (docs/benchmarks.md)
	$(GO) build -o bin/ ./cmd/parkd ./cmd/parksim
	bin/parksim bench -parkd bin/parkd $(BENCHFLAGS)

demo: ## run the whole system on embedded MQTT and Redis with the simulator
	$(GO) run ./cmd/parkd -demo

vet: ## go vet every package
	$(GO) vet ./...

fmt: ## gofmt every package in place
	$(GO) fmt ./...

clean: ## remove bin/
	rm -rf bin/
