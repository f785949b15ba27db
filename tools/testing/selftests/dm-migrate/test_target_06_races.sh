#!/bin/bash
# The races with the copier, made wide with dm-delay so that a wrong order
# shows up as legs that differ after sync:
#  - slow source writes: a write is still in flight to the source when the
#    copier reaches its region; the copy must wait for it, or it reads the
#    old data and the region is marked in sync without the write.
#  - slow destination: copies take long, so many writes land on regions
#    being copied; they must be held and mirrored after the copy.
# Writers hammer the whole volume (many threads, 4 KiB) while it is copied.
# vm: -d src:128M -d dst:128M -t 500
# debug-kernel: full run only (8 minutes there; its races were run on it by hand)
. "$(dirname "$0")/lib.sh"

ktap_plan 7

src=$(disk src) && dst=$(disk dst) || die "disks missing"
len=$(sectors "$src")
load_migrate || die "module does not load"

# race ROUND-NAME SOURCE-DELAY-MS DEST-DELAY-MS: write delays on each leg.
# Sets synced=1 once the copy completed, for the legs check that follows.
race() {
	local name=$1 sdelay=$2 ddelay=$3
	synced=0
	dmsetup create slowsrc --table "0 $len delay $src 0 0 $src 0 $sdelay" || return 1
	dmsetup create slowdst --table "0 $len delay $dst 0 0 $dst 0 $ddelay" || return 1
	echo "0 $len migrate /dev/mapper/slowsrc /dev/mapper/slowdst - 128 3 paused rate 8388608" |
		dmsetup create mig || return 1
	fio --name=hammer --filename=/dev/mapper/mig --direct=1 --ioengine=psync \
		--rw=randwrite --bs=4k --numjobs=8 --time_based --runtime=15 \
		--eta=never --group_reporting > "/tmp/$name.fio" &
	local fio_pid=$!
	sleep 1
	dmsetup message mig 0 resume
	wait $fio_pid || return 1
	diag "$name: after the load: $(dmsetup status mig)"
	dmsetup message mig 0 rate 0
	wait_synced mig || return 1
	synced=1
	dmsetup remove mig
	dmsetup remove slowsrc
	dmsetup remove slowdst
}

legs_equal() {
	[ "$synced" = 1 ] && [ "$(sum "$src" "$len")" = "$(sum "$dst" "$len")" ]
}

ktap_check "slow source: load and copy run to sync" race slow-source 40 0
ktap_check "slow source: both legs equal" legs_equal

dd if=/dev/zero of="$dst" bs=1M oflag=direct 2>/dev/null
ktap_check "slow destination: load and copy run to sync" race slow-destination 0 40
ktap_check "slow destination: both legs equal" legs_equal

dd if=/dev/zero of="$dst" bs=1M oflag=direct 2>/dev/null
ktap_check "both slow: load and copy run to sync" race both-slow 25 25
ktap_check "both slow: both legs equal" legs_equal
ktap_check "module unloads" unload_migrate
ktap_finish
