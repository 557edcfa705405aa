# resetgate — a thin Makefile; every target is one or two plain go commands.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS  = -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: build test test-deps check lint fuzz bench bench-tools bench-go demo clean

build: ## the static binary ./resetgate, version stamped
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o resetgate .

# Mailpit, the SMTP server with an HTTP API the mail tests start; .ci/run installs the same version.
MAILPIT_VERSION ?= v1.33.1
# go test's -json stream through a small summarizer (internal/cmd/testsummary, never part of the
# binary): the output reads like plain go test, keeps its exit status, and ends with every skipped
# test grouped by reason plus the commands that install what is missing.
TESTSUMMARY = $(GO) run ./internal/cmd/testsummary

test: test-deps ## every test, against the real services on this machine (CI=true: missing ones fail)
	@# Under -race the hash-vector suites sample one vector per variant (key derivation is up to
	@# 30x slower there); this runs all 200 vectors and the framework checks in full. It goes first
	@# so that the whole suite's skip summary closes the run.
	$(TESTSUMMARY) $(GO) test -json -count=1 -timeout 30m -run 'Vectors|Frameworks' ./reset/passhash/
	$(TESTSUMMARY) $(GO) test -json -race -count=1 ./...

test-deps: ## install what the tests need that the go command can install (Mailpit into GOPATH/bin)
	@command -v mailpit >/dev/null || [ -x "$$($(GO) env GOPATH | cut -d: -f1)/bin/mailpit" ] || { \
	  echo "== installing Mailpit $(MAILPIT_VERSION) for the mail tests into $$($(GO) env GOPATH | cut -d: -f1)/bin"; \
	  $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION); }

lint: ## gofmt, go vet, staticcheck (pinned in go.mod)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

check: lint test

bench: ## the benchmark harness: resetgate against direct, a bare ReverseProxy, nginx and Caddy (~11 min); writes BENCHMARKS.md
	$(GO) run ./bench/cmd/harness -out BENCHMARKS.md

bench-tools: ## install Caddy for the harness into bench/.tools (wrk and nginx come from apt)
	bash bench/install-tools.sh

bench-go: ## the Go benchmarks once, so they cannot rot (CI)
	$(GO) test -run='^$$' -bench=. -benchtime=1x ./...

fuzz: ## each fuzz target for 30s
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list='^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=30s $$pkg || exit 1; \
	  done; done

demo: ## the self-contained demo; -v names each package as it compiles (the first build takes minutes)
	@echo "== building resetgate (the first build compiles every dependency: minutes on 2 cores, see README)"
	$(GO) build -v -o resetgate .
	./resetgate demo

clean:
	rm -f resetgate
