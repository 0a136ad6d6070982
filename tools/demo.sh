#!/usr/bin/env bash
# tools/demo.sh - the main job on the embedded default: virtrigaud-manager in
# standalone mode (its own API server, SQLite store) drives libvirt + QEMU
# to run real VMs that you describe with kubectl, then shows their status.
#
#   sudo tools/demo.sh            run the demo, clean up at the end
#   sudo KEEP=1 tools/demo.sh     leave the manager and the VMs running
#
# What it does, on a fresh Debian 12 machine, as root:
#   1. installs the build and demo packages, builds virtrigaud;
#   2. builds a tiny guest (Debian kernel + busybox initramfs);
#   3. starts libvirtd (unless one runs already) and the manager;
#   4. applies a Provider, a VMClass, a VMImage and two VirtualMachines with
#      kubectl, waits for them to be Ready, shows `kubectl get` and
#      `vrtg vm list`, proves the guests booted (their serial consoles),
#      stops one gracefully, then deletes them.
# The guests run under QEMU's TCG emulation (no KVM needed).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
umask 022
W=${VRT_DEMO_DIR:-/var/tmp/virtrigaud-demo}
KEEP=${KEEP:-0}
PIDS=()

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root (libvirtd and QEMU need it): sudo $0"

cleanup() {
    local rc=$?
    if [ "$KEEP" != 1 ]; then
        for pid in "${PIDS[@]}"; do
            kill "$pid" 2>/dev/null || true
        done
        for pid in "${PIDS[@]}"; do
            wait "$pid" 2>/dev/null || true
        done
    fi
    exit "$rc"
}
trap cleanup EXIT

say "1. Dependencies and build"
tools/install-deps.sh
extra=()
for p in libvirt-daemon libvirt-clients qemu-system-x86 busybox-static; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        extra+=("$p")
done
if [ ${#extra[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${extra[@]}" >/dev/null
fi
make -j"$(nproc)" >/dev/null
BIN=$ROOT/build/bin
export PATH=$BIN:$PATH

say "2. A tiny guest"
mkdir -p "$W"
tools/make-test-guest.sh "$W/guest"

say "3. libvirtd and the manager"
if [ ! -S /run/libvirt/libvirt-sock ]; then
    getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
    getent passwd libvirt-qemu >/dev/null ||
        useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
    # QEMU as root: this machine's /dev/kvm is root-only, and with the
    # default user libvirt re-probes QEMU on every call (tens of seconds).
    grep -q '^user = "root"' /etc/libvirt/qemu.conf 2>/dev/null ||
        printf 'user = "root"\ngroup = "root"\n' >>/etc/libvirt/qemu.conf
    virtlogd >"$W/virtlogd.log" 2>&1 &
    PIDS+=($!)
    libvirtd >"$W/libvirtd.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done
    [ -S /run/libvirt/libvirt-sock ] || die "libvirtd did not start; see $W/libvirtd.log"
fi
virsh -q -c qemu:///system version >/dev/null   # the first call probes QEMU

rm -rf "$W/data"
port=6443
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
virtrigaud-manager --standalone --data-dir "$W/data" --port "$port" \
    --plugin-dir "$ROOT/build/plugins" >"$W/manager.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/data/kubeconfig" ] && break; sleep 0.1; done
[ -s "$W/data/kubeconfig" ] || die "the manager did not start; see $W/manager.log"
export KUBECONFIG=$W/data/kubeconfig
echo "manager: https://127.0.0.1:$port  kubeconfig: $KUBECONFIG  log: $W/manager.log"

say "4. Describe two VMs with kubectl"
cat >"$W/demo.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: local-libvirt}
spec:
  type: libvirt
  endpoint: qemu:///system
  credentialSecretRef: {name: libvirt-none}
  runtime: {mode: Remote, image: "virtrigaud/provider-libvirt:embedded"}
  # TCG emulation: works on any host (this one's /dev/kvm cannot run guests).
  libvirt: {domainType: qemu}
---
apiVersion: v1
kind: Secret
metadata: {name: libvirt-none}
type: Opaque
data: {}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: tiny}
spec: {cpu: 1, memory: 256Mi, firmware: BIOS}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: busybox
  annotations:
    virtrigaud.io/kernel: $W/guest/vmlinuz
    virtrigaud.io/initrd: $W/guest/initrd.gz
    virtrigaud.io/kernel-cmdline: console=ttyS0 quiet panic=-1
spec:
  source:
    libvirt: {format: raw}
EOF
for n in 1 2; do
cat >>"$W/demo.yaml" <<EOF
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: demo-$n
  annotations:
    virtrigaud.io/serial-log: $W/demo-$n-serial.log
spec:
  providerRef: {name: local-libvirt}
  classRef: {name: tiny}
  imageRef: {name: busybox}
  powerState: "On"
EOF
done
rm -f "$W"/demo-*-serial.log
kubectl apply -f "$W/demo.yaml"

say "5. Wait until both are Ready"
kubectl wait --for=condition=Ready vm/demo-1 vm/demo-2 --timeout=180s
kubectl get vm -o wide
echo
vrtg vm list
echo
virsh -c qemu:///system list

say "6. The guests booted (their serial consoles)"
for n in 1 2; do
    for _ in $(seq 120); do
        grep -aq VRT-GUEST-READY "$W/demo-$n-serial.log" 2>/dev/null && break
        sleep 0.5
    done
    printf 'demo-%s: %s\n' "$n" \
        "$(grep -a VRT-GUEST-READY "$W/demo-$n-serial.log" 2>/dev/null || echo 'no boot message yet')"
done

say "7. Stop demo-2 gracefully (ACPI), as a user would"
kubectl patch vm demo-2 --type=merge -p '{"spec":{"powerState":"OffGraceful","lifecycle":{"gracefulShutdownTimeout":"60s"}}}'
for _ in $(seq 120); do
    [ "$(kubectl get vm demo-2 -o jsonpath='{.status.powerState}')" = Off ] && break
    sleep 1
done
kubectl get vm

if [ "$KEEP" = 1 ]; then
    say "Left running (KEEP=1)"
    echo "export KUBECONFIG=$KUBECONFIG; kubectl get vm; vrtg vm list"
    trap - EXIT
    exit 0
fi

say "8. Delete them: the finalizer removes the libvirt domains first"
kubectl delete vm demo-1 demo-2 --timeout=120s
virsh -c qemu:///system list --all
echo
echo "demo: done."
