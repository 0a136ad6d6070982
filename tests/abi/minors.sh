#!/usr/bin/env bash
# tests/abi/minors.sh - plugins and hosts of different ABI minors work
# together, in every direction docs/abi.md promises:
#
#   1. an old plugin (built with VRT_ABI_TARGET_MINOR=0) in today's core:
#      it loads, its methods work, the 1.1 methods are VRT_E_NOTSUPP, and
#      vcts passes on it;
#   2. a plugin from the future (minor+1, one more method at the end of the
#      vtable) in today's core: it loads and the core ignores the tail.  Its
#      header is generated here from today's with sed; no modified header is
#      ever kept in the tree;
#   3. an old host (tests/abi/old_host.c, built with VRT_ABI_TARGET_MINOR=0
#      and no core) loading today's plugins, and the future one.
#
# Today's core is reached through tests/abi/abi_host.c, linked with
# $BUILD/lib/libvrtcore.a; both hosts print "key=value" lines that the
# checks below read.
set -u
. "$(dirname "$0")/_lib.sh"

t_mktemp T
cd "$VRT_SRC_DIR" || exit 2

CORE_LIB=$BUILD/lib/libvrtcore.a
if [ ! -f "$CORE_LIB" ]; then
    t_fail "core library built" "$CORE_LIB is missing; run make first"
    t_done
fi
read -r -a SANFLAGS <<<"$(abi_make_var SANFLAGS)"
read -r -a CORE_LIBS <<<"$(abi_make_var CORE_LIBS)"
VCTS=$BUILD/bin/vcts

# expect NAME OUTPUT LINE...: PASS when every LINE is a whole line of
# the output (fixed strings).
expect() {
    local name=$1 out=$2 line
    shift 2
    for line in "$@"; do
        if ! grep -qxF -- "$line" <<<"$out"; then
            t_fail "$name" "no line \"$line\"" "$out"
            return 1
        fi
    done
    t_pass "$name"
}

# expect_re NAME OUTPUT REGEX...: every REGEX matches a whole line.
expect_re() {
    local name=$1 out=$2 re
    shift 2
    for re in "$@"; do
        if ! grep -qxE -- "$re" <<<"$out"; then
            t_fail "$name" "no line matching /$re/" "$out"
            return 1
        fi
    done
    t_pass "$name"
}

# host NAME EXE ARGS...: runs a host; FAIL when it does not exit 0.
# Leaves its output in HOST_OUT.
HOST_OUT=""
host() {
    local name=$1 rc=0
    shift
    t_exec "$@" || rc=$?
    HOST_OUT=$T_OUT
    if [ "$rc" -ne 0 ]; then
        t_fail "$name" "exit status $rc from: $*" "$T_OUT"
        return 1
    fi
    t_pass "$name"
}

vcts_on() {
    local name=$1 so=$2 endpoint=$3
    if [ ! -x "$VCTS" ]; then
        # vcts is ours: once its sources exist, not building it is a failure.
        if [ -d "$VRT_SRC_DIR/tools/vcts" ]; then
            t_fail "$name" "$VCTS was not built"
        else
            t_skip "$name" "vcts does not exist yet"
        fi
        return
    fi
    t_run "$name" "$VCTS" --endpoint "$endpoint" "$so"
}

# --- hosts --------------------------------------------------------------------
t_run "build abi_host against today's core" \
    "$CC" -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror "${SANFLAGS[@]}" \
    -Iabi -Iinclude -o "$T/abi_host" "$ABI_SRC/abi_host.c" "$CORE_LIB" \
    "${CORE_LIBS[@]}"
t_run "build old_host with VRT_ABI_TARGET_MINOR=0 and no core" \
    "$CC" -std=c11 -pedantic -D_POSIX_C_SOURCE=200809L -O1 -g -Wall -Wextra \
    -Werror "${SANFLAGS[@]}" -DVRT_ABI_TARGET_MINOR=0 -Iabi \
    -o "$T/old_host" "$ABI_SRC/old_host.c" -ldl
if [ ! -x "$T/abi_host" ] || [ ! -x "$T/old_host" ]; then
    t_done
fi

# --- plugins of today and of 1.0 ----------------------------------------------
t_run "build oot.so for ABI 1.0" \
    "${PLUGIN_CC[@]}" -DVRT_ABI_TARGET_MINOR=0 -Iabi -o "$T/oot10.so" \
    "$ABI_SRC/oot_plugin.c"
t_run "build oot.so for today's ABI" \
    "${PLUGIN_CC[@]}" -Iabi -o "$T/oot.so" "$ABI_SRC/oot_plugin.c"
chmod 0755 "$T"/*.so 2>/dev/null

minor=$(abi_header_minor abi)
if ! [[ $minor =~ ^[0-9]+$ ]]; then
    t_fail "read VRT_ABI_MINOR" "got \"$minor\""
    t_done
fi
next=$((minor + 1))

# --- 1. an ABI 1.0 plugin in today's core ------------------------------------
if host "1.0 plugin: today's core loads it" "$T/abi_host" "$T/oot10.so" oot://minors-10; then
    out=$HOST_OUT
    expect "1.0 plugin: reported as ABI 1.0" "$out" "plugin.abi=1.0"
    size=$(sed -n 's/^plugin.struct_size=//p' <<<"$out")
    hsize=$(sed -n 's/^host.struct_size=//p' <<<"$out")
    if [ -n "$size" ] && [ -n "$hsize" ] && [ "$size" -lt "$hsize" ]; then
        t_pass "1.0 plugin: its vtable is smaller than today's ($size < $hsize)"
    else
        t_fail "1.0 plugin: its vtable is smaller than today's" \
            "struct_size \"$size\", host \"$hsize\"" "$out"
    fi
    expect "1.0 plugin: the 1.1 methods are absent" "$out" \
        "has.console=0" "has.list_hosts=0" "has.list_vms=1" "has.create=1"
    expect "1.0 plugin: mandatory methods work" "$out" \
        "validate rc=0 code=OK msg=" "create rc=0 code=OK msg=" \
        "describe.exists=1 describe.power=1 describe.name=abi-host-vm" \
        "destroy rc=0 code=OK msg=" "describe.exists=0 describe.power=0 describe.name="
    expect_re "1.0 plugin: console and list_hosts are NOTSUPP naming the method" "$out" \
        'console rc=-4 code=NOTSUPP msg=.*"console".*' \
        'list_hosts rc=-4 code=NOTSUPP msg=.*"list_hosts".*'
    expect "1.0 plugin: list_vms (1.0) still works" "$out" \
        "list_vms rc=0 code=OK msg=" "list_vms.count=1"
fi
vcts_on "1.0 plugin: vcts passes" "$T/oot10.so" oot://minors-vcts-10

# --- 2. a plugin from the future (ABI 1.$next) in today's core ------------------
# The copy grows vrt_provider by one method at its end, bumps the minor,
# and turns the guard on sizeof(vrt_provider) into one saying that the new
# member starts exactly where today's vtable ended.
mkdir -p "$T/future/virtrigaud"
fh=$T/future/virtrigaud/provider.h
sed -e "s/^#define VRT_ABI_MINOR $minor\\b/#define VRT_ABI_MINOR $next/" \
    -e "/^} vrt_provider;/i\\
#if VRT_ABI_TARGET_MINOR >= $next\\
    /* --- optional since 1.$next (generated by tests/abi/minors.sh) --- */\\
    int32_t (*future_probe)(vrt_conn *conn, const vrt_call *call,\\
                            uint32_t flags, vrt_error *err);\\
#endif" \
    -e "s/VRT_STATIC_ASSERT_(sizeof(vrt_provider) ==/VRT_STATIC_ASSERT_(offsetof(vrt_provider, future_probe) ==/" \
    abi/virtrigaud/provider.h >"$fh"
if [ "$(grep -c "^#define VRT_ABI_MINOR $next\\b" "$fh")" = 1 ] &&
    [ "$(grep -c 'future_probe' "$fh")" = 2 ] &&
    [ "$(abi_header_minor "$T/future")" = "$next" ]; then
    t_pass "generate an ABI 1.$next header from today's"
else
    t_fail "generate an ABI 1.$next header from today's" \
        "the sed edits did not all apply; has provider.h changed shape?" \
        "$(diff abi/virtrigaud/provider.h "$fh")"
fi
# The header's layout guard now checks that the new member starts where
# today's vtable ends, so building proves it was appended, not inserted.
t_run "build the 1.$next plugin (with a method today's core cannot know)" \
    "${PLUGIN_CC[@]}" -I"$T/future" -o "$T/future.so" "$ABI_SRC/future_plugin.c"
t_run "build oot.so for ABI 1.$next" \
    "${PLUGIN_CC[@]}" -I"$T/future" -o "$T/oot_next.so" "$ABI_SRC/oot_plugin.c"
chmod 0755 "$T"/*.so 2>/dev/null

if host "1.$next plugin: today's core loads it and never calls its tail" \
        "$T/abi_host" "$T/future.so"; then
    out=$HOST_OUT
    expect "1.$next plugin: reported as ABI 1.$next" "$out" "plugin.abi=1.$next"
    size=$(sed -n 's/^plugin.struct_size=//p' <<<"$out")
    hsize=$(sed -n 's/^host.struct_size=//p' <<<"$out")
    if [ -n "$size" ] && [ -n "$hsize" ] && [ "$size" -gt "$hsize" ]; then
        t_pass "1.$next plugin: its vtable is larger than today's ($size > $hsize)"
    else
        t_fail "1.$next plugin: its vtable is larger than today's" \
            "struct_size \"$size\", host \"$hsize\"" "$out"
    fi
    expect "1.$next plugin: today's methods are used" "$out" \
        "has.console=1" "has.list_hosts=0" "validate rc=0 code=OK msg=" \
        "create rc=0 code=OK msg=" "create.id=stub-vm-1" \
        "console rc=0 code=OK msg=" "console.url=future://console"
    expect_re "1.$next plugin: absent methods are still NOTSUPP" "$out" \
        'list_hosts rc=-4 code=NOTSUPP msg=.*"list_hosts".*'
fi
if host "1.$next oot.so: today's core loads it" "$T/abi_host" "$T/oot_next.so" oot://minors-next; then
    expect "1.$next oot.so: it works" "$HOST_OUT" "plugin.abi=1.$next" \
        "create rc=0 code=OK msg=" \
        "describe.exists=1 describe.power=1 describe.name=abi-host-vm" \
        "console rc=0 code=OK msg=" "destroy rc=0 code=OK msg="
fi
vcts_on "1.$next oot.so: vcts passes" "$T/oot_next.so" oot://minors-vcts-next

# --- 3. an ABI 1.0 host loading newer plugins -----------------------------------
if host "1.0 host: loads today's oot.so" "$T/old_host" "$T/oot.so" oot://old-host; then
    expect "1.0 host: sees ABI 1.$minor and uses the 1.0 part" "$HOST_OUT" \
        "accept rc=0" "entry rc=0 msg=" "create rc=0 msg=" \
        "describe.exists=1 describe.power=1 describe.name=old-host-vm" \
        "destroy rc=0 msg="
    expect_re "1.0 host: sees the plugin's own minor" "$HOST_OUT" \
        "plugin.abi=1.$minor plugin.struct_size=[0-9]+ host.struct_size=[0-9]+"
    read -r psize hsize < <(sed -nE 's/.*plugin.struct_size=([0-9]+) host.struct_size=([0-9]+).*/\1 \2/p' <<<"$HOST_OUT")
    if [ "${psize:-0}" -gt "${hsize:-0}" ]; then
        t_pass "1.0 host: plugin struct_size $psize > host's $hsize"
    else
        t_fail "1.0 host: plugin struct_size > host's" "$psize vs $hsize" "$HOST_OUT"
    fi
fi
if host "1.0 host: loads the 1.$next plugin" "$T/old_host" "$T/future.so"; then
    expect "1.0 host: 1.$next plugin accepted" "$HOST_OUT" \
        "accept rc=0" "entry rc=0 msg=" "create rc=0 msg="
    expect_re "1.0 host: 1.$next plugin reports its own minor" "$HOST_OUT" \
        "plugin.abi=1.$next plugin.struct_size=[0-9]+ host.struct_size=[0-9]+"
fi
mock=$VRT_PLUGIN_DIR/mock.so
if [ -f "$mock" ]; then
    if host "1.0 host: loads mock.so" "$T/old_host" "$mock" mock://old-host; then
        expect "1.0 host: mock.so works through the 1.0 vtable" "$HOST_OUT" \
            "accept rc=0" "create rc=0 msg=" "destroy rc=0 msg="
    fi
elif [ -d "$VRT_SRC_DIR/plugins/mock" ]; then
    t_fail "1.0 host: loads mock.so" "$mock was not built"
else
    t_skip "1.0 host: loads mock.so" "plugins/mock does not exist"
fi

t_done
