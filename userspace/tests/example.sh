#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The libdmmigrate example (examples/migrate-volume.c) under valgrind: its
# usage error, and on a host without device-mapper the library's error for
# the start, with nothing leaked. The VM drives a real migration with it
# (test_tool_01_lifecycle). TAP output. Usage: example.sh PATH/migrate-volume
set -u

prog=$1
. "$(dirname "$0")/lib.sh"
vg=()
command -v valgrind > /dev/null &&
	vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all
	    --log-file="$tmp/valgrind")

# run NAME CODE STDERR-PATTERN ARGS...
run() {
	local name=$1 code=$2 pattern=$3 rc
	shift 3
	: > "$tmp/valgrind"
	"${vg[@]}" "$prog" "$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if [ -s "$tmp/valgrind" ]; then
		result fail "$name" "valgrind: $(head -c 300 "$tmp/valgrind")"
	elif [ "$rc" != "$code" ] || ! grep -Eq -- "$pattern" "$tmp/err"; then
		result fail "$name" "exit $rc, want $code: $(cat "$tmp/err")"
	else
		result ok "$name"
	fi
}

echo "TAP version 13"
[ ${#vg[@]} -gt 0 ] || echo "# valgrind not installed: running without it"
run "example: usage" 1 "^usage: migrate-volume NAME DEST" vol0
if grep -qw device-mapper /proc/devices; then
	result skip "example: start without device-mapper" "device-mapper is present"
else
	run "example: start without device-mapper, nothing leaked" 9 \
		"^migrate-volume: start: device-mapper is not available" vol0 /dev/null
fi
echo "1..$n"
exit $failed
