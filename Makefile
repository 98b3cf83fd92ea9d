# leadd — make demo | test | bench | lint | release
# `make test` and `make demo` install any missing Debian package first (apt-get, with sudo when not root).

SWIFT ?= swift
DEBS := pkg-config libsqlite3-dev libsystemd-dev libcurl4-openssl-dev libssl-dev libncurses-dev socat sqlite3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_DIR := .build/release
# Packaging and its tests (make package, make test-deploy): dpkg-shlibdeps, lintian, systemd-analyze, the
# Python venv Ansible is installed into.
DEPLOY_DEBS := binutils dpkg-dev lintian systemd udev python3-venv python3-seccomp perl strace procps

.PHONY: deps deploy-deps build test test-deploy package demo tour bench lint format release clean fuzz soak

deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing missing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

deploy-deps:
	@$(MAKE) --no-print-directory deps DEBS="$(DEPLOY_DEBS)"

build: deps
	$(SWIFT) build

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) --no-print-directory test-deploy

# The .deb (release build, static Swift stdlib): .build/deb/leadd_<version>_<arch>.deb, lintian-checked.
package: release deploy-deps
	deploy/build-deb.sh $(RELEASE_DIR)
	lintian --fail-on error,warning .build/deb/leadd_*.deb

# The unit's hardening score and verify, leadd at work under the unit's seccomp filter, the scanner udev rules,
# the .deb installed into and removed from a throwaway root, the Ansible playbook. All but the first need root
# (dpkg --root, chroot, private mount namespaces, strace): sudo when not root.
test-deploy: package
	deploy/test/unit.sh
	$(SUDO) deploy/test/sandbox.sh
	$(SUDO) deploy/test/udev.sh
	$(SUDO) deploy/test/install.sh .build/deb/leadd_*.deb
	$(SUDO) deploy/test/ansible.sh .build/deb/leadd_*.deb

# The sync crash test with 500 SIGKILLs of leadd instead of make test's 50.
soak: deps
	$(SWIFT) build --build-tests
	LEADD_CRASH_KILLS=500 $(SWIFT) test --skip-build --filter SyncEndToEndTests

# The kiosk form in this terminal on the embedded default config; data in ./leadd-demo/; Ctrl-C quits.
demo: build
	.build/debug/leadd --demo
	@echo "Stored leads: .build/debug/leadctl --db leadd-demo/leads.sqlite3 list"

# A scripted tour of leadctl on ./leadd-demo/ (no terminal form).
tour: build
	@scripts/demo.sh .build/debug

bench: deps
	$(SWIFT) build -c release --static-swift-stdlib
	strip -o .build/leadd.stripped $(RELEASE_DIR)/leadd
	BENCH_STRIPPED_LEADD=.build/leadd.stripped $(RELEASE_DIR)/leadd-bench

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests Benchmarks

format:
	$(SWIFT) format format --in-place --recursive Package.swift Sources Tests Benchmarks

release: deps
	$(SWIFT) build -c release --static-swift-stdlib --product leadd
	$(SWIFT) build -c release --static-swift-stdlib --product leadctl
	strip $(RELEASE_DIR)/leadd $(RELEASE_DIR)/leadctl
	@ls -l $(RELEASE_DIR)/leadd $(RELEASE_DIR)/leadctl

clean:
	rm -rf .build leadd-demo

# libFuzzer over every decoder and the scanner framer: FUZZ_SECONDS per target (default 300).
fuzz:
	Fuzz/run.sh all $(or $(FUZZ_SECONDS),300)
