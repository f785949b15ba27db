#!/bin/bash
# The metadata device: formatted when blank, refused with a clear message
# and left untouched when it is too small, holds other data, is corrupt or
# belongs to another migration (unless "fresh"); progress kept across a
# remove and reload; the copy finishes with both legs equal; the tuning
# features (window, copy_jobs, commit_period) checked, echoed and obeyed;
# a suspend after a "cutover" message leaves the record as it is.
# vm: -d src:128M -d dst:128M -d meta:4M -t 400
# debug-kernel: full run only; the metadata commits run there in test_target_12 and 15 and the fuzzer
. "$(dirname "$0")/lib.sh"

ktap_plan 19

src=$(disk src) && dst=$(disk dst) && meta=$(disk meta) || die "disks missing"
len=$(sectors "$src")
load_migrate || die "module does not load"

# refused DESC MESSAGE TABLE: refused with MESSAGE, metadata unchanged.
refused() {
	local msg=$1 table=$2 before after out
	before=$(sum "$meta")
	dmesg -c > /dev/null
	if echo "$table" | dmsetup create mig 2>/dev/null; then
		dmsetup remove mig
		return 1
	fi
	out=$(dmesg)
	after=$(sum "$meta")
	grep -q "$msg" <<< "$out" || { diag "expected '$msg', got: $out"; return 1; }
	[ "$before" = "$after" ] || { diag "metadata changed"; return 1; }
}

dmsetup create tiny --table "0 8 linear $meta 0"
ktap_check "too small a metadata device refused" \
	refused "Metadata device too small" "0 $len migrate $src $dst /dev/mapper/tiny 256"
dmsetup remove tiny

mkfs.ext4 -q -F "$meta" > /dev/null 2>&1
ktap_check "a metadata device holding a filesystem refused" \
	refused "holds other data" "0 $len migrate $src $dst $meta 256"
dd if=/dev/zero of="$meta" bs=1M count=4 oflag=direct 2>/dev/null

# Blank: formatted. Copy a part at a limited rate, then remove cleanly.
echo "0 $len migrate $src $dst $meta 256 4 rate 8388608 pair_id aaaa1111" | dmsetup create mig
# The superblock's magic is "DDMMRIGM" at offset 8.
ktap_expect "a blank metadata device is formatted" \
	'[ "$(field mig 12)" = ok ] && [ "$(dd if="$meta" bs=1 skip=8 count=8 2>/dev/null)" = DDMMRIGM ]'
fio --name=w --filename=/dev/mapper/mig --direct=1 --rw=randwrite --bs=4k \
	--time_based --runtime=5 --eta=never > /dev/null
dmsetup suspend mig
kept=$(in_sync mig)
dmsetup remove mig
diag "in sync at remove: $kept"

ktap_check "another migration's metadata (pair_id) refused" \
	refused "belongs to another migration" "0 $len migrate $src $dst $meta 256 2 pair_id bbbb2222"
ktap_check "another region size refused" \
	refused "belongs to another migration" "0 $len migrate $src $dst $meta 512 2 pair_id aaaa1111"

echo "0 $len migrate $src $dst $meta 256 3 paused pair_id aaaa1111" | dmsetup create mig
loaded=$(in_sync mig)
diag "in sync after reload: $loaded"
ktap_expect "progress kept across remove and reload" '[ "$kept" -gt 0 ] && [ "$loaded" = "$kept" ]'
dmsetup message mig 0 resume
ktap_check "the copy finishes" wait_synced mig
fio --name=w --filename=/dev/mapper/mig --direct=1 --rw=randwrite --bs=4k \
	--number_ios=500 --eta=never > /dev/null
dmsetup remove mig
ktap_check "both legs equal" [ "$(sum "$src" "$len")" = "$(sum "$dst" "$len")" ]

# Corrupt the superblock: refused; "fresh" starts over.
printf 'X' | dd of="$meta" bs=1 seek=100 conv=notrunc 2>/dev/null
ktap_check "a corrupt superblock refused" \
	refused "superblock is corrupt" "0 $len migrate $src $dst $meta 256 2 pair_id aaaa1111"
echo "0 $len migrate $src $dst $meta 256 4 paused fresh pair_id aaaa1111" | dmsetup create mig
ktap_check "fresh formats over anything: nothing in sync" [ "$(in_sync mig)" = 0 ]
ktap_check "table echoes metadata and pair_id, not fresh" \
	sh -c "dmsetup table mig | grep -q '$(majmin "$meta") 256 3 paused pair_id aaaa1111\$'"
dmsetup remove mig

# Tuning features: out of range, repeated, or without a metadata device.
tuning_refused() {
	refused "Invalid or repeated window: 8 to 65536" "0 $len migrate $src $dst $meta 256 2 window 7" &&
		refused "Invalid or repeated window" "0 $len migrate $src $dst $meta 256 4 window 8 window 8" &&
		refused "Invalid or repeated copy_jobs: 1 to 16" "0 $len migrate $src $dst $meta 256 2 copy_jobs 17" &&
		refused "Invalid or repeated commit_period: 10 to 60000" "0 $len migrate $src $dst $meta 256 2 commit_period 9" &&
		refused "need a metadata device" "0 $len migrate $src $dst - 256 2 window 8"
}
ktap_check "bad tuning features refused, metadata untouched" tuning_refused

# A window of 8 regions, one copy at a time, a commit every 100 ms; the
# destination 50 ms slow at first (dm-delay), so that copies would pile up
# in all 8 job slots were copy_jobs ignored.
tuning="window 8 copy_jobs 1 commit_period 100"
dmsetup create slowdst --table "0 $len delay $dst 0 50"
echo "0 $len migrate $src /dev/mapper/slowdst $meta 256 7 fresh $tuning" | dmsetup create mig
ktap_check "table echoes the tuning features" \
	sh -c "dmsetup table mig | grep -q ' 256 6 $tuning\$'"
most=0
for i in $(seq 15); do
	c=$(field mig 7)
	[ "$c" -gt "$most" ] && most=$c
	nap 0.1
done
diag "most copies in flight with copy_jobs 1: $most"
ktap_check "copy_jobs 1: one copy at a time" [ "$most" = 1 ]
# The rest at full speed, from where the copy got to.
dmsetup remove mig slowdst
echo "0 $len migrate $src $dst $meta 256 6 $tuning" | dmsetup create mig
wait_synced mig > /dev/null
# 512 regions written, the window holds 8: regions leave and enter all along.
w0=$(awk '{ print $5 }' "/sys/block/$(basename "$meta")/stat")
ktap_check "writes over 64 windows, verified" fio --name=w --filename=/dev/mapper/mig \
	--direct=1 --ioengine=libaio --iodepth=8 --rw=randwrite --bs=4k --number_ios=2000 \
	--verify=crc32c --verify_fatal=1 --eta=never --output=/dev/null
w1=$(awk '{ print $5 }' "/sys/block/$(basename "$meta")/stat")
diag "metadata writes: $((w1 - w0))"
# What a crash would copy again: the regions whose bit is clear on disk
# (bitmap block 2, bits from byte 16), once the commits have settled, are
# the window's, at most 8 of the 1024 regions.
sleep 1
clear=$(dd if="$meta" bs=4096 skip=2 count=1 iflag=direct 2> /dev/null |
	od -An -tu1 -v -j16 -N128 |
	awk '{ for (i = 1; i <= NF; i++) for (p = 1; p < 256; p *= 2) if (int($i / p) % 2 == 0) n++ }
	     END { print n + 0 }')
diag "regions clear on disk with a window of 8: $clear"
ktap_expect "on disk, at most the window's 8 regions are out of sync" '[ "$clear" -ge 1 ] && [ "$clear" -le 8 ]'
dmsetup remove mig
ktap_check "both legs equal after a small window" [ "$(sum "$src" "$len")" = "$(sum "$dst" "$len")" ]

# A suspend leaves a clean record: the regions written leave the window,
# metadata is written. After a "cutover" message (a confirm's or an
# abort's swap comes) it is not; a resume forgets the message.
meta_writes() { awk '{ print $5 }' "/sys/block/$(basename "$meta")/stat"; }
# suspend_writes: metadata writes of a suspend after some writes through
# the volume, once the commits they caused are done.
suspend_writes() {
	local w0
	fio --name=w --filename=/dev/mapper/mig --direct=1 --rw=randwrite --bs=4k \
		--number_ios=50 --eta=never > /dev/null
	sleep 2.5
	[ "${1:-}" = cutover ] && dmsetup message mig 0 cutover
	w0=$(meta_writes)
	dmsetup suspend mig
	echo $(($(meta_writes) - w0))
	dmsetup resume mig
}
echo "0 $len migrate $src $dst $meta 256 1 fresh" | dmsetup create mig
wait_synced mig > /dev/null
plain=$(suspend_writes)
cut=$(suspend_writes cutover)
again=$(suspend_writes)
diag "metadata writes of a suspend: $plain, after cutover $cut, after a resume $again"
ktap_expect "cutover: the suspend writes no clean record, a resume forgets it" \
	'[ "$plain" -gt 0 ] && [ "$cut" = 0 ] && [ "$again" -gt 0 ]'
dmsetup remove mig
ktap_check "module unloads" unload_migrate
ktap_finish
