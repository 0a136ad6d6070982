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
#   CASES="qcow2 raw" bench/pipeline.sh    only some cases: qcow2 (raw ->
#                                          qcow2), raw (qcow2 -> raw),
#                                          stream (raw -> streamOptimized)
#
# Cases: raw -> qcow2, qcow2 -> raw, raw -> streamOptimized VMDK.  For each
# it prints the median wall seconds, CPU seconds (user + system) and peak
# RSS (from /usr/bin/time) of ours, of qemu-img convert alone and of
# qemu-img convert + sha256sum, and the ratios ours / (qemu-img convert)
# and ours / (convert + sha256sum); below 1.0 means ours is faster.
# "ours" runs in three variants: the default, flat SHA-256s (what
# sha256sum prints, what status fields hold) of the content and the output;
# the opt-in --tree-digest (SHA-256 over the SHA-256s of 1 MiB leaves: zero
# leaves cost nothing, leaves are digested on every core) of both; and the
# tree digest of the content alone (--no-output-digest), which is "convert
# + content checksum".  TREE=0 runs the default only.  Runs
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
CASES=${CASES:-qcow2 raw stream}
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

# Our variants, each "label|flags": the default (flat SHA-256s, both
# digests), the tree digest with both, and the tree digest of the content
# alone (convert + content checksum, what the target is about).  TREE=0
# runs the default only.
VARIANTS=("flat, both digests|")
if [ "$TREE" = 1 ]; then
    VARIANTS+=("tree, both digests|--tree-digest"
               "tree, content only|--tree-digest --no-output-digest")
fi

bench_case() {
    local name=$1 src=$2 ofmt=$3 qopts=$4
    local -a qw qc qrss sw sc srss
    local -A vw vc vrss
    local content="" i v label flags
    cat "$src" >/dev/null
    sync
    for ((i = 0; i < REPEAT; i++)); do
        for v in "${!VARIANTS[@]}"; do
            flags=${VARIANTS[$v]#*|}
            rm -f ours.out
            sync
            # --no-sync: qemu-img convert does not fsync its output either.
            # shellcheck disable=SC2086 # flags holds separate words
            run "ours $flags" "$DISK" convert --no-sync $flags -O "$ofmt" \
                "$src" ours.out
            vw[$v]+="$SECS " vc[$v]+="$CPU " vrss[$v]+="$RSS_KB "
            [ "$v" = 0 ] && content=$(sed -n 's/^content-sha256: //p' out.txt)
        done
        rm -f ours.out qemu.out
        sync
        # shellcheck disable=SC2086 # qopts holds separate words
        run "qemu-img" qemu-img convert $qopts "$src" qemu.out
        qw+=("$SECS") qc+=("$CPU") qrss+=("$RSS_KB")
        sync
        run "sha256sum" sha256sum qemu.out
        sw+=("$SECS") sc+=("$CPU") srss+=("$RSS_KB")
    done
    local q s
    q=$(median "${qw[@]}") s=$(median "${sw[@]}")
    echo "$name"
    awk -v q="$q" -v qc="$(median "${qc[@]}")" -v qrss="$(maxof "${qrss[@]}")" \
        -v s="$s" -v sc="$(median "${sc[@]}")" -v srss="$(maxof "${srss[@]}")" \
        'BEGIN {
        printf "  %-28s %7.2fs (cpu %6.2fs, %5.1f MiB)\n", "qemu-img convert", q, qc, qrss / 1024
        printf "  %-28s %7.2fs (cpu %6.2fs, %5.1f MiB)\n", "qemu-img convert + sha256sum", q + s, qc + sc, (qrss > srss ? qrss : srss) / 1024 }'
    for v in "${!VARIANTS[@]}"; do
        label=${VARIANTS[$v]%%|*}
        # shellcheck disable=SC2086 # the lists are space-separated
        awk -v l="ours, $label" -v o="$(median ${vw[$v]})" \
            -v oc="$(median ${vc[$v]})" -v orss="$(maxof ${vrss[$v]})" \
            -v q="$q" -v s="$s" 'BEGIN {
            printf "  %-28s %7.2fs (cpu %6.2fs, %5.1f MiB)  ours/convert %.2f  ours/(convert+sha256sum) %.2f\n",
                l, o, oc, orss / 1024, (q > 0 ? o / q : 0), (q + s > 0 ? o / (q + s) : 0) }'
    done
    echo "  content-sha256 $content"
}

echo "image: ${SIZE_MB} MiB, half random, half zero; median of $REPEAT runs"
echo "ours = one pass: convert + content digest (+ output digest); flat = SHA-256 as sha256sum prints, tree = --tree-digest"
case " $CASES " in *" qcow2 "*)
    bench_case "raw -> qcow2" src.raw qcow2 "-O qcow2" ;; esac
case " $CASES " in *" raw "*)
    bench_case "qcow2 -> raw" src.qcow2 raw "-O raw" ;; esac
case " $CASES " in *" stream "*)
    bench_case "raw -> streamOptimized" src.raw vmdk-stream \
        "-O vmdk -o subformat=streamOptimized" ;; esac
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
