#!/usr/bin/env bash
# The libvirt provider against a real libvirtd + QEMU (TCG): the busybox
# guest of tools/make-test-guest.sh booted by direct kernel boot.
#
#   (a) vcts against qemu:///system, every test passing (skips only where
#       the plugin does not claim the capability);
#   (b) the manager + kubectl: a VirtualMachine with cloud-init user-data
#       boots and its guest reads the NoCloud seed (serial log), graceful
#       power-off by ACPI, a VMClass CPU/memory change, delete removing the
#       domain and its volumes;
#   (c) bad input: a VMImage naming a missing volume, a Provider on an
#       unreachable qemu+ssh:// host (fails fast, clear condition);
#   (d) nothing named by the suite is left in libvirt.
#
# Needs root (libvirtd, QEMU).  Uses a libvirtd already listening on
# /run/libvirt/libvirt-sock, else starts virtlogd + libvirtd itself and
# stops them (by PID) at exit.  Everything lives in a transient dir pool
# of its own.  VRT_GUEST_DIR caches the guest (default
# /var/tmp/virtrigaud-test-guest).
# shellcheck disable=SC2317 # helpers are called through wait_for and traps
set -u
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then
    t_skip libvirt-qemu "needs root to run libvirtd and QEMU (run as root)"
    t_done
fi
t_need virsh libvirtd virtlogd qemu-system-x86_64 kubectl

START=$SECONDS
lap() { t_note "time: $1 at $((SECONDS - START)) s"; }

# --- ASan builds ------------------------------------------------------------
# ASan intercepts the XDR functions libvirt's RPC uses; glibc no longer has
# them and libtirpc only arrives later (with libvirt.so, with the plugin),
# so an ASan binary not linked with libtirpc jumps to address 0 at the first
# remote call.  Until the build links it, preload it into our binaries only
# (never into libvirtd, virsh or kubectl).
VRT_ENV=()
if ldd "$BUILD/bin/vcts" 2>/dev/null | grep -q libasan &&
   ! ldd "$BUILD/bin/vcts" 2>/dev/null | grep -q libtirpc; then
    asan=$(ldd "$BUILD/bin/vcts" | awk '/libasan/ {print $3; exit}')
    VRT_ENV=(env "LD_PRELOAD=$asan libtirpc.so.3")
    t_note "ASan build without libtirpc: preloading $asan libtirpc.so.3"
fi
vrt() { "${VRT_ENV[@]}" "$@"; }
# libvirt reaches qemu+ssh:// hosts by forking ssh; its child allocates
# before exec, and under gcc 12's ASan that deadlocks on an allocator lock
# another thread held at fork() (the child hangs, so does the call).
ASAN=0
ldd "$BUILD/bin/virtrigaud-manager" 2>/dev/null | grep -q libasan && ASAN=1

# --- the guest ----------------------------------------------------------------
GUEST=${VRT_GUEST_DIR:-/var/tmp/virtrigaud-test-guest}
if ! t_exec "$VRT_SRC_DIR/tools/make-test-guest.sh" "$GUEST"; then
    t_fail "build the test guest" "tools/make-test-guest.sh failed" "$T_OUT"
    t_done
fi
t_pass "build the test guest"
lap "guest ready"

# --- libvirtd -------------------------------------------------------------------
t_mktemp D
chmod 755 "$D"
SOCK=/run/libvirt/libvirt-sock
URI=qemu:///system
vsh() { virsh -q -c "$URI" "$@"; }
if [ -S "$SOCK" ] && virsh -q -c "$URI" version >/dev/null 2>&1; then
    t_note "using the libvirtd already running on $SOCK"
else
    getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
    getent passwd libvirt-qemu >/dev/null ||
        useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
    # QEMU as root: with the default user libvirt cannot open a root-only
    # /dev/kvm and re-probes QEMU on every call (tens of seconds each).
    mkdir -p /etc/libvirt
    grep -q '^user = "root"' /etc/libvirt/qemu.conf 2>/dev/null ||
        printf 'user = "root"\ngroup = "root"\n' >>/etc/libvirt/qemu.conf
    t_bg VIRTLOGD virtlogd
    t_bg LIBVIRTD libvirtd
    # Until it answers (a stale socket file may be there before it).
    for _ in $(seq 150); do
        virsh -q -c "$URI" version >/dev/null 2>&1 && break
        kill -0 "$LIBVIRTD" 2>/dev/null || break
        sleep 0.2
    done
    if ! virsh -q -c "$URI" version >/dev/null 2>&1; then
        t_fail "libvirtd starts" "no answer on $SOCK" "$(cat "$LIBVIRTD_LOG")"
        t_done
    fi
    t_note "started virtlogd (pid $VIRTLOGD) and libvirtd (pid $LIBVIRTD)"
fi
# The first call probes QEMU's capabilities (several seconds).
if ! t_exec virsh -q -c "$URI" version; then
    t_fail "libvirtd answers" "virsh version failed" "$T_OUT"
    t_done
fi
t_pass "libvirtd answers on $URI"

TAG=vrtq$$
POOL=$TAG-pool
mkdir -p "$D/pool"
if ! t_exec vsh pool-create-as "$POOL" dir --target "$D/pool"; then
    t_fail "create the test pool" "pool-create-as failed" "$T_OUT"
    t_done
fi
# Domains of this run: ours are named $TAG-*; vcts names its VMs
# vcts-<pid>-*, and those of this run have disks in our pool (another
# suite may run vcts on the same libvirtd at the same time).
our_domains() {
    local d
    for d in $(virsh -q -c "$URI" list --all --name 2>/dev/null); do
        case $d in
            "$TAG"-*) echo "$d" ;;
            vcts-*) virsh -q -c "$URI" dumpxml "$d" 2>/dev/null |
                        grep -q "pool='$POOL'" && echo "$d" ;;
        esac
    done
}
# Whatever happens: no domain of ours left, the transient pool gone.
cleanup_libvirt() {
    local d
    for d in $(our_domains); do
        virsh -q -c "$URI" destroy "$d" >/dev/null 2>&1
        virsh -q -c "$URI" undefine "$d" --snapshots-metadata >/dev/null 2>&1
    done
    virsh -q -c "$URI" pool-destroy "$POOL" >/dev/null 2>&1
}
# Stop in order: the manager, our domains, then libvirtd before virtlogd.
on_exit() {
    [ -n "${MGR:-}" ] && t_stop "$MGR"
    cleanup_libvirt
    [ -n "${LIBVIRTD:-}" ] && t_stop "$LIBVIRTD"
    t_cleanup_
}
trap on_exit EXIT
lap "libvirtd ready"

pool_vols() { vsh vol-list "$POOL" | awk 'NF {print $1}'; }

# --- (a) vcts ------------------------------------------------------------------
KERNEL="{\"path\":\"$GUEST/vmlinuz\",\"initrd\":\"$GUEST/initrd.gz\",\"cmdline\":\"console=ttyS0 quiet panic=-1\"}"
cat >"$D/vcts.json" <<EOF
{"endpoint": "$URI",
 "config": {"libvirt": {"storagePool": "$POOL", "domainType": "qemu"}},
 "secrets": {},
 "vmSpec": {"cpu": 1, "memoryMiB": 128, "domainType": "qemu",
            "disks": [{"name": "root", "sizeGiB": 1}], "kernel": $KERNEL}}
EOF
t_exec vrt "$BUILD/bin/vcts" --config "$D/vcts.json" "$VRT_PLUGIN_DIR/libvirt.so"
vrc=$?
summary=$(printf '%s\n' "$T_OUT" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
if [ "$vrc" -eq 0 ] && [[ $summary =~ ^([0-9]+)\ passed,\ 0\ failed ]] &&
   [ "${BASH_REMATCH[1]}" -gt 0 ]; then
    t_pass "vcts on $URI: $summary"
else
    t_fail "vcts on $URI" "exit status $vrc, \"$summary\"" \
        "$(printf '%s\n' "$T_OUT" | grep -Ev '^PASS ')"
fi
# A skip is acceptable only where the plugin does not claim the capability.
bad_skips=$(printf '%s\n' "$T_OUT" | grep '^SKIP ' | grep -v 'not claimed' || true)
t_eq "vcts: no skip other than an unclaimed capability" "" "$bad_skips"
t_eq "vcts: no domain left behind" "" "$(our_domains)"
# An imported disk is the caller's to keep (the ABI has no call to delete
# it): vcts leaves its one "vcts-<pid>-import" volume; anything else leaked.
t_eq "vcts: no volume left but its imported disk" "" \
    "$(pool_vols | grep -Ev '^vcts-[0-9]+-import$' || true)"
for v in $(pool_vols); do vsh vol-delete --pool "$POOL" "$v" >/dev/null 2>&1; done
lap "vcts done"

# --- (b) the manager + kubectl ---------------------------------------------------
PORT=$(t_free_port)
# No shell function here: t_bg must get the manager's own PID to stop it.
t_bg MGR "${VRT_ENV[@]}" "$BUILD/bin/virtrigaud-manager" --standalone --data-dir "$D/data" \
    --port "$PORT" --plugin-dir "$VRT_PLUGIN_DIR"
for _ in $(seq 100); do [ -s "$D/data/kubeconfig" ] && break; sleep 0.1; done
if ! t_wait_port "$PORT" 20 || ! [ -s "$D/data/kubeconfig" ]; then
    t_fail "manager starts" "no listener on $PORT" "$(cat "$MGR_LOG")"
    t_done
fi
t_pass "manager starts"
export KUBECONFIG=$D/data/kubeconfig
k() { kubectl --request-timeout=20s "$@"; }
jp() { k get "$1" "$2" -o "jsonpath=$3" 2>/dev/null; }
# wait_for SECONDS CMD...: until CMD succeeds; returns 1 at the timeout.
wait_for() {
    local secs=$1 end
    shift
    end=$((SECONDS + secs))
    while [ "$SECONDS" -lt "$end" ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    return 1
}

VM=$TAG-vm
SERIAL=$D/$VM-serial.log
TOKEN="vrt-token-$$-$RANDOM"
cat >"$D/objects.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: libvirt-none}
type: Opaque
data: {}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: local}
spec:
  type: libvirt
  endpoint: $URI
  credentialSecretRef: {name: libvirt-none}
  runtime: {mode: Remote, image: "virtrigaud/provider-libvirt:embedded"}
  libvirt: {domainType: qemu, storagePool: $POOL}
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
    virtrigaud.io/kernel: $GUEST/vmlinuz
    virtrigaud.io/initrd: $GUEST/initrd.gz
    virtrigaud.io/kernel-cmdline: console=ttyS0 quiet panic=-1
spec:
  source:
    libvirt: {format: raw}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: $VM
  annotations:
    virtrigaud.io/serial-log: $SERIAL
spec:
  providerRef: {name: local}
  classRef: {name: tiny}
  imageRef: {name: busybox}
  powerState: "On"
  userData:
    cloudInit:
      inline: |
        #cloud-config $TOKEN
        hostname: $VM
EOF
t_run "kubectl apply Provider, VMClass, VMImage, VirtualMachine" k apply -f "$D/objects.yaml"

t_run "the VirtualMachine becomes Ready" \
    k wait --for=condition=Ready "vm/$VM" --timeout=120s
t_eq "status.phase is Running" Running "$(jp vm "$VM" '{.status.phase}')"
t_eq "status.powerState is On" On "$(jp vm "$VM" '{.status.powerState}')"
VMID=$(jp vm "$VM" '{.status.id}')
t_eq "status.id is the domain's UUID" "$(vsh domuuid "$VM" 2>/dev/null)" "$VMID"
lap "VM Ready"

seen() { grep -aq -- "$1" "$SERIAL" 2>/dev/null; }
if wait_for 90 seen VRT-GUEST-READY; then
    t_pass "the guest booted (serial log)"
else
    t_fail "the guest booted (serial log)" "no VRT-GUEST-READY in $SERIAL" \
        "$(tail -n 30 "$SERIAL" 2>/dev/null)"
fi
t_grep "the guest read the seed's user-data" \
    "^VRT-SEED user-data: #cloud-config $TOKEN" cat "$SERIAL"
# Without meta-data the plugin writes instance-id: <domain UUID>.
t_grep "the guest read the seed's meta-data (instance-id)" \
    "^VRT-SEED instance-id: $VMID" cat "$SERIAL"
t_grep "the seed volume is in the pool" "^$VM-cidata\\.iso$" pool_vols
lap "guest read the seed"

# VMClass change: 1 -> 2 vCPUs (hot-plug, the ceiling is twice) and
# 256 -> 192 MiB (balloon).
t_run "patch the VMClass (cpu 2, memory 192Mi)" \
    k patch vmclass tiny --type=merge -p '{"spec":{"cpu":2,"memory":"192Mi"}}'
cpus_are() { [ "$(jp vm "$VM" '{.status.currentResources.cpu}')" = "$1" ]; }
if wait_for 60 cpus_are 2; then
    t_pass "status.currentResources.cpu becomes 2"
else
    t_fail "status.currentResources.cpu becomes 2" \
        "got \"$(jp vm "$VM" '{.status.currentResources}')\"" "$(tail -n 20 "$MGR_LOG")"
fi
t_grep "virsh dominfo shows 2 CPUs" '^CPU\(s\): +2$' vsh dominfo "$VM"
mem_is() { [ "$(jp vm "$VM" '{.status.currentResources.memoryMiB}')" = "$1" ]; }
if wait_for 30 mem_is 192; then
    t_pass "status.currentResources.memoryMiB becomes 192"
else
    t_fail "status.currentResources.memoryMiB becomes 192" \
        "got \"$(jp vm "$VM" '{.status.currentResources}')\"" "$(tail -n 20 "$MGR_LOG")"
fi
t_grep "virsh dominfo shows 192 MiB in use" '^Used memory: +196608 KiB$' vsh dominfo "$VM"
lap "reconfigured"

# Graceful power-off: ACPI, the guest's own poweroff path.
off_start=$SECONDS
t_run "patch powerState OffGraceful" k patch vm "$VM" --type=merge \
    -p '{"spec":{"powerState":"OffGraceful","lifecycle":{"gracefulShutdownTimeout":"60s"}}}'
is_off() { [ "$(jp vm "$VM" '{.status.powerState}')" = Off ]; }
if wait_for 60 is_off; then
    t_pass "status.powerState is Off within 60 s ($((SECONDS - off_start)) s)"
else
    t_fail "status.powerState is Off within 60 s" \
        "got \"$(jp vm "$VM" '{.status.powerState}')\"" "$(tail -n 20 "$MGR_LOG")"
fi
t_grep "the guest shut down on ACPI (VRT-GUEST-POWEROFF in the serial log)" \
    VRT-GUEST-POWEROFF cat "$SERIAL"
# A forced power-off (virDomainDestroy) is reason "destroyed"; the guest's
# own poweroff is "shutdown".
t_grep "libvirt says the guest shut itself down" 'shut off \(shutdown\)' \
    vsh domstate --reason "$VM"
t_eq "status.phase is Stopped" Stopped "$(jp vm "$VM" '{.status.phase}')"
lap "powered off"

# Delete: the finalizer removes the domain and its volumes.
t_run "kubectl delete vm" k delete vm "$VM" --timeout=90s
t_eq "the domain is gone" "" "$(vsh list --all --name | grep -Fx "$VM" || true)"
t_eq "its volumes are gone" "" "$(pool_vols | grep "^$VM" || true)"
lap "deleted"

# --- (c) bad input ------------------------------------------------------------------
# A loopback port nothing listens on: the connection is refused at once.
REFUSED_PORT=$(t_free_port)
cat >"$D/bad.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: missing}
spec:
  source:
    libvirt: {path: $D/pool/no-such-image.qcow2, format: qcow2}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: $TAG-badimg}
spec:
  providerRef: {name: local}
  classRef: {name: tiny}
  imageRef: {name: missing}
  powerState: "On"
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: nopool}
spec:
  source:
    libvirt: {path: base.qcow2, format: qcow2, storagePool: no-such-pool}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: $TAG-nopool}
spec:
  providerRef: {name: local}
  classRef: {name: tiny}
  imageRef: {name: nopool}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMNetworkAttachment
metadata: {name: badnet}
spec:
  network:
    libvirt: {networkName: "lan/../x y"}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: $TAG-badname}
spec:
  providerRef: {name: local}
  classRef: {name: tiny}
  imageRef: {name: busybox}
  networks:
    - name: eth0
      networkRef: {name: badnet}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: refused}
spec:
  type: libvirt
  endpoint: qemu+tcp://127.0.0.1:$REFUSED_PORT/system
  libvirt: {domainType: qemu}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: $TAG-refused}
spec:
  providerRef: {name: refused}
  classRef: {name: tiny}
  imageRef: {name: busybox}
EOF
if [ "$ASAN" = 0 ]; then
    cat >>"$D/bad.yaml" <<EOF
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: unreachable}
spec:
  type: libvirt
  endpoint: qemu+ssh://nonexistent.invalid/system
  credentialSecretRef: {name: libvirt-none}
  runtime: {mode: Remote, image: "virtrigaud/provider-libvirt:embedded"}
  libvirt: {domainType: qemu}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: $TAG-unreach}
spec:
  providerRef: {name: unreachable}
  classRef: {name: tiny}
  imageRef: {name: busybox}
  powerState: "On"
EOF
fi
bad_start=$SECONDS
t_run "kubectl apply the bad objects" k apply -f "$D/bad.yaml"

ready_msg() { jp vm "$1" '{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].message}'; }
has_false() { [[ $(ready_msg "$1") == False\ * ]] && [[ $(ready_msg "$1") == *"$2"* ]]; }
# t_ready_false NAME VM NEEDLE: PASS once VM is Ready=False with NEEDLE in
# the message (within 40 s).
t_ready_false() {
    if wait_for 40 has_false "$2" "$3"; then
        t_pass "$1 ($(ready_msg "$2"))"
    else
        t_fail "$1" "got \"$(ready_msg "$2")\"" "$(tail -n 20 "$MGR_LOG")"
    fi
}
t_ready_false "a missing image volume: Ready=False naming it" "$TAG-badimg" no-such-image
t_eq "a missing image volume: no domain defined" "" \
    "$(vsh list --all --name | grep -Fx "$TAG-badimg" || true)"
t_ready_false "a missing storage pool: Ready=False naming it" "$TAG-nopool" no-such-pool
t_ready_false "an invalid network name: Ready=False naming the field" "$TAG-badname" 'networks[0].network'
t_ready_false "a host that refuses the connection: Ready=False naming it" "$TAG-refused" "127.0.0.1"
for n in nopool badname refused; do
    t_eq "$n: no domain defined" "" \
        "$(vsh list --all --name | grep -Fx "$TAG-$n" || true)"
done

if [ "$ASAN" = 1 ]; then
    for n in "an unreachable qemu+ssh host: ProviderAvailable=False" \
             "a VM on the unreachable host: Ready=False naming it"; do
        t_skip "$n" "under ASan libvirt's forked ssh child deadlocks in the sanitizer's allocator before exec (gcc 12 libasan); the release build's run checks it"
    done
else
    prov_cond() { jp provider unreachable '{.status.conditions[?(@.type=="ProviderAvailable")].status} {.status.conditions[?(@.type=="ProviderAvailable")].message}'; }
    prov_down() { [[ $(prov_cond) == False\ * ]]; }
    if wait_for 40 prov_down; then
        t_pass "an unreachable qemu+ssh host: ProviderAvailable=False in $((SECONDS - bad_start)) s ($(prov_cond))"
    else
        t_fail "an unreachable qemu+ssh host: ProviderAvailable=False" \
            "got \"$(prov_cond)\" after $((SECONDS - bad_start)) s" "$(tail -n 20 "$MGR_LOG")"
    fi
    t_grep "the unreachable host's message names the host" nonexistent.invalid prov_cond
    t_ready_false "a VM on the unreachable host: Ready=False naming it" "$TAG-unreach" nonexistent.invalid
fi
t_run "the manager still answers" k get vm
bad_vms=("$TAG-badimg" "$TAG-nopool" "$TAG-badname" "$TAG-refused")
[ "$ASAN" = 0 ] && bad_vms+=("$TAG-unreach")
t_run "delete the bad VMs" k delete vm "${bad_vms[@]}" --timeout=60s
lap "bad input done"

# --- (c2) an image downloaded over HTTP into the pool --------------------------------
if command -v qemu-img >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
    mkdir -p "$D/www"
    qemu-img create -q -f qcow2 "$D/www/small.qcow2" 64M
    SUM=$(sha256sum "$D/www/small.qcow2" | cut -d' ' -f1)
    WPORT=$(t_free_port)
    t_bg WWW python3 -m http.server "$WPORT" --bind 127.0.0.1 --directory "$D/www"
    t_wait_port "$WPORT" 10
    cat >"$D/dl.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: dl}
spec:
  source:
    libvirt: {url: "http://127.0.0.1:$WPORT/small.qcow2", format: qcow2, checksum: "$SUM", checksumType: sha256}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: dlbad}
spec:
  source:
    libvirt: {url: "http://127.0.0.1:$WPORT/small.qcow2", format: qcow2, checksum: "$(printf '0%.0s' $(seq 64))", checksumType: sha256}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: $TAG-dl1}
spec:
  providerRef: {name: local}
  classRef: {name: tiny}
  imageRef: {name: dl}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: $TAG-dl2}
spec:
  providerRef: {name: local}
  classRef: {name: tiny}
  imageRef: {name: dl}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: $TAG-dlbad}
spec:
  providerRef: {name: local}
  classRef: {name: tiny}
  imageRef: {name: dlbad}
EOF
    t_run "apply two VMs on an image served over HTTP, one on a wrong checksum" \
        k apply -f "$D/dl.yaml"
    t_run "both VMs on the downloaded image become Ready" \
        kubectl wait --for=condition=Ready "vm/$TAG-dl1" "vm/$TAG-dl2" --timeout=90s
    t_grep "the image is a volume of the pool, named after the VMImage" '^dl\.qcow2$' pool_vols
    t_eq "it was downloaded once for both VMs" 1 \
        "$(grep -c 'Downloading image "dl.qcow2"' "$MGR_LOG")"
    t_eq "the volume holds the served file (same size)" \
        "$(stat -c %s "$D/www/small.qcow2")" \
        "$(stat -c %s "$(vsh vol-path dl.qcow2 --pool "$POOL")")"
    t_ready_false "a wrong checksum: Ready=False naming the SHA-256" "$TAG-dlbad" "SHA-256"
    t_eq "... and the bad download was not kept" "" "$(pool_vols | grep -x 'dlbad.qcow2' || true)"
    t_run "delete the download VMs" k delete vm "$TAG-dl1" "$TAG-dl2" "$TAG-dlbad" --timeout=60s
    vsh vol-delete dl.qcow2 --pool "$POOL" >/dev/null 2>&1
    t_stop "$WWW"
else
    t_skip "an image downloaded over HTTP" "qemu-img or python3 is missing"
fi

# --- (d) leaks ----------------------------------------------------------------------
t_stop "$MGR"
if [ "$ASAN" = 1 ]; then
    t_eq "the manager's log has no sanitizer report" "" \
        "$(grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$MGR_LOG" | head -n 3)"
fi
t_eq "no domain of the suite is left" "" "$(our_domains)"
t_eq "no volume is left in the suite's pool" "" "$(pool_vols)"
t_note "total: $((SECONDS - START)) s"
t_done
