#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite: installs dependencies, builds (warnings as errors) and runs every test,
# then again under AddressSanitizer + UndefinedBehaviorSanitizer, then runs the libFuzzer harnesses
# for a bounded time (clang build). Exits non-zero on any failure.
# Kernel tests need root (bpf(), BPF_PROG_TEST_RUN); without it they print SKIPPED, and with
# CI=true a skipped kernel test fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
bash scripts/setup.sh

run_suite() {
    local dir=$1
    shift
    cmake -S . -B "$dir" -G Ninja -DSF_WERROR=ON "$@"
    cmake --build "$dir" -j "$jobs"
    ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

echo "== release build"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== sanitizer build (address, undefined)"
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DSF_SANITIZE="address;undefined" -DSF_BUILD_BENCH=OFF
echo "== fuzz smoke (libFuzzer, clang; tests/fuzz, docs/TESTING.md)"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSF_WERROR=ON -DSF_FUZZ=ON \
    -DSF_SANITIZE="fuzzer-no-link;address;undefined" -DSF_BUILD_TESTS=OFF -DSF_BUILD_BENCH=OFF \
    -DSF_FUZZ_RUNS=500000 -DSF_FUZZ_SECONDS=40
cmake --build build-fuzz -j "$jobs" --target fuzzers
ctest --test-dir build-fuzz/tests/fuzz --output-on-failure -j "$jobs" -L fuzz
echo "== all tests passed"
