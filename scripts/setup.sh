#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages sockfilter needs (DESIGN.md §4). Idempotent; run as root.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config
    libelf-dev libbpf-dev libpcap-dev
    libcli11-dev libfmt-dev libexpected-dev nlohmann-json3-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    clang clang-16 llvm libclang-rt-14-dev
    tcpdump bpftool iproute2 netbase
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#packages[@]} packages present"
    exit 0
fi

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
