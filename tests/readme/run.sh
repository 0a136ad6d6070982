#!/usr/bin/env bash
# The new-user walk: the README's quick start, run verbatim as a new user
# would on a fresh machine.  The harness does not copy the commands: it
# extracts the ```sh blocks marked <!-- docs-test: walk --> from README.md
# and docs/getting-started.md (tests/docs/CONVENTION.md) and runs them in
# file order, in one bash, in a fresh copy of the repository, with a
# scratch HOME, a plain system PATH (not $BUILD/bin) and no variable of
# ours, so the copy builds itself with `make` into its own build/.  The
# walk builds, starts libvirtd if none runs, starts a standalone manager,
# applies a VM on real libvirt/QEMU, waits for it, and inspects and stops
# it with vrtg; its expect blocks check what vrtg prints.  Then the harness
# restarts the manager on the walk's store and checks by itself that the
# VM is still known and off in libvirt, then does what the README's last
# paragraph says (vrtg vm start, vrtg vm delete) and that no domain is left.
#
# The copy: the files git would commit, from the working tree (tracked
# files plus untracked ones not ignored, with their contents on disk; see
# md_snapshot), not a `git clone`, so that the test means something before
# the lead commits; in CI the tree is clean and the two are the same.
#
# Runs in the release pass only (SANITIZER empty): the walk builds its own
# tree without our flags, so the ASan and valgrind passes would run the
# very same thing again at the cost of minutes.  Needs root (libvirtd,
# QEMU, the README says `sudo -i`), as tests/libvirt-qemu.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../docs/mdrun.sh"

if [ -n "${SANITIZER:-}" ] || [ "${VALGRIND:-0}" = 1 ]; then
    t_skip readme "the walk runs once, in the release pass (SANITIZER is \"${SANITIZER:-}\")"
    t_done
fi
if [ "$(id -u)" != 0 ]; then
    t_skip readme "needs root, as the README's quick start says (libvirtd, QEMU)"
    t_done
fi
t_need virsh libvirtd virtlogd qemu-system-x86_64 kubectl git

START=$SECONDS
t_mktemp D
chmod 755 "$D"   # QEMU (even as root) reads the guest's kernel from here

# --- the fresh machine's part (not the README's) -----------------------------
# This CI machine's /dev/kvm is root-only: with QEMU running as
# libvirt-qemu, libvirt re-probes QEMU on every call (tens of seconds
# each).  A user's machine does not have that quirk; tests/libvirt-qemu
# makes the same setting.  It must be in place before libvirtd starts.
if [ -e /dev/kvm ] && [ "$(stat -c %a /dev/kvm)" = 600 ]; then
    mkdir -p /etc/libvirt
    grep -q '^user = "root"' /etc/libvirt/qemu.conf 2>/dev/null ||
        printf 'user = "root"\ngroup = "root"\n' >>/etc/libvirt/qemu.conf
fi
# Daemons the walk starts (libvirtd -d, virtlogd -d write these pid files)
# are ours to stop; ones that ran before are not.
PIDFILES=(/run/libvirtd.pid /run/virtlogd.pid)
BEFORE=()
for f in "${PIDFILES[@]}"; do
    BEFORE+=("$(cat "$f" 2>/dev/null)")
done
stop_daemons() {
    local i pid
    for i in "${!PIDFILES[@]}"; do
        pid=$(cat "${PIDFILES[$i]}" 2>/dev/null) || continue
        [ -n "$pid" ] && [ "$pid" != "${BEFORE[$i]}" ] || continue
        case $(cat "/proc/$pid/comm" 2>/dev/null) in
            libvirtd|virtlogd) t_note "stopping the $(cat "/proc/$pid/comm") the walk started"
                               t_stop "$pid" ;;
        esac
    done
}
trap 'stop_daemons; t_cleanup_' EXIT

# --- the walk ----------------------------------------------------------------
SRC=$D/virtrigaud
md_snapshot "$SRC"
t_eq "the fresh copy has no build directory" "" "$(ls -d "$SRC"/build* 2>/dev/null)"
mkdir -p "$D/home"
n=0
for md in README.md docs/getting-started.md; do
    n=$((n + 1))
    md_extract "$VRT_SRC_DIR/$md" "$D/x$n"
    while read -r l msg; do
        t_fail "$md line $l: the docs-test markers are well formed" "$msg"
    done <"$D/x$n/errors"
done
walks=$(grep -l "	walk	" "$D"/x*/*.meta 2>/dev/null | wc -l)
t_eq "the README has a walk (at least 5 blocks)" 1 "$(( walks >= 5 ))"

MD_ENV=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        HOME="$D/home" LANG=C.UTF-8 TERM=dumb USER=root LOGNAME=root SHELL=/bin/bash)
[ -n "${TMPDIR:-}" ] && MD_ENV+=(TMPDIR="$TMPDIR")
# npm's download cache (not state a user sees: a fresh machine fills it
# from the registry) is the machine's, or `npm ci` in install-deps.sh
# would download every package again on each run.
MD_ENV+=(npm_config_cache="${npm_config_cache:-$HOME/.npm}")
n=0
for md in README.md docs/getting-started.md; do
    n=$((n + 1))
    md_run "$md" "$VRT_SRC_DIR/$md" "$D/x$n" walk "$SRC" 480
done
t_note "time: the walk took $((SECONDS - START)) s"

# --- what the harness checks by itself ---------------------------------------
DATA=$D/home/virtrigaud/data
if [ ! -x "$SRC/build/bin/virtrigaud-manager" ] || [ ! -s "$DATA/kubeconfig" ]; then
    t_fail "the walk left a built tree and a manager's store" \
        "no $SRC/build/bin/virtrigaud-manager or $DATA/kubeconfig"
    t_done
fi
# The same binaries as the walk, on the walk's store: the VM is still
# there after a restart, and its libvirt domain is off; then what the
# README's last paragraph says: start brings it back, delete removes it.
BUILD=$SRC/build VRT_PLUGIN_DIR=$SRC/build/plugins t_start_manager MGR "$DATA" || t_done
t_pass "the manager restarts on the walk's store"
id=$(jp vm/web '{.status.id}')
t_eq "the VM is still known after the restart, with its libvirt id" 1 "$([ -n "$id" ] && echo 1)"
if [ -n "$id" ]; then
    t_grep "libvirt says the domain is shut off" '^shut off' \
        virsh -q -c qemu:///system domstate "$id"
fi
# The README's closing words: vrtg vm start brings it back, vrtg vm delete
# removes it with its libvirt domain.
VRTG=$SRC/build/bin/vrtg
t_run "vrtg vm start web" "$VRTG" vm start web
t_run "vrtg vm wait web: Ready again" "$VRTG" vm wait web --timeout 120
t_wait_jp "the VM runs again" vm/web '{.status.powerState}' '^On$' 120
if [ -n "$id" ]; then
    t_grep "libvirt says the domain runs" '^running' \
        virsh -q -c qemu:///system domstate "$id"
fi
t_run "vrtg vm delete web" "$VRTG" vm delete web
t_run "the VM is gone" k wait --for=delete vm/web --timeout=120s
if [ -n "$id" ]; then
    t_run_fails "no libvirt domain is left behind" virsh -q -c qemu:///system dominfo "$id"
fi
t_stop "$MGR"
elapsed=$((SECONDS - START))
t_note "time: the suite took $elapsed s"
t_eq "the walk and its checks take under 4 minutes (took ${elapsed}s)" 1 "$(( elapsed < 240 ))"
t_done
