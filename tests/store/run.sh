#!/usr/bin/env bash
# The store's durability under kill -9: a writer creates objects as fast
# as it can, printing each one after vrt_store_create returned (that is,
# after the store acknowledged it), and is killed with SIGKILL at a random
# moment; a checker then reopens the store and requires every acknowledged
# object, a gap-free rv sequence, a contiguous event history and a working
# next write.  Runs 5 times with synchronous=FULL (the default) and twice
# with NORMAL, which must survive a process crash as well (it only gives up
# the last commits on power loss, which kill -9 cannot show).
#
# The driver (crashwriter.c beside this script) is compiled here against
# $BUILD/lib/libvrtcore.a, with the same warnings and sanitizer as the
# build.
set -u
. "$(dirname "$0")/../lib.sh"

SRC=$VRT_SRC_DIR
LIB=$BUILD/lib/libvrtcore.a
CW=$BUILD/tests/store/crashwriter
HISTORY=50 # small, so that compaction runs (and gets killed) too

if [ ! -f "$LIB" ]; then
    t_fail "crashwriter builds" "$LIB does not exist; run make first"
    t_done
fi
# The packages the core links with, as the Makefile lists them.
pkgs=$(sed -n 's/^CORE_PKGS *?= *//p' "$SRC/Makefile")
san=()
if [ -n "${SANITIZER:-}" ]; then
    san=(-fsanitize="$SANITIZER" -fno-omit-frame-pointer)
fi
mkdir -p "$(dirname "$CW")"
# shellcheck disable=SC2046 # pkg-config output is meant to split
t_run "crashwriter builds" \
    cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow -Wformat=2 \
    -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter -Werror \
    "${san[@]}" -I"$SRC/abi" -I"$SRC/include" \
    $(pkg-config --cflags libcjson) \
    -o "$CW" "$SRC/tests/store/crashwriter.c" "$LIB" \
    $(pkg-config --libs $pkgs) -ldl -lpthread -lm
[ -x "$CW" ] || t_done

# crash_round NAME SYNC: one writer killed at a random moment, then checked.
crash_round() {
    local name=$1 sync=$2 dir pid rc=0 ms acks p
    t_mktemp dir
    "$CW" write "$dir/store.db" "$sync" "$HISTORY" >"$dir/acks" 2>"$dir/err" \
        </dev/null &
    pid=$!
    T_PIDS+=("$pid")
    ms=$((300 + RANDOM % 701))
    sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || rc=$?
    # Reaped: keep the exit trap from waiting for it again.
    local keep=()
    for p in "${T_PIDS[@]}"; do
        [ "$p" = "$pid" ] || keep+=("$p")
    done
    T_PIDS=("${keep[@]}")
    if [ "$rc" -ne 137 ]; then
        t_fail "$name" "the writer ended by itself (status $rc) before the kill at ${ms} ms" \
            "$(cat "$dir/err")"
        return
    fi
    acks=$(grep -c '^obj-' "$dir/acks")
    if [ "$acks" -eq 0 ]; then
        t_fail "$name" "the writer acknowledged nothing in ${ms} ms" \
            "$(cat "$dir/err")"
        return
    fi
    if t_exec "$CW" check "$dir/store.db" "$HISTORY" "$dir/acks"; then
        t_pass "$name: killed at ${ms} ms; $(tail -n 1 <<<"$T_OUT")"
    else
        t_fail "$name" "killed at ${ms} ms, the reopened store lost data" \
            "$T_OUT"
    fi
}

for i in 1 2 3 4 5; do
    crash_round "kill -9 round $i (synchronous=FULL)" full
done
for i in 1 2; do
    crash_round "kill -9 round $i (synchronous=NORMAL)" normal
done
t_done
