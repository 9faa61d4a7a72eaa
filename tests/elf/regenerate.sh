#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Rebuilds the committed .o fixtures from their sources. Pinned: Debian bookworm clang 14.0.6 for
# every fixture, plus clang 16.0.6 (package clang-16) for the *.clang16.o builds. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")"

want14="14.0.6"
want16="16.0.6"
version() { "$1" --version | sed -n 's/.*clang version \([0-9.]*\).*/\1/p' | head -1; }
[ "$(version clang-14)" = "$want14" ] || { echo "regenerate.sh: need clang-14 $want14" >&2; exit 1; }
[ "$(version clang-16)" = "$want16" ] || { echo "regenerate.sh: need clang-16 $want16 (apt install clang-16)" >&2; exit 1; }

arch_inc="-I/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
build() {  # build <clang> <cpu> <src> <out>
    "$1" -O2 -g -target bpf "-mcpu=$2" $arch_inc -c "$3" -o "$4"
}

for src in simple multi subprog maps legacy_maps globals kfunc core core_target other_types xdp_only rejected; do
    build clang-14 v3 "$src.c" "$src.o"
done
build clang-14 v1 simple.c simple.v1.o
build clang-14 v2 simple.c simple.v2.o
build clang-14 v1 subprog.c subprog.v1.o
build clang-14 v2 globals.c globals.v2.o
for src in simple subprog maps globals core; do
    build clang-16 v3 "$src.c" "$src.clang16.o"
done
echo "regenerate.sh: fixtures rebuilt"
