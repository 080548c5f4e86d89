#!/usr/bin/env bash
# Builds every fuzz target with clang + libFuzzer + ASan/UBSan in BUILD_DIR (all code
# instrumented for coverage, not only the target) and fuzzes each for
# SECONDS, starting from its seed corpus. Exits non-zero on the first crash (the reproducer is
# left in BUILD_DIR/artifacts/).
#   tests/fuzz/run_fuzzers.sh SOURCE_DIR BUILD_DIR SECONDS
set -euo pipefail
SRC=$1 BUILD=$2 SECONDS_EACH=${3:-20}
cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DINGRESSLAB_FUZZ=ON -DINGRESSLAB_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
  >/dev/null
targets=$(cmake --build "$BUILD" --target help | awk -F: '/_fuzz:/ {print $1}' | sort -u)
cmake --build "$BUILD" --target $targets
mkdir -p "$BUILD/artifacts"
for t in $targets; do
  corpus="$BUILD/corpus/$t"
  mkdir -p "$corpus"
  seeds=()
  [[ -d "$SRC/tests/fuzz/${t%_fuzz}_corpus" ]] && seeds+=("$SRC/tests/fuzz/${t%_fuzz}_corpus")
  # The loader also starts from every example and every known-bad file.
  [[ $t == scenario_loader_fuzz ]] && seeds+=("$SRC/scenarios" "$SRC/tests/data/bad")
  [[ $t == realproxy_manifests_fuzz ]] && seeds+=("$SRC/scenarios/manifests/cafe" "$SRC/tests/data/manifests")
  echo "fuzzing $t for ${SECONDS_EACH}s"
  "$BUILD/fuzz/$t" "$corpus" "${seeds[@]}" -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$BUILD/artifacts/$t-" -print_final_stats=1 \
    2>&1 | tail -15
done
