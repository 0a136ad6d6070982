#!/usr/bin/env bash
# tools/make-test-guest.sh DIR - builds a tiny Linux guest for demos and
# tests: Debian's kernel (vmlinuz) and a busybox initramfs (initrd.gz) in
# DIR.  The guest prints "VRT-GUEST-READY" on its serial console once in
# userspace, powers off on an ACPI power-button press (graceful shutdown,
# printing "VRT-GUEST-POWEROFF" first), and otherwise stays up.  When a
# cloud-init NoCloud seed (an ISO 9660 virtio disk with volume id cidata)
# is attached it prints "VRT-SEED user-data: <first line>" and
# "VRT-SEED instance-id: <id from meta-data>".  Boots in a few seconds
# under QEMU/TCG.
#
# Needs root only for apt-get (packages are downloaded, not installed).
# Reuses DIR when both files exist already.
set -euo pipefail

G=${1:?usage: make-test-guest.sh DIR}
mkdir -p "$G"
G=$(cd "$G" && pwd)
# Bump when the guest changes, so cached copies are rebuilt.
VERSION=4
if [ -s "$G/vmlinuz" ] && [ -s "$G/initrd.gz" ] &&
   [ "$(cat "$G/version" 2>/dev/null)" = "$VERSION" ]; then
    echo "guest: reusing $G" >&2
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# The kernel package that linux-image-amd64 points at, and busybox.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
       awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kpkg" ]; then
    apt-get update -qq
    kpkg=$(apt-cache depends linux-image-amd64 |
           awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
kver=${kpkg#linux-image-}
apt-get download -qq "$kpkg" busybox-static >/dev/null

mkdir k bb
# Only the kernel and the few modules the guest loads, in dependency order
# (the modules are not compressed and there is no modules.dep): virtio
# disks (the seed), the balloon (live memory changes), ISO 9660, and the
# ACPI power button.
mods="drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko
      drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci_legacy_dev.ko
      drivers/virtio/virtio_pci.ko drivers/block/virtio_blk.ko
      drivers/virtio/virtio_balloon.ko drivers/cdrom/cdrom.ko fs/isofs/isofs.ko
      drivers/acpi/button.ko drivers/input/evdev.ko"
# shellcheck disable=SC2046 # one tar argument per module
dpkg-deb --fsys-tarfile "${kpkg}"_*.deb |
    tar -x -C k --wildcards "./boot/vmlinuz-$kver" \
        $(for m in $mods; do printf './lib/modules/%s/kernel/%s ' "$kver" "$m"; done)
dpkg-deb -x busybox-static_*.deb bb

r=$work/root
mkdir -p "$r"/{bin,proc,sys,dev,tmp,seed,etc/acpi/PWRF,lib/kmod}
cp bb/bin/busybox "$r/bin/"
i=10
for m in $mods; do
    cp "k/lib/modules/$kver/kernel/$m" "$r/lib/kmod/$i-$(basename "$m")"
    i=$((i + 1))
done
printf '#!/bin/sh\necho VRT-GUEST-POWEROFF\npoweroff -f\n' >"$r/etc/acpi/PWRF/00000080"
cat >"$r/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /lib/kmod/*.ko; do insmod "$m" 2>/dev/null; done
# acpid opens the input devices present when it starts: let the button's
# event device (and the virtio disks) appear first.
sleep 1
# The NoCloud seed: an ISO 9660 disk whose volume id (32 bytes at offset
# 32808) is cidata, in either case.
for d in /dev/vd? /dev/sr?; do
    [ -b "$d" ] || continue
    id=$(dd if="$d" bs=1 skip=32808 count=32 2>/dev/null | tr -d ' \0' | tr A-Z a-z)
    [ "$id" = cidata ] || continue
    mount -t iso9660 -o ro "$d" /seed 2>/dev/null || continue
    echo "VRT-SEED device: $d"
    [ -f /seed/user-data ] && echo "VRT-SEED user-data: $(head -n 1 /seed/user-data)"
    [ -f /seed/meta-data ] &&
        echo "VRT-SEED instance-id: $(sed -n 's/^instance-id: *//p' /seed/meta-data | head -n 1)"
    umount /seed
    break
done
(acpid -d -c /etc/acpi >/dev/console 2>&1 &)
echo "VRT-GUEST-READY cpus=$(grep -c ^processor /proc/cpuinfo) mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
while :; do sleep 3600; done
EOF
chmod +x "$r/init" "$r/etc/acpi/PWRF/00000080"
(cd "$r" && find . | "$work/bb/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1) >"$G/initrd.gz.tmp"
cp "k/boot/vmlinuz-$kver" "$G/vmlinuz.tmp"
mv "$G/initrd.gz.tmp" "$G/initrd.gz"
mv "$G/vmlinuz.tmp" "$G/vmlinuz"
chmod 644 "$G/vmlinuz" "$G/initrd.gz"
echo "$VERSION" >"$G/version"
echo "guest: $G/vmlinuz ($kver) + $G/initrd.gz" >&2
