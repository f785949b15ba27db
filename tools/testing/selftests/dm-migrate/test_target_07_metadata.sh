#!/bin/bash
# The metadata device: formatted when blank, refused with a clear message
# and left untouched when it is too small, holds other data, is corrupt or
# belongs to another migration (unless "fresh"); progress kept across a
# remove and reload; the copy finishes with both legs equal.
# vm: -d src:128M -d dst:128M -d meta:4M -t 400
. "$(dirname "$0")/lib.sh"

ktap_plan 12

src=$(disk src) && dst=$(disk dst) && meta=$(disk meta) || die "disks missing"
len=$(sectors "$src")
load_migrate || die "module does not load"

# refused DESC MESSAGE TABLE: refused with MESSAGE, metadata unchanged.
refused() {
	local msg=$1 table=$2 before after out
	before=$(sum "$meta")
	dmesg -c > /dev/null
	if echo "$table" | dmsetup create mig 2>/dev/null; then
		dmsetup remove mig
		return 1
	fi
	out=$(dmesg)
	after=$(sum "$meta")
	grep -q "$msg" <<< "$out" || { diag "expected '$msg', got: $out"; return 1; }
	[ "$before" = "$after" ] || { diag "metadata changed"; return 1; }
}

dmsetup create tiny --table "0 8 linear $meta 0"
ktap_check "too small a metadata device refused" \
	refused "Metadata device too small" "0 $len migrate $src $dst /dev/mapper/tiny 256"
dmsetup remove tiny

mkfs.ext4 -q -F "$meta" > /dev/null 2>&1
ktap_check "a metadata device holding a filesystem refused" \
	refused "holds other data" "0 $len migrate $src $dst $meta 256"
dd if=/dev/zero of="$meta" bs=1M count=4 oflag=direct 2>/dev/null

# Blank: formatted. Copy a part at a limited rate, then remove cleanly.
echo "0 $len migrate $src $dst $meta 256 4 rate 8388608 pair_id aaaa1111" | dmsetup create mig
# The superblock's magic is "DDMMRIGM" at offset 8.
ktap_expect "a blank metadata device is formatted" \
	'[ "$(field mig 12)" = ok ] && [ "$(dd if="$meta" bs=1 skip=8 count=8 2>/dev/null)" = DDMMRIGM ]'
fio --name=w --filename=/dev/mapper/mig --direct=1 --rw=randwrite --bs=4k \
	--time_based --runtime=5 --eta=never > /dev/null
dmsetup suspend mig
kept=$(in_sync mig)
dmsetup remove mig
diag "in sync at remove: $kept"

ktap_check "another migration's metadata (pair_id) refused" \
	refused "belongs to another migration" "0 $len migrate $src $dst $meta 256 2 pair_id bbbb2222"
ktap_check "another region size refused" \
	refused "belongs to another migration" "0 $len migrate $src $dst $meta 512 2 pair_id aaaa1111"

echo "0 $len migrate $src $dst $meta 256 3 paused pair_id aaaa1111" | dmsetup create mig
loaded=$(in_sync mig)
diag "in sync after reload: $loaded"
ktap_expect "progress kept across remove and reload" '[ "$kept" -gt 0 ] && [ "$loaded" = "$kept" ]'
dmsetup message mig 0 resume
ktap_check "the copy finishes" wait_synced mig
fio --name=w --filename=/dev/mapper/mig --direct=1 --rw=randwrite --bs=4k \
	--number_ios=500 --eta=never > /dev/null
dmsetup remove mig
ktap_check "both legs equal" [ "$(sum "$src" "$len")" = "$(sum "$dst" "$len")" ]

# Corrupt the superblock: refused; "fresh" starts over.
printf 'X' | dd of="$meta" bs=1 seek=100 conv=notrunc 2>/dev/null
ktap_check "a corrupt superblock refused" \
	refused "superblock is corrupt" "0 $len migrate $src $dst $meta 256 2 pair_id aaaa1111"
echo "0 $len migrate $src $dst $meta 256 4 paused fresh pair_id aaaa1111" | dmsetup create mig
ktap_check "fresh formats over anything: nothing in sync" [ "$(in_sync mig)" = 0 ]
ktap_check "table echoes metadata and pair_id, not fresh" \
	sh -c "dmsetup table mig | grep -q '$(majmin "$meta") 256 3 paused pair_id aaaa1111\$'"
dmsetup remove mig
ktap_check "module unloads" unload_migrate
ktap_finish
