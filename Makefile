# resetgate — a thin Makefile; every target is one or two plain go commands.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
# The commit's date, not the build's: two builds of one commit must be identical.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH
DATE    ?= $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  = -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
DIST    ?= dist
ARCHES  ?= amd64 arm64
# Release tools (nfpm, cyclonedx-gomod) are pinned in their own module, out of the binary's go.mod.
TOOL     = $(GO) tool -modfile=tools/go.mod
PODMAN  ?= podman --runtime runc --cgroup-manager=cgroupfs
IMAGE   ?= resetgate:$(VERSION)

.PHONY: build test test-deps check lint fuzz bench bench-tools bench-go demo first-run clean release image

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
	$(TESTSUMMARY) $(GO) test -json -race -count=1 -timeout 30m ./...

test-deps: ## install what the tests need that the go command can install (Mailpit into GOPATH/bin)
	@command -v mailpit >/dev/null || [ -x "$$($(GO) env GOPATH | cut -d: -f1)/bin/mailpit" ] || { \
	  echo "== installing Mailpit $(MAILPIT_VERSION) for the mail tests into $$($(GO) env GOPATH | cut -d: -f1)/bin"; \
	  $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION); }

release: ## VERSION=vX.Y.Z: static linux binaries, .deb, .rpm, SBOMs and SHA256SUMS in dist/
	@echo "$(VERSION)" | grep -Eq '^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$$' || \
	  { echo "make release: VERSION must look like v1.2.3 (got '$(VERSION)')"; exit 2; }
	rm -rf $(DIST) && mkdir -p $(DIST)/pkgroot
	sed -E 's|^data_dir( +)= "\./data"|data_dir\1= "/var/lib/resetgate"|' config.toml > $(DIST)/pkgroot/config.toml
	grep -q '^data_dir *= "/var/lib/resetgate"' $(DIST)/pkgroot/config.toml
	set -e; for arch in $(ARCHES); do \
	  bin=$(DIST)/resetgate_$(VERSION)_linux_$$arch; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -buildvcs=false -ldflags "$(LDFLAGS)" -o $$bin .; \
	  $(TOOL) cyclonedx-gomod bin -json -noserial -notimestamp -version $(VERSION) -output $$bin.cdx.json $$bin; \
	  for fmt in deb rpm; do \
	    RESETGATE_VERSION=$(VERSION) RESETGATE_ARCH=$$arch RESETGATE_BINARY=$$bin \
	    RESETGATE_CONFIG=$(DIST)/pkgroot/config.toml \
	      $(TOOL) nfpm package -f packaging/nfpm.yaml -p $$fmt -t $(DIST)/; \
	  done; \
	done
	rm -rf $(DIST)/pkgroot
	cd $(DIST) && sha256sum $$(ls | grep -v '^SHA256SUMS$$') > SHA256SUMS
	@cat $(DIST)/SHA256SUMS

image: ## the FROM-scratch container image of dist/'s binary for this machine (make release first)
	rm -rf $(DIST)/image && mkdir -p $(DIST)/image/data
	cp $(DIST)/resetgate_$(VERSION)_linux_$$($(GO) env GOARCH) $(DIST)/image/resetgate
	cp packaging/image/passwd packaging/image/group /etc/ssl/certs/ca-certificates.crt $(DIST)/image/
	$(PODMAN) build --format docker -f deploy/Containerfile -t $(IMAGE) $(DIST)/image

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

demo: ## the self-contained demo; -v names each package as it compiles (the first build takes about 90 s)
	@echo "== building resetgate (the first build compiles every dependency: about 90 s on 2 cores, see README)"
	$(GO) build -v -o resetgate .
	./resetgate demo

first-run: ## seconds until the first `go run . demo` answers with an empty build cache (EMPTY_MODCACHE=1: nothing downloaded)
	sh bench/first-run.sh

clean:
	rm -rf resetgate $(DIST)
