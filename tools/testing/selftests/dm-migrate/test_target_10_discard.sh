#!/bin/bash
# A volume mostly discarded copies in proportion to its data: a discard or
# write-zeroes of a whole region not yet copied goes to both legs and leaves
# the region in sync without a byte copied.
#  - with the copier paused, discarding half the volume leaves half the
#    regions in sync; a discard of part of a region leaves it to be copied;
#    then the copy moves exactly the regions not discarded, and the legs
#    hold the same data;
#  - the race: writes hammer the very regions being discarded, on legs slow
#    to write (a discard waits for the source writes in flight to its
#    region and holds the ones that come after); after sync the legs are
#    equal, and writes made after the discards read back.
# vm: -d src:64M -d dst:64M -t 500
. "$(dirname "$0")/lib.sh"

ktap_plan 10

src=$(disk src) && dst=$(disk dst) || die "disks missing"
len=$(sectors "$src")
region=65536
regions=$((len * 512 / region))
load_migrate || die "module does not load"
dd if=/dev/urandom of="$src" bs=1M count=64 oflag=direct 2> /dev/null || die "fill"

# 64 KiB regions, the copier paused: only discards make regions in sync.
dmsetup create srcdev --table "0 $len linear $src 0"
dmsetup create dstdev --table "0 $len linear $dst 0"
echo "0 $len migrate /dev/mapper/srcdev /dev/mapper/dstdev - 128 1 paused" |
	dmsetup create mig || die "create"
wait_in_sync() {	# wait_in_sync N: N regions in sync within 60 s
	local n=$1
	wait_status mig 60 '[ "${MST[2]%%/*}" = "$n" ]' 0.25 && return 0
	diag "regions in sync: $(in_sync mig), want $1"
	return 1
}
blkdiscard -o 32M -l 32M /dev/mapper/mig || die "blkdiscard"
ktap_check "discarding half the volume leaves half the regions in sync" \
	wait_in_sync $((regions / 2))
ktap_check "without a byte copied" same "bytes copied" "$(field mig 5)" 0
blkdiscard -o 0 -l 4096 /dev/mapper/mig && blkdiscard -o 1M -l 32K /dev/mapper/mig
sleep 1
ktap_check "a discard of part of a region leaves it to be copied" \
	same "regions in sync" "$(in_sync mig)" $((regions / 2))
if [ "$(cat "/sys/block/dm-$(dmsetup info -c --noheadings -o minor mig | tr -d ' ')/queue/write_zeroes_max_bytes")" != 0 ]; then
	blkdiscard -z -o 2M -l 64K /dev/mapper/mig || die "write-zeroes"
	ktap_check "a write-zeroes of a whole region leaves it in sync" \
		wait_in_sync $((regions / 2 + 1))
else
	ktap_skip "a write-zeroes of a whole region leaves it in sync" "no write-zeroes on the legs"
fi
left=$((regions - $(in_sync mig)))
dmsetup message mig 0 resume
wait_synced mig || die "no sync"
ktap_check "the copy moved exactly the regions not discarded" \
	same "bytes copied" "$(field mig 5)" $((left * region))
# The discarded half reads as zeros on both legs (the VM's disks unmap).
ktap_check "the legs hold the same data" same "destination" "$(sum_mib "$dst")" "$(sum_mib "$src")"
dmsetup remove mig

# The race, in the last 16 MiB (256 regions, which the copier, crawling
# from the start, does not reach meanwhile): legs that take 10 ms (source)
# and 20 ms (destination) to write or discard, fio writing while each
# region is discarded once, in random order. (A region discarded again once
# in sync would be a discard and a write in flight together to both legs,
# which may land in either order on each, as on any mirror.)
dd if=/dev/urandom of="$src" bs=1M seek=48 count=16 oflag=direct 2> /dev/null || die "refill"
dmsetup reload srcdev --table "0 $len delay $src 0 0 $src 0 10" && dmsetup resume srcdev
dmsetup reload dstdev --table "0 $len delay $dst 0 0 $dst 0 20" && dmsetup resume dstdev
# The copier crawls at a region a second: it takes 768 s to reach them.
echo "0 $len migrate /dev/mapper/srcdev /dev/mapper/dstdev - 128 2 rate 65536" |
	dmsetup create mig || die "create"
# fio in runs of 5 s that end by themselves, until the discards end (fio
# sent SIGTERM soon after its start has been seen to run on without I/O).
rm -f /tmp/hammer.stop
(
	rc=0
	while [ ! -e /tmp/hammer.stop ]; do
		fio --name=hammer --filename=/dev/mapper/mig --direct=1 --ioengine=libaio \
			--iodepth=8 --rw=randwrite --bs=4k --offset=48M --size=16M \
			--time_based --runtime=5 --eta=never > /tmp/hammer.fio 2>&1 || rc=1
	done
	exit $rc
) &
hammer_pid=$!
sleep 1
discards=0 failed=0
# The debug kernel starts processes slowly: 48 discards there.
nr=256
[[ ${KVER:-} == *-dmm-debug ]] && nr=48
for r in $(seq $((1024 - nr)) 1023 | shuf); do
	blkdiscard -o $((r * region)) -l "$region" /dev/mapper/mig || failed=$((failed + 1))
	discards=$((discards + 1))
done
touch /tmp/hammer.stop
wait "$hammer_pid"
fio_rc=$?
end=$(in_sync mig)
diag "race: $discards discards ($failed failed), $end regions in sync at its end"
# Fewer than 1024 in sync: the copier never reached the raced regions.
ktap_expect "writes and discards of the same regions all succeeded" \
	'[ "$fio_rc" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$discards" -eq "$nr" ] && [ "$end" -lt 1024 ]'
# What is left to copy is the raced regions' share: the first 48 MiB,
# which the checks below do not read, are discarded (leaving them in sync
# uncopied), so that the copy after the race is a few MiB on any lane, not
# 48 MiB through the slow legs (on the debug kernel that took most of the
# test's time).
blkdiscard -o 0 -l 48M /dev/mapper/mig || die "discard of the first 48 MiB"
dmsetup message mig 0 rate 0
wait_synced mig || die "no sync after the race"
ktap_check "after the race and the copy the legs are equal" \
	same "destination" "$(sum_mib "$dst" 16 48)" "$(sum_mib "$src" 16 48)"
fio --name=after --filename=/dev/mapper/mig --direct=1 --ioengine=libaio --iodepth=8 \
	--rw=randwrite --bs=4k --offset=48M --size=16M --io_size=4M --verify=crc32c --verify_fatal=1 \
	--eta=never > /tmp/after.fio 2>&1
fio_rc=$?
ktap_expect "writes made after the discards read back, on both legs" \
	'[ "$fio_rc" -eq 0 ] && [ "$(sum_mib "$src" 16 48)" = "$(sum_mib "$dst" 16 48)" ]'
dmsetup remove mig
dmsetup remove srcdev dstdev
ktap_check "module unloads" unload_migrate
ktap_finish
