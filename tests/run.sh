#!/usr/bin/env bash
# tests/run.sh - the one test runner.  `make check` calls it with BUILD and
# SANITIZER set; run it by hand the same way:
#
#   BUILD=build tests/run.sh
#   TESTS='loader|vcts' make check       only suites whose name matches
#   VALGRIND=1 make BUILD=build-vg check unit tests and vcts on mock under
#                                        valgrind (needs a build without
#                                        SANITIZER); nothing else runs
#
# Suites, in this order:
#   unit/NAME    every $BUILD/tests/test_* (cmocka, read as TAP)
#   abi/NAME     every tests/abi/*.sh  (or tests/abi/run.sh alone if present)
#   DIR          every other tests/DIR/run.sh
#   vcts/PLUGIN  vcts against $BUILD/plugins/PLUGIN.so for each
#                tests/vcts/PLUGIN.json
# A shell suite prints PASS/FAIL/SKIP lines and closes with
# "N passed, N failed, N skipped" (tests/lib.sh does both).  A suite that
# exits non-zero, times out, or reports fewer results than it planned,
# without a counted failure, counts as one failure: a crash is never a pass.
#
# Output: a line per suite, then the total "N passed, N failed, N skipped"
# alone on the last line.  Exit status 0 only when nothing failed and at
# least one test ran.  Each suite's full output is in $BUILD/test-logs/.
#
# Other knobs: TEST_TIMEOUT (seconds per suite, default 600; x4 under
# valgrind), T_VERBOSE=1 (print every suite's whole output).

# `make check` runs us with sh; the rest needs bash.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2

BUILD=${BUILD:-build}
if [ ! -d "$BUILD" ]; then
    echo "run.sh: build directory \"$BUILD\" does not exist; run make first." >&2
    exit 2
fi
BUILD=$(cd "$BUILD" && pwd)
SANITIZER=${SANITIZER:-}
VALGRIND=${VALGRIND:-0}
TESTS=${TESTS:-}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}

export BUILD SANITIZER VRT_SRC_DIR=$ROOT
export VRT_PLUGIN_DIR=$BUILD/plugins
export VRT_TEST_PLUGIN_DIR=$BUILD/tests/plugins
export PATH=$BUILD/bin:$PATH

if [ "$VALGRIND" = 1 ] && [ -n "$SANITIZER" ]; then
    echo "run.sh: VALGRIND=1 cannot run a SANITIZER=$SANITIZER build; use a" \
         "separate BUILD without SANITIZER." >&2
    exit 2
fi

VG=()
if [ "$VALGRIND" = 1 ]; then
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "run.sh: VALGRIND=1 but valgrind is not installed" \
             "(tools/install-deps.sh installs it)." >&2
        exit 2
    fi
    # shellcheck disable=SC2054 # the commas belong to valgrind's option
    VG=(valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect
        --error-exitcode=9 --suppressions="$ROOT/tests/valgrind.supp"
        --num-callers=30)
    TEST_TIMEOUT=$((TEST_TIMEOUT * 4))
    # Keep plugins mapped so that leak stacks inside them are symbolised.
    export VRT_NO_DLCLOSE=1
fi

if [ -n "$SANITIZER" ]; then
    # Respect the caller's options; otherwise fail on the first report.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
    export VRT_NO_DLCLOSE=1
fi

LOGDIR=$BUILD/test-logs
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"

TOTAL_P=0
TOTAL_F=0
TOTAL_S=0
SUITES_RUN=0
FAILED_SUITES=()

selected() {
    [ -z "$TESTS" ] && return 0
    [[ $1 =~ $TESTS ]]
}

# Shows what a failed suite printed: all of it when short, else its tail.
show_log() {
    local log=$1 n
    n=$(wc -l <"$log")
    if [ "$n" -gt 200 ] && [ "${T_VERBOSE:-0}" != 1 ]; then
        echo "    ... $((n - 200)) earlier lines in $log"
        tail -n 200 "$log" | sed 's/^/    | /'
    else
        sed 's/^/    | /' "$log"
    fi
}

# run_suite NAME KIND CMD...   KIND is "tap" (cmocka) or "summary" (the
# closing "N passed, N failed[, N skipped]" line).
run_suite() {
    local name=$1 kind=$2
    shift 2
    selected "$name" || return 0

    local log=$LOGDIR/${name//\//_}.log
    local start=$SECONDS rc=0 p=0 f=0 s=0 plan=0 note=""
    # Credentials the suite registers (t_secret) must not be in its output.
    local secrets=$LOGDIR/.${name//\//_}.secrets
    : >"$secrets"
    chmod 600 "$secrets"
    # The subshell keeps bash's own "Segmentation fault" notice in the log.
    (export VRT_SECRETS_FILE=$secrets
     timeout -k 10 "$TEST_TIMEOUT" "$@" </dev/null >"$log" 2>&1; exit $?) \
        2>>"$log" || rc=$?
    local secs=$((SECONDS - start)) leaked=0
    [ -s "$secrets" ] && grep -qF -f "$secrets" "$log" && leaked=1
    rm -f "$secrets"

    # A suite is broken (one failure unless it counted its own) when it
    # stopped early, exited non-zero, or did not report as agreed.
    local broken=0
    if [ "$kind" = tap ]; then
        read -r p f s plan < <(awk '
            /^(not )?ok [0-9]+/ {
                if ($0 ~ /# SKIP/) s++; else if ($0 ~ /^ok/) p++; else f++
            }
            /^1\.\.[0-9]+/ { plan += substr($1, 4) + 0 }
            END { print p + 0, f + 0, s + 0, plan + 0 }' "$log")
        if [ $((p + f + s)) -lt "$plan" ]; then
            note="reported $((p + f + s)) of $plan planned results"
            broken=1
        elif [ "$plan" -eq 0 ]; then
            note="printed no TAP plan"
            broken=1
        fi
    else
        local line
        line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' \
               "$log" | tail -n 1)
        if [ -n "$line" ]; then
            line=${line#*: }
            p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
            f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
            if [[ $line == *skipped ]]; then
                s=$(sed -E 's/.*, ([0-9]+) skipped$/\1/' <<<"$line")
            fi
        else
            note="printed no closing \"N passed, N failed\" line"
            broken=1
        fi
    fi

    local why=""
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        why="timed out after ${TEST_TIMEOUT}s"
    elif [ ${#VG[@]} -gt 0 ] && grep -q 'ERROR SUMMARY: [1-9]' "$log"; then
        why="valgrind reported memory errors or leaks"
    elif [ "$rc" -gt 128 ]; then
        why="killed by signal $((rc - 128))"
    elif [ "$rc" -ne 0 ]; then
        why="exited with status $rc"
    elif [ "$f" -gt 0 ]; then
        why="reported failures but exited 0"
    fi
    if [ "$leaked" -eq 1 ]; then
        why="${why:+$why; }its output holds a credential it registered with t_secret"
        broken=1
        f=$((f + 1))
    fi
    [ "$rc" -ne 0 ] && broken=1
    note=$note${note:+${why:+; }}$why
    [ "$broken" -eq 1 ] && [ "$f" -eq 0 ] && f=1

    SUITES_RUN=$((SUITES_RUN + 1))
    TOTAL_P=$((TOTAL_P + p))
    TOTAL_F=$((TOTAL_F + f))
    TOTAL_S=$((TOTAL_S + s))
    printf '%-6s %-34s %4d passed, %d failed, %d skipped  (%ds)%s\n' \
        "$([ "$f" -eq 0 ] && echo ok || echo FAIL)" "$name" "$p" "$f" "$s" \
        "$secs" "${note:+  -- $note}"
    if [ "$f" -gt 0 ]; then
        FAILED_SUITES+=("$name")
        show_log "$log"
    elif [ "${T_VERBOSE:-0}" = 1 ]; then
        show_log "$log"
    elif [ "$s" -gt 0 ]; then
        # Skips stay visible, with their reasons.
        grep -E '^SKIP |# SKIP' "$log" | head -n 20 | sed 's/^/    | /'
    fi
}

echo "tests: BUILD=$BUILD SANITIZER=${SANITIZER:-none}" \
     "VALGRIND=$VALGRIND${TESTS:+ TESTS=$TESTS}"

# (a) unit tests ----------------------------------------------------------
for bin in "$BUILD"/tests/test_*; do
    if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
    run_suite "unit/${bin##*/}" tap \
        env CMOCKA_MESSAGE_OUTPUT=TAP "${VG[@]}" "$bin"
done

# (b) shell suites --------------------------------------------------------
# Skipped under valgrind: they ran in the plain pass, and valgrind covers
# the C code through the unit tests and vcts.
if [ "$VALGRIND" != 1 ]; then
    shell_suites=()
    if [ -f tests/abi/run.sh ]; then
        shell_suites+=(tests/abi/run.sh)
    else
        for f in tests/abi/*.sh; do
            [ -f "$f" ] || continue
            case ${f##*/} in lib.sh|_*) continue ;; esac
            shell_suites+=("$f")
        done
    fi
    for f in tests/*/run.sh; do
        [ -f "$f" ] && [ "$f" != tests/abi/run.sh ] && shell_suites+=("$f")
    done
    for f in "${shell_suites[@]}"; do
        case $f in
            */run.sh) name=${f#tests/}; name=${name%/run.sh} ;;
            *)        name=${f#tests/}; name=${name%.sh} ;;
        esac
        run_suite "$name" summary bash "$f"
    done
fi

# (c) vcts against each plugin with a config -------------------------------
for cfg in tests/vcts/*.json; do
    [ -f "$cfg" ] || continue
    plugin=$(basename "$cfg" .json)
    [ "$VALGRIND" = 1 ] && [ "$plugin" != mock ] && continue
    so=$VRT_PLUGIN_DIR/$plugin.so
    if [ ! -f "$so" ] || [ ! -x "$BUILD/bin/vcts" ]; then
        selected "vcts/$plugin" || continue
        echo "FAIL   vcts/$plugin  -- $cfg exists but $so or $BUILD/bin/vcts" \
             "was not built"
        TOTAL_F=$((TOTAL_F + 1))
        FAILED_SUITES+=("vcts/$plugin")
        continue
    fi
    run_suite "vcts/$plugin" summary \
        "${VG[@]}" "$BUILD/bin/vcts" --config "$cfg" "$so"
done

# Total -------------------------------------------------------------------
if [ ${#FAILED_SUITES[@]} -gt 0 ]; then
    echo "failed suites: ${FAILED_SUITES[*]}"
fi
if [ "$SUITES_RUN" -eq 0 ] && [ ${#FAILED_SUITES[@]} -eq 0 ]; then
    echo "run.sh: no suite ran${TESTS:+ (TESTS=$TESTS matched nothing)}." >&2
fi
echo "$TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
[ "$TOTAL_F" -eq 0 ] && [ $((TOTAL_P + TOTAL_F)) -gt 0 ]
