#!/bin/bash
# Common helpers of the dm-migrate VM tests: KTAP output (kselftest style,
# exit 4 when everything was skipped), disks by serial, the module, device
# checksums and status fields. Sourced by test_<group>_<NN>.sh.

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

ktap_plan_count=0
ktap_nr=0
ktap_fails=0
ktap_skips=0
set -o pipefail
[ -f /etc/dmm-env ] && . /etc/dmm-env

# debug_lane: on the debug kernel in make check, where tests run at a
# fraction of the speed and some run shorter; DMM_DEBUG_ALL=1 runs them whole.
debug_lane() {
	[[ ${KVER:-} == *-dmm-debug ]] && [ -z "${DMM_DEBUG_ALL:-}" ]
}

ktap_plan() {
	ktap_plan_count=$1
	echo "KTAP version 1"
	echo "1..$1"
}

ktap_ok() {
	ktap_nr=$((ktap_nr + 1))
	echo "ok $ktap_nr $*"
}

ktap_not_ok() {
	ktap_nr=$((ktap_nr + 1))
	ktap_fails=$((ktap_fails + 1))
	echo "not ok $ktap_nr $*"
}

ktap_skip() {
	local desc=$1
	shift
	ktap_nr=$((ktap_nr + 1))
	ktap_skips=$((ktap_skips + 1))
	echo "ok $ktap_nr $desc # SKIP $*"
}

diag() {
	echo "# $*"
}

# step WHAT: what the test is doing now, for the VM's watchdog to print if
# it never finishes (scripts/vm/init).
step() {
	echo "$*" > /tmp/dmm-step
}

# ktap_check DESC CMD...: one test case, passed when CMD succeeds.
ktap_check() {
	local desc=$1
	shift
	if "$@"; then
		ktap_ok "$desc"
	else
		ktap_not_ok "$desc"
	fi
}

ktap_finish() {
	local rc=$KSFT_PASS

	if [ "$ktap_nr" -ne "$ktap_plan_count" ]; then
		diag "planned $ktap_plan_count tests, ran $ktap_nr"
		rc=$KSFT_FAIL
	fi
	[ "$ktap_fails" -gt 0 ] && rc=$KSFT_FAIL
	[ "$rc" = "$KSFT_PASS" ] && [ "$ktap_skips" -gt 0 ] &&
		[ "$ktap_skips" -eq "$ktap_nr" ] && rc=$KSFT_SKIP
	diag "totals: pass $((ktap_nr - ktap_fails - ktap_skips)) fail $ktap_fails skip $ktap_skips"
	exit "$rc"
}

# Stop the whole script: the remaining planned cases count as failed.
die() {
	diag "fatal: $*"
	while [ "$ktap_nr" -lt "$ktap_plan_count" ]; do
		ktap_not_ok "not run: $*"
	done
	ktap_finish
}

# disk SERIAL: the virtio disk the host attached with that serial.
disk() {
	local s
	for s in /sys/block/vd*/serial; do
		[ "$(cat "$s")" = "$1" ] && { echo "/dev/$(basename "$(dirname "$s")")"; return 0; }
	done
	echo "disk: no virtio disk with serial $1" >&2
	return 1
}

majmin() {
	printf '%d:%d\n' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")"
}

load_migrate() {
	modprobe dm-migrate
}

unload_migrate() {
	rmmod dm_migrate
}

sectors() {
	blockdev --getsz "$1"
}

# sum DEV [SECTORS]: sha256 of the first SECTORS (default all) of DEV.
sum() {
	local n=${2:-$(sectors "$1")}
	# Large reads: 512-byte ones take minutes on the debug kernel.
	dd if="$1" bs=1M count="$((n * 512))" iflag=direct,count_bytes 2>/dev/null |
		sha256sum | cut -d' ' -f1
}

# field NAME N: the Nth field of the migrate status (1 = state).
field() {
	dmsetup status "$1" | awk -v n="$2" '$3 == "migrate" { print $(3 + n) }'
}

# wait_state NAME STATE SECONDS
wait_state() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(field "$1" 1)" = "$2" ] && return 0
		sleep 0.1
	done
	diag "wait_state: $1 is '$(field "$1" 1)' after $3 s, not '$2'"
	return 1
}

# in_sync NAME: regions in sync.
in_sync() {
	field "$1" 2 | cut -d/ -f1
}

# no_problems_in_dmesg: the kernel reported nothing wrong so far.
no_problems_in_dmesg() {
	! dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace|blocked for more than'
}

# uptime_cs: time since boot in hundredths of a second.
uptime_cs() {
	awk '{ split($1, t, "."); print t[1] * 100 + t[2] }' /proc/uptime
}

# flushes DEV: flush requests the disk completed (field 16 of its stat).
flushes() {
	awk '{ print $16 }' "/sys/block/$(basename "$1")/stat"
}

# event_nr NAME: the device's current dm event number.
event_nr() {
	dmsetup info -c --noheadings -o events "$1" | tr -d ' '
}

# sum_mib DEV [MIB [SKIP]]: sha256 of MIB MiB (default all) of DEV from
# SKIP MiB on, read in 1 MiB blocks (sum's 512-byte reads take seconds per
# 100 MiB in TCG).
sum_mib() {
	local n=${2:-$(($(sectors "$1") / 2048))}
	dd if="$1" bs=1M count="$n" skip="${3:-0}" iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1
}

# same WHAT GOT WANT: GOT is WANT, else a diagnostic saying so.
same() {
	[ "$2" = "$3" ] && return 0
	diag "$1: got '$2', want '$3'"
	return 1
}

# tool ARGS...: run dmmigrate; its stdout in $out, stderr in $err, status in $rc.
tool() {
	out=$(dmmigrate "$@" 2> /tmp/tool.err)
	rc=$?
	err=$(cat /tmp/tool.err)
}

# tool_ok ARGS...: dmmigrate ARGS exits 0 with nothing on stderr.
tool_ok() {
	tool "$@"
	[ "$rc" -eq 0 ] && [ -z "$err" ] && return 0
	diag "dmmigrate $*: exit $rc: $err"
	return 1
}

# jfield KEY: the value of KEY in the flat JSON object in $out, unquoted.
jfield() {
	echo "$out" | grep -o "\"$1\":[^,}]*" | cut -d: -f2- | tr -d '"'
}

# linear_on NAME DEV: NAME's table is linear over DEV from sector 0.
linear_on() {
	same "table of $1" "$(dmsetup table "$1")" "0 $(sectors "/dev/mapper/$1") linear $(majmin "$2") 0"
}

# dm_snapshot: every dm device with its table, status, open count and event
# number, and /dev/mapper: what a refused command must leave as it was.
dm_snapshot() {
	dmsetup table
	dmsetup status
	dmsetup info -c --noheadings -o name,uuid,attr,open,events
	ls /dev/mapper
}

# no_dm_devices: device-mapper has no device left.
no_dm_devices() {
	same "dmsetup ls" "$(dmsetup ls)" "No devices found"
}

# record_state DEV: the state of the dmmigrate tool record in block 1 of the
# metadata device DEV (1 migrating, 2 confirming, 3 aborting, 0 no
# migration), or "-" if block 1 holds no record (no DDMMTOOL magic). The
# checksum is not verified.
record_state() {
	local magic
	magic=$(dd if="$1" bs=4096 skip=1 count=1 iflag=direct 2> /dev/null |
		dd bs=1 skip=8 count=8 2> /dev/null | tr -d '\0')
	[ "$magic" = DDMMTOOL ] || { echo -; return 0; }
	dd if="$1" bs=4096 skip=1 count=1 iflag=direct 2> /dev/null | od -An -tu4 -j16 -N4 | tr -d ' '
}

# dm_settled NAME: NAME is resumed (ACTIVE) with only a live table, no
# inactive one waiting.
dm_settled() {
	local info
	info=$(dmsetup info "$1") || return 1
	# Here-strings: "echo | grep -q" can fail on SIGPIPE under pipefail.
	grep -q '^State: *ACTIVE$' <<< "$info" &&
		grep -q '^Tables present: *LIVE$' <<< "$info" && return 0
	diag "$1 not settled: $(echo "$info" | grep -E '^(State|Tables present):' | tr '\n' ' ')"
	return 1
}

# ktap_expect DESC EXPR: one test case, passed when the shell expression
# EXPR is true; for compound conditions ('[ a ] && [ b ]'), which
# ktap_check would cut at the first &&.
ktap_expect() {
	local desc=$1
	shift
	if eval "$*"; then
		ktap_ok "$desc"
	else
		ktap_not_ok "$desc"
	fi
}
