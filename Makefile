# Layeron Webhooks. `make run` and `make test` work on a fresh Debian 12 machine with the Swift toolchain.
SHELL := /bin/bash
DEBIAN_PACKAGES := libmicrohttpd-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev pkg-config gcc
PLUGIN_CFLAGS := -shared -fPIC -O2 -Wall -Wextra -Werror -I Sources/CLayeronPlugin/include
C_PLUGINS := $(notdir $(wildcard plugins/examples/*))

.PHONY: deps build release plugins run test bench clean

# Installs the Debian packages that are missing (apt-get update first, as a fresh machine needs).
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

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
	swift test --skip-build

# Verification time per ~1.2 KB request for every signature scheme, beside a bare SHA-256.
bench: deps
	swift run -c release signature-bench Tests/Fixtures/signatures

clean:
	rm -rf .build data plugins/*.so
