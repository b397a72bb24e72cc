# kubetrail — the two commands of the README, and a few more.
#
#   make run             install missing packages, build, start what exists, say what to try
#   make test            install missing packages, build, run the whole test suite
#   make test-sanitize   the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench           build and run the benchmarks (JSON results in build/bench-results.json)
#   make deps            install the Debian packages only
#
# Variables: BUILD_DIR (default build), JOBS (default: number of cores),
# WERROR (ON in CI, else OFF).

BUILD_DIR ?= build
SAN_BUILD_DIR ?= build-sanitize
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
WERROR ?= $(if $(CI),ON,OFF)
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test test-unit test-sanitize bench clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DKUBETRAIL_WERROR=$(WERROR) $(CMAKE_FLAGS) > $(BUILD_DIR).configure.log 2>&1 \
	  || { cat $(BUILD_DIR).configure.log; exit 1; }

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Unit tests first (fast, most specific failures), then integration and end-to-end.
test: build
	@cd $(BUILD_DIR) && ctest -L unit --output-on-failure -j $(JOBS) --timeout 600
	@cd $(BUILD_DIR) && ctest -LE unit --output-on-failure -j $(JOBS) --timeout 900

test-sanitize: deps
	@cmake -S . -B $(SAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DKUBETRAIL_WERROR=$(WERROR) -DKUBETRAIL_SANITIZE=address,undefined $(CMAKE_FLAGS) \
	  > $(SAN_BUILD_DIR).configure.log 2>&1 || { cat $(SAN_BUILD_DIR).configure.log; exit 1; }
	@cmake --build $(SAN_BUILD_DIR) -j $(JOBS)
	@cd $(SAN_BUILD_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 1800

bench: build
	@scripts/bench.sh $(BUILD_DIR)

run: build
	@scripts/run.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(SAN_BUILD_DIR) $(BUILD_DIR).configure.log $(SAN_BUILD_DIR).configure.log
