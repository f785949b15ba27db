#!/bin/bash
# Leg failures (the states of the failure table; the full matrix is its own
# suite): a destination that starts failing mid-copy halts the copy, is
# reported with an event, and the volume keeps running on the source with
# no error seen by the workload; a source that fails after sync has its
# reads served from the destination.
# vm: -d src:64M -d dst:64M -t 400
. "$(dirname "$0")/lib.sh"

ktap_plan 9

src=$(disk src) && dst=$(disk dst) || die "disks missing"
len=$(sectors "$src")
load_migrate || die "module does not load"

# Each leg behind a linear device that can be switched to "error".
dmsetup create srcdev --table "0 $len linear $src 0"
dmsetup create dstdev --table "0 $len linear $dst 0"
fail_leg() {
	dmsetup reload "$1" --table "0 $len error" && dmsetup suspend "$1" &&
		dmsetup resume "$1"
}

echo "0 $len migrate /dev/mapper/srcdev /dev/mapper/dstdev - 256 2 rate 8388608" |
	dmsetup create mig || die "create"
fio --name=load --filename=/dev/mapper/mig --direct=1 --rw=randwrite --bs=16k \
	--size=48M --verify=crc32c --verify_fatal=1 --randseed=7 --eta=never \
	> /tmp/load.out 2>&1 &
load=$!
sleep 3
ev=$(event_nr mig)
fail_leg dstdev
wait $load
ktap_check "the workload saw no error and verified its data" [ $? -eq 0 ]
ktap_expect "destination reported failed, copy halted" \
	'[ "$(field mig 1) $(field mig 9)" = "halted failed" ] && [ "$(field mig 11)" -gt 0 ]'
ktap_check "the failure raised an event" [ "$(event_nr mig)" -gt "$ev" ]
s1=$(in_sync mig)
sleep 2
ktap_expect "no copy after the destination failed" '[ "$(in_sync mig)" = "$s1" ] && [ "$(field mig 7)" = 0 ]'
source_verified() {
	fio --name=load --filename="$src" --direct=1 --rw=randwrite --bs=16k \
		--size=48M --verify=crc32c --randseed=7 --verify_only --eta=never > /dev/null
}
ktap_check "the source holds every write" source_verified
dmsetup remove mig

# Source failing after sync: reads of regions in sync come from the destination.
dmsetup reload dstdev --table "0 $len linear $dst 0" && dmsetup resume dstdev
echo "0 $len migrate /dev/mapper/srcdev /dev/mapper/dstdev - 256" | dmsetup create mig
wait_synced mig || die "no sync"
want=$(sum "$dst" "$len")
fail_leg srcdev
got=$(sum /dev/mapper/mig "$len")
ktap_check "reads served from the destination when the source fails" [ "$got" = "$want" ]
ktap_check "source reported failed, state still synced" \
	[ "$(field mig 1) $(field mig 8) $(field mig 9)" = "synced failed ok" ]
dd if=/dev/urandom of=/dev/mapper/mig bs=4k count=16 seek=100 oflag=direct 2>/dev/null
ktap_check "writes after sync succeed on the destination alone" [ $? -eq 0 ]
dmsetup remove mig
dmsetup remove srcdev
dmsetup remove dstdev
ktap_check "module unloads" unload_migrate
ktap_finish
