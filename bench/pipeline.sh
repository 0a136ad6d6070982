#!/usr/bin/env bash
# bench/pipeline.sh - the disk pipeline (virtrigaud-disk convert: one pass
# that converts and computes the content and output SHA-256) against
# `qemu-img convert` followed by `sha256sum` of its output, on the same
# image in the same run.  Not a test; prints numbers only.
#
#   BUILD=build bench/pipeline.sh          4 GiB image, half random, half zero
#   SIZE_MB=512 bench/pipeline.sh          a smaller image
#   BENCH_DIR=/var/tmp bench/pipeline.sh   where the images go
#
# Cases: raw -> qcow2, qcow2 -> raw, raw -> streamOptimized VMDK.  For each
# it prints wall seconds and peak RSS (from /usr/bin/time -v) of ours, of
# qemu-img convert alone and of qemu-img convert + sha256sum, and the
# ratios ours / (qemu-img convert) and ours / (convert + sha256sum); below
# 1.0 means we are faster.  Every file is read once before it is timed so
# that both sides start from a warm page cache.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DISK=$BUILD/bin/virtrigaud-disk
SIZE_MB=${SIZE_MB:-4096}
if [ ! -x "$DISK" ]; then
    echo "pipeline.sh: $DISK does not exist; run make BUILD=$BUILD first." >&2
    exit 2
fi
for c in qemu-img sha256sum /usr/bin/time; do
    command -v "$c" >/dev/null || { echo "pipeline.sh: needs $c" >&2; exit 2; }
done

DIR=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/vrt-pipe-bench.XXXXXX")
trap 'rm -rf -- "$DIR"' EXIT
cd "$DIR"
echo "filesystem: $(df -PT . | awk 'NR == 2 { print $2 " (" $1 ")" }')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Half random, half zero: random 64 MiB extents every other 64 MiB.
qemu-img create -q -f raw src.raw "${SIZE_MB}M"
for ((mb = 0; mb < SIZE_MB; mb += 128)); do
    dd if=/dev/urandom of=src.raw bs=1M seek=$mb count=64 conv=notrunc \
        status=none
done
qemu-img convert -O qcow2 src.raw src.qcow2

# run LABEL CMD...: runs CMD under /usr/bin/time -v; sets SECS and RSS_KB.
run() {
    local label=$1
    shift
    /usr/bin/time -v -o time.txt "$@" >out.txt 2>err.txt || {
        echo "$label failed:" >&2
        cat err.txt >&2
        exit 1
    }
    SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0
        for (i = 1; i <= n; i++) s = s * 60 + p[i]
        print s }' time.txt)
    RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' time.txt)
}

# Reads FILE into the page cache, and writes back what earlier steps left
# dirty, so that no run pays for another's writeback.
warm() {
    cat "$1" >/dev/null
    sync
}

bench_case() {
    local name=$1 src=$2 ofmt=$3 qopts=$4
    warm "$src"
    rm -f ours.out qemu.out
    # --no-sync: qemu-img convert does not fsync its output either.
    run "ours" "$DISK" convert --no-sync -O "$ofmt" "$src" ours.out
    local ours=$SECS ours_rss=$RSS_KB
    sync
    local content
    content=$(sed -n 's/^content-sha256: //p' out.txt)
    # shellcheck disable=SC2086 # qopts holds separate words
    run "qemu-img" qemu-img convert $qopts "$src" qemu.out
    local q=$SECS q_rss=$RSS_KB
    sync
    run "sha256sum" sha256sum qemu.out
    local s=$SECS s_rss=$RSS_KB
    awk -v n="$name" -v o="$ours" -v orss="$ours_rss" -v q="$q" \
        -v qrss="$q_rss" -v s="$s" -v srss="$s_rss" 'BEGIN {
        printf "%-22s ours %7.2fs %6d KiB | qemu-img %7.2fs %6d KiB | +sha256sum %7.2fs %6d KiB | ratio vs convert %.2f, vs convert+sha %.2f\n",
            n, o, orss, q, qrss, q + s, (qrss > srss ? qrss : srss),
            (q > 0 ? o / q : 0), (q + s > 0 ? o / (q + s) : 0) }'
    echo "    content-sha256 $content"
}

echo "image: ${SIZE_MB} MiB, half random, half zero"
bench_case "raw -> qcow2" src.raw qcow2 "-O qcow2"
bench_case "qcow2 -> raw" src.qcow2 raw "-O raw"
bench_case "raw -> streamOptimized" src.raw vmdk-stream \
    "-O vmdk -o subformat=streamOptimized"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
