#!/bin/bash
# The live copy under load: fio writes of mixed sizes, not aligned to the
# regions, with crc32c verify, run across the whole copy, plus a job that
# hammers the regions being copied. After sync both legs must be equal and
# the destination alone must pass fio's verify.
# vm: -d src:256M -d dst:256M -t 400
# debug-kernel: full run only (256 MiB copied under fio takes 6 minutes there; the fuzzer's live run copies under verified writes there)
. "$(dirname "$0")/lib.sh"

ktap_plan 9

src=$(disk src) && dst=$(disk dst) || die "disks missing"
len=$(sectors "$src")
mib=$((len / 2048))
half=$((mib / 2))
load_migrate || die "module does not load"

# Random jobs write the first half once each (verify needs each block written
# once); a sequential job with odd sizes the third quarter; the hammer
# overwrites the last quarter (less the first MiB, where the last odd-sized
# sequential block ends) again and again without verify (checked by
# comparing the legs).
fio_jobs() {
	local dev=$1
	shift
	fio --output-format=terse --minimal "$@" --filename="$dev" --direct=1 \
		--ioengine=psync --verify=crc32c --verify_fatal=1 \
		--name=rand --rw=randwrite --bsrange=4k-132k \
		--offset=0 --size=${half}M --randseed=4711 \
		--name=seq --rw=write --bs=28k --offset=${half}M --size=$((mib / 4))M
}

# Start paused, so the load begins before the copy, then copy at a rate
# that makes the copy last about as long as the load.
echo "0 $len migrate $src $dst - 256 3 paused rate 16777216" | dmsetup create mig ||
	die "cannot create the target"
fio_jobs /dev/mapper/mig > /tmp/fio.out 2>&1 &
fio_pid=$!
fio --name=hammer --filename=/dev/mapper/mig --direct=1 --ioengine=psync \
	--rw=randwrite --bs=4k --offset=$((mib * 3 / 4 + 1))M --size=$((mib / 4 - 1))M \
	--time_based --runtime=25 --eta=never --output=/tmp/hammer.out &
hammer_pid=$!
sleep 2
dmsetup message mig 0 resume

wait $fio_pid
fio_rc=$?
ktap_check "fio writes with verify through the target during the copy" [ $fio_rc -eq 0 ]
[ $fio_rc -eq 0 ] || cat /tmp/fio.out
# The load began before the copy (paused, resumed 2 s in): regions copied
# by its end were copied under it, whatever the speed of the machine.
ktap_expect "the copy ran under the load" '[ "$(in_sync mig)" -gt 0 ]'
wait $hammer_pid
ktap_check "hammer job finished" [ $? -eq 0 ]

dmsetup message mig 0 rate 0
ktap_check "the copy reaches synced" wait_synced mig
diag "status: $(dmsetup status mig)"
total=$(field mig 2 | cut -d/ -f2)
ktap_check "every region in sync" [ "$(in_sync mig)" = "$total" ]

# Writes after sync are mirrored: write again, then compare the legs.
fio --name=after --filename=/dev/mapper/mig --direct=1 --rw=randwrite --bs=4k \
	--offset=$((mib * 3 / 4))M --size=16M --number_ios=2000 > /dev/null
s1=$(sum "$src" "$len")
s2=$(sum "$dst" "$len")
diag "source $s1 destination $s2"
ktap_check "both legs hold the same data" [ "$s1" = "$s2" ]
ktap_check "no leg errors" [ "$(field mig 8) $(field mig 9) $(field mig 10) $(field mig 11)" = "ok ok 0 0" ]

dmsetup remove mig
fio_jobs "$dst" --verify_only > /tmp/verify.out 2>&1
rc=$?
ktap_check "fio verify of the destination alone" [ $rc -eq 0 ]
[ $rc -eq 0 ] || cat /tmp/verify.out
ktap_check "module unloads" unload_migrate
ktap_finish
