#!/bin/bash
# Reads of regions in sync are spread over both legs, so that the workload
# gains the destination's bandwidth while the copier takes part of each:
#  - the race: writers verify what they wrote (a verify backlog: every block
#    is read back soon after its write) while the copy, at a crawl, turns
#    regions in sync under them and their reads move to the destination;
#  - after sync, both legs serve reads, and what is read is the source's data;
#  - a destination that fails reads after sync: each failed read is read
#    again from the source, the workload sees no error and the right data,
#    and the destination is reported failed.
# vm: -d src:64M -d dst:64M -t 400
# debug-kernel: full run only; reads beside writes and copies run there in test_target_11 and 15
. "$(dirname "$0")/lib.sh"

ktap_plan 10

src=$(disk src) && dst=$(disk dst) || die "disks missing"
len=$(sectors "$src")
load_migrate || die "module does not load"

# Each leg behind a linear device: its reads are counted in its stat, and
# its table can be switched to "error".
dmsetup create srcdev --table "0 $len linear $src 0"
dmsetup create dstdev --table "0 $len linear $dst 0"
reads() {	# reads completed by a dm device
	awk '{ print $1 }' "/sys/block/dm-$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')/stat"
}

# 64 KiB regions copied at 2 MiB/s: a region turns in sync every 30 ms.
echo "0 $len migrate /dev/mapper/srcdev /dev/mapper/dstdev - 128 2 rate 2097152" |
	dmsetup create mig || die "create"
s0=$(in_sync mig)
d0=$(reads dstdev)
fio --name=race --filename=/dev/mapper/mig --direct=1 --ioengine=libaio --iodepth=8 \
	--rw=randwrite --bs=4k --size=64M --io_size=8M --verify=crc32c \
	--verify_backlog=64 --verify_fatal=1 --randseed=9 --eta=never > /tmp/race.fio 2>&1
ktap_check "writes verified while regions turned in sync under them" [ $? -eq 0 ]
ktap_expect "regions turned in sync during the load" '[ "$(in_sync mig)" -gt "$s0" ]'
ktap_expect "the destination served reads during the copy" '[ "$(reads dstdev)" -gt "$d0" ]'
dmsetup message mig 0 rate 0
wait_synced mig || die "no sync"
ktap_check "after the copy both legs are equal" \
	[ "$(sum_mib "$src")" = "$(sum_mib "$dst")" ]

# After sync: 1 MiB reads, each split into 16 regions, over the whole volume.
s0=$(reads srcdev)
d0=$(reads dstdev)
want=$(sum_mib "$src")
ktap_check "reads after sync return the source's data" [ "$(sum_mib /dev/mapper/mig)" = "$want" ]
sreads=$(($(reads srcdev) - s0))
dreads=$(($(reads dstdev) - d0))
diag "reads after sync: source $sreads, destination $dreads"
ktap_expect "both legs served at least a quarter of the reads" \
	'[ $((sreads + dreads)) -ge 64 ] && [ $((sreads * 4)) -ge $((sreads + dreads)) ] &&
	 [ $((dreads * 4)) -ge $((sreads + dreads)) ]'

# The destination fails: its reads are read again from the source.
dmsetup reload dstdev --table "0 $len error" && dmsetup suspend dstdev && dmsetup resume dstdev
dd if=/dev/mapper/mig of=/tmp/vol bs=1M iflag=direct 2> /tmp/dd.err
ktap_check "reads with the destination failing see no error" [ $? -eq 0 ]
ktap_check "and return the source's data" [ "$(digest < /tmp/vol)" = "$want" ]
rm -f /tmp/vol
ktap_expect "destination reported failed, its errors counted" \
	'[ "$(field mig 8) $(field mig 9)" = "ok failed" ] && [ "$(field mig 11)" -gt 0 ]'
dmsetup remove mig
dmsetup remove srcdev dstdev
ktap_check "module unloads" unload_migrate
ktap_finish
