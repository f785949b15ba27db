#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bash completion of dmmigrate (bash-completion/dmmigrate) against the
# built tool: commands, each command's options, global options. TAP
# output. Usage: completion.sh PATH/dmmigrate COMPLETION-FILE
set -u

PATH=$(cd "$(dirname "$1")" && pwd):$PATH
. "$(dirname "$0")/lib.sh"
# shellcheck source=/dev/null
. "$2"

# expect WANT WORDS...: completing the last of WORDS offers exactly WANT.
expect() {
	local want=$1 got
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_dmmigrate
	got="${COMPREPLY[*]}"
	if [ "$got" = "$want" ]; then
		result ok "completion of '$*'"
	else
		result fail "completion of '$*'" "got '$got', want '$want'"
	fi
}

echo "TAP version 13"
expect "start status" dmmigrate st
expect "create start status group batch wait confirm verify abort post-copy pause resume rate monitor list remove activate probe" \
	dmmigrate ""
expect "confirm" dmmigrate -v conf
expect "--region-size --rate" dmmigrate start vol /dev/null --r
expect "--wait --wipe-source" dmmigrate confirm vol --w
expect "--json" dmmigrate list --j
expect "--interpose" dmmigrate create vol /dev/null --i
expect "--collapse" dmmigrate remove vol --c
expect "--quiet" dmmigrate --q
expect "--metadata --timeout --json --help" dmmigrate activate --
expect "--export --json --help" dmmigrate probe /dev/null --
echo "1..$n"
exit $failed
