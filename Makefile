# Layeron Webhooks. `make run` and `make test` work on a fresh Debian 12 machine with the Swift toolchain.
SHELL := /bin/bash
DEBIAN_PACKAGES := libmicrohttpd-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev pkg-config gcc
PLUGIN_CFLAGS := -shared -fPIC -O2 -Wall -Wextra -Werror -I Sources/CLayeronPlugin/include
C_PLUGINS := $(notdir $(wildcard plugins/examples/*))

.PHONY: deps build release plugins run test bench clean

# $(call apt_install,PACKAGES) installs those of PACKAGES that are missing (apt-get update first, as a
# fresh machine needs).
apt_install = missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

deps:
	@$(call apt_install,$(DEBIAN_PACKAGES))

build: deps
	swift build

release: deps
	swift build -c release --product layeron

# Builds every example into plugins/: each C example plugins/examples/<name>/<name>.c with cc, the
# Swift example (plugins/examples/audit) as the SwiftPM dynamic library product AuditPlugin, and the
# Rust example (plugins/examples/ledger) with plain rustc when rustc is installed (skipped otherwise).
plugins: deps
	@for p in $(C_PLUGINS); do \
		if [ -f plugins/examples/$$p/$$p.c ]; then \
			echo "cc plugins/$$p.so"; cc $(PLUGIN_CFLAGS) -o plugins/$$p.so plugins/examples/$$p/$$p.c || exit 1; \
		fi; \
	done
	swift build --product AuditPlugin
	@bin=$$(swift build --product AuditPlugin --show-bin-path) && cp "$$bin/libAuditPlugin.so" plugins/.audit.so.tmp && mv plugins/.audit.so.tmp plugins/audit.so
	@if command -v rustc >/dev/null 2>&1; then \
		echo "rustc plugins/ledger.so"; rustc --edition 2021 --crate-type cdylib -O -o plugins/ledger.so plugins/examples/ledger/ledger.rs || exit 1; \
	else \
		echo "rustc not found: skipping the Rust example plugins/ledger.so (apt-get install rustc to build it)"; \
	fi

run: release plugins
	@mkdir -p data
	.build/release/layeron serve --config config/layeron.json

test: deps plugins
	swift build --build-tests
	swift test --skip-build --disable-swift-testing

BENCH_PACKAGES := wrk nginx-light valgrind sqlite3 python3

# Benchmarks (never part of `make test`): release build, then bench/run.sh, which writes
# bench/results/<timestamp>.json and bench/results/latest.md. See docs/performance.md.
bench: deps
	@$(call apt_install,$(BENCH_PACKAGES))
	swift build -c release --product layeron
	swift build -c release --product layeron-bench
	bench/run.sh

clean:
	rm -rf .build data plugins/*.so
