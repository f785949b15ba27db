#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The libdmmigrate example (examples/migrate-volume.c) under valgrind: its
# usage error, and on a host without device-mapper the library's error for
# the start, with nothing leaked. The VM drives a real migration with it
# (test_tool_01_lifecycle). TAP output. Usage: example.sh PATH/migrate-volume
set -u

prog=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
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
	n=$((n + 1))
	if [ -s "$tmp/valgrind" ]; then
		echo "not ok $n - $name"
		echo "# valgrind: $(head -c 300 "$tmp/valgrind")"
		failed=1
	elif [ "$rc" != "$code" ] || ! grep -Eq -- "$pattern" "$tmp/err"; then
		echo "not ok $n - $name"
		echo "# exit $rc, want $code: $(cat "$tmp/err")"
		failed=1
	else
		echo "ok $n - $name"
	fi
}

echo "TAP version 13"
[ ${#vg[@]} -gt 0 ] || echo "# valgrind not installed: running without it"
run "example: usage" 1 "^usage: migrate-volume NAME DEST" vol0
if grep -qw device-mapper /proc/devices; then
	n=$((n + 1))
	echo "ok $n - example: start without device-mapper # SKIP device-mapper is present"
else
	run "example: start without device-mapper, nothing leaked" 9 \
		"^migrate-volume: start: device-mapper is not available" vol0 /dev/null
fi
echo "1..$n"
exit $failed
