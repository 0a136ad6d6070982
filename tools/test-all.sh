#!/usr/bin/env bash
# tools/test-all.sh - every check CI runs, in CI's order.  .ci/run calls
# exactly this, so a green run here is a green CI.
#
#   tools/test-all.sh               deps, headers, then three test passes
#   tools/test-all.sh --no-deps     do not run tools/install-deps.sh
#   tools/test-all.sh --keep        reuse the build directories (faster,
#                                   but stale if the Makefile changed)
#   PASSES="release asan" tools/test-all.sh     a subset of the passes
#   TESTS=pattern tools/test-all.sh             a subset of the suites
#
# Passes, each in its own build directory under build-ci/ so that no pass
# reuses another's objects:
#   release   make WERROR=1 check                     (build-ci/release)
#   asan      make WERROR=1 SANITIZER=address,undefined check
#   valgrind  make WERROR=1 check VALGRIND=1          (unit tests and vcts
#             on mock under valgrind; a build without sanitizers)
# The last line is the sum over the passes, "N passed, N failed, N skipped".
set -euo pipefail

cd "$(dirname "$0")/.."
# Plugins must not be group- or world-writable or the loader refuses them.
umask 022

deps=1
keep=0
for arg in "$@"; do
    case $arg in
        --no-deps) deps=0 ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test-all: unknown argument \"$arg\"; try --help." >&2; exit 2 ;;
    esac
done

PASSES=${PASSES:-release asan valgrind}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
OUT=build-ci
LOGS=$OUT/logs
T0=$SECONDS

TOTAL_P=0
TOTAL_F=0
TOTAL_S=0
SUMMARY=()

section() {
    echo
    echo "=== $* ($(date -u +%H:%M:%SZ), +$((SECONDS - T0))s)"
}

# record NAME RC SECS LOG: adds a pass's closing line to the totals.  A pass
# that failed without a closing line (a compile error, say) counts as one
# failure.
record() {
    local name=$1 rc=$2 secs=$3 log=$4 line p=0 f=0 s=0
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" \
           | tail -n 1 || true)
    if [ -n "$line" ]; then
        read -r p _ f _ s _ <<<"${line//,/}"
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        line="failed before its tests could report (exit status $rc)"
    fi
    TOTAL_P=$((TOTAL_P + p))
    TOTAL_F=$((TOTAL_F + f))
    TOTAL_S=$((TOTAL_S + s))
    SUMMARY+=("$(printf '%-14s %-4s %s  (%ds)' "$name" \
        "$([ "$rc" -eq 0 ] && echo ok || echo FAIL)" "${line:-no tests}" "$secs")")
}

# run_pass NAME MAKE-ARGS...: a clean build and `make check` in its own dir.
run_pass() {
    local name=$1 dir=$OUT/$1 start=$SECONDS rc=0
    shift
    section "$name: make BUILD=$dir $*"
    [ "$keep" -eq 1 ] || rm -rf "$dir"
    # With pipefail the pipeline's status is make's (tee does not fail).
    make -j"$JOBS" BUILD="$dir" "$@" 2>&1 | tee "$LOGS/$name.log" || rc=$?
    record "$name" "$rc" $((SECONDS - start)) "$LOGS/$name.log"
}

mkdir -p "$LOGS"

if [ "$deps" -eq 1 ]; then
    section "dependencies: tools/install-deps.sh"
    if [ "$(id -u)" -eq 0 ]; then
        bash tools/install-deps.sh
    elif ! bash tools/install-deps.sh --check; then
        echo "test-all: packages are missing; run: sudo tools/install-deps.sh" >&2
        exit 1
    fi
fi

section "headers: make headers-check"
start=$SECONDS
rc=0
make headers-check 2>&1 | tee "$LOGS/headers.log" || rc=$?
# One check that can fail: the public headers compile alone in C and C++.
if [ "$rc" -eq 0 ]; then
    echo "1 passed, 0 failed, 0 skipped" >>"$LOGS/headers.log"
fi
record headers-check "$rc" $((SECONDS - start)) "$LOGS/headers.log"

for pass in $PASSES; do
    case $pass in
        release)  run_pass release WERROR=1 check ;;
        asan)     run_pass asan WERROR=1 SANITIZER=address,undefined check ;;
        valgrind) run_pass valgrind WERROR=1 VALGRIND=1 check ;;
        *) echo "test-all: unknown pass \"$pass\" in PASSES." >&2; exit 2 ;;
    esac
done

section "summary"
printf '%s\n' "${SUMMARY[@]}"
echo "total time $((SECONDS - T0))s; logs in $LOGS/ and $OUT/*/test-logs/"
echo "$TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
[ "$TOTAL_F" -eq 0 ]
