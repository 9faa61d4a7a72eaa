#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds sockfilter_bench in Release (-O2 everywhere) and runs it: 3 repetitions, median
# aggregates only, then the markdown tables of ns/packet and ratios (docs/PERFORMANCE.md).
# Usage: bash bench/run.sh [extra Google Benchmark flags, e.g. --benchmark_filter=W2]
# Environment: BUILD_DIR (default <repo>/build-bench), JSON (default $BUILD_DIR/bench.json).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build-bench}"
json="${JSON:-$build/bench.json}"

cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DSF_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target sockfilter_bench >/dev/null

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(uname -sr)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine makes the numbers noisy)"
# About 0.2 s per benchmark and repetition: 68 benchmarks (28 eBPF, 40 classic) x 3 repetitions take about a minute.
"$build/bench/sockfilter_bench" \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true --benchmark_min_time=0.2 \
    --benchmark_out="$json" --benchmark_out_format=json --benchmark_color=false "$@"
echo
echo "JSON results: $json"
