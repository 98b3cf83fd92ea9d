# leadd — make demo | test | bench | lint | release
# `make test` and `make demo` install any missing Debian package first (apt-get, with sudo when not root).

SWIFT ?= swift
DEBS := pkg-config libsqlite3-dev libsystemd-dev libcurl4-openssl-dev libssl-dev libncurses-dev socat sqlite3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_DIR := .build/release

.PHONY: deps build test demo bench lint format release clean

deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing missing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: build
	@scripts/demo.sh .build/debug

bench: deps
	$(SWIFT) build -c release --product leadd-bench --product leadctl
	$(RELEASE_DIR)/leadd-bench

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests Benchmarks

format:
	$(SWIFT) format format --in-place --recursive Package.swift Sources Tests Benchmarks

release: deps
	$(SWIFT) build -c release --static-swift-stdlib --product leadctl
	strip $(RELEASE_DIR)/leadctl
	@ls -l $(RELEASE_DIR)/leadctl

clean:
	rm -rf .build leadd-demo
