# Linx — build, test, benchmark, lint and demo.
#
#   make demo    build linx-node and show a throwaway namespace through it
#   make test    unit and integration tests (integration needs root)
#   make bench   benchmarks against the live kernel, with their baselines
#   make lint    go vet, gofmt and staticcheck
#   make build   bin/linx-node
#   make fmt     gofmt every Go file
#   make install install linx-node, its systemd unit, an example config
#                and the state directory (under $(DESTDIR) when set)
#   make proto   regenerate messages/linx.pb.go (needs protoc)
#
# test, bench and demo run under scripts/hostcheck.sh, which fails them if
# the host network namespace changed or a test or demo namespace was left.

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin

GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
VERSION     := $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS     := -X main.version=$(VERSION)
# Per test binary; the whole suite stays well under ten minutes.
TEST_TIMEOUT  ?= 9m
BENCH_TIMEOUT ?= 60m
# Packages that hold benchmarks (their _test.go files declare Benchmark…).
BENCH_PKGS = $(shell grep -rl --include='*_test.go' '^func Benchmark' . 2>/dev/null | xargs -r -n1 dirname | sort -u)

.PHONY: all build test bench lint vet staticcheck fmt demo demo-fleet root-banner clean install proto

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/linx-node ./cmd/linx-node

# root-banner says loudly that integration tests will skip without root.
root-banner:
	@if [ "$$(id -u)" != 0 ]; then \
		echo "################################################################"; \
		echo "# NOT ROOT: integration tests need root and will be SKIPPED."; \
		echo "# Only unit tests run. For the full suite: sudo make test"; \
		echo "################################################################"; \
	fi

test: root-banner
	scripts/hostcheck.sh wrap $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

# bench runs every benchmark once, keeps their output in bench/results.txt,
# and ends with one table of Linx beside its baselines (also written to
# bench/results.json and drawn in bench/results.png).
bench: root-banner
	@if [ -z "$(BENCH_PKGS)" ]; then echo "no benchmarks yet"; exit 0; fi; \
	set -o pipefail; \
	scripts/hostcheck.sh wrap $(GO) test -run '^$$' -bench . -benchtime=1x -benchmem \
		-timeout $(BENCH_TIMEOUT) $(BENCH_PKGS) 2>&1 | tee bench/results.txt; \
	status=$$?; \
	$(GO) run ./bench/cmd/benchtable -json bench/results.json -png bench/results.png bench/results.txt || status=1; \
	exit $$status

# soak runs the reliability suite (build tag soak), bounded to ten minutes:
# overrun storms, a crash loop, a fight with another writer, namespace
# churn and kill/restart cycles, floods of the message API, each printing
# its verdict and figures.
soak: root-banner
	scripts/hostcheck.sh wrap $(GO) test -tags soak -count=1 -v -run Soak -timeout 10m \
		./integration ./actors/supervisor ./api ./internal/agent

lint: vet staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

demo: build
	scripts/hostcheck.sh wrap scripts/demo.sh bin/linx-node

# demo-fleet: an embedded etcd, three agents on three throwaway namespaces,
# fleet apply and status, a SIGKILLed agent whose member key expires, its
# restart and resume.
demo-fleet: build
	scripts/hostcheck.sh wrap scripts/demo-fleet.sh bin/linx-node

# install: the binary, the systemd unit, the example configuration (kept if
# one is there already) and the state directory (0700). DESTDIR stages it
# elsewhere, e.g. make install DESTDIR=$$(mktemp -d).
PREFIX     ?= /usr/local
UNITDIR    ?= /lib/systemd/system
CONFDIR    ?= /etc/linx
STATEDIR   ?= /var/lib/linx
install: build
	install -D -m 0755 bin/linx-node $(DESTDIR)$(PREFIX)/bin/linx-node
	install -D -m 0644 packaging/linx-node.service $(DESTDIR)$(UNITDIR)/linx-node.service
	install -d -m 0755 $(DESTDIR)$(CONFDIR)
	@if [ -e $(DESTDIR)$(CONFDIR)/linx.yaml ]; then \
		echo "keeping $(DESTDIR)$(CONFDIR)/linx.yaml"; \
	else \
		echo "install -m 0644 config/examples/linx.yaml $(DESTDIR)$(CONFDIR)/linx.yaml"; \
		install -m 0644 config/examples/linx.yaml $(DESTDIR)$(CONFDIR)/linx.yaml; \
	fi
	install -d -m 0700 $(DESTDIR)$(STATEDIR)

proto:
	$(GO) generate ./messages

clean:
	rm -rf bin
