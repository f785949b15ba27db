#!/bin/bash
# Data safety (Documentation/dm-migrate.rst, "Acknowledged writes"):
# - a destination that fails is recorded in the superblock before the first
#   write only the source holds is acknowledged, and a table loaded again on
#   the same metadata with the destination back stays halted, reporting it,
#   reading the source alone; a source whose flush failed after sync is
#   recorded the same way;
# - no migration shares a leg or its metadata device with another, while a
#   reload of the same device is allowed;
# - a suspend flushes the destination after the last copy, without metadata
#   too (seen through dm-log-writes under the destination);
# - a write-zeroes one leg refuses leaves both legs zeroed;
# - a readahead failed by a suspended dm leg is not a leg failure;
# - a reload reads the bitmap the live table committed up to its suspend;
# - mirrored writes under memory pressure complete and verify;
# - a read-only table and a table of more than 2^32 regions are refused.
# vm: -d src:16M -d dst:16M -d meta:4M -d log:8M -t 500 -m 512
. "$(dirname "$0")/lib.sh"

ktap_plan 18

src=$(disk src) && dst=$(disk dst) && meta=$(disk meta) && logd=$(disk log) ||
	die "disks missing"
len=$(sectors "$src")
load_migrate || die "module does not load"
modprobe dm-log-writes && modprobe dm-flakey || die "no dm-log-writes or dm-flakey"

linear() { dmsetup create "$1" --table "0 $len linear $2 0"; }
to_error() {
	dmsetup reload "$1" --table "0 $len error" && dmsetup suspend "$1" &&
		dmsetup resume "$1"
}
to_linear() {
	dmsetup reload "$1" --table "0 $len linear $2 0" && dmsetup suspend "$1" &&
		dmsetup resume "$1"
}
# sb_flags: the superblock's flags (1 source failed, 2 destination failed).
sb_flags() {
	dd if="$meta" bs=4096 count=1 iflag=direct 2> /dev/null | od -An -tu4 -j4 -N4 | tr -d ' '
}
wait_in_sync() {	# wait_in_sync NAME N: at least N regions in sync
	local n=$2
	wait_status "$1" 180 '[ "${MST[2]%%/*}" -ge "$n" ]' 0.5
}
write_at() {	# write_at DEV MIB: 1 MiB of random data at MIB
	dd if=/dev/urandom of="$1" bs=1M count=1 seek="$2" oflag=direct 2> /dev/null
}

step "a failed destination is recorded before a write is acknowledged"
dd if=/dev/zero of="$meta" bs=4096 count=4 oflag=direct 2> /dev/null
linear srcdev "$src" && linear dstdev "$dst" || die "legs"
dd if=/dev/urandom of=/dev/mapper/srcdev bs=1M count=16 oflag=direct 2> /dev/null
table="0 $len migrate /dev/mapper/srcdev /dev/mapper/dstdev $meta 256 2 rate 2097152"
echo "$table" | dmsetup create mig || die "create"
wait_in_sync mig 16 || die "no region copied"
to_error dstdev
write_at /dev/mapper/mig 0
rc=$?
flags=$(sb_flags)
diag "write exit $rc, superblock flags right after it was acknowledged: $flags"
ktap_check "the write succeeded and the superblock already records the destination failed" \
	[ "$rc $flags" = "0 2" ]
write_at /dev/mapper/mig 1
want=$(sum_mib /dev/mapper/srcdev)
dmsetup remove mig
to_linear dstdev "$dst"
echo "$table" | dmsetup create mig || die "create again"
ktap_expect "loaded again with the destination back: halted, destination failed" \
	'[ "$(field mig 1) $(field mig 9)" = "halted failed" ]'
sleep 1
ktap_expect "no copy runs, reads come from the source alone" \
	'[ "$(field mig 5)" = 0 ] && [ "$(sum_mib /dev/mapper/mig)" = "$want" ]'
dmsetup remove mig

step "a source whose flush failed after sync is recorded"
dd if=/dev/zero of="$meta" bs=4096 count=4 oflag=direct 2> /dev/null
echo "0 $len migrate /dev/mapper/srcdev /dev/mapper/dstdev $meta 256" | dmsetup create mig
wait_synced mig || die "no sync"
# dm's error target is sent no flush; flakey, always down, fails writes and
# flushes and serves reads.
dmsetup reload srcdev --table "0 $len flakey $src 0 0 3600 1 error_writes" &&
	dmsetup suspend srcdev && dmsetup resume srcdev
# fsync of a block device sends it an empty flush.
dd if=/dev/zero of=/dev/mapper/mig bs=4k count=0 conv=fsync 2> /dev/null
ktap_check "the flush succeeded on the destination; the source is recorded failed" \
	[ "$? $(sb_flags) $(field mig 8)" = "0 1 failed" ]
dmsetup remove mig
to_linear srcdev "$src"

step "one migration per device"
echo "0 $len migrate /dev/mapper/srcdev /dev/mapper/dstdev - 256 1 paused" | dmsetup create mig
echo "0 $len migrate $logd /dev/mapper/dstdev - 256 1 paused" | dmsetup create mig2 2> /dev/null
ktap_expect "a second migration to the same destination is refused" \
	'! dmsetup info mig2 2> /dev/null | grep -q "Tables present: *LIVE" &&
	 dmesg | grep -q "is used by migration"'
dmsetup remove mig2 2> /dev/null
echo "0 $len migrate $logd $dst /dev/mapper/srcdev 256 1 paused" | dmsetup create mig2 2> /dev/null
ktap_expect "another's leg as the metadata device is refused" \
	'! dmsetup info mig2 2> /dev/null | grep -q "Tables present: *LIVE"'
dmsetup remove mig2 2> /dev/null
echo "0 $len migrate /dev/mapper/srcdev /dev/mapper/dstdev - 256" | dmsetup reload mig &&
	dmsetup resume mig
ktap_check "a reload of the same device is allowed" wait_synced mig
dmsetup remove mig
dmsetup remove srcdev
dmsetup remove dstdev

step "a suspend flushes the destination after the last copy"
logsz=$(sectors "$logd")
dd if=/dev/zero of="$logd" bs=1M count=1 oflag=direct 2> /dev/null
# Over the first 2 MiB (16 regions): the log is walked a sector header at a
# time, a few programs each, and more entries would only cost time.
loglen=4096
dmsetup create dstlog --table "0 $loglen log-writes $dst $logd" || die "log-writes"
echo "0 $loglen migrate $src /dev/mapper/dstlog - 256" | dmsetup create mig
wait_synced mig || die "no sync"
dmsetup suspend mig
dmsetup message dstlog 0 mark suspended
dmsetup resume mig
dmsetup remove mig
dmsetup remove dstlog
# The log: a superblock, then entries { sector, nr_sectors, flags, data_len }
# (le64 each) of one 512-byte sector, each followed by its data sectors.
# Flags: 1 flush, 2 FUA, 4 discard, 8 mark. dm-log-writes logs writes only
# at the next flush, so a copy never flushed is logged after the mark.
log_walk() {
	local n s i e
	n=$(dd if="$logd" bs=512 count=1 2> /dev/null | od -An -tu8 -j16 -N8 | tr -d ' ')
	s=1
	for ((i = 0; i < n && s < logsz; i++)); do
		read -r -a e <<< "$(dd if="$logd" bs=512 skip="$s" count=1 2> /dev/null | od -An -tu8 -N32 | tr '\n' ' ')"
		echo "${e[1]} ${e[2]}"
		((e[2] & 4)) || s=$((s + e[1]))
		s=$((s + 1))
	done
}
log_walk > /tmp/log.txt
verdict=$(awk '$2 == 8 { mark = 1; next }
	       !mark && $1 > 0 && !and($2, 12) { last = "data"; data++ }
	       !mark && and($2, 1) { last = "flush" }
	       mark && $1 > 0 && !and($2, 12) { late++ }
	       END { printf "%d %s %d\n", data, last, late }' /tmp/log.txt)
diag "copy writes logged before the mark, what came last, writes after it: $verdict"
ktap_expect "every copy write flushed before the suspend ended" \
	'set -- $verdict; [ "$1" -gt 0 ] && [ "$2" = flush ] && [ "$3" = 0 ]'

step "a write-zeroes one leg refuses"
modprobe loop
mkdir -p /mnt/tmpfs && mount -t tmpfs -o size=24M none /mnt/tmpfs
truncate -s 16M /mnt/tmpfs/leg
tleg=$(losetup --find --show /mnt/tmpfs/leg)
echo "0 $len migrate $src $tleg - 256" | dmsetup create mig
wait_synced mig || die "no sync"
dm=$(basename "$(readlink -f /dev/mapper/mig)")
if [ "$(cat "/sys/block/$dm/queue/write_zeroes_max_bytes")" = 0 ]; then
	ktap_skip "a write-zeroes one leg refuses leaves both zeroed" "no write-zeroes through the volume"
else
	write_at /dev/mapper/mig 4
	blkdiscard -z -o 4M -l 1M /dev/mapper/mig
	rc=$?
	zero=$(dd if=/dev/zero bs=1M count=1 2> /dev/null | digest)
	diag "blkdiscard -z exit $rc"
	ktap_expect "a write-zeroes one leg refuses leaves both zeroed" \
		'[ "$(sum_mib "$src" 1 4)" = "$zero" ] && [ "$(sum_mib "$tleg" 1 4)" = "$zero" ] &&
		 [ "$(field mig 8) $(field mig 9)" = "ok ok" ]'
fi
dmsetup remove mig
losetup -d "$tleg"
umount /mnt/tmpfs

step "readahead failed by a suspended leg"
linear srcdev "$src"
echo "0 $len migrate /dev/mapper/srcdev $dst - 256 1 paused" | dmsetup create mig
blockdev --setra 2048 /dev/mapper/mig
echo 3 > /proc/sys/vm/drop_caches
dmsetup suspend srcdev
dd if=/dev/mapper/mig of=/dev/null bs=64k count=64 2> /dev/null &
reader=$!
sleep 1
dmsetup resume srcdev
wait $reader
ktap_expect "a readahead failed by a suspended dm leg fails no leg" \
	'[ "$(field mig 8) $(field mig 10)" = "ok 0" ]'
dmsetup remove mig
dmsetup remove srcdev

step "a reload reads the bitmap at resume"
dd if=/dev/zero of="$meta" bs=4096 count=4 oflag=direct 2> /dev/null
table="0 $len migrate $src $dst $meta 256 2 rate 2097152"
echo "$table" | dmsetup create mig
wait_in_sync mig 8 || die "no region copied"
echo "$table" | dmsetup reload mig
sleep 2
dmsetup suspend mig
before=$(in_sync mig)
dmsetup resume mig
after=$(in_sync mig)
diag "regions in sync at the suspend: $before, after the new table's resume: $after"
ktap_check "the new table starts from what the old one committed" [ "$after" -ge "$before" ]
ktap_check "and copies to the end" wait_synced mig
dmsetup remove mig

step "mirrored writes under memory pressure"
echo "0 $len migrate $src $dst - 256" | dmsetup create mig
wait_synced mig || die "no sync"
free_kb=$(awk '/MemAvailable/ { print $2 }' /proc/meminfo)
mkdir -p /mnt/hog && mount -t tmpfs -o size=$((free_kb - 24 * 1024))k none /mnt/hog
dd if=/dev/zero of=/mnt/hog/fill bs=1M 2> /dev/null
diag "memory available with the hog: $(awk '/MemAvailable/ { print $2 }' /proc/meminfo) kB"
fio --name=press --filename=/dev/mapper/mig --direct=1 --rw=randwrite --bs=4k \
	--size=8M --iodepth=32 --ioengine=libaio --verify=crc32c --verify_fatal=1 \
	--eta=never > /tmp/press.out 2>&1
ktap_check "fio verifies, iodepth 32, with 24 MiB of memory left" [ $? -eq 0 ]
umount /mnt/hog
ktap_expect "legs equal after it" '[ "$(sum_mib "$src")" = "$(sum_mib "$dst")" ]'
dmsetup remove mig

step "refused tables"
echo "0 $len migrate $src $dst - 256" | dmsetup create --readonly mig 2> /dev/null
ktap_expect "a read-only table is refused" \
	'! dmsetup info mig 2> /dev/null | grep -q "Tables present: *LIVE" &&
	 dmesg | grep -q "the table cannot be read-only"'
dmsetup remove mig 2> /dev/null
huge=$(((1 << 32) * 8 + 8))
dmsetup create z1 --table "0 $huge zero" && dmsetup create z2 --table "0 $huge zero"
echo "0 $huge migrate /dev/mapper/z1 /dev/mapper/z2 - 8" | dmsetup create mig 2> /dev/null
ktap_expect "more than 2^32 regions: refused, saying why" \
	'! dmsetup info mig 2> /dev/null | grep -q "Tables present: *LIVE" &&
	 dmesg | grep -q "Too many regions"'
dmsetup remove mig 2> /dev/null
dmsetup remove z1 && dmsetup remove z2

ktap_check "nothing wrong in the kernel log" no_problems_in_dmesg
ktap_check "module unloads" unload_migrate
ktap_finish
