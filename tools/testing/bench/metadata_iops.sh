#!/bin/bash
# Guest half of the metadata benchmark: 4 KiB random-write IOPS on a volume
# whose regions are all in sync (every write mirrored), with and without a
# metadata device, over the whole volume and over a hot 32 MiB, interleaved
# over rounds. Prints "result <case> <round> <iops> <metadata commits>".
. /dmm/tools/testing/selftests/dm-migrate/lib.sh

src=$(disk src) && dst=$(disk dst) && meta=$(disk meta) || exit 1
len=$(sectors "$src")
rounds=${1:-3}
modprobe dm-migrate || exit 1

# iops TABLE-META SIZE: IOPS of 20 s of 4 KiB random writes.
iops() {
	local md=$1 size=$2 w0 w1
	echo "0 $len migrate $src $dst $md 1024" | dmsetup create mig
	wait_state mig synced 300 > /dev/null || { dmsetup remove mig; return 1; }
	w0=$(awk '{ print $5 }' "/sys/block/$(basename "$meta")/stat")
	fio --name=w --filename=/dev/mapper/mig --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randwrite --bs=4k --size="$size" --time_based \
		--runtime=20 --output-format=terse --terse-version=3 2>/dev/null |
		awk -F';' '{ printf "%d", $49 }'
	w1=$(awk '{ print $5 }' "/sys/block/$(basename "$meta")/stat")
	echo " $((w1 - w0))"
	dmsetup remove mig
}

for round in $(seq "$rounds"); do
	for size in 32M 256M; do
		echo "result no-metadata-$size $round $(iops - "$size")"
		echo "result metadata-$size $round $(iops "$meta" "$size")"
	done
done
