# Thin wrapper over CMake presets. `make run` and `make test` do everything on a fresh
# Debian 12 machine, installing the packages they need first (.ci/deps): `run` builds the
# dsim binary alone, `test` every test and benchmark.
.PHONY: all deps build build-dsim run test test-release test-asan test-fuzz fuzz fuzz-deps \
        fuzz-build format lint docs bench clean

# `make fuzz`: seconds each fuzz target runs, and extra libFuzzer flags (tests/fuzz/fuzz.sh).
FUZZ_SECONDS ?= 600
FUZZ_FLAGS ?=

all: build

deps:
	.ci/deps

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release

# The dsim binary alone (build/dsim), without the tests and benchmarks: all `run` needs.
build-dsim: deps
	cmake --preset release >/dev/null
	cmake --build --preset release --target dsim

run: build-dsim
	./build/dsim run scenarios/quickstart.yaml --report

test: test-release test-asan test-fuzz

test-release: build
	ctest --preset release

test-asan: deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan
	ctest --preset asan

# The fuzz targets (tests/fuzz): clang-14 with libFuzzer and the sanitizers' runtimes, and
# llvm-symbolizer for readable stacks. `test-fuzz` replays the seeds and regressions and
# fuzzes each target briefly; `fuzz` fuzzes each for FUZZ_SECONDS.
fuzz-deps:
	.ci/deps clang-14 libclang-rt-14-dev llvm-14

fuzz-build: fuzz-deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz

test-fuzz: fuzz-build
	ctest --preset fuzz

fuzz: fuzz-build
	tests/fuzz/fuzz.sh build-fuzz load $(FUZZ_SECONDS) $(FUZZ_FLAGS)
	tests/fuzz/fuzz.sh build-fuzz run $(FUZZ_SECONDS) $(FUZZ_FLAGS)

format:
	git ls-files -co --exclude-standard '*.h' '*.cpp' | xargs clang-format -i

lint:
	tests/lint/check_source.sh

# The parameter tables of docs/models/*.md, regenerated from the code (tests/docs).
docs: build-dsim
	tests/docs/update_param_tables.py build/dsim

bench: build
	./build/tests/bench/dsim_bench

clean:
	rm -rf build build-asan build-fuzz
