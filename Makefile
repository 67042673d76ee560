# Thin wrapper over CMake presets. `make run` and `make test` do everything on a fresh
# Debian 12 machine, installing the packages they need first.
.PHONY: all deps build run test test-release test-asan format lint bench clean

all: build

deps:
	.ci/deps

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release

run: build
	./build/dsim run scenarios/quickstart.yaml

test: test-release test-asan

test-release: build
	ctest --preset release

test-asan: deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan
	ctest --preset asan

format:
	git ls-files -co --exclude-standard '*.h' '*.cpp' | xargs clang-format -i

lint:
	tests/lint/check_source.sh

bench: build
	./build/tests/bench/dsim_bench

clean:
	rm -rf build build-asan
