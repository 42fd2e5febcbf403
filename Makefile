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

# Builds every C example under plugins/examples/<name>/<name>.c into plugins/<name>.so.
plugins: deps
	@for p in $(C_PLUGINS); do \
		if [ -f plugins/examples/$$p/$$p.c ]; then \
			echo "cc plugins/$$p.so"; cc $(PLUGIN_CFLAGS) -o plugins/$$p.so plugins/examples/$$p/$$p.c || exit 1; \
		fi; \
	done

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
