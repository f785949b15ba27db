#!/bin/bash
# Post-copy (dm-migrate-io.c): the destination serves the regions it holds
# and takes every write, the source is only read.
#  - refusals: post_copy without a metadata device, the message too, a
#    verify in post-copy;
#  - a read-only source: reads before any write come from it; writes of
#    half a region copy the region first, once (counted on the source's
#    disk); writes of whole regions copy nothing; scattered 4 KiB writes
#    while the copier runs; fio verifies each; hydration ends with the
#    source's data and write count unchanged and the destination alone
#    holding the volume; the superblock keeps a table without post_copy
#    in post-copy;
#  - ext4 under a file load, then the destination alone: fsck, checksums;
#  - source read errors lose their regions, not the volume; a write
#    covering a lost region brings it back;
#  - a read of a region not copied moves it ahead of the copier;
#  - a destination that fails: writes fail at once, status says so,
#    nothing hangs, the volume is removed;
#  - the tool: start --post-copy, abort before the first write, abort
#    refused after it, a pre-copy migration switched under a verified load
#    and confirmed.
# vm: -d src:128M -d dst:128M -d meta:8M -t 600
. "$(dirname "$0")/lib.sh"

ktap_plan 45

src=$(disk src) && dst=$(disk dst) && meta=$(disk meta) || die "disks missing"
len=$(sectors "$src")
load_migrate || die "module does not load"
region=256	# 128 KiB: a 64 KiB write covers half of one

# disk_stat DEV FIELD: a field of the disk's stat (3 sectors read, 5 writes).
disk_stat() {
	awk -v f="$2" '{ print $f }' "/sys/block/$(basename "$1")/stat"
}

# create_mig SOURCE DEST FEATURES...: a migration with the metadata device.
create_mig() {
	local src_dev=$1 dst_dev=$2
	shift 2
	echo "0 $len migrate $src_dev $dst_dev $meta $region $# $*" | dmsetup create mig
}

# fio_crc ARGS...: 4 KiB random writes verified by crc32c, on the volume.
fio_crc() {
	fio --name=crc --filename=/dev/mapper/mig --direct=1 --rw=randwrite --bs=4k \
		--verify=crc32c --randseed=15 --eta=never "$@" > /tmp/fio-crc.out 2>&1
}

# Refusals.
dmesg -c > /dev/null
ktap_expect "post_copy without a metadata device is refused, nothing created" \
	"! echo '0 $len migrate $src $dst - $region 1 post_copy' | dmsetup create mig 2> /dev/null &&
	 dmesg | grep -q 'post_copy needs a metadata device' && ! dmsetup info mig > /dev/null 2>&1"
echo "0 $len migrate $src $dst - $region 1 paused" | dmsetup create mig
ktap_expect "the post_copy message without a metadata device is refused: still pre-copy" \
	"! dmsetup message mig 0 post_copy 2> /dev/null && [ \"\$(field mig 22)\" = pre-copy ]"
dmsetup remove mig

# A read-only source, copied with the copier paused, then running.
dd if=/dev/urandom of="$src" bs=1M oflag=direct 2> /dev/null
src_sum=$(sum "$src")
blockdev --setro "$src"
src_writes=$(disk_stat "$src" 5)
ktap_check "a post-copy table opens a read-only source" \
	create_mig "$src" "$dst" fresh paused post_copy
ktap_expect "status: post-copy, abort possible before any write, nothing lost" \
	"mstatus mig && [ \"\${MST[22]} \${MST[23]} \${MST[24]}\" = 'post-copy possible 0' ]"
ktap_expect "a verify is refused in post-copy" "! dmsetup message mig 0 verify 2> /dev/null"
# A write to part of a region not copied costs the region's copy.
queue=/sys/dev/block/$(majmin /dev/mapper/mig)/queue
ktap_expect "io_min and io_opt are the region: 128 KiB" \
	"[ \"\$(cat $queue/minimum_io_size) \$(cat $queue/optimal_io_size)\" = '131072 131072' ]"
ktap_expect "reads before any write come from the source" \
	"[ \"\$(sum /dev/mapper/mig)\" = '$src_sum' ] && [ \"\$(in_sync mig)\" = 0 ]"

read0=$(disk_stat "$src" 3)
ktap_check "64 KiB writes over 32 MiB of regions not copied, verified" \
	load_pass /dev/mapper/mig 1 --offset=0 --size=32M
read1=$(disk_stat "$src" 3)
diag "half-region writes read $(((read1 - read0) / 2048)) MiB from the source; $(in_sync mig) regions in sync"
ktap_expect "each region was copied first, once: 32 MiB read from the source, 256 regions in sync" \
	"[ $((read1 - read0)) -eq 65536 ] && [ \"\$(in_sync mig)\" = 256 ]"
ktap_expect "the first write took the way back: rollback lost" "[ \"\$(field mig 23)\" = lost ]"
ktap_check "128 KiB writes over 32 MiB of regions not copied, verified" \
	load_pass /dev/mapper/mig 2 --offset=32M --size=32M --bs=128k
read2=$(disk_stat "$src" 3)
ktap_expect "a write covering its region copies nothing: 0 bytes read from the source, 512 in sync" \
	"[ $((read2 - read1)) -eq 0 ] && [ \"\$(in_sync mig)\" = 512 ] &&
	 [ \"\$(field mig 5)\" = 33554432 ]"

# The copier at 8 MiB/s under scattered 4 KiB writes in [64M, 96M).
dmsetup message mig 0 rate 8388608
dmsetup message mig 0 resume
ktap_check "4 KiB writes while the copier runs, verified" \
	fio_crc --offset=64M --size=32M --number_ios=1500
ktap_check "hydration completes" wait_synced mig
mig_sum=$(sum /dev/mapper/mig)
ktap_expect "the source is never written: its data and write count unchanged" \
	"[ \"\$(sum $src)\" = '$src_sum' ] && [ \"\$(disk_stat $src 5)\" = '$src_writes' ]"
dmsetup remove mig
blockdev --setrw "$src"
ktap_expect "the destination alone holds the volume: the data read through it" \
	"[ \"\$(sum $dst)\" = '$mig_sum' ]"
ktap_expect "the destination alone: the regions never written are the source's" \
	"[ \"\$(sum_mib $dst 32 96)\" = \"\$(sum_mib $src 32 96)\" ]"
ktap_check "the destination alone: the 128 KiB writes verify" \
	load_pass "$dst" 2 --offset=32M --size=32M --bs=128k --verify_only
ktap_expect "a table without post_copy over post-copy metadata goes on in post-copy" \
	"create_mig $src $dst paused && mstatus mig &&
	 [ \"\${MST[22]} \${MST[23]}\" = 'post-copy lost' ] &&
	 dmsetup table mig | grep -q ' post_copy\$'"
dmsetup remove mig

# ext4 under a file load, then the destination alone. The debug lane runs
# the target's own paths; a filesystem over them adds no kernel path.
ext4_cases=("ext4 on a post-copy volume: files written, removed, unmounted"
	"hydration of the filesystem completes"
	"the destination alone: fsck finds the filesystem clean"
	"the destination alone: every file's checksum"
	"the source filesystem is as it was made")
if debug_lane; then
	for c in "${ext4_cases[@]}"; do
		ktap_skip "$c" "debug lane: full run only (DMM_DEBUG_ALL=1 runs it)"
	done
else
	mkfs.ext4 -q -F "$src"
	src_sum=$(sum "$src")
	blockdev --setro "$src"
	create_mig "$src" "$dst" fresh rate 4194304 post_copy
	mkdir -p /mnt/pc
	files_ok() {
		mount /dev/mapper/mig /mnt/pc || return 1
		for i in $(seq 1 24); do
			dd if=/dev/urandom of=/mnt/pc/f$i bs=256k count=$((i % 5 + 1)) 2> /dev/null || return 1
		done
		rm /mnt/pc/f3 /mnt/pc/f7
		(cd /mnt/pc && md5sum f*) > /tmp/files.md5
		umount /mnt/pc
	}
	ktap_check "${ext4_cases[0]}" files_ok
	dmsetup message mig 0 rate 0
	ktap_check "${ext4_cases[1]}" wait_synced mig
	dmsetup remove mig
	blockdev --setrw "$src"
	ktap_check "${ext4_cases[2]}" fsck.ext4 -n -f "$dst"
	ktap_expect "${ext4_cases[3]}" \
		"mount -o ro $dst /mnt/pc && (cd /mnt/pc && md5sum -c --quiet /tmp/files.md5); r=\$?; umount /mnt/pc; [ \$r -eq 0 ]"
	ktap_expect "${ext4_cases[4]}" "[ \"\$(sum $src)\" = '$src_sum' ]"
fi

# Source read errors: regions 100-103 of the source fail.
lost0=$((100 * region))
dmsetup create srcerr << EOF
0 $lost0 linear $src 0
$lost0 $((4 * region)) error
$((lost0 + 4 * region)) $((len - lost0 - 4 * region)) linear $src $((lost0 + 4 * region))
EOF
# Data throughout: no chunk of zeros, whose check may read the destination.
dd if=/dev/urandom of="$src" bs=1M oflag=direct 2> /dev/null
create_mig /dev/mapper/srcerr "$dst" fresh post_copy
ktap_expect "the copier's read errors lose 4 regions, not the source: halted, 4 lost" \
	"wait_state mig halted 120 && mstatus mig &&
	 [ \"\${MST[8]} \${MST[24]} \${MST[2]}\" = 'ok 4 1020/1024' ]"
ktap_expect "a read of a lost region fails" \
	"! dd if=/dev/mapper/mig of=/dev/null bs=4k count=1 skip=$((lost0 / 8)) iflag=direct 2> /dev/null"
ktap_expect "a write to part of a lost region fails" \
	"! dd if=/dev/zero of=/dev/mapper/mig bs=4k count=1 seek=$((lost0 / 8 + 1)) oflag=direct 2> /dev/null"
ktap_check "the rest of the volume reads and writes, verified" fio_crc --offset=0 --size=8M --number_ios=500
dd if=/dev/urandom of=/tmp/region bs=128k count=1 2> /dev/null
ktap_expect "a write covering a lost region brings it back: 3 lost, the write reads back" \
	"dd if=/tmp/region of=/dev/mapper/mig bs=128k seek=100 oflag=direct 2> /dev/null &&
	 [ \"\$(field mig 24)\" = 3 ] &&
	 cmp -s /tmp/region <(dd if=/dev/mapper/mig bs=128k skip=100 count=1 iflag=direct 2> /dev/null)"
dmsetup remove mig srcerr

# A read of a region not copied moves it ahead of the copier's cursor: at
# 1 MiB/s from region 0, region 900 is copied within 2 s only that way, and
# its next read goes to the destination (which only user reads read).
create_mig "$src" "$dst" fresh rate 1048576 post_copy
dd if=/dev/mapper/mig of=/dev/null bs=4k count=1 skip=$((900 * 32)) iflag=direct 2> /dev/null
nap 2
d0=$(disk_stat "$dst" 3)
dd if=/dev/mapper/mig of=/dev/null bs=4k count=1 skip=$((900 * 32 + 1)) iflag=direct 2> /dev/null
ktap_expect "a read moves its region ahead of the copier: the next read of it is the destination's" \
	"[ \$((\$(disk_stat $dst 3) - d0)) -eq 8 ]"
dmsetup remove mig

# A destination that fails mid-hydration.
dmsetup create dsterr --table "0 $len linear $dst 0"
create_mig "$src" /dev/mapper/dsterr fresh rate 2097152 post_copy
dd if=/dev/urandom of=/dev/mapper/mig bs=64k count=16 oflag=direct 2> /dev/null
dmsetup reload dsterr --table "0 $len error" && dmsetup suspend dsterr && dmsetup resume dsterr
ktap_expect "a write after the destination failed fails; status: halted, destination failed" \
	"! dd if=/dev/zero of=/dev/mapper/mig bs=4k count=1 seek=100 oflag=direct 2> /dev/null &&
	 wait_state mig halted 30 && [ \"\$(field mig 9)\" = failed ]"
ktap_expect "a region not copied still reads from the source" \
	"[ \"\$(sum_mib /dev/mapper/mig 1 120)\" = \"\$(sum_mib $src 1 120)\" ]"
ktap_check "nothing hangs: the volume is removed" timeout 60 dmsetup remove mig
dmsetup remove dsterr

# The tool.
dd if=/dev/urandom of="$src" bs=1M count=32 oflag=direct 2> /dev/null
src_sum=$(sum "$src")
tool_ok create vol "$src"
ktap_expect "start --post-copy: post-copy, abort possible" \
	"tool_ok start vol $dst --metadata $meta --fresh-metadata --post-copy --paused &&
	 tool status vol --json && [ \"\$(jfield mode) \$(jfield rollback)\" = 'post-copy possible' ]"
ktap_expect "post-copy repeated on a post-copy migration: already" \
	"tool post-copy vol && [ \$rc -eq 0 ] && [[ \$out == *'already in post-copy'* ]]"
ktap_expect "abort before the first write: back on the source, its data whole" \
	"tool_ok abort vol && linear_on vol $src && [ \"\$(sum /dev/mapper/vol)\" = '$src_sum' ]"
ktap_expect "post-copy of an idle volume is refused" \
	"tool post-copy vol; [ \$rc -eq 6 ] && [[ \$err == *'not migrating'* ]]"
ktap_expect "post-copy without a metadata device is refused, still pre-copy" \
	"tool_ok start vol $dst --paused && tool post-copy vol; [ \$rc -eq 1 ] &&
	 [[ \$err == *'needs a metadata device'* ]] && [ \"\$(field vol 22)\" = pre-copy ]"
tool_ok abort vol
tool_ok start vol "$dst" --metadata "$meta" --fresh-metadata --rate 8M
load_start /dev/mapper/vol
nap 3
ktap_expect "a pre-copy migration switched to post-copy under load" \
	"tool_ok post-copy vol && [ \"\$(field vol 22)\" = post-copy ]"
nap 2
ktap_expect "abort refused once the destination took writes; the volume runs on" \
	"tool abort vol; [ \$rc -eq 6 ] && [[ \$err == *'the way back is lost'* ]] &&
	 dm_settled vol && [ \"\$(field vol 22)\" = post-copy ]"
tool_ok rate vol 0
ktap_check "the load verified across the switch" load_stop
ktap_expect "the migration completes and is confirmed: linear on the destination" \
	"tool_ok wait vol && tool_ok confirm vol && linear_on vol $dst"
ktap_check "after confirm the destination holds the last pass" load_verify /dev/mapper/vol
tool_ok remove vol
ktap_check "nothing left, no problem in the kernel log" no_problems_in_dmesg
ktap_expect "dm-migrate unloads" "no_dm_devices && unload_migrate"
ktap_finish
