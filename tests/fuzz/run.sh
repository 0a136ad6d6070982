#!/usr/bin/env bash
# tests/fuzz/run.sh - the libFuzzer targets of tests/fuzz/ (one per parser
# of untrusted input), built with clang, each replayed over its corpus in
# tests/fuzz/corpus/NAME/ (seeds and every crash found so far, which must
# stay fixed) and then fuzzed for a few seconds (FUZZ_SMOKE_SECONDS, 5).
# The long runs are `make fuzz` (tests/fuzz/README.md).
#
# Release pass only: the targets are clang builds with their own
# ASan+UBSan whatever SANITIZER the pass uses, so the ASan pass would run
# the very same binaries again (and the valgrind pass runs no shell suite).
set -u
. "$(dirname "$0")/../lib.sh"
cd "$VRT_SRC_DIR" || exit 1

if [ -n "${SANITIZER:-}" ]; then
    why="run in the release pass only: the fuzz binaries are the same"
    t_skip "fuzz targets over their corpora" \
        "$why clang ASan+UBSan builds in every pass"
    t_done
    exit $?
fi
if ! command -v clang >/dev/null 2>&1; then
    t_skip "fuzz targets over their corpora" \
        "clang is not installed (tests/fuzz/debian-packages.txt lists it)"
    t_done
    exit $?
fi

SMOKE=${FUZZ_SMOKE_SECONDS:-5}
FUZZ=$BUILD/fuzz
# The parsers of untrusted input that must each have a target.
EXPECTED="yaml schema kubeconfig patch selector jsonpath cron quantity
          protobuf route libvirt_xml vsphere_soap proxmox_json image"

if ! t_exec make -s BUILD="$BUILD" fuzz-build -j2; then
    t_fail "build every fuzz target with clang" "make fuzz-build failed" \
        "$T_OUT"
    t_done
    exit $?
fi
t_pass "build every fuzz target with clang"

for name in $EXPECTED; do
    if [ -f "tests/fuzz/fuzz_$name.c" ]; then
        t_pass "$name: has a fuzz target"
    else
        t_fail "$name: has a fuzz target" "tests/fuzz/fuzz_$name.c is missing"
    fi
done

# Every target module.mk builds (it leaves out one whose parser is not in
# the tree yet).
TARGETS=$(make -s --no-print-directory BUILD="$BUILD" fuzz-list)
t_mktemp WORK
for name in $TARGETS; do
    bin=$FUZZ/fuzz_$name
    corpus=tests/fuzz/corpus/$name
    n=$(find "$corpus" -type f 2>/dev/null | wc -l)
    if [ "$n" -lt 1 ]; then
        t_fail "$name: has a seed corpus" "$corpus is empty or missing"
        continue
    fi
    t_pass "$name: has a seed corpus ($n inputs)"
    # -runs=0: every corpus input once, no mutation.
    if t_exec "$bin" -runs=0 -timeout=30 -rss_limit_mb=2048 \
        -artifact_prefix="$WORK/$name-" "$corpus" &&
        printf '%s\n' "$T_OUT" | grep -q 'INITED'; then
        t_pass "$name: every corpus input runs clean"
    else
        t_fail "$name: every corpus input runs clean" "a corpus input fails" \
            "$(printf '%s\n' "$T_OUT" | grep -v '^#\|^INFO' | tail -n 40)"
    fi
    mkdir -p "$WORK/$name"
    if t_exec "$bin" -max_total_time="$SMOKE" -timeout=30 \
        -rss_limit_mb=2048 -artifact_prefix="$WORK/$name-" \
        "$WORK/$name" "$corpus" &&
        printf '%s\n' "$T_OUT" | grep -q 'Done [0-9]* runs'; then
        t_pass "$name: ${SMOKE}s of fuzzing find nothing"
    else
        t_fail "$name: ${SMOKE}s of fuzzing find nothing" \
            "a new finding (kept in the log below)" \
            "$(printf '%s\n' "$T_OUT" | grep -v '^#\|^INFO' | tail -n 40)"
    fi
done

t_done
