# sigil: `make run` starts it, `make test` proves it. Both work on a fresh machine.
GO    ?= go
BIN   := bin/sigil
# apt-get needs root; use sudo when we are not.
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT   := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: all build run test test-short lint deps bench bench-go clean fuzz fuzz-ci soak clientgen clientgen-tools browser-tools

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

## test: lint, then unit, contract (memory + real Redis) and end-to-end tests of the built binary,
## then every fuzz target briefly (fuzz-ci). Plain `go test` runs the seed corpora (testdata/fuzz) too.
## test/clientgen needs the pinned generators, installed by clientgen-tools.
test: deps lint clientgen-tools browser-tools mailpit
	$(GO) test -race -count=1 -timeout 15m ./...
	$(MAKE) --no-print-directory fuzz-ci

test-short: deps clientgen-tools browser-tools mailpit
	$(GO) test -count=1 ./...

## deps also needs node and npm (nodejs, npm), for test/clientgen's TypeScript check.
.PHONY: deps-node
deps: deps-node
deps-node:
	@command -v npm >/dev/null 2>&1 || { echo "installing nodejs and npm"; $(APT) update -qq && $(APT) install -y -qq nodejs npm >/dev/null; }

## deps also needs redis-cli (redis-tools; Debian's redis-server depends on it): it forms the test Redis Cluster.
.PHONY: deps-redis-cli
deps: deps-redis-cli
deps-redis-cli:
	@command -v redis-cli >/dev/null 2>&1 || { echo "installing redis-tools"; $(APT) update -qq && $(APT) install -y -qq redis-tools >/dev/null; }

## clientgen: clients generated from the served /openapi.json compile (test/clientgen, also part of
## `make test`): oapi-codegen (Go, types + client) with go build, openapi-typescript with tsc --strict.
## clientgen-tools installs the pinned generators: oapi-codegen from test/clientgen/tools/go.mod into
## bin/, openapi-typescript and typescript from test/clientgen/ts/package-lock.json with npm ci;
## each again only when its pin changes.
OAPI_CODEGEN := bin/oapi-codegen
TS_TOOLS     := test/clientgen/ts/node_modules/.package-lock.json
clientgen: clientgen-tools
	$(GO) test -count=1 -run '^TestGeneratedClientsCompile$$' ./test/clientgen/

clientgen-tools: $(OAPI_CODEGEN) $(TS_TOOLS)

$(OAPI_CODEGEN): test/clientgen/tools/go.mod test/clientgen/tools/go.sum
	$(GO) -C test/clientgen/tools build -o $(CURDIR)/$(OAPI_CODEGEN) github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen

$(TS_TOOLS): test/clientgen/ts/package.json test/clientgen/ts/package-lock.json | deps-node
	cd test/clientgen/ts && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## browser-tools: the pinned axe-core that the browser tests (test/browser, test/e2e's console
## and component tests) inject into every screen, installed from test/browser/axe/package-lock.json
## with npm ci, again only when the pin changes.
AXE := test/browser/axe/node_modules/.package-lock.json
browser-tools: $(AXE)

$(AXE): test/browser/axe/package.json test/browser/axe/package-lock.json | deps-node
	cd test/browser/axe && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## mailpit: the real SMTP server of the email tests (test/mailpit), pinned in
## test/mailpit/tools/go.mod (its own module, so it never enters sigil's go.mod) and built into
## bin/ again only when the pin changes.
MAILPIT := bin/mailpit
.PHONY: mailpit
mailpit: $(MAILPIT)

$(MAILPIT): test/mailpit/tools/go.mod test/mailpit/tools/go.sum
	$(GO) -C test/mailpit/tools build -o $(CURDIR)/$(MAILPIT) github.com/axllent/mailpit

## lint: gofmt, go vet and staticcheck. staticcheck is pinned in tools/go.mod (its own module, so
## the pin never enters sigil's go.mod) and built into bin/ again only when the pin changes.
STATICCHECK := bin/staticcheck
lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	./$(STATICCHECK) ./...

$(STATICCHECK): tools/go.mod tools/go.sum
	$(GO) -C tools build -o $(CURDIR)/$(STATICCHECK) honnef.co/go/tools/cmd/staticcheck

## bench: HTTP load benchmark (test/bench/README.md): sigil's endpoints beside their baselines (a no-op
## Echo server, bare golang-jwt verify and sign handlers with the same keys) under the same wrk load in one
## run, one table with ratios and targets; then instructions per request (bench-instr). wrk, redis-server
## and valgrind installed when missing. Driver flags via BENCHFLAGS, e.g. make bench BENCHFLAGS='-duration 5s -out bench.md'.
## In-process Go benchmarks: make bench-go.
bench: deps build
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk"; $(APT) update -qq && $(APT) install -y -qq wrk >/dev/null; }
	$(GO) build -o bin/bench-noop ./test/bench/noop
	$(GO) build -o bin/bench-bare ./test/bench/bare
	$(GO) build -o bin/benchrun ./test/bench/cmd/benchrun
	./bin/benchrun -sigil $(BIN) -noop bin/bench-noop -bare bin/bench-bare $(BENCHFLAGS)
	@$(MAKE) --no-print-directory bench-instr

## bench-instr: instructions per request of verify warm, verify cold, mint and introspection and of their
## baselines (internal/httpapi BenchmarkHotPath under valgrind --tool=callgrind, two iteration counts,
## the difference per request): a figure the machine's load does not move. Flags via INSTRFLAGS
## (e.g. INSTRFLAGS='-repeat 3 -only verify').
.PHONY: bench-instr deps-valgrind bench-denylist bench-registry
bench-instr: deps-valgrind
	$(GO) test -c -o bin/httpapi.bench ./internal/httpapi
	$(GO) build -o bin/benchinstr ./test/bench/cmd/benchinstr
	./bin/benchinstr -test bin/httpapi.bench $(INSTRFLAGS)

deps-valgrind:
	@command -v valgrind >/dev/null 2>&1 || { echo "installing valgrind"; $(APT) update -qq && $(APT) install -y -qq valgrind >/dev/null; }

## bench-denylist: the cost of a large denylist (not in make test: minutes): DENYLIST (default 10000000)
## entries written straight into a fresh redis-server, then a fresh sigil on it: process start to /readyz
## (the replica's load), RSS when ready and after one verify; a planted token must answer 401.
DENYLIST ?= 10000000
bench-denylist: deps build
	$(GO) build -o bin/bench-noop ./test/bench/noop
	$(GO) build -o bin/bench-bare ./test/bench/bare
	$(GO) build -o bin/benchrun ./test/bench/cmd/benchrun
	./bin/benchrun -sigil $(BIN) -noop bin/bench-noop -bare bin/bench-bare -rows denylist -denylist $(DENYLIST) -tokens 100 $(BENCHFLAGS)

## bench-registry: the registry on a real redis-server at 10k, 100k and 1M records (sizes via
## SIGIL_BENCH_REGISTRY_SIZES=10000,100000): p50/p99 of listing a page, the next page, a report's
## tokens and generating a token at each size (test/bench/registry; not in make test: minutes).
bench-registry: deps
	$(GO) test -run '^$$' -bench BenchmarkRegistryScale -benchtime 1x -timeout 60m ./test/bench/registry/

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./internal/token/

## fuzz: each go fuzz target for FUZZTIME (default 30s), one after the other; new failing
## inputs land in the package's testdata/fuzz/<Target>/ (commit them with the fix).
FUZZTIME ?= 30s
FUZZ_TARGETS := ./internal/token:FuzzVerify ./internal/token:FuzzVerifyPayload ./internal/token:FuzzVerifyMutated \
	./internal/token:FuzzValidateParams ./internal/token:FuzzValidatePolicies \
	./internal/token:FuzzFastParse ./internal/token:FuzzCheckShape ./internal/token:FuzzCacheNeverChangesVerdict \
	./internal/httpapi:FuzzAnswerJSON \
	./internal/httpapi:FuzzMintRequest ./internal/httpapi:FuzzForwardAuth \
	./internal/policy:FuzzClean ./internal/policy:FuzzCheck
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "== $$name ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg; done

## fuzz-ci: what `make test` runs: each fuzz target for FUZZCI_TIME. A count of inputs, not a
## duration: Go 1.26's fuzz coordinator can fail a target with "context deadline exceeded" when a
## -fuzztime duration ends under CPU contention (go.dev/issue/75804, fixed in Go 1.27).
FUZZCI_TIME ?= 5000x
fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZCI_TIME)

## soak: the built binary on a real redis-server under a steady mixed load for DURATION
## (default 10m); prints RSS, goroutines, open fds and p99 every 30s and fails if they grow
## past soakrun's limits (test/soak/cmd/soakrun). More flags via SOAKFLAGS, e.g. SOAKFLAGS='-rate 800'.
DURATION ?= 10m
soak: deps build
	$(GO) build -o bin/soakrun ./test/soak/cmd/soakrun
	./bin/soakrun -sigil $(BIN) -duration $(DURATION) $(SOAKFLAGS)

clean:
	rm -rf bin test/clientgen/ts/node_modules test/browser/axe/node_modules
