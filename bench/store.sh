#!/usr/bin/env bash
# bench/store.sh - benchmarks the object store (bench/store_bench.c says
# what is measured).  Not a test; prints numbers only.
#
#   BUILD=build bench/store.sh [N [MODE]]  N objects (default 10000);
#                                        MODE full, normal or both (default)
#   BENCH_DIR=/var/tmp bench/store.sh    where the database files go: use
#                                        the filesystem the store will live
#                                        on (tmpfs makes fsync free and the
#                                        FULL numbers meaningless)
# Needs a built $BUILD/lib/libvrtcore.a (make BUILD=...); builds the bench
# itself into $BUILD/bench/store_bench, optimised, without sanitizers.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LIB=$BUILD/lib/libvrtcore.a
if [ ! -f "$LIB" ]; then
    echo "store.sh: $LIB does not exist; run make BUILD=$BUILD first." >&2
    exit 2
fi
pkgs=$(sed -n 's/^CORE_PKGS *?= *//p' "$ROOT/Makefile")
BIN=$BUILD/bench/store_bench
mkdir -p "$(dirname "$BIN")"
# shellcheck disable=SC2046 # pkg-config output is meant to split
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow -Wformat=2 \
    -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter -Werror \
    -I"$ROOT/abi" -I"$ROOT/include" $(pkg-config --cflags libcjson sqlite3) \
    -o "$BIN" "$ROOT/bench/store_bench.c" "$LIB" \
    $(pkg-config --libs $pkgs) -ldl -lpthread -lm

DIR=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/vrt-store-bench.XXXXXX")
trap 'rm -rf -- "$DIR"' EXIT
echo "filesystem: $(df -PT "$DIR" | awk 'NR == 2 { print $2 " (" $1 ")" }')"
"$BIN" "$DIR" "${1:-10000}" "${2:-both}"
