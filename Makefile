# peel: `make demo` and `make test` do all the set-up on a fresh Debian 12 machine.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: all bootstrap build demo test test-release test-asan bench clean

all: build

bootstrap:
	@./scripts/bootstrap

build: bootstrap
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DPEEL_WERROR=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@./scripts/demo $(BUILD)/peel $(INPUT)

# Every test, in the Release build and again under AddressSanitizer + UBSan.
test: test-release test-asan fuzz

test-release: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: bootstrap
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPEEL_WERROR=ON \
	  -DPEEL_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

# Under libFuzzer with ASan and UBSan, each for at most a minute (FUZZ_SECONDS): the
# plain-language parser, probe() and plan() over malformed media files, and peel serve's
# request handlers over raw HTTP.
.PHONY: fuzz
fuzz: bootstrap
	@./scripts/fuzz-nl
	@./scripts/fuzz-probe
	@./scripts/fuzz-serve

bench: build
	@./bench/single.sh $(BUILD)/peel

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) demo
