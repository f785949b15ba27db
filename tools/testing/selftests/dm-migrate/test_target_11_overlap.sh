#!/bin/bash
# Overlapping writes in flight at once. Each leg may complete two writes to
# the same block in either order (the VM's disks run requests on a thread
# pool, as many devices do); unless the target keeps the second from both
# legs until the first completed, the legs can end holding different data,
# and reads, spread over both legs, flip between the two.
#  - in sync: eight writers hammer the same few blocks, sizes 4-64 KiB,
#    with the volume in sync (every write mirrored);
#  - while copying: the same on 1 MiB of a volume being copied region by
#    region, so that writes are held and released in bursts.
# Both on legs slow to write (dm-delay), whose queues reach the disks in
# bursts. After each, with the device removed, the legs are equal.
# vm: -d src:64M -d dst:64M -t 400
. "$(dirname "$0")/lib.sh"

ktap_plan 5
secs=15
debug_lane && secs=8

src=$(disk src) && dst=$(disk dst) || die "disks missing"
len=$(sectors "$src")
load_migrate || die "module does not load"

# hammer SPAN-KIB SECONDS: eight writers on the first SPAN-KIB of the volume.
hammer() {
	fio --name=overlap --filename=/dev/mapper/mig --direct=1 --ioengine=psync \
		--rw=randwrite --bsrange=4k-64k --blockalign=4k --size="$1k" \
		--numjobs=8 --randrepeat=0 --refill_buffers --time_based --runtime="$2" --thread \
		--eta=never --group_reporting > /tmp/overlap.fio 2>&1
}

# legs_equal: device removed; the legs compared, differing 4 KiB blocks named.
legs_equal() {
	local diff
	[ "$(sum "$src" "$len")" = "$(sum "$dst" "$len")" ] && return 0
	diff=$(cmp -l "$src" "$dst" 2> /dev/null | awk '{ print int(($1 - 1) / 4096) }' | uniq | head -20 | tr '\n' ' ')
	diag "4 KiB blocks that differ: $diff"
	return 1
}

# on_slow_legs [FEATURES...]: the migrate device over slow legs.
on_slow_legs() {
	dmsetup create slowsrc --table "0 $len delay $src 0 0 $src 0 5" &&
		dmsetup create slowdst --table "0 $len delay $dst 0 0 $dst 0 15" &&
		echo "0 $len migrate /dev/mapper/slowsrc /dev/mapper/slowdst - 128 $*" |
		dmsetup create mig
}

remove_all() {
	dmsetup remove mig && dmsetup remove slowsrc && dmsetup remove slowdst
}

step "in sync"
on_slow_legs || die "create"
wait_synced mig || die "no sync"
ktap_check "in sync: eight writers on 128 KiB for $secs s" hammer 128 "$secs"
remove_all || die "remove"
ktap_check "in sync: the legs are equal" legs_equal

step "while copying"
dd if=/dev/zero of="$dst" bs=1M oflag=direct 2> /dev/null
on_slow_legs 2 rate 1048576 || die "create"
ktap_check "while copying: eight writers on 1 MiB for $secs s" hammer 1024 "$secs"
dmsetup message mig 0 rate 0
wait_synced mig || die "no sync"
remove_all || die "remove"
ktap_check "while copying: the legs are equal" legs_equal
ktap_check "module unloads" unload_migrate
ktap_finish
