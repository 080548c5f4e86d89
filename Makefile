# The README's two commands:
#   make run  [SCENARIO=path]   install deps, configure, build, run a scenario, write the HTML report
#   make test                   install deps, configure, build, run every test (ctest)
# With CI=true (as .ci/run sets it) warnings are errors and the engine tests also run under
# ASan+UBSan (preset `asan`).

SCENARIO ?= scenarios/cafe.yaml
PRESET   ?= default
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CI       ?=

ifeq ($(CI),true)
  CMAKE_FLAGS += -DINGRESSLAB_WERROR=ON
endif

.PHONY: all deps configure build run test test-asan bench format clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake --preset $(PRESET) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build --preset $(PRESET) -j $(JOBS)

run: build
	@./build/bin/ingresslab run $(SCENARIO) --report build/report.html
	@echo "HTML report: file://$(CURDIR)/build/report.html"

test: build
	@ctest --preset $(PRESET) -j $(JOBS)
ifeq ($(CI),true)
	@$(MAKE) --no-print-directory test-asan
endif

# The engine's unit tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	@cmake --preset asan $(CMAKE_FLAGS) >/dev/null
	@cmake --build --preset asan -j $(JOBS) --target engine_tests
	@ctest --preset asan -j $(JOBS) -R '^engine\.'

bench: build
	@./build/bin/engine_bench --benchmark_filter=BM_Hold
	@./build/bin/sim_bench

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	@rm -rf build
