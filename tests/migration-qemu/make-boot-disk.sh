#!/usr/bin/env bash
# tests/migration-qemu/make-boot-disk.sh GUEST-DIR OUT - a raw disk image
# that boots the test guest of tools/make-test-guest.sh on its own (BIOS,
# no direct kernel boot): one FAT file system over the whole disk holding
# the guest's vmlinuz and initrd.gz, made bootable with syslinux.  The
# guest prints "VRT-GUEST-READY" on ttyS0 once up, as with direct boot.
# A migrated copy of this disk that still boots proves the bytes arrived.
#
# Needs mtools, dosfstools and syslinux (no root, no loop device: syslinux
# writes through mtools).  A cached image is reused while it is newer than
# the guest files.
set -euo pipefail

G=${1:?usage: make-boot-disk.sh GUEST-DIR OUT}
out=${2:?usage: make-boot-disk.sh GUEST-DIR OUT}
for f in vmlinuz initrd.gz; do
    [ -s "$G/$f" ] || { echo "make-boot-disk: $G/$f is missing" >&2; exit 1; }
done
if [ -s "$out" ] && [ "$out" -nt "$G/vmlinuz" ] && [ "$out" -nt "$G/initrd.gz" ]; then
    echo "boot disk: reusing $out" >&2
    exit 0
fi
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
# 24 MiB: the kernel and initramfs take about 10.
truncate -s 24M "$tmp"
mkfs.vfat -n VRTBOOT "$tmp" >/dev/null
# no_timer_check: on a busy host the kernel's IO-APIC timer probe can fail
# under TCG and panic (the direct-boot suites are luckier, not immune).
cfg=$(mktemp)
printf 'DEFAULT guest\nPROMPT 0\nTIMEOUT 1\nLABEL guest\n  KERNEL vmlinuz\n  APPEND initrd=initrd.gz console=ttyS0 quiet panic=-1 no_timer_check\n' >"$cfg"
mcopy -i "$tmp" "$G/vmlinuz" "$G/initrd.gz" ::
mcopy -i "$tmp" "$cfg" ::syslinux.cfg
rm -f "$cfg"
syslinux --install "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "boot disk: $out" >&2
