#!/bin/bash
# A destination that stays thin: a copied chunk that reads as zeros is not
# written (dm-migrate-copier.c).
#  - onto a dm-thin volume (no write-zeroes: a discard, read back), a source
#    10% written allocates about 10% of the pool's blocks, where a plain copy
#    allocates them all; the volume reads back as the source; status counts
#    the zeros;
#  - onto a loop device over a sparse file (write-zeroes: the file's holes
#    are punched), the file stays about 10% allocated;
#  - a chunk of zeros over old data on the destination is zeroed there, so
#    the destination equals the source either way.
# vm: -d src:256M -d pdata:256M -d pmeta:16M -t 400
# debug-kernel: full run only; the copier's writes to the destination run there in every other test
. "$(dirname "$0")/lib.sh"

ktap_plan 9

src=$(disk src) && pdata=$(disk pdata) && pmeta=$(disk pmeta) || die "disks missing"
len=$(sectors "$src")
load_migrate || die "module does not load"

# The source: 26 chunks of 1 MiB of random data, one every 10 MiB (10%).
for i in $(seq 0 25); do
	dd if=/dev/urandom of="$src" bs=1M count=1 seek=$((i * 10)) oflag=direct 2> /dev/null
done
src_sum=$(sum "$src" "$len")

# pool_used: data blocks the pool has allocated.
pool_used() {
	dmsetup status pool | awk '{ split($6, a, "/"); print a[1] }'
}

# A pool of 64 KiB blocks, a thin volume of the source's size on it.
thin_create() {
	dd if=/dev/zero of="$pmeta" bs=4k count=1 oflag=direct 2> /dev/null
	dmsetup create pool --table "0 $(sectors "$pdata") thin-pool $pmeta $pdata 128 0" &&
		dmsetup message pool 0 "create_thin 0" &&
		dmsetup create thin --table "0 $len thin /dev/mapper/pool 0"
}
thin_remove() {
	dmsetup remove thin pool
}

# migrate DEST: copy the source onto DEST until in sync; leaves "mig".
migrate() {
	echo "0 $len migrate $src $1 - 1024" | dmsetup create mig && wait_synced mig
}

thin_cases=("copy onto a thin volume reaches sync"
	"a thin destination allocates at most 0.12 of a plain copy's blocks"
	"status counts the zeros not written (9/10 of the volume)"
	"the thin volume reads back as the source")
# The debug kernel has no dm-thin: its cases skip, the loop device's run.
if ! modprobe dm-thin-pool 2> /dev/null; then
	for c in "${thin_cases[@]}"; do
		ktap_skip "$c" "no dm-thin-pool in this kernel"
	done
else
	# A plain copy first: what filling the thin volume allocates.
	thin_create || die "cannot create the thin pool"
	dd if="$src" of=/dev/mapper/thin bs=1M iflag=direct oflag=direct 2> /dev/null
	full=$(pool_used)
	thin_remove
	diag "a plain copy allocates $full pool blocks"

	thin_create
	ktap_check "${thin_cases[0]}" migrate /dev/mapper/thin
	used=$(pool_used)
	zeroed=$(field mig 21)
	copied=$(field mig 5)
	diag "the copy allocates $used pool blocks; $zeroed of $copied bytes zeros, not written"
	ktap_expect "${thin_cases[1]}" \
		"[ \$((used * 100)) -le \$((full * 12)) ] && [ \$((used * 100)) -ge \$((full * 10)) ]"
	ktap_expect "${thin_cases[2]}" \
		"[ \$((zeroed * 100 / copied)) -ge 88 ] && [ \$((zeroed * 100 / copied)) -le 90 ]"
	dmsetup remove mig
	ktap_check "${thin_cases[3]}" [ "$(sum /dev/mapper/thin "$len")" = "$src_sum" ]
	thin_remove
fi

# A loop device over a sparse file: write-zeroes punch holes.
mkdir -p /tmp/sparse
mount -t tmpfs -o size=300m tmpfs /tmp/sparse || die "cannot mount a tmpfs"
truncate -s $((len * 512)) /tmp/sparse/dst.img
modprobe loop 2> /dev/null
lo=$(losetup --find --show /tmp/sparse/dst.img) || die "cannot make a loop device"
ktap_check "copy onto a loop device over a sparse file reaches sync" migrate "$lo"
dmsetup remove mig
alloc=$(du -k /tmp/sparse/dst.img | cut -f1)
diag "the sparse file holds $alloc KiB of $((len / 2)) KiB"
ktap_expect "the sparse file stays at most 0.12 allocated" "[ \$((alloc * 100)) -le \$((len / 2 * 12)) ]"
ktap_check "the loop device reads back as the source" [ "$(sum "$lo" "$len")" = "$src_sum" ]

# Old data on the destination where the source has zeros: zeroed there.
dd if=/dev/urandom of="$lo" bs=1M count=64 seek=1 oflag=direct 2> /dev/null
migrate "$lo" > /dev/null
dmsetup remove mig
ktap_check "zeros over old data on the destination: equal to the source" \
	[ "$(sum "$lo" "$len")" = "$src_sum" ]
losetup -d "$lo"
umount /tmp/sparse
ktap_check "module unloads" unload_migrate
ktap_finish
