#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The metadata device without device-mapper, on loop devices: stable
# identities and finding them back, the tool record (block 1) written and
# read with O_DIRECT, a corrupt record refused, the size check of start,
# and "dmmigrate activate" when a device or a record is missing. Needs
# root and losetup. Usage: metadata.sh PATH/dmm-test-helper PATH/dmmigrate
set -u

helper=$1
tool=$2
. "$(dirname "$0")/lib.sh"
vol=dmm-test-$$

vg=()
if command -v valgrind >/dev/null; then
	vg=(valgrind -q --error-exitcode=99 --leak-check=full
	    --log-file="$tmp/valgrind")
fi

# expect NAME CODE PATTERN PROGRAM ARGS...: exit code, and PATTERN in
# stdout (exit 0) or in the one-line "dmmigrate: ...; ..." on stderr.
expect() {
	local name=$1 code=$2 pattern=$3 rc
	shift 3

	: >"$tmp/valgrind"
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ -s "$tmp/valgrind" ]; then
		result fail "$name" "valgrind: $(head -c 300 "$tmp/valgrind")"
	elif [ "$rc" != "$code" ]; then
		result fail "$name" "exit $rc, want $code: $(cat "$tmp/err")"
	elif [ "$code" = 0 ] && [ -n "$pattern" ] &&
	     ! grep -Eq -- "$pattern" "$tmp/out"; then
		result fail "$name" "stdout lacks '$pattern': $(cat "$tmp/out")"
	elif [ "$code" != 0 ] &&
	     ! { [ "$(wc -l <"$tmp/err")" = 1 ] &&
		 grep -Eq '^dmmigrate: [^;]+; .+$' "$tmp/err" &&
		 grep -Eq -- "$pattern" "$tmp/err"; }; then
		result fail "$name" "stderr: $(cat "$tmp/err")"
	else
		result ok "$name"
	fi
}

cases=(
	"identity of a loop device is its backing file"
	"the loop device is found back by its identity"
	"identity of a partition is the parent's plus -partN"
	"an unknown identity is not found"
	"record: write and read back on a loop device"
	"record: a flipped byte fails the checksum"
	"record: a blank device has none"
	"metadata: big enough accepted"
	"metadata: one region too many refused"
	"metadata: the source refused"
	"metadata: a partition of the destination refused"
	"activate: no record of the volume"
	"activate: missing destination named"
	"activate: missing source named"
	"activate: a record copied from another device ignored"
	"activate: a finished migration ignored"
)

require_loop meta 1 sfdisk
meta=$dev
loop src 4; src=$dev
loop dst 4; dst=$dev
dd if=/dev/zero of="$tmp/part.img" bs=1M count=4 status=none
echo ',' | sfdisk -q -X dos "$tmp/part.img" >/dev/null 2>&1
part=$(losetup -f --show -P "$tmp/part.img") && loops+=("$part")
# Without udev there is no /dev node for the partition: make one.
p1=${part}p1
sys=/sys/class/block/${part#/dev/}p1
[ -e "$sys" ] || partx -a "$part" 2>/dev/null
if [ ! -b "$p1" ] && [ -r "$sys/dev" ]; then
	p1=$tmp/p1
	mknod "$p1" b "$(cut -d: -f1 "$sys/dev")" "$(cut -d: -f2 "$sys/dev")"
fi
metaid="loop-$tmp/meta.img"

expect "${cases[0]}" 0 "^$metaid\$" "$helper" identity "$meta"
expect "${cases[1]}" 0 "^$(lsblk -dno MAJ:MIN "$meta" | tr -d ' ')\$" \
	"$helper" find "$metaid"
if [ -b "$p1" ]; then
	expect "${cases[2]}" 0 "^loop-$tmp/part.img-part1\$" \
		"$helper" identity "$p1"
else
	result skip "${cases[2]}" "no partition nodes for loop devices"
fi
expect "${cases[3]}" 4 "no device with identity loop-/nonexistent" \
	"$helper" find loop-/nonexistent

"$helper" record-write "$meta" vol0 1 virtio-src wwid-dst >/dev/null 2>&1
expect "${cases[4]}" 0 "^vol0 1 1024 131072 1048576 virtio-src wwid-dst $metaid\$" \
	"$helper" record-read "$meta"
printf '\x5a' | dd of="$tmp/meta.img" bs=1 seek=$((4096 + 300)) conv=notrunc \
	status=none
expect "${cases[5]}" 0 "^corrupt\$" "$helper" record-read "$meta"
expect "${cases[6]}" 0 "^none\$" "$helper" record-read "$src"

# 1 MiB = 256 blocks: 254 bitmap blocks of 32640 regions of 4 KiB.
max=$((254 * 32640 * 8))
expect "${cases[7]}" 0 "" "$helper" metadata "$meta" "$src" "$dst" "$max" 4K
expect "${cases[8]}" 1 "metadata device $meta is too small \(1.0 MiB, this migration needs 1.0 MiB\)" \
	"$helper" metadata "$meta" "$src" "$dst" $((max + 8)) 4K
expect "${cases[9]}" 1 "is the source of the migration" \
	"$helper" metadata "$src" "$src" "$dst" 8192 512K
if [ -b "$p1" ]; then
	expect "${cases[10]}" 1 "overlaps a leg of the migration" \
		"$helper" metadata "$p1" "$src" "$part" 8192 512K
else
	result skip "${cases[10]}" "no partition nodes for loop devices"
fi

expect "${cases[11]}" 4 "no metadata device holds a migration of $vol" \
	"${vg[@]}" "$tool" activate "$vol"
"$helper" record-write "$meta" "$vol" 2 "loop-$tmp/src.img" \
	"loop-$tmp/gone.img" >/dev/null 2>&1
expect "${cases[12]}" 4 "no device with identity loop-$tmp/gone.img" \
	"${vg[@]}" "$tool" activate "$vol"
"$helper" record-write "$meta" "$vol" 3 "loop-$tmp/gone.img" \
	"loop-$tmp/dst.img" >/dev/null 2>&1
expect "${cases[13]}" 4 "no device with identity loop-$tmp/gone.img" \
	"${vg[@]}" "$tool" activate "$vol"
"$helper" record-write "$meta" "$vol" 1 "loop-$tmp/src.img" \
	"loop-$tmp/gone.img" "loop-$tmp/elsewhere.img" >/dev/null 2>&1
expect "${cases[14]}" 4 "no metadata device holds a migration of $vol" \
	"${vg[@]}" "$tool" activate "$vol"
"$helper" record-write "$meta" "$vol" 0 "loop-$tmp/src.img" \
	"loop-$tmp/gone.img" >/dev/null 2>&1
expect "${cases[15]}" 4 "no metadata device holds a migration of $vol" \
	"${vg[@]}" "$tool" activate "$vol"

echo "1..$n"
exit $failed
