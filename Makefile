# aidmesh: `make run` sets up and runs a node; `make test` builds with ASan+UBSan and runs
# every test. Both install missing Debian packages first (tools/install-deps.sh).
# `make run ARGS="--http 8080"` passes options to `aidmesh run` (see `aidmesh run --help`).

SHELL := /bin/bash

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
TEST_BUILD ?= build
RELEASE_BUILD ?= build-release
# make install: where to (PREFIX), and a staging root for packagers (DESTDIR)
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps test-build release run test bench fuzz format clean demo install uninstall

all: release

deps:
	@bash tools/install-deps.sh

# tests also drive the dashboard page in a headless browser
test-build:
	@bash tools/install-deps.sh chromium
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DAM_SANITIZE=ON -DAM_WERROR=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j$(JOBS)

release: deps
	@cmake -S . -B $(RELEASE_BUILD) -DCMAKE_BUILD_TYPE=Release -DAM_WERROR=ON >/dev/null
	@cmake --build $(RELEASE_BUILD) -j$(JOBS) --target aidmesh aidmesh-bench aidmesh-flood

# links `aidmesh` into ~/.local/bin (or /usr/local/bin for root; AIDMESH_BIN_DIR=DIR to
# choose) and says what to add to PATH; ARGS: options of `aidmesh run`, e.g. --http 8080
ARGS ?=
# make run JOIN=CODE NAME=clinic-2: on first start, join the network of that invite code
JOIN ?=
NAME ?=
run: release
	@JOIN="$(JOIN)" NAME="$(NAME)" bash tools/run-node.sh $(RELEASE_BUILD)/aidmesh $(ARGS)

# a guided demo: hub, clinic and warehouse on this machine (loopback only), TCP and a stick
demo: release
	@bash tools/demo.sh $(RELEASE_BUILD)/aidmesh

# installs the binary, the systemd unit, the man page and the Wi-Fi Direct helper; starts
# nothing and prints the next steps
install: release
	@PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" bash tools/install.sh --build $(RELEASE_BUILD)

uninstall:
	@PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" bash tools/install.sh --uninstall

test: test-build
	@cd $(TEST_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS)

# every benchmark, one Markdown report on stdout and in $(BENCH_OUT) (progress on stderr);
# BENCH_ARGS=--quick for a smoke run, more options in `aidmesh-bench --help`
BENCH_OUT ?= bench.md
BENCH_ARGS ?=
bench: release
	@$(RELEASE_BUILD)/aidmesh-bench --out "$(BENCH_OUT)" $(BENCH_ARGS)

fuzz:
	@bash tools/install-deps.sh clang libclang-rt-14-dev
	@bash tests/fuzz/run-fuzz.sh

format:
	@clang-format -i crdt/*.[ch] transport/*.[ch] node/*.[ch] tools/*.[ch] tests/*/*.[ch]

clean:
	rm -rf $(TEST_BUILD) $(RELEASE_BUILD) build-fuzz
