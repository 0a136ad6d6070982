#!/usr/bin/env bash
# tests/pipeline/run.sh - the disk pipeline (core/pipeline) through
# virtrigaud-disk, judged by qemu-img: round trips raw <-> qcow2 <-> VMDK
# (monolithicSparse and streamOptimized) are identical by `qemu-img
# compare`, clean by `qemu-img check`, and keep one content SHA-256 equal
# to sha256sum of the raw image; images qemu made (qcow2 v2/v3, compressed,
# zero clusters, backing files, both VMDK variants) read back exactly;
# corrupt and hostile images fail with a message naming the problem and
# never crash (this suite also runs in the ASan pass); resume from an
# offset gives the same file and digests.
set -u
. "$(dirname "$0")/../lib.sh"

t_need qemu-img qemu-io

DISK=$BUILD/bin/virtrigaud-disk
t_mktemp W
cd "$W" || exit 1

if [ ! -x "$DISK" ]; then
    t_fail "virtrigaud-disk is built" "no $DISK"
    t_done
fi

sha() { sha256sum "$1" | cut -c1-64; }
# field NAME: the value of "NAME: value" in T_OUT.
field() { printf '%s\n' "$T_OUT" | sed -n "s/^$1: //p" | head -n 1; }
# poke FILE OFFSET HEX: overwrites bytes at OFFSET.
poke() {
    # shellcheck disable=SC2059 # the format is the escaped bytes
    printf "$(printf '%s' "$3" | sed 's/../\\x&/g')" |
        dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
peek_be64() { echo $((16#$(od -An -tx1 -j "$2" -N8 "$1" | tr -d ' \n'))); }
peek_le() { # FILE OFFSET NBYTES
    local h
    h=$(od -An -tx1 -j "$2" -N"$3" "$1" | tr -d '\n' | awk '{for (i = NF; i > 0; i--) printf "%s", $i}')
    echo $((16#$h))
}

# --- a 64 MiB disk: random extents in a sparse file ------------------------
qemu-img create -q -f raw src.raw 64M
for mb in 0 3 17 40 63; do
    dd if=/dev/urandom of=src.raw bs=1M seek=$mb count=1 conv=notrunc status=none
done
dd if=/dev/urandom of=src.raw bs=4096 seek=5000 count=3 conv=notrunc status=none
dd if=/dev/urandom of=src.raw bs=512 seek=70001 count=1 conv=notrunc status=none
# Compressible text, so that qemu's -c really makes compressed clusters.
yes "virtrigaud pipeline $RANDOM" | head -c 2097152 |
    dd of=src.raw bs=1M seek=30 conv=notrunc status=none
SRC_SHA=$(sha src.raw)

t_run "help exits 0" "$DISK" --help
t_run_fails "no arguments is a usage error" "$DISK"
t_grep "info names the format of a raw image" '^format: raw' "$DISK" info src.raw

# --- raw -> every format ---------------------------------------------------
for f in raw qcow2 vmdk vmdk-stream; do
    if t_exec "$DISK" convert -O "$f" src.raw "out.$f"; then
        t_pass "convert raw -> $f"
    else
        t_fail "convert raw -> $f" "failed" "$T_OUT"
        continue
    fi
    t_eq "raw -> $f: content digest is sha256sum of the raw image" \
        "$SRC_SHA" "$(field content-sha256)"
    t_eq "raw -> $f: output digest is sha256sum of the output" \
        "$(sha "out.$f")" "$(field output-sha256)"
    t_eq "raw -> $f: output size is the file's" \
        "$(stat -c %s "out.$f")" "$(field output-size)"
    t_run "raw -> $f: qemu-img compare says identical" \
        qemu-img compare -q src.raw "out.$f"
    if [ "$f" != raw ]; then
        t_grep "raw -> $f: qemu-img check is clean" 'No errors were found' \
            qemu-img check "out.$f"
    fi
done
t_grep "qcow2 output is version 3" 'compat: 1.1' qemu-img info out.qcow2
t_grep "vmdk-stream output is streamOptimized" 'create type: streamOptimized' \
    qemu-img info out.vmdk-stream
# Random grains are stored (deflate gains nothing on them), text still
# deflates: 8 MiB of text must come out far smaller, 8 MiB of random bytes
# no larger than the bytes plus the grains' framing.
yes "virtrigaud text $RANDOM" | head -c 8388608 >text.raw
head -c 8388608 /dev/urandom >rand.raw
for f in text rand; do
    t_exec "$DISK" convert -O vmdk-stream "$f.raw" "$f.vmdk"
    t_run "$f -> vmdk-stream: qemu-img compare says identical" \
        qemu-img compare -q "$f.raw" "$f.vmdk"
done
t_run "text -> vmdk-stream is deflated (under 1 MiB)" \
    test "$(stat -c %s text.vmdk)" -lt 1048576
t_run "random -> vmdk-stream is stored, not grown (under 8.2 MiB)" \
    test "$(stat -c %s rand.vmdk)" -lt 8598323
t_grep "vmdk output is monolithicSparse" 'create type: monolithicSparse' \
    qemu-img info out.vmdk
big=$(stat -c %s out.qcow2)
if [ "$big" -lt $((12 * 1024 * 1024)) ]; then
    t_pass "qcow2 output is sparse ($big bytes for 64 MiB)"
else
    t_fail "qcow2 output is sparse" "$big bytes"
fi

# --- chained round trip through every format ---------------------------------
prev=src.raw
ok=1
for f in qcow2 vmdk-stream vmdk qcow2 raw; do
    next=chain.$RANDOM.$f
    if ! t_exec "$DISK" convert -O "$f" "$prev" "$next" ||
        [ "$(field content-sha256)" != "$SRC_SHA" ]; then
        ok=0
        t_fail "round trip step $prev -> $f" "failed or digest changed" "$T_OUT"
    fi
    prev=$next
done
[ $ok = 1 ] && t_pass "round trip qcow2 -> vmdk-stream -> vmdk -> qcow2 -> raw keeps the content digest"
t_eq "the round trip's raw image is byte-identical" "$SRC_SHA" "$(sha "$prev")"

# --- images made by qemu-img read back exactly --------------------------------
qemu-img convert -O qcow2 -o compat=0.10 src.raw q-v2.qcow2
qemu-img convert -O qcow2 src.raw q-v3.qcow2
qemu-img convert -c -O qcow2 src.raw q-zip.qcow2
qemu-img convert -c -O qcow2 -o compat=0.10,cluster_size=4096 src.raw q-zip4k.qcow2
qemu-img convert -O qcow2 -o cluster_size=2M src.raw q-2m.qcow2
qemu-img convert -O vmdk src.raw q-sparse.vmdk
qemu-img convert -O vmdk -o subformat=streamOptimized src.raw q-stream.vmdk
for img in q-v2.qcow2 q-v3.qcow2 q-zip.qcow2 q-zip4k.qcow2 q-2m.qcow2 \
    q-sparse.vmdk q-stream.vmdk; do
    t_exec "$DISK" hash "$img"
    t_eq "hash of qemu's $img is the raw image's" "$SRC_SHA" "$(field content-sha256)"
    t_exec "$DISK" convert -O raw "$img" "$img.raw"
    t_eq "$img -> raw is byte-identical to the source" "$SRC_SHA" "$(sha "$img.raw")"
done
t_grep "info reads qcow2 v2" '^version: 2' "$DISK" info q-v2.qcow2
t_grep "info reads the streamOptimized variant" '^format: vmdk-stream' \
    "$DISK" info q-stream.vmdk

# Zero clusters and a backing file: an overlay over q-v2.qcow2.
qemu-img create -q -f qcow2 -b q-v2.qcow2 -F qcow2 over.qcow2
qemu-io -c "write -z 0 1M" -c "write -P 0xab 20M 64k" -c "write -z 40M 512k" \
    over.qcow2 >/dev/null
qemu-img convert -O raw over.qcow2 over.ref.raw
t_exec "$DISK" convert -O qcow2 over.qcow2 over.flat.qcow2
t_eq "overlay with zero clusters and a backing file: content digest" \
    "$(sha over.ref.raw)" "$(field content-sha256)"
t_run "overlay flattened to qcow2 compares identical" \
    qemu-img compare -q over.ref.raw over.flat.qcow2
t_run "flattened overlay has no backing file" \
    sh -c "! qemu-img info over.flat.qcow2 | grep -q 'backing file'"
t_grep "info shows the backing file" 'backing-file: .*q-v2.qcow2' \
    "$DISK" info over.qcow2
t_grep "info --json names the backing file" '"backingFile":".*q-v2.qcow2"' \
    "$DISK" info --json over.qcow2
t_grep "--no-backing refuses an overlay" 'has a backing file' \
    "$DISK" hash --no-backing over.qcow2
t_run_fails "--no-backing exits non-zero" "$DISK" hash --no-backing over.qcow2
# A backing file shorter than the overlay reads as zeros past its end.
qemu-img create -q -f qcow2 short.qcow2 1M
qemu-io -c "write -P 0x5a 0 1M" short.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b short.qcow2 -F qcow2 long.qcow2 4M
qemu-img convert -O raw long.qcow2 long.ref.raw
t_exec "$DISK" hash long.qcow2
t_eq "backing file shorter than the overlay" "$(sha long.ref.raw)" \
    "$(field content-sha256)"
# A backing loop.
qemu-img create -q -f qcow2 loop-a.qcow2 1M
qemu-img create -q -f qcow2 -b loop-a.qcow2 -F qcow2 loop-b.qcow2
qemu-img rebase -u -f qcow2 -b loop-b.qcow2 -F qcow2 loop-a.qcow2
t_grep "a backing loop is refused" 'Backing chain deeper than' \
    "$DISK" hash loop-a.qcow2

# --- odd sizes and empty disks -------------------------------------------------
head -c $((5 * 1024 * 1024 + 3 * 512)) /dev/urandom > odd.raw
for f in qcow2 vmdk vmdk-stream; do
    "$DISK" convert -O "$f" odd.raw "odd.$f" >/dev/null 2>&1
    t_run "size not a multiple of the cluster: $f compares identical" \
        qemu-img compare -q odd.raw "odd.$f"
done
qemu-img create -q -f raw empty.raw 64M
for f in qcow2 vmdk vmdk-stream; do
    t_exec "$DISK" convert -O "$f" empty.raw "empty.$f"
    t_eq "empty disk -> $f: all zero bytes" 67108864 "$(field zero-bytes)"
    t_run "empty disk -> $f: qemu-img compare" qemu-img compare -q empty.raw "empty.$f"
done
t_grep "empty qcow2 is clean" 'No errors were found' qemu-img check empty.qcow2

# --- options ---------------------------------------------------------------------
t_exec "$DISK" convert -O qcow2 -c 4096 src.raw c4k.qcow2
t_grep "qcow2 with 4 KiB clusters" 'cluster_size: 4096' qemu-img info c4k.qcow2
t_grep "qcow2 with 4 KiB clusters is clean" 'No errors were found' \
    qemu-img check c4k.qcow2
t_run "qcow2 with 4 KiB clusters compares identical" \
    qemu-img compare -q src.raw c4k.qcow2
for bs in 65536 4194304; do
    t_exec "$DISK" convert -b "$bs" -O vmdk-stream q-zip.qcow2 "bs$bs.vmdk"
    t_eq "block size $bs: content digest" "$SRC_SHA" "$(field content-sha256)"
    t_run "block size $bs: qemu-img compare" qemu-img compare -q src.raw "bs$bs.vmdk"
done
# Clusters that follow each other in the file but not on the disk (a hole
# between them) must not be read as one run: qemu packs data clusters in
# order, so 0-1 MiB and 3-4 MiB sit side by side in gap.qcow2.
qemu-img create -q -f raw gap.raw 8M
dd if=/dev/urandom of=gap.raw bs=1M count=1 conv=notrunc status=none
dd if=/dev/urandom of=gap.raw bs=1M seek=3 count=1 conv=notrunc status=none
qemu-img convert -O qcow2 gap.raw gap.qcow2
for bs in 1048576 4194304; do
    t_exec "$DISK" convert -b "$bs" -O raw gap.qcow2 "gap$bs.raw"
    t_eq "file-adjacent clusters across a hole, block $bs: content digest" \
        "$(sha gap.raw)" "$(field content-sha256)"
    t_run "file-adjacent clusters across a hole, block $bs: same bytes" \
        cmp gap.raw "gap$bs.raw"
done
# --tree-digest (opt-in): SHA-256 over the SHA-256s of 1 MiB leaves, as
# coreutils recompute it; one value for every format of a disk, whatever
# the block size (a leaf spans several 64 KiB blocks); the default output
# keeps its sha256sum names.
tree() {
    split -b 1M --filter='sha256sum | cut -c1-64' "$1" | tr -d '\n' |
        tr a-f A-F | basenc --base16 -d | sha256sum | cut -c1-64
}
truncate -s 5000192 odd.raw # not a whole number of leaves
dd if=/dev/urandom of=odd.raw bs=1000 count=700 seek=2000 conv=notrunc status=none
for img in src.raw odd.raw; do
    for f in raw qcow2 vmdk-stream; do
        t_exec "$DISK" convert --tree-digest -b 65536 -O "$f" "$img" "tree.$f"
        t_eq "tree digest, $img -> $f, 64 KiB blocks: content as coreutils compute it" \
            "$(tree "$img")" "$(field content-sha256-tree)"
        t_eq "tree digest, $img -> $f, 64 KiB blocks: output as coreutils compute it" \
            "$(tree "tree.$f")" "$(field output-sha256-tree)"
        t_run "tree digest, $img -> $f: qemu-img compare" \
            qemu-img compare -q "$img" "tree.$f"
    done
done
t_exec "$DISK" hash --tree-digest q-zip.qcow2
t_eq "tree digest of a compressed qcow2 equals the raw image's" \
    "$(tree src.raw)" "$(field content-sha256-tree)"
t_exec "$DISK" hash --tree-digest src.raw
t_eq "tree digest is not printed as content-sha256" "" "$(field content-sha256)"
t_grep "tree digest has its own JSON name" '"contentSha256Tree":"' \
    "$DISK" hash --json --tree-digest src.raw
t_grep "a block smaller than a grain is refused" 'between 64 KiB and 64 MiB' \
    "$DISK" convert -b 4096 -O vmdk src.raw bs.vmdk
t_grep "bad cluster size is refused" 'not a power of two' \
    "$DISK" convert -O qcow2 -c 3000 src.raw bad.qcow2
t_grep "progress reaches 100%" 'progress: 67108864/67108864 bytes \(100.0%\)' \
    "$DISK" hash --progress src.raw
t_exec "$DISK" hash --json q-zip.qcow2
if printf '%s' "$T_OUT" | grep -q "\"contentSha256\":\"$SRC_SHA\""; then
    t_pass "--json prints the content digest"
else
    t_fail "--json prints the content digest" "no" "$T_OUT"
fi

# --- resume --------------------------------------------------------------------------
"$DISK" convert -O raw q-zip.qcow2 full.raw >/dev/null 2>&1
for cut in $((20 * 1048576)) $((20 * 1048576 + 12345)) 0; do
    head -c "$cut" full.raw > part.raw
    # Garbage past the cut must not survive.
    printf 'garbage' >> part.raw
    t_exec "$DISK" convert -O raw --resume-from "$cut" q-zip.qcow2 part.raw
    t_eq "resume from $cut: content digest" "$SRC_SHA" "$(field content-sha256)"
    t_eq "resume from $cut: output digest" "$SRC_SHA" "$(field output-sha256)"
    t_eq "resume from $cut: same file" "$SRC_SHA" "$(sha part.raw)"
done
# A resume offset inside the first block starts over, but still empties the
# file: bytes where the disk has zero blocks (written as holes) must go.
head -c 1000 full.raw > part.raw
printf 'garbage' | dd of=part.raw bs=1 seek=1048600 conv=notrunc status=none
t_exec "$DISK" convert -O raw --resume-from 1000 q-zip.qcow2 part.raw
t_eq "resume from 1000 (inside block 0): same file, no stale bytes" "$SRC_SHA" "$(sha part.raw)"
# An output shorter than the offset resumes from its own end.
head -c $((5 * 1048576)) full.raw > short.raw
t_exec "$DISK" convert -O raw --resume-from $((30 * 1048576)) q-zip.qcow2 short.raw
t_eq "resume past the end of a short output: same file" "$SRC_SHA" "$(sha short.raw)"
t_eq "resume past the end of a short output: content digest" "$SRC_SHA" \
    "$(field content-sha256)"
t_grep "the input cannot be its own output" 'is the input image itself' \
    "$DISK" convert -O raw src.raw src.raw
t_eq "a refused self-conversion leaves the input alone" "$SRC_SHA" "$(sha src.raw)"
t_grep "resume into qcow2 is refused" 'raw output only' \
    "$DISK" convert -O qcow2 --resume-from 1048576 src.raw r.qcow2
t_grep "resume past the end is refused" 'past the end of the disk' \
    "$DISK" convert -O raw --resume-from 999999999999 src.raw r.raw

# --- corrupt and hostile images ----------------------------------------------------
# expect_error NAME REGEX ARGS...: fails cleanly (not by a signal) with REGEX.
expect_error() {
    local name=$1 re=$2 rc=0
    shift 2
    t_exec "$DISK" "$@" || rc=$?
    if [ "$rc" -eq 1 ] && printf '%s\n' "$T_OUT" | grep -Eq -- "$re"; then
        t_pass "$name"
    else
        t_fail "$name" "exit status $rc, want 1 and /$re/" "$T_OUT"
    fi
}
head -c 50 q-v3.qcow2 > trunc-head.qcow2
expect_error "qcow2 truncated in its header" 'truncated' hash -f qcow2 trunc-head.qcow2
head -c 300000 q-v3.qcow2 > trunc.qcow2
expect_error "qcow2 truncated after its tables" 'past the end of the file|truncated' \
    hash trunc.qcow2
cp q-v3.qcow2 magic.qcow2; poke magic.qcow2 0 00000000
expect_error "qcow2 with a bad magic (forced format)" 'no qcow2 magic' hash -f qcow2 magic.qcow2
cp q-v3.qcow2 ver.qcow2; poke ver.qcow2 4 00000009
expect_error "qcow2 version 9" 'version 9' hash ver.qcow2
cp q-v3.qcow2 huge.qcow2; poke huge.qcow2 24 4000000000000000
expect_error "qcow2 with a huge virtual size" 'virtual size of [0-9]+ bytes, more than the limit' \
    hash huge.qcow2
cp q-v3.qcow2 cbits.qcow2; poke cbits.qcow2 20 00000040
expect_error "qcow2 with a bad cluster size" 'bad qcow2 cluster size' hash cbits.qcow2
cp q-v3.qcow2 l1.qcow2; poke l1.qcow2 40 00000000ffff0000
expect_error "qcow2 L1 table past the end of the file" 'L1 table .* outside the file' hash l1.qcow2
cp q-v3.qcow2 l1small.qcow2; poke l1small.qcow2 36 00000000
expect_error "qcow2 L1 too small for the size" 'L1 table of 0 entries' hash l1small.qcow2
L1=$(peek_be64 q-v3.qcow2 40)
cp q-v3.qcow2 l2.qcow2; poke l2.qcow2 "$L1" 80000000fff00000
expect_error "qcow2 L2 offset past the end of the file" 'L2 table offset [0-9]+ is unaligned or past the end' \
    hash l2.qcow2
L2=$(($(peek_be64 q-v3.qcow2 "$L1") & 0x00fffffffffffe00))
cp q-v3.qcow2 data.qcow2; poke data.qcow2 "$L2" 80000000ff000000
expect_error "qcow2 data cluster past the end of the file" 'data cluster offset [0-9]+ is unaligned or past the end' \
    hash data.qcow2
cp q-v3.qcow2 enc.qcow2; poke enc.qcow2 32 00000001
expect_error "encrypted qcow2 is refused" 'encrypted' hash enc.qcow2
cp q-v3.qcow2 feat.qcow2; poke feat.qcow2 72 0000000000000004
expect_error "unknown incompatible features are refused" 'incompatible features' hash feat.qcow2
ZL1=$(peek_be64 q-zip.qcow2 40)
ZL2=$(($(peek_be64 q-zip.qcow2 "$ZL1") & 0x00fffffffffffe00))
ZE=$(peek_be64 q-zip.qcow2 $((ZL2 + 480 * 8))) # the cluster at 30 MiB
ZD=$((ZE & 0x3fffffffffffff))
if [ $(((ZE >> 62) & 1)) = 1 ]; then
    t_pass "qemu -c made a compressed cluster of the text at 30 MiB"
else
    t_fail "qemu -c made a compressed cluster of the text at 30 MiB" "L2 entry $ZE"
fi
cp q-zip.qcow2 zip.qcow2
# Zeros open a stored deflate block whose length check fails.
dd if=/dev/zero of=zip.qcow2 bs=1 seek="$ZD" count=64 conv=notrunc status=none
expect_error "qcow2 compressed cluster that does not inflate" 'does not inflate' hash zip.qcow2

head -c 300 q-sparse.vmdk > vtrunc.vmdk
expect_error "VMDK truncated in its header" 'truncated' hash vtrunc.vmdk
cp q-sparse.vmdk vgrain.vmdk; poke vgrain.vmdk 20 0300000000000000
expect_error "VMDK with a bad grain size" 'bad VMDK grain size' hash vgrain.vmdk
cp q-sparse.vmdk vhuge.vmdk; poke vhuge.vmdk 12 00000000000000f0
expect_error "VMDK with a huge capacity" 'more than the limit' hash vhuge.vmdk
cp q-sparse.vmdk vgd.vmdk; poke vgd.vmdk 56 00000000ff000000
expect_error "VMDK grain directory outside the file" 'grain directory .* outside the file' hash vgd.vmdk
GD=$(( $(peek_le q-sparse.vmdk 56 8) * 512 ))
GT=$(( $(peek_le q-sparse.vmdk "$GD" 4) * 512 ))
cp q-sparse.vmdk vgt.vmdk; poke vgt.vmdk "$GT" ffffff00
expect_error "VMDK grain table pointing outside the file" 'grain table points to offset [0-9]+, past the end' \
    hash vgt.vmdk
cp q-sparse.vmdk vgd2.vmdk; poke vgd2.vmdk "$GD" ffffff00
expect_error "VMDK grain table itself outside the file" 'grain table 0 at offset [0-9]+ lies outside' \
    hash vgd2.vmdk
size=$(stat -c %s out.vmdk-stream)
head -c $((size - 1024)) out.vmdk-stream > strunc.vmdk
expect_error "streamOptimized VMDK without its footer" 'no VMDK footer|truncated' hash strunc.vmdk
SGD=$(( $(peek_le out.vmdk-stream $((size - 1024 + 56)) 8) * 512 ))
SGT=$(( $(peek_le out.vmdk-stream "$SGD" 4) * 512 ))
SGR=$(( $(peek_le out.vmdk-stream "$SGT" 4) * 512 ))
cp out.vmdk-stream sbad.vmdk; poke sbad.vmdk $((SGR + 8)) ffffff7f
expect_error "streamOptimized grain with an absurd size" 'compressed grain at [0-9]+ claims' hash sbad.vmdk
cp out.vmdk-stream szip.vmdk
dd if=/dev/zero of=szip.vmdk bs=1 seek=$((SGR + 12)) count=16 conv=notrunc status=none
expect_error "streamOptimized grain that does not inflate" 'does not inflate' hash szip.vmdk
printf '# Disk DescriptorFile\nversion=1\ncreateType="twoGbMaxExtentSparse"\n' > desc.vmdk
expect_error "VMDK descriptor files are refused with a hint" 'descriptor file' hash desc.vmdk
expect_error "a missing image" 'Cannot open image' hash nowhere.qcow2
expect_error "a directory is not an image" 'not a regular file' hash .

# VMDK snapshot deltas need their parent: refused, not read as a whole disk.
qemu-img convert -O vmdk src.raw base.vmdk
qemu-img create -q -f vmdk -b base.vmdk -F vmdk delta.vmdk
expect_error "a VMDK delta (parentCID set) is refused, naming it" 'VMDK delta \(parentCID=' \
    hash delta.vmdk
t_exec "$DISK" hash base.vmdk
t_eq "its monolithicSparse parent still converts" "$SRC_SHA" "$(field content-sha256)"
# A qcow2 cluster too small for the disk fails at once, not at the end.
truncate -s 200G huge.raw
expect_error "512-byte clusters on a 200 GiB disk are refused up front" 'too small for a disk' \
    convert -O qcow2 --cluster-size 512 huge.raw huge.qcow2
rm -f huge.raw huge.qcow2

t_done
