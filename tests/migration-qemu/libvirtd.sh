# shellcheck shell=bash
# tests/migration-qemu/libvirtd.sh - sourced (after tests/lib.sh) by the
# migration suites that need a real libvirtd + QEMU: the same start-up as
# tests/libvirt-qemu (reuse a libvirtd on /run/libvirt/libvirt-sock, else
# start virtlogd + libvirtd, stopped by PID at exit through t_bg), and the
# same ASan work-around for our binaries.
#
#   mq_libvirtd URI   -> 0 when URI answers; sets LIBVIRTD when we started it
#   vrt CMD...        -> runs one of our binaries (with VRT_ENV)

# ASan intercepts the XDR functions libvirt's RPC uses; an ASan binary not
# linked with libtirpc jumps to address 0 at the first remote call, so
# preload it into our binaries only (see tests/libvirt-qemu/run.sh).
VRT_ENV=(env)
if ldd "$BUILD/bin/virtrigaud-manager" 2>/dev/null | grep -q libasan &&
   ! ldd "$BUILD/bin/virtrigaud-manager" 2>/dev/null | grep -q libtirpc; then
    VRT_ENV=(env "LD_PRELOAD=$(ldd "$BUILD/bin/virtrigaud-manager" |
        awk '/libasan/ {print $3; exit}') libtirpc.so.3")
fi
vrt() { "${VRT_ENV[@]}" "$@"; }

LIBVIRTD=
mq_libvirtd() {
    local uri=$1 _
    if [ -S /run/libvirt/libvirt-sock ] && virsh -q -c "$uri" version >/dev/null 2>&1; then
        t_note "using the libvirtd already running"
        return 0
    fi
    getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
    getent passwd libvirt-qemu >/dev/null ||
        useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
    # QEMU as root, as tests/libvirt-qemu does (a root-only /dev/kvm).
    mkdir -p /etc/libvirt
    grep -q '^user = "root"' /etc/libvirt/qemu.conf 2>/dev/null ||
        printf 'user = "root"\ngroup = "root"\n' >>/etc/libvirt/qemu.conf
    t_bg VIRTLOGD virtlogd
    t_bg LIBVIRTD libvirtd
    for _ in $(seq 150); do
        virsh -q -c "$uri" version >/dev/null 2>&1 && break
        kill -0 "$LIBVIRTD" 2>/dev/null || break
        sleep 0.2
    done
    virsh -q -c "$uri" version >/dev/null 2>&1 || return 1
    t_note "started virtlogd (pid $VIRTLOGD) and libvirtd (pid $LIBVIRTD)"
}

# mq_start_manager VAR DATADIR [ARGS...]: t_start_manager with VRT_ENV (the
# ASan preload above), so the manager can speak to libvirtd.
mq_start_manager() {
    local var=$1 data=$2 port='' _ pid log
    shift 2
    t_bg "$var" "${VRT_ENV[@]}" "$BUILD/bin/virtrigaud-manager" --standalone \
        --data-dir "$data" --port 0 --sync normal --plugin-dir "$VRT_PLUGIN_DIR" "$@"
    pid=${!var}
    log=$(eval echo "\$${var}_LOG")
    for _ in $(seq 200); do
        port=$(sed -n 's/.*serving on port \([0-9][0-9]*\); kubeconfig: .*/\1/p' \
            "$log" | head -n 1)
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ] || [ ! -s "$data/kubeconfig" ]; then
        t_fail "the manager starts" "no \"serving on port N\" line" "$(cat "$log")"
        return 1
    fi
    export KUBECONFIG=$data/kubeconfig
}
