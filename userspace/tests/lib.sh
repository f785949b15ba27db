#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared by the host test scripts: TAP results and loop devices over
# scratch files, all removed at exit. A script may set cleanup_extra to a
# function run first at exit.
tmp=$(mktemp -d)
loops=()
n=0
failed=0
cleanup_extra=

cleanup() {
	[ -n "$cleanup_extra" ] && "$cleanup_extra"
	for l in "${loops[@]}"; do
		losetup -d "$l" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

result() {
	n=$((n + 1))
	case $1 in
	ok)	echo "ok $n - $2" ;;
	skip)	echo "ok $n - $2 # SKIP $3" ;;
	*)	echo "not ok $n - $2"; echo "# $3"; failed=1 ;;
	esac
}

# loop NAME SIZE-MiB [losetup options]: a loop device over a new file, in
# $dev (not echoed: a subshell could not record it for cleanup).
loop() {
	local img=$tmp/$1.img
	shift
	dev=
	dd if=/dev/zero of="$img" bs=1M count="$1" status=none || return 1
	shift
	dev=$(losetup -f --show "$@" "$img") || return 1
	loops+=("$dev")
}

# require_loop NAME SIZE-MiB TOOL...: print the TAP header; unless we are
# root, the tools exist and a first loop device NAME can be made (in $dev),
# report every case named in $cases as skipped and end the script.
require_loop() {
	local name=$1 size=$2 why= t c
	shift 2
	echo "TAP version 13"
	if [ "$(id -u)" != 0 ]; then
		why="needs root"
	else
		for t in losetup "$@"; do
			command -v "$t" >/dev/null || why="needs $t"
		done
		[ -z "$why" ] && ! loop "$name" "$size" && why="cannot set up loop devices"
	fi
	[ -z "$why" ] && return 0
	for c in "${cases[@]}"; do
		result skip "$c" "$why"
	done
	echo "1..$n"
	exit 0
}
