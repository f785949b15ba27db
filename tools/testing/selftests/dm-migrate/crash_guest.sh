#!/bin/bash
# Guest half of host_crash_01.sh. "load": start a migration with a metadata
# device under a random-write load and report progress until the host kills
# the VM. "resume": bring the migration back after the crash, report what was
# kept, finish it under a new verified load, and check the legs.
# The destination's writes are delayed (dm-delay), so that at the crash many
# mirrored writes are on the source and not yet on the destination: exactly
# what the write-intent window must have recorded.
. "$(dirname "$0")/lib.sh"

src=$(disk src) && dst=$(disk dst) && meta=$(disk meta) || exit 1
len=$(sectors "$src")
modprobe dm-migrate || exit 1
dmsetup create slowdst --table "0 $len delay $dst 0 0 $dst 0 50" || exit 1
table="0 $len migrate $src /dev/mapper/slowdst $meta 256 4 rate 8388608 pair_id crash"

case $1 in
load)
	echo "$table" | dmsetup create mig || exit 1
	# The writers stay in the first 48 MiB, where regions come in sync first.
	fio --name=load --filename=/dev/mapper/mig --direct=1 --ioengine=psync \
		--rw=randwrite --bs=4k --numjobs=8 --offset=0 --size=48M \
		--time_based --runtime=600 \
		--eta=never > /dev/null 2>&1 &
	echo "# crash window open"
	while :; do
		echo "# insync $(in_sync mig)"
		nap 0.5
	done
	;;
resume)
	ktap_plan 4
	echo "${table/ rate 8388608 / paused }" | sed 's/ 4 paused/ 3 paused/' |
		dmsetup create mig || die "cannot bring the migration back"
	echo "# loaded $(in_sync mig) total $(field mig 2 | cut -d/ -f2)"
	ktap_check "migration comes back from the metadata device" [ "$(field mig 12)" = ok ]
	dmsetup message mig 0 rate 0
	dmsetup message mig 0 resume
	# Away from the crash's writers, so as not to overwrite what they left.
	fio --name=verify --filename=/dev/mapper/mig --direct=1 --rw=randwrite \
		--bs=8k --size=32M --offset=64M --verify=crc32c --randseed=99 \
		--eta=never > /tmp/fio.out 2>&1
	ktap_check "fio with verify during the resumed copy" [ $? -eq 0 ]
	ktap_check "the copy finishes" wait_synced mig
	dmsetup remove mig
	dmsetup remove slowdst
	ktap_check "both legs equal after the resync" [ "$(sum "$src" "$len")" = "$(sum "$dst" "$len")" ]
	ktap_finish
	;;
esac
