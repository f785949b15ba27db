#!/bin/bash
# ext4 on the volume with a real file workload during the copy: after sync
# the destination alone passes fsck -n, mounts, and every file's checksum is
# what was written.
# vm: -d src:256M -d dst:256M -t 400
# debug-kernel: full run only (256 MiB of ext4 and fsck; no target path of its own)
. "$(dirname "$0")/lib.sh"

ktap_plan 5

src=$(disk src) && dst=$(disk dst) || die "disks missing"
len=$(sectors "$src")
load_migrate || die "module does not load"

echo "0 $len migrate $src $dst - 512 1 paused" | dmsetup create mig || die "create"
# No discard: it would leave every region in sync before the copy starts.
mkfs.ext4 -q -F -E nodiscard /dev/mapper/mig || die "mkfs"
mkdir -p /mnt/vol /mnt/dst
mount /dev/mapper/mig /mnt/vol || die "mount"
mkdir /mnt/vol/a /mnt/vol/b
for i in $(seq 40); do
	dd if=/dev/urandom of=/mnt/vol/a/f$i bs=64k count=$((i % 7 + 1)) 2>/dev/null
done
sync

# The copy runs at 4 MiB/s while files are written, rewritten and deleted.
dmsetup message mig 0 rate 4194304
dmsetup message mig 0 resume
for round in $(seq 12); do
	for i in $(seq 30); do
		dd if=/dev/urandom of=/mnt/vol/b/r$round-$i bs=16k count=$((i % 5 + 1)) 2>/dev/null
	done
	for i in $(seq 1 3 40); do
		dd if=/dev/urandom of=/mnt/vol/a/f$i bs=32k count=2 conv=notrunc 2>/dev/null
	done
	rm -f /mnt/vol/b/r$round-1*
	sync
done
diag "after the workload: $(dmsetup status mig)"
ktap_expect "the workload ran while the copy was under way" \
	'[ "$(field mig 1)" = copying ] && [ "$(in_sync mig)" -gt 0 ]'
(cd /mnt/vol && find . -type f | sort | xargs sha256sum) > /tmp/manifest
umount /mnt/vol

dmsetup message mig 0 rate 0
ktap_check "copy reaches synced" wait_synced mig
dmsetup remove mig

e2fsck -f -n "$dst" > /tmp/fsck.out 2>&1
rc=$?
ktap_check "fsck -n of the destination alone is clean" [ $rc -eq 0 ]
[ $rc -eq 0 ] || cat /tmp/fsck.out
mount -o ro "$dst" /mnt/dst
ktap_check "the destination alone mounts" grep -q " /mnt/dst " /proc/mounts
(cd /mnt/dst && sha256sum -c /tmp/manifest > /tmp/check.out 2>&1)
rc=$?
diag "$(wc -l < /tmp/manifest) files checked"
ktap_check "every file's checksum equal on the destination" [ $rc -eq 0 ]
umount /mnt/dst
unload_migrate
ktap_finish
