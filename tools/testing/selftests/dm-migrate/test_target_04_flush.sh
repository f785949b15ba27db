#!/bin/bash
# Flush and FUA reach both legs once a region is in sync, and only the
# source before; counted by each virtio disk's completed flush requests.
# virtio has no FUA, so the block layer turns a FUA write into the write and
# a flush on the leg that gets it; an O_SYNC write is also followed by an
# fsync, one flush on each leg. Discards pass through.
# vm: -d src:64M -d dst:64M -t 300
# debug-kernel: full run only (per-leg flush counting; no lock or allocation path of its own)
. "$(dirname "$0")/lib.sh"

ktap_plan 6

src=$(disk src) && dst=$(disk dst) || die "disks missing"
len=$(sectors "$src")
load_migrate || die "module does not load"

fua_write() {	# one 4 KiB O_DIRECT|O_SYNC write (REQ_FUA) at offset $1
	fio --name=fua --filename=/dev/mapper/mig --direct=1 --sync=1 --rw=write \
		--bs=4k --size=4k --offset="$1" --eta=never > /dev/null
}

echo "0 $len migrate $src $dst - 1024 1 paused" | dmsetup create mig || die "create"

# Paused: nothing in sync. A FUA write goes to the source alone.
# delta VAR DEV: flushes of DEV since VAR was taken.
delta() { echo $(( $(flushes "$2") - $1 )); }

fs=$(flushes "$src"); fd=$(flushes "$dst")
fua_write 1M
ds=$(delta "$fs" "$src"); dd_=$(delta "$fd" "$dst")
diag "FUA write, region not copied: source +$ds, destination +$dd_ flushes"
ktap_expect "FUA write to a region not copied: FUA on the source only" \
	'[ "$ds" -eq $((dd_ + 1)) ]'

# An explicit flush always reaches both legs.
fs=$(flushes "$src"); fd=$(flushes "$dst")
dd if=/dev/zero of=/dev/mapper/mig bs=4k count=1 seek=100 oflag=direct conv=fsync 2>/dev/null
ktap_expect "fsync: flush on both legs" \
	'[ "$(flushes "$src")" -gt "$fs" ] && [ "$(flushes "$dst")" -gt "$fd" ]'

dmsetup message mig 0 resume
wait_synced mig || die "copy does not finish"

fs=$(flushes "$src"); fd=$(flushes "$dst")
fua_write 2M
ds=$(delta "$fs" "$src"); dd_=$(delta "$fd" "$dst")
diag "FUA write, region in sync: source +$ds, destination +$dd_ flushes"
ktap_expect "FUA write to a region in sync: FUA on both legs" \
	'[ "$dd_" -ge 2 ] && [ "$ds" -eq "$dd_" ]'
ktap_check "legs equal after the FUA writes" [ "$(sum "$src" "$len")" = "$(sum "$dst" "$len")" ]

# Discards, when the legs take them, pass through (not an error).
if [ "$(cat /sys/block/dm-0/queue/discard_max_bytes 2>/dev/null)" != 0 ]; then
	ktap_check "discard passes through" blkdiscard -o 4194304 -l 1048576 /dev/mapper/mig
else
	ktap_skip "discard passes through" "legs do not support discard"
fi
ktap_check "no leg errors" [ "$(field mig 10) $(field mig 11)" = "0 0" ]
dmsetup remove mig
unload_migrate
ktap_finish
