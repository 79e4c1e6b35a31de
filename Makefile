# sigil: `make run` starts it, `make test` proves it. Both work on a fresh machine.
GO    ?= go
BIN   := bin/sigil
# apt-get needs root; use sudo when we are not.
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT   := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: all build run test test-short lint deps bench bench-go clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/sigil

## run: dev mode, memory store, dev key generated into keys/, admin secret printed.
run: build
	./$(BIN) serve

## deps: what the tests need from Debian (redis-server, chromium, nginx), installed only when missing.
deps:
	@command -v redis-server >/dev/null 2>&1 || { echo "installing redis-server"; $(APT) update -qq && $(APT) install -y -qq redis-server >/dev/null; }
	@test -x /usr/bin/chromium || { echo "installing chromium"; $(APT) update -qq && $(APT) install -y -qq chromium >/dev/null; }
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { echo "installing nginx-light"; $(APT) update -qq && $(APT) install -y -qq nginx-light >/dev/null; }

## test: lint, then unit, contract (memory + real Redis) and end-to-end tests of the built binary.
test: deps lint
	$(GO) test -race -count=1 -timeout 15m ./...

test-short: deps
	$(GO) test -count=1 ./...

## deps also needs redis-cli (redis-tools; Debian's redis-server depends on it): it forms the test Redis Cluster.
.PHONY: deps-redis-cli
deps: deps-redis-cli
deps-redis-cli:
	@command -v redis-cli >/dev/null 2>&1 || { echo "installing redis-tools"; $(APT) update -qq && $(APT) install -y -qq redis-tools >/dev/null; }

lint:
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## bench: HTTP load benchmark (test/bench/README.md): sigil's endpoints and a no-op Echo server under
## the same wrk load in one run, one table; wrk and redis-server installed when missing.
## Driver flags via BENCHFLAGS, e.g. make bench BENCHFLAGS='-duration 5s -out bench.md'. In-process Go benchmarks: make bench-go.
bench: deps build
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk"; $(APT) update -qq && $(APT) install -y -qq wrk >/dev/null; }
	$(GO) build -o bin/bench-noop ./test/bench/noop
	$(GO) build -o bin/benchrun ./test/bench/cmd/benchrun
	./bin/benchrun -sigil $(BIN) -noop bin/bench-noop $(BENCHFLAGS)

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./internal/token/

clean:
	rm -rf bin
