#!/usr/bin/env bash
# tests/abi/out_of_tree.sh - a third party can build a plugin against the
# installed header alone, and the installed vcts accepts it.
#
# `make install PREFIX=<temp>`, then tests/abi/oot_plugin.c is copied into
# a folder of its own and built as docs/abi.md tells plugin authors to:
#     cc -shared -fPIC -fvisibility=hidden -I$PREFIX/include ...
# The compiler's dependency list proves that nothing from the source tree
# was read.  The plugin must export exactly the entry symbol, and
# `$PREFIX/bin/vcts $tmp/oot.so` must exit 0.
set -u
. "$(dirname "$0")/_lib.sh"

t_mktemp T
PREFIX=$T/prefix

t_run "make install PREFIX=<temp>" abi_sub_make PREFIX="$PREFIX" install
header=$PREFIX/include/virtrigaud/provider.h
if [ -f "$header" ] && cmp -s "$header" "$VRT_SRC_DIR/abi/virtrigaud/provider.h"; then
    t_pass "the ABI header is installed as include/virtrigaud/provider.h"
else
    t_fail "the ABI header is installed as include/virtrigaud/provider.h" \
        "$header is missing or differs from abi/virtrigaud/provider.h"
fi
VCTS=$PREFIX/bin/vcts
if [ -x "$VCTS" ]; then
    t_pass "vcts is installed in bin/"
else
    t_fail "vcts is installed in bin/" "$VCTS is missing"
fi

# --- build like a third party ----------------------------------------------------
mkdir -p "$T/src"
cp "$ABI_SRC/oot_plugin.c" "$T/src/myhv.c"
so=$T/oot.so
# Runs a command in a directory (t_run runs it in a subshell).
# shellcheck disable=SC2317 # called through t_run
in_dir() {
    local dir=$1
    shift
    cd "$dir" && "$@"
}
t_run "build a plugin in its own folder against the installed header" \
    in_dir "$T/src" "$CC" -std=c11 -pedantic -O2 -g -Wall -Wextra -Werror \
    -shared -fPIC -fvisibility=hidden -pthread -I"$PREFIX/include" \
    -Wl,--no-undefined -MD -MF "$T/deps.d" -o "$so" myhv.c
if [ ! -f "$so" ]; then
    t_done
fi

# Every header the compiler read is either the installed one or a system
# header: none comes from the source tree.
if [ -f "$T/deps.d" ]; then
    deps=$(sed -e 's/\\$//' -e 's/^[^:]*://' "$T/deps.d" | tr ' ' '\n' | grep -v '^$')
    from_tree=$(grep -F "$VRT_SRC_DIR/" <<<"$deps" || true)
    if [ -z "$from_tree" ] && grep -qxF "$header" <<<"$deps"; then
        t_pass "only the installed header was used"
    else
        t_fail "only the installed header was used" \
            "read from the tree: ${from_tree:-none}; installed header read: $(grep -c -xF "$header" <<<"$deps")" \
            "$deps"
    fi
else
    t_fail "only the installed header was used" "no dependency file"
fi

exported=$(abi_exported "$so")
t_eq "the plugin exports only vrt_provider_entry" "vrt_provider_entry" "$exported"
undefined=$(nm -D --undefined-only "$so" | grep -c 'vrt_' || true)
t_eq "the plugin needs no symbol from virtrigaud" "0" "$undefined"

# --- the installed vcts judges it ------------------------------------------------
chmod 0755 "$so"
if [ -x "$VCTS" ]; then
    rc=0
    t_exec "$VCTS" --endpoint oot://out-of-tree "$so" || rc=$?
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$T_OUT" | tail -n 1)
    passed=${summary%% passed*}
    if [ "$rc" -eq 0 ] && [ -n "$summary" ] && [ "${passed:-0}" -gt 0 ]; then
        t_pass "installed vcts passes the out-of-tree plugin ($summary)"
    else
        t_fail "installed vcts passes the out-of-tree plugin" \
            "exit status $rc, summary \"$summary\"" "$(grep -E '^(FAIL|[0-9]+ passed)' <<<"$T_OUT")"
    fi
else
    t_fail "installed vcts passes the out-of-tree plugin" "no vcts to run"
fi

t_done
