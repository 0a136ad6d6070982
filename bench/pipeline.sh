#!/usr/bin/env bash
# bench/pipeline.sh - the disk pipeline (virtrigaud-disk convert: one pass
# that converts and computes the content and output SHA-256) against
# `qemu-img convert` alone and `qemu-img convert` followed by `sha256sum`
# of its output, on the same image in the same run.  Not a test; prints
# numbers only.
#
#   BUILD=build bench/pipeline.sh          the figures of record: a 4 GiB
#                                          image, half random, half zero
#   SIZE_MB=1024 bench/pipeline.sh         a smaller image
#   REPEAT=1 bench/pipeline.sh             one run per case (default 3,
#                                          medians reported)
#   BENCH_DIR=/var/tmp bench/pipeline.sh   where the images go (needs 3x
#                                          the image size free)
#
# Cases: raw -> qcow2, qcow2 -> raw, raw -> streamOptimized VMDK.  For each
# it prints the median wall seconds, CPU seconds (user + system) and peak
# RSS (from /usr/bin/time) of ours, of qemu-img convert alone and of
# qemu-img convert + sha256sum, and the ratios ours / (qemu-img convert)
# and ours / (convert + sha256sum); below 1.0 means ours is faster.
# "ours" is the default, a flat SHA-256 (what sha256sum prints, what status
# fields hold).  A second line, "tree", is the opt-in --tree-digest (SHA-256
# over the SHA-256s of 1 MiB leaves; zero leaves cost nothing) for
# comparison; TREE=0 leaves it out.  Runs
# of ours and qemu-img alternate, so that load from other work falls on
# both.  Every file is read once before it is timed so that both sides
# start from a warm page cache, and dirty pages are written back between
# runs so that no run pays for another's writeback.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DISK=$BUILD/bin/virtrigaud-disk
SIZE_MB=${SIZE_MB:-4096}
REPEAT=${REPEAT:-3}
TREE=${TREE:-1}
if [ ! -x "$DISK" ]; then
    echo "pipeline.sh: $DISK does not exist; run make BUILD=$BUILD first." >&2
    exit 2
fi
for c in qemu-img sha256sum /usr/bin/time df; do
    command -v "$c" >/dev/null || { echo "pipeline.sh: needs $c" >&2; exit 2; }
done
case $SIZE_MB$REPEAT in
*[!0-9]*) echo "pipeline.sh: SIZE_MB and REPEAT must be numbers." >&2; exit 2 ;;
esac

PARENT=${BENCH_DIR:-${TMPDIR:-/tmp}}
# The source raw image and its qcow2 take about the image size (half of
# it is holes), and two outputs at a time another size or so: ask for 3x.
need_kb=$((SIZE_MB * 1024 * 3))
free_kb=$(df -Pk "$PARENT" | awk 'NR == 2 { print $4 }')
if [ "$free_kb" -lt "$need_kb" ]; then
    echo "pipeline.sh: $PARENT has $((free_kb / 1024)) MiB free; a ${SIZE_MB} MiB image needs $((need_kb / 1024)) MiB (3x). Set BENCH_DIR or SIZE_MB." >&2
    exit 2
fi

DIR=$(mktemp -d "$PARENT/vrt-pipe-bench.XXXXXX")
trap 'rm -rf -- "$DIR"' EXIT
cd "$DIR"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores"
echo "filesystem: $(df -PT . | awk 'NR == 2 { print $2 " (" $1 ")" }'), $((free_kb / 1024)) MiB free"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Half random, half zero: random 64 MiB extents every other 64 MiB.
qemu-img create -q -f raw src.raw "${SIZE_MB}M"
for ((mb = 0; mb < SIZE_MB; mb += 128)); do
    dd if=/dev/urandom of=src.raw bs=1M seek=$mb count=64 conv=notrunc \
        status=none
done
qemu-img convert -O qcow2 src.raw src.qcow2

# run LABEL CMD...: runs CMD under /usr/bin/time; sets SECS, CPU, RSS_KB.
run() {
    local label=$1
    shift
    /usr/bin/time -f '%e %U %S %M' -o time.txt "$@" >out.txt 2>err.txt || {
        echo "$label failed:" >&2
        cat err.txt >&2
        exit 1
    }
    read -r SECS user sys RSS_KB <time.txt
    CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}

# median N...: the middle value (the lower middle for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
maxof() {
    printf '%s\n' "$@" | sort -g | tail -n 1
}

bench_case() {
    local name=$1 src=$2 ofmt=$3 qopts=$4
    local -a ow oc orss tw tc trss qw qc qrss sw sc srss
    local content="" i
    cat "$src" >/dev/null
    sync
    for ((i = 0; i < REPEAT; i++)); do
        rm -f ours.out qemu.out
        sync
        # --no-sync: qemu-img convert does not fsync its output either.
        run "ours" "$DISK" convert --no-sync -O "$ofmt" "$src" ours.out
        ow+=("$SECS") oc+=("$CPU") orss+=("$RSS_KB")
        content=$(sed -n 's/^content-sha256: //p' out.txt)
        rm -f ours.out
        sync
        if [ "$TREE" = 1 ]; then
            run "ours --tree-digest" "$DISK" convert --no-sync --tree-digest \
                -O "$ofmt" "$src" ours.out
            tw+=("$SECS") tc+=("$CPU") trss+=("$RSS_KB")
            rm -f ours.out
            sync
        fi
        # shellcheck disable=SC2086 # qopts holds separate words
        run "qemu-img" qemu-img convert $qopts "$src" qemu.out
        qw+=("$SECS") qc+=("$CPU") qrss+=("$RSS_KB")
        sync
        run "sha256sum" sha256sum qemu.out
        sw+=("$SECS") sc+=("$CPU") srss+=("$RSS_KB")
    done
    local t=0 tcpu=0 trssmax=0
    if [ "$TREE" = 1 ]; then
        t=$(median "${tw[@]}") tcpu=$(median "${tc[@]}") trssmax=$(maxof "${trss[@]}")
    fi
    awk -v n="$name" -v o="$(median "${ow[@]}")" -v oc="$(median "${oc[@]}")" \
        -v t="$t" -v tc="$tcpu" -v trss="$trssmax" \
        -v orss="$(maxof "${orss[@]}")" -v q="$(median "${qw[@]}")" \
        -v qc="$(median "${qc[@]}")" -v qrss="$(maxof "${qrss[@]}")" \
        -v s="$(median "${sw[@]}")" -v sc="$(median "${sc[@]}")" \
        -v srss="$(maxof "${srss[@]}")" 'BEGIN {
        printf "%-22s ours %7.2fs (cpu %6.2fs, %4.1f MiB) | qemu-img convert %7.2fs (cpu %6.2fs, %4.1f MiB) | + sha256sum %7.2fs (cpu %6.2fs, %4.1f MiB)\n",
            n, o, oc, orss / 1024, q, qc, qrss / 1024, q + s, qc + sc,
            (qrss > srss ? qrss : srss) / 1024
        printf "%-22s ratio ours/convert %.2f, ours/(convert+sha256sum) %.2f\n",
            "", (q > 0 ? o / q : 0), (q + s > 0 ? o / (q + s) : 0)
        if (t > 0)
            printf "%-22s tree %7.2fs (cpu %6.2fs, %4.1f MiB): ratio tree/convert %.2f, tree/(convert+sha256sum) %.2f\n",
                "", t, tc, trss / 1024, t / q, t / (q + s) }'
    echo "    content-sha256 $content"
}

echo "image: ${SIZE_MB} MiB, half random, half zero; median of $REPEAT runs"
echo "ours = convert + content SHA-256 + output SHA-256 in one pass (flat SHA-256 of the whole virtual size)"
bench_case "raw -> qcow2" src.raw qcow2 "-O qcow2"
bench_case "qcow2 -> raw" src.qcow2 raw "-O raw"
bench_case "raw -> streamOptimized" src.raw vmdk-stream \
    "-O vmdk -o subformat=streamOptimized"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
