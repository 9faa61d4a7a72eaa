#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Quick start: installs the dependencies, builds sockfilter, and runs the bundled example filter
# (tcp dst port 80, with LD_ABS/LD_IND) over the bundled capture.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target sockfilter
echo "== build/tools/sockfilter run examples/tcp_dst_port_80.s -r examples/traffic.pcap"
build/tools/sockfilter run examples/tcp_dst_port_80.s -r examples/traffic.pcap
