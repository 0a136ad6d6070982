#!/usr/bin/env bash
# VMMigration vSphere -> libvirt in standalone mode with kubectl: the
# source is a VM of vcsim (the govmomi vCenter simulator, a fake: no real
# vCenter can run here; built by tests/vsphere/build-vcsim.sh), the target
# a real libvirtd + QEMU (TCG).  vcsim's disks are empty files, so the
# suite writes the source disk itself through the datastore's /folder
# HTTP access: the BIOS-bootable guest disk of
# tests/migration-qemu/make-boot-disk.sh as two flat extents behind a VMDK
# descriptor.  The source VM runs; the vSphere plugin exports the disk as
# the migration's snapshot froze it, reading those files back; the copy
# must boot on QEMU.
#
#   (a) the disk content is known: content SHA-256 of source and target
#       equal sha256sum of the image, qemu-img compare of the libvirt
#       volume with the image;
#   (b) the migrated guest boots on QEMU (VRT-GUEST-READY on its serial);
#   (c) the migration's vCenter snapshot is gone afterwards;
#   (d) a sparse VMDK source is refused with a clear message.
#
# Needs root (libvirtd, QEMU), like tests/migration-qemu.
# shellcheck disable=SC2317 # helpers are called through traps and waits
set -u
. "$(dirname "$0")/../lib.sh"
VS=$VRT_SRC_DIR/tests/vsphere
MQ=$VRT_SRC_DIR/tests/migration-qemu

if [ "$(id -u)" != 0 ]; then
    t_skip migration-vsphere "needs root to run libvirtd and QEMU (run as root)"
    t_done
fi
t_need go curl openssl kubectl virsh libvirtd virtlogd qemu-system-x86_64 \
    qemu-img sha256sum mcopy mkfs.vfat syslinux
. "$VS/soap.sh"
. "$MQ/libvirtd.sh"
START=$SECONDS
lap() { t_note "time: $1 at $((SECONDS - START)) s"; }

# --- vcsim, the guest disk, libvirtd ---------------------------------------------
if ! t_exec "$VS/build-vcsim.sh" "$BUILD/vcsim"; then
    t_fail "build vcsim" "build-vcsim.sh failed" "$T_OUT"
    t_done
fi
VCSIM=$(printf '%s\n' "$T_OUT" | tail -n 1)
GUEST=${VRT_GUEST_DIR:-/var/tmp/virtrigaud-test-guest}
if ! t_exec "$VRT_SRC_DIR/tools/make-test-guest.sh" "$GUEST" ||
   ! t_exec "$MQ/make-boot-disk.sh" "$GUEST" "$GUEST/boot-disk.raw"; then
    t_fail "build the test guest's boot disk" "see the output" "$T_OUT"
    t_done
fi
IMG=$GUEST/boot-disk.raw
IMG_SIZE=$(stat -c %s "$IMG")
IMG_SUM=$(sha256sum "$IMG" | cut -d' ' -f1)
t_pass "vcsim and the guest's boot disk are built"
lap "built"

t_mktemp D
chmod 755 "$D"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=vrt mig CA" \
    -keyout "$D/ca.key" -out "$D/ca.crt" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$D/srv.key" -out "$D/srv.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$D/ext"
openssl x509 -req -in "$D/srv.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" \
    -CAcreateserial -days 2 -extfile "$D/ext" -out "$D/srv.crt" >/dev/null 2>&1
USER_=vrt-mig PASS_="pw-$$-$RANDOM"
SIM_PORT=$(t_free_port)
t_bg SIM "$VCSIM" -l "127.0.0.1:$SIM_PORT" -username "$USER_" -password "$PASS_" \
    -cert "$D/srv.crt" -key "$D/srv.key"
for _ in $(seq 100); do
    grep -q "vcsim listening" "$SIM_LOG" && break
    sleep 0.1
done
# shellcheck disable=SC2034 # soap.sh reads SOAP_CA
SOAP_URL=https://127.0.0.1:$SIM_PORT/sdk SOAP_JAR=$D/jar SOAP_CA=$D/ca.crt
if ! soap_login "$USER_" "$PASS_"; then
    t_fail "vcsim starts and the SOAP helper logs in" "" "$(cat "$SIM_LOG")"
    t_done
fi
for t in DC0_H0_VM0 DC0_H0_VM1; do
    TREF=$(soap_vm "$t" 2)
    soap_vm_task PowerOffVM_Task "$TREF" >/dev/null
    soap_call "<MarkAsTemplate xmlns=\"urn:vim25\"><_this type=\"VirtualMachine\">$TREF</_this></MarkAsTemplate>" >/dev/null
done
t_pass "vcsim on 127.0.0.1:$SIM_PORT (TLS with our CA), DC0_H0_VM0 and VM1 templates"

URI=qemu:///system
vsh() { virsh -q -c "$URI" "$@"; }
if ! mq_libvirtd "$URI"; then
    t_fail "libvirtd starts" "no answer on $URI" "$(cat "${LIBVIRTD_LOG:-/dev/null}")"
    t_done
fi
TAG=vrtmv$$
POOL=$TAG-pool
mkdir -p "$D/pool"
on_exit() {
    local d
    [ -n "${MGR:-}" ] && t_stop "$MGR"
    for d in $(vsh list --all --name 2>/dev/null | grep "^$TAG-"); do
        vsh destroy "$d" >/dev/null 2>&1
        vsh undefine "$d" >/dev/null 2>&1
    done
    vsh pool-destroy "$POOL" >/dev/null 2>&1
    [ -n "${LIBVIRTD:-}" ] && t_stop "$LIBVIRTD"
    t_cleanup_
}
trap on_exit EXIT
if ! t_exec vsh pool-create-as "$POOL" dir --target "$D/pool"; then
    t_fail "create the libvirt pool" "pool-create-as failed" "$T_OUT"
    t_done
fi
t_pass "libvirtd answers on $URI, pool $POOL"
lap "backends ready"

# --- the manager and the source VMs --------------------------------------------------
mq_start_manager MGR "$D/data" --staging-dir "$D/staging" || t_done
t_pass "manager starts"
SRC=$TAG-src SPARSE=$TAG-sparse DST=$TAG-dst
cat >"$D/objects.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: vcsim-creds}
type: Opaque
stringData:
  username: $USER_
  password: $PASS_
  ca.crt: |
$(sed 's/^/    /' "$D/ca.crt")
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: vcsim}
spec:
  type: vsphere
  endpoint: $SOAP_URL
  credentialSecretRef: {name: vcsim-creds}
---
apiVersion: v1
kind: Secret
metadata: {name: libvirt-none}
type: Opaque
data: {}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: kvm}
spec:
  type: libvirt
  endpoint: $URI
  credentialSecretRef: {name: libvirt-none}
  libvirt: {domainType: qemu, storagePool: $POOL}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: small}
spec: {cpu: 1, memory: 256Mi, firmware: BIOS}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: tmpl}
spec:
  source:
    vsphere: {templateName: DC0_H0_VM1}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: $SRC}
spec:
  providerRef: {name: vcsim}
  classRef: {name: small}
  imageRef: {name: tmpl}
  powerState: "On"
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: tmpl2}
spec:
  source:
    vsphere: {templateName: DC0_H0_VM0}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: $SPARSE}
spec:
  providerRef: {name: vcsim}
  classRef: {name: small}
  imageRef: {name: tmpl2}
  powerState: "Off"
EOF
# (The second VM has a template of its own: vcsim 0.24's clones of one
# template share one disk device, so they all end up on one file.)
t_run "apply a vcsim Provider, a libvirt Provider and two VMs on vcsim" \
    k apply -f "$D/objects.yaml"
t_run "both vcsim VMs become Ready" \
    k wait --for=condition=Ready "vm/$SRC" "vm/$SPARSE" --timeout=90s
lap "source VMs Ready"

# disk_file NAME: the datastore path ("[ds] dir/file.vmdk") of the first
# disk of vcsim VM NAME, read through SOAP.
disk_file() {
    soap_call "<RetrievePropertiesEx xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>config.hardware.device</pathSet></propSet><objectSet><obj type=\"VirtualMachine\">$(soap_vm "$1" 2)</obj></objectSet></specSet><options/></RetrievePropertiesEx>" |
        tr -d '\n' | grep -o '<fileName>[^<]*\.vmdk</fileName>' | head -n 1 |
        sed 's/<[^>]*>//g'
}
# put_file DSPATH FILE: writes FILE to the datastore path through /folder.
put_file() {
    local ds=${1#[} rel
    rel=${ds#*] }
    ds=${ds%%]*}
    curl -sf --cacert "$D/ca.crt" -b "$SOAP_JAR" -X PUT --data-binary "@$2" \
        "https://127.0.0.1:$SIM_PORT/folder/$rel?dcPath=DC0&dsName=$ds"
}
SRC_DISK=$(disk_file "$SRC")
SPARSE_DISK=$(disk_file "$SPARSE")
t_grep "vcsim: the source VM has a disk on a datastore" '^\[[^]]+\] .+\.vmdk$' \
    echo "$SRC_DISK"
t_eq "vcsim: the two VMs have disks of their own" yes \
    "$([ -n "$SPARSE_DISK" ] && [ "$SPARSE_DISK" != "$SRC_DISK" ] && echo yes || echo no)"
# The image as two flat extents (a twoGbMaxExtentFlat-style descriptor):
# the export must join them in order.
base=${SRC_DISK%.vmdk}
half=$((IMG_SIZE / 2 / 512 * 512))
head -c "$half" "$IMG" >"$D/e1"
tail -c +$((half + 1)) "$IMG" >"$D/e2"
cat >"$D/desc" <<EOF
# Disk DescriptorFile
version=1
CID=5eed0001
parentCID=ffffffff
createType="twoGbMaxExtentFlat"

# Extent description
RW $((half / 512)) FLAT "${base##*/}-s001.vmdk" 0
RW $(((IMG_SIZE - half) / 512)) FLAT "${base##*/}-s002.vmdk" 0

# The Disk Data Base
ddb.adapterType = "lsilogic"
EOF
if put_file "$base-s001.vmdk" "$D/e1" && put_file "$base-s002.vmdk" "$D/e2" &&
   put_file "$SRC_DISK" "$D/desc"; then
    t_pass "write the guest disk to vcsim's datastore ($SRC_DISK, two extents)"
else
    t_fail "write the guest disk to vcsim's datastore" "PUT /folder failed"
fi
# The other VM's disk: a sparse VMDK, which the plugin must refuse.
qemu-img create -q -f vmdk -o subformat=monolithicSparse "$D/sparse.vmdk" 8M
t_run "write a monolithicSparse VMDK as the other VM's disk" \
    put_file "$SPARSE_DISK" "$D/sparse.vmdk"

# --- (a)-(c) the migration -------------------------------------------------------
mig() { # mig NAME SOURCE TARGET POWERON RETRIES
    cat >"$D/mig-$1.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: $1}
spec:
  source: {vmRef: {name: $2}}
  target:
    name: $3
    providerRef: {name: kvm}
    powerOn: $4
    annotations: {virtrigaud.io/serial-log: $D/$3-serial.log}
  options:
    diskFormat: qcow2
    cleanupPolicy: OnSuccess
    retryPolicy: {maxRetries: $5, retryDelay: 1s, backoffMultiplier: 1}
  storage: {type: pvc}
EOF
    t_run "apply VMMigration $1 ($2 -> libvirt)" k apply -f "$D/mig-$1.yaml"
}
mig v2l "$SRC" "$DST" true 1
t_wait_jp "the vSphere -> libvirt migration reaches Ready" vmmigration/v2l \
    '{.status.phase}' '^Ready$' 180
t_grep "it went through every phase, in order (events)" \
    'Validating Snapshotting Exporting Converting Importing Creating Validating-Target Ready' \
    evreasons v2l
t_eq "(a) the exported content SHA-256 is sha256sum of the image" \
    "$IMG_SUM" "$(jp vmmigration/v2l '{.status.diskInfo.sourceChecksum}')"
t_eq "(a) the libvirt volume read back has the same content SHA-256" \
    "$IMG_SUM" "$(jp vmmigration/v2l '{.status.diskInfo.targetChecksum}')"
t_eq "(a) formats: raw out of vSphere, qcow2 into libvirt" raw/qcow2 \
    "$(jp vmmigration/v2l '{.status.diskInfo.sourceFormat}/{.status.diskInfo.targetFormat}')"
VOL=$(jp vmmigration/v2l '{.status.importID}')
t_run "(a) qemu-img compare: the libvirt volume holds the image" \
    qemu-img compare -U -q -f raw -F qcow2 "$IMG" "$VOL"
t_grep "(a) the plugin read both extents of the descriptor" \
    "Exporting disk .*\\($IMG_SIZE bytes in 2 extents\\)" cat "$MGR_LOG"
t_wait_jp "(b) the target VM runs on libvirt" "vm/$DST" \
    '{.status.phase}/{.spec.providerRef.name}' '^Running/kvm$' 120
seen() { grep -aq VRT-GUEST-READY "$D/$DST-serial.log" 2>/dev/null; }
for _ in $(seq 120); do seen && break; sleep 1; done
if seen; then
    t_pass "(b) the guest migrated from vSphere booted on QEMU ($(grep -a -m1 VRT-GUEST-READY "$D/$DST-serial.log" | tr -d '\r'))"
else
    t_fail "(b) the guest migrated from vSphere booted on QEMU" "no VRT-GUEST-READY" \
        "$(tail -n 20 "$D/$DST-serial.log" 2>/dev/null)"
fi
t_grep "(c) the export came from the migration's snapshot" \
    'Exporting disk .* as of snapshot ' cat "$MGR_LOG"
t_eq "(c) the migration's snapshot is deleted again (status)" "" \
    "$(jp vmmigration/v2l '{.status.snapshotID}')"
t_eq "(c) vcsim: the source VM has no snapshot left" 0 "$(soap_vm "$SRC" 7)"
t_eq "the default cleanupPolicy removed staging" no \
    "$([ -e "$D/staging/default_v2l" ] && echo yes || echo no)"
lap "migrated and booted"

# --- (d) a sparse source -------------------------------------------------------------
mig sparse "$SPARSE" "$TAG-none" false 0
t_wait_jp "(d) a sparse VMDK source: Failed, saying the disk is a sparse VMDK" \
    vmmigration/sparse '{.status.phase}: {.status.message}' '^Failed: .*sparse VMDK' 60
t_eq "(d) ... and nothing was imported" "" \
    "$(vsh vol-list "$POOL" | awk 'NF {print $1}' | grep "^$TAG-none" || true)"

# --- clean-up --------------------------------------------------------------------------
t_run "delete the VMs" k delete vm "$DST" "$SRC" "$SPARSE" --ignore-not-found --timeout=120s
t_eq "no domain of the suite is left" "" \
    "$(vsh list --all --name | grep "^$TAG-" || true)"
t_eq "vcsim: the source VMs are gone" "" "$(soap_vms | grep "^$TAG-" || true)"
t_stop "$MGR"
if ldd "$BUILD/bin/virtrigaud-manager" 2>/dev/null | grep -q libasan; then
    t_eq "the manager's log has no sanitizer report" "" \
        "$(grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$MGR_LOG" | head -n 3)"
fi
t_eq "the vCenter password appears in no log" "" \
    "$(grep -lF -- "$PASS_" "$MGR_LOG" || true)"
t_note "total: $((SECONDS - START)) s"
t_done
