#!/bin/bash
# Guest half of the metadata benchmark: 4 KiB random-write IOPS (libaio,
# queue depth 8, 20 s) on a 1 GiB volume whose regions are all in sync
# (every write mirrored), spread over 10%, 50% and 100% of it, without a
# metadata device and with one (throttled like the legs) at write-intent
# windows of 256, 1024 and 4096 regions of 512 KiB, interleaved over rounds.
# Prints "result <case> <round> <iops> <metadata writes>", case
# "none-<spread>" or "w<window>-<spread>".
. /dmm/tools/testing/selftests/dm-migrate/lib.sh

src=$(disk src) && dst=$(disk dst) && meta=$(disk meta) || exit 1
len=$(sectors "$src")
mib=$((len / 2048))
rounds=${1:-3}
modprobe dm-migrate || exit 1

# iops WINDOW SPREAD: WINDOW "-" for no metadata device; SPREAD percent.
iops() {
	local window=$1 spread=$2 table w0 w1
	if [ "$window" = - ]; then
		table="0 $len migrate $src $dst - 1024 1 paused"
	else
		table="0 $len migrate $src $dst $meta 1024 4 paused fresh window $window"
	fi
	echo "$table" | dmsetup create mig || return 1
	# Whole-region discards put regions in sync without a copy.
	blkdiscard /dev/mapper/mig && dmsetup message mig 0 resume &&
		wait_state mig synced 600 > /dev/null || { dmsetup remove mig; return 1; }
	w0=$(awk '{ print $5 }' "/sys/block/$(basename "$meta")/stat")
	fio --name=w --filename=/dev/mapper/mig --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randwrite --bs=4k --size=$((mib * spread / 100))M \
		--time_based --runtime=20 --output-format=terse --terse-version=3 2>/dev/null |
		awk -F';' '{ printf "%d", $49 }'
	w1=$(awk '{ print $5 }' "/sys/block/$(basename "$meta")/stat")
	echo " $((w1 - w0))"
	dmsetup remove mig
}

for round in $(seq "$rounds"); do
	for spread in 10 50 100; do
		echo "result none-$spread $round $(iops - "$spread")"
		for window in 256 1024 4096; do
			echo "result w$window-$spread $round $(iops "$window" "$spread")"
		done
	done
done
