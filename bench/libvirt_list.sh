#!/usr/bin/env bash
# bench/libvirt_list.sh - list_vms and describe of many domains through the
# libvirt plugin, next to virsh doing the same work.  Not a test; prints
# numbers (and fails only when something does not work at all).
#
#   BUILD=build bench/libvirt_list.sh [N]      N domains (default 1000)
#
# The domains live in a libvirt test-driver node file (test:///abs/file.xml,
# no daemon, in memory).  Measured:
#   plugin: one list_vms over all N, then N describe calls by id
#           (bench/libvirt_list.c, through the core's wrappers);
#   virsh:  one `list --all`, then N `dominfo` in the same virsh process
#           (one connection, as the plugin has), timed by virsh -t; and
#           the cost of one `virsh dominfo` process (connect included).
# Target: the plugin under 1 s for both list and describe at N = 1000.
# Needs $BUILD/lib/libvrtcore.a and $BUILD/plugins/libvirt.so (make), and
# virsh (libvirt-clients).  Builds the driver into $BUILD/bench/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
BUILD=$(cd "$BUILD" && pwd)
N=${1:-1000}
LIB=$BUILD/lib/libvrtcore.a
SO=$BUILD/plugins/libvirt.so
for f in "$LIB" "$SO"; do
    if [ ! -f "$f" ]; then
        echo "libvirt_list.sh: $f does not exist; run make BUILD=$BUILD first." >&2
        exit 2
    fi
done
command -v virsh >/dev/null || { echo "libvirt_list.sh: needs virsh (libvirt-clients)." >&2; exit 2; }

pkgs=$(sed -n 's/^CORE_PKGS *?= *//p' "$ROOT/Makefile")
BIN=$BUILD/bench/libvirt_list
mkdir -p "$(dirname "$BIN")"
# Built like the core: a sanitizer build's libvrtcore.a needs the same
# -fsanitize flags at link time.
san=
if nm "$LIB" 2>/dev/null | grep -q __asan_init; then
    san=-fsanitize=address,undefined
fi
# shellcheck disable=SC2046,SC2086 # pkg-config output is meant to split
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow -Wformat=2 \
    -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter -Werror $san \
    -I"$ROOT/abi" -I"$ROOT/include" \
    -o "$BIN" "$ROOT/bench/libvirt_list.c" "$LIB" \
    $(pkg-config --libs $pkgs) -ldl -lpthread -lm

DIR=$(mktemp -d "${TMPDIR:-/tmp}/vrt-lvbench.XXXXXX")
trap 'rm -rf -- "$DIR"' EXIT
NODE=$DIR/node.xml
URI=test://$NODE
{
    echo "<node>"
    for i in $(seq 1 "$N"); do
        printf "<domain type='test'><name>bench-%05d</name>" "$i"
        printf "<uuid>%08x-0000-4000-8000-%012x</uuid>" "$i" "$i"
        printf "<memory unit='MiB'>256</memory><vcpu>%d</vcpu>" $((1 + i % 4))
        printf "<os><type>hvm</type></os></domain>\n"
    done
    echo "</node>"
} >"$NODE"

now_ms() { date +%s%3N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "inf" }'; }

echo "domains: $N (libvirt test driver, $URI)"

# The plugin.
out=$("$BIN" "$SO" "$URI" "$N")
p_list=$(awk '$1 == "list_ms" {print $2}' <<<"$out")
p_desc=$(awk '$1 == "describe_ms" {print $2}' <<<"$out")
p_run=$(awk '$1 == "running" {print $2}' <<<"$out")

# virsh, one session: `list --all` then N `dominfo`, each command timed by
# virsh itself (-t), so connecting and parsing the node file (over a
# second for 1000 domains) is not counted, as it is not for the plugin.
cmds=$DIR/virsh.cmds
{
    echo "list --all"
    for i in $(seq 1 "$N"); do printf 'dominfo bench-%05d\n' "$i"; done
} >"$cmds"
t0=$(now_ms)
virsh -t -q -c "$URI" <"$cmds" >"$DIR/virsh.out"
v_wall=$(($(now_ms) - t0))
read -r v_count v_info v_list v_desc < <(awk '
    /^virsh # list/    { cmd = "list" }
    /^virsh # dominfo/ { cmd = "info" }
    / running$| shut off$/ && cmd == "list" { n++ }
    /^State:/ { info++ }
    /^\(Time: / { t = $2 + 0; if (cmd == "list") l += t; else d += t }
    END { printf "%d %d %.0f %.0f\n", n, info, l, d }' "$DIR/virsh.out")
# virsh, a process per domain, as a shell script would do it: each
# process connects and parses the node file again (a small sample).
S=$((N < 5 ? N : 5))
t0=$(now_ms)
for i in $(seq 1 "$S"); do
    virsh -q -c "$URI" dominfo "$(printf 'bench-%05d' "$i")" >/dev/null
done
v_proc=$(( ($(now_ms) - t0) / S ))

if [ "$v_count" -ne "$N" ] || [ "$v_info" -ne "$N" ]; then
    echo "libvirt_list.sh: virsh saw $v_count domains and $v_info dominfo answers," \
         "expected $N." >&2
    exit 1
fi

printf '%-44s %8s\n' "operation ($N domains)" "ms"
printf '%-44s %8s\n' "plugin list_vms (one call)" "$p_list"
printf '%-44s %8s\n' "plugin describe x $N" "$p_desc"
printf '%-44s %8s\n' "virsh list --all (one session, -t)" "$v_list"
printf '%-44s %8s\n' "virsh dominfo x $N (one session, -t)" "$v_desc"
printf '%-44s %8s\n' "virsh session wall clock (with connect)" "$v_wall"
printf '%-44s %8s\n' "virsh dominfo, one process (mean of $S)" "$v_proc"
echo "ratios (plugin / virsh one session): list $(ratio "$p_list" "$v_list")," \
     "describe $(ratio "$p_desc" "$v_desc")"
echo "running domains seen by describe: $p_run of $N"
verdict() { [ "$1" -lt 1000 ] && echo "under 1 s" || echo "OVER 1 s"; }
echo "target: list $(verdict "$p_list"), describe $(verdict "$p_desc")"
