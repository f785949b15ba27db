#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The destination checks of libdmmigrate against real loop devices: blank,
# ext4, partitioned, too small, 4K sectors, held O_EXCL, mounted, a
# partition of the source. Needs root and losetup, no device-mapper.
# Usage: validate.sh PATH/dmm-test-helper
set -u

helper=$1
. "$(dirname "$0")/lib.sh"
holder=

stop_holder() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
	mountpoint -q "$tmp/mnt" 2>/dev/null && umount "$tmp/mnt"
}
cleanup_extra=stop_holder

# expect NAME CODE PATTERN HELPER-ARGS...: exit code and stderr message.
expect() {
	local name=$1 code=$2 pattern=$3 rc
	shift 3

	"$helper" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != "$code" ]; then
		result fail "$name" "exit $rc, want $code: $(cat "$tmp/err")"
	elif [ "$code" != 0 ] && ! grep -Eq -- "$pattern" "$tmp/err"; then
		result fail "$name" "stderr lacks '$pattern': $(cat "$tmp/err")"
	else
		result ok "$name"
	fi
}

cases=(
	"blank destination accepted"
	"ext4 destination refused"
	"ext4 destination accepted with force"
	"partition table refused"
	"too small refused"
	"4K logical blocks under a 512-byte source refused"
	"region smaller than the logical block refused"
	"destination is the source refused"
	"missing destination refused"
	"regular file refused"
	"destination held O_EXCL refused"
	"partition of the source refused"
	"source's parent disk refused"
	"mounted destination refused"
	"wipe removes the ext4 signature"
	"wiped destination accepted"
)

require_loop src 64 mkfs.ext4 sfdisk
src=$dev

loop blank 64; blank=$dev
loop ext4 64; ext4=$dev
mkfs.ext4 -q -F "$ext4"
loop parted 64; parted=$dev
echo 'label: gpt' | sfdisk -q "$parted" >/dev/null 2>&1
loop small 32; small=$dev
loop big4k 64 --sector-size 4096; big4k=$dev
loop held 64; held=$dev
# Partitioned before losetup -P so that the kernel scans it at once.
dd if=/dev/zero of="$tmp/part.img" bs=1M count=64 status=none
echo ',' | sfdisk -q -X dos "$tmp/part.img" >/dev/null 2>&1
part=$(losetup -f --show -P "$tmp/part.img") && loops+=("$part")

expect "${cases[0]}" 0 "" validate "$src" "$blank"
expect "${cases[1]}" 5 "contains a ext4 filesystem signature; .*--force" \
	validate "$src" "$ext4"
expect "${cases[2]}" 0 "" validate "$src" "$ext4" 512K force
expect "${cases[3]}" 5 "contains a gpt partition table signature" \
	validate "$src" "$parted"
expect "${cases[4]}" 1 "is too small \(32.0 MiB, the volume has 64.0 MiB\)" \
	validate "$src" "$small"
expect "${cases[5]}" 1 "4096-byte logical blocks, more than the 512" \
	validate "$src" "$big4k"
expect "${cases[6]}" 1 "invalid region size 2048" \
	validate "$big4k" "$blank" 2K
expect "${cases[7]}" 1 "is the source of the volume" validate "$src" "$src"
expect "${cases[8]}" 4 "no such device" validate "$src" /dev/nonexistent
expect "${cases[9]}" 1 "not a block device" validate "$src" "$tmp/blank.img"

coproc HOLD { exec "$helper" hold "$held"; }
holder=$HOLD_PID
read -r -t 10 line <&"${HOLD[0]}"
if [ "${line:-}" = held ]; then
	expect "${cases[10]}" 5 "is in use \(Device or resource busy\)" \
		validate "$src" "$held"
else
	result fail "${cases[10]}" "the helper could not hold $held"
fi
kill "$holder"; wait "$holder" 2>/dev/null; holder=

if [ -b "${part}p1" ]; then
	expect "${cases[11]}" 1 "overlaps the source" validate "$part" "${part}p1"
	expect "${cases[12]}" 1 "overlaps the source" validate "${part}p1" "$part"
else
	result skip "${cases[11]}" "no partition nodes for loop devices"
	result skip "${cases[12]}" "no partition nodes for loop devices"
fi

mkdir "$tmp/mnt"
if mount "$ext4" "$tmp/mnt" 2>/dev/null; then
	expect "${cases[13]}" 5 "is mounted on $tmp/mnt" validate "$src" "$ext4"
	umount "$tmp/mnt"
else
	result skip "${cases[13]}" "cannot mount ext4 here"
fi

expect "${cases[14]}" 0 "" wipe "$ext4"
if [ -z "$(blkid -p -o value -s TYPE "$ext4")" ] &&
   grep -q '^wiped [1-9]' "$tmp/out"; then
	expect "${cases[15]}" 0 "" validate "$src" "$ext4"
else
	result fail "${cases[15]}" "blkid still sees $(blkid -p "$ext4")"
fi

echo "1..$n"
exit $failed
