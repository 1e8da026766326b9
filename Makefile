# Linx — build, test, benchmark, lint and demo.
#
#   make demo    build linx-node and show a throwaway namespace through it
#   make test    unit and integration tests (integration needs root)
#   make bench   benchmarks against the live kernel, with their baselines
#   make lint    go vet, gofmt and staticcheck
#   make build   bin/linx-node and bin/linx-cni
#   make release bin/release/linx-node and linx-cni: static, -trimpath, stripped
#   make image   the container image (OCI layout and tarball) in bin/
#   make cni-plugins  the reference CNI plugins the CNI tests use, in bin/cni
#   make fmt     gofmt every Go file
#   make install install linx-node, its systemd unit, an example config,
#                the state directory, linx-cni and shell completions for
#                bash, zsh and fish (under $(DESTDIR) when set)
#   make proto   regenerate messages/linx.pb.go (needs protoc)
#
# test, bench and demo run under scripts/hostcheck.sh, which fails them if
# the host network namespace changed or a test or demo namespace was left.

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin

GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Versions come from semver tags (vMAJOR.MINOR.PATCH): a tagged commit
# builds as v1.2.3, a later one as v1.2.3-4-gSHA, an untagged tree as
# v0.0.0-devel+gSHA; -dirty marks uncommitted changes.
VERSION     := $(shell scripts/version.sh)
LDFLAGS     := -X main.version=$(VERSION)
# A release build is static (no cgo), reproducible (-trimpath) and
# stripped (-s -w).
RELEASE_LDFLAGS := -s -w $(LDFLAGS)
# Per test binary; the whole suite stays well under ten minutes.
TEST_TIMEOUT  ?= 9m
BENCH_TIMEOUT ?= 60m
# Packages that hold benchmarks (their _test.go files declare Benchmark…).
BENCH_PKGS = $(shell grep -rl --include='*_test.go' '^func Benchmark' . 2>/dev/null | xargs -r -n1 dirname | sort -u)

.PHONY: all build release image cni-plugins test bench lint vet staticcheck fmt demo demo-fleet root-banner clean install proto

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/linx-node ./cmd/linx-node
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/linx-cni ./cmd/linx-cni

# cni-plugins builds the reference plugins integration/cni drives beside
# linx-cni (host-local for IPAM, bridge for the comparison), pinned, into
# bin/cni. They stay out of go.mod: the plugins module would raise
# dependencies the agent shares with protoactor.
CNI_PLUGINS_VERSION ?= v1.9.0
CNI_PLUGINS_STAMP   := bin/cni/.plugins-$(CNI_PLUGINS_VERSION)
cni-plugins: $(CNI_PLUGINS_STAMP)
$(CNI_PLUGINS_STAMP):
	GOBIN=$(CURDIR)/bin/cni $(GO) install \
		github.com/containernetworking/plugins/plugins/ipam/host-local@$(CNI_PLUGINS_VERSION) \
		github.com/containernetworking/plugins/plugins/main/bridge@$(CNI_PLUGINS_VERSION)
	touch $@

# release: the binaries as shipped (static, -trimpath, stripped, versioned).
release:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(RELEASE_LDFLAGS)' -o bin/release/linx-node ./cmd/linx-node
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(RELEASE_LDFLAGS)' -o bin/release/linx-cni ./cmd/linx-cni

# image: the container image as an OCI layout in $(IMAGE) and a tarball
# $(IMAGE).tar for `docker load`, built without a container daemon
# (packaging/image); the Dockerfile builds the same for Docker users.
IMAGE ?= bin/image
image: release
	$(GO) run ./packaging/image -version $(VERSION) -out $(IMAGE) -bin bin/release/linx-node -bin bin/release/linx-cni

# root-banner says loudly that integration tests will skip without root.
root-banner:
	@if [ "$$(id -u)" != 0 ]; then \
		echo "################################################################"; \
		echo "# NOT ROOT: integration tests need root and will be SKIPPED."; \
		echo "# Only unit tests run. For the full suite: sudo make test"; \
		echo "################################################################"; \
	fi

test: root-banner cni-plugins
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
BASHCOMPDIR ?= /usr/share/bash-completion/completions
ZSHCOMPDIR  ?= /usr/share/zsh/vendor-completions
FISHCOMPDIR ?= /usr/share/fish/vendor_completions.d
CNI_BIN_DIR ?= /opt/cni/bin
install: build
	install -D -m 0755 bin/linx-node $(DESTDIR)$(PREFIX)/bin/linx-node
	install -D -m 0755 bin/linx-cni $(DESTDIR)$(CNI_BIN_DIR)/linx-cni
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's|^ExecStart=/usr/local/bin/linx-node |ExecStart=$(PREFIX)/bin/linx-node |' \
		-e 's|--config /etc/linx/linx.yaml|--config $(CONFDIR)/linx.yaml|' \
		packaging/linx-node.service > $(DESTDIR)$(UNITDIR)/linx-node.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/linx-node.service
	install -d -m 0755 $(DESTDIR)$(CONFDIR)
	@if [ -e $(DESTDIR)$(CONFDIR)/linx.yaml ]; then \
		echo "keeping $(DESTDIR)$(CONFDIR)/linx.yaml"; \
	else \
		echo "install -m 0644 config/examples/linx.yaml $(DESTDIR)$(CONFDIR)/linx.yaml"; \
		install -m 0644 config/examples/linx.yaml $(DESTDIR)$(CONFDIR)/linx.yaml; \
	fi
	install -d -m 0700 $(DESTDIR)$(STATEDIR)
	install -d -m 0755 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	bin/linx-node completion bash > $(DESTDIR)$(BASHCOMPDIR)/linx-node
	bin/linx-node completion zsh > $(DESTDIR)$(ZSHCOMPDIR)/_linx-node
	bin/linx-node completion fish > $(DESTDIR)$(FISHCOMPDIR)/linx-node.fish

proto:
	$(GO) generate ./messages

clean:
	rm -rf bin
