#!/bin/bash
# Common helpers of the dm-migrate selftests: KTAP output through the
# kernel's own tools/testing/selftests/kselftest/ktap_helpers.sh (kselftest
# exit codes, 4 when everything was skipped), disks by serial, the module,
# device checksums and status fields. Sourced by test_<group>_<NN>.sh.
#
# The same scripts run in make check's VMs (virtio disks named by serial)
# and from a kernel tree, "make -C tools/testing/selftests TARGETS=dm-migrate
# run_tests", on a host with dm-migrate.ko installed: there each disk of the
# test's "# vm:" line is a loop device over a sparse file, removed at exit.

lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# In a kernel tree the helpers sit beside this directory; make check's VM
# has them in the same place, copied from linux-source (scripts/vm/run.sh).
# shellcheck source=/dev/null
. "$lib_dir/../kselftest/ktap_helpers.sh" ||
	{ echo "lib.sh: no kselftest/ktap_helpers.sh beside $lib_dir" >&2; exit 1; }

ktap_plan_count=0
set -o pipefail
[ -f /etc/dmm-env ] && . /etc/dmm-env

# debug_lane: on the debug kernel in make check, where tests run at a
# fraction of the speed and some run shorter; DMM_DEBUG_ALL=1 runs them whole.
debug_lane() {
	[[ ${KVER:-} == *-dmm-debug ]] && [ -z "${DMM_DEBUG_ALL:-}" ]
}

# ktap_nr: the cases reported so far.
ktap_nr() {
	echo $((KTAP_TESTNO - 1))
}

ktap_plan() {
	ktap_plan_count=$1
	ktap_print_header
	needs_tools
	ktap_set_plan "$1"
}

# The helpers print their descriptions unquoted: no globbing of them here.
ktap_ok() {
	local -
	set -f
	ktap_test_pass "$*"
}

ktap_not_ok() {
	local -
	set -f
	ktap_test_fail "$*"
}

ktap_skip() {	# ktap_skip DESC WHY...
	local - desc=$1
	shift
	set -f
	ktap_test_skip "$desc ($*)"
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

	if [ "$(ktap_nr)" -ne "$ktap_plan_count" ]; then
		diag "planned $ktap_plan_count tests, ran $(ktap_nr)"
		rc=$KSFT_FAIL
	fi
	[ "$KTAP_CNT_FAIL" -gt 0 ] && rc=$KSFT_FAIL
	[ "$rc" = "$KSFT_PASS" ] && [ "$KTAP_CNT_SKIP" -gt 0 ] &&
		[ "$KTAP_CNT_SKIP" -eq "$(ktap_nr)" ] && rc=$KSFT_SKIP
	ktap_print_totals
	exit "$rc"
}

# Stop the whole script: the remaining planned cases count as failed.
die() {
	diag "fatal: $*"
	while [ "$(ktap_nr)" -lt "$ktap_plan_count" ]; do
		ktap_not_ok "not run: $*"
	done
	ktap_finish
}

# skip_all WHY: nothing of this test can run here (kselftest exit 4).
skip_all() {
	ktap_skip_all "$*"
	ktap_print_totals
	exit "$KSFT_SKIP"
}

# needs_tools: on a host without what the tests drive, every test is
# skipped, not failed (make check's VM always has them).
needs_tools() {
	local t
	[ "$(id -u)" = 0 ] || skip_all "needs root"
	for t in dmsetup fio blockdev losetup modprobe; do
		command -v "$t" > /dev/null || skip_all "needs $t"
	done
	[ -e /dev/mapper/control ] || modprobe dm-mod 2> /dev/null ||
		skip_all "no device-mapper in this kernel (config: CONFIG_BLK_DEV_DM)"
	[ -d /sys/module/dm_migrate ] ||
		find "/lib/modules/$(uname -r)" -name 'dm-migrate.ko*' 2> /dev/null | grep -q . ||
		skip_all "dm-migrate.ko is not installed for $(uname -r)"
}

# disk SERIAL: the virtio disk the host attached with that serial; on a
# host without one (a kselftest run), a loop device of the size the test's
# "# vm:" line gives that disk, made once.
disk() {
	local s size
	for s in /sys/block/vd*/serial; do
		[ -e "$s" ] && [ "$(cat "$s")" = "$1" ] &&
			{ echo "/dev/$(basename "$(dirname "$s")")"; return 0; }
	done
	if [ -e "$loop_dir/$1" ]; then
		cat "$loop_dir/$1"
		return 0
	fi
	size=$(sed -n 's/^# vm: //p' "$0" | grep -o -- "-d $1:[^ ]*" | cut -d: -f2)
	[ -n "$size" ] || { echo "disk: no virtio disk with serial $1" >&2; return 1; }
	mkdir -p "$loop_dir"
	modprobe loop 2> /dev/null
	truncate -s "$size" "$loop_dir/$1.img" ||
		{ echo "disk: cannot make a file for $1 in $loop_dir" >&2; return 1; }
	# Direct I/O keeps the page cache out of the legs' data; a filesystem
	# without it (tmpfs before 6.6) gets a buffered loop device.
	losetup --find --show --direct-io=on "$loop_dir/$1.img" > "$loop_dir/$1" 2> /dev/null ||
		losetup --find --show "$loop_dir/$1.img" > "$loop_dir/$1" ||
		{ echo "disk: cannot make a loop device for $1" >&2; return 1; }
	cat "$loop_dir/$1"
}
# $$ is the test's pid in the subshells disk() runs in too.
loop_dir=${TMPDIR:-/tmp}/dmm-selftest.$$

remove_loop_disks() {
	local f
	for f in "$loop_dir"/*.img; do
		[ -s "${f%.img}" ] && losetup -d "$(cat "${f%.img}")"
	done
	rm -rf "$loop_dir"
}
trap remove_loop_disks EXIT

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

# digest: the MD5 of standard input, in hex. The tests compare data and need
# no defence against forgery; GNU md5sum (in the VM's initramfs) takes about
# a third of the CPU of busybox's sha256sum there, and the tests hash
# gigabytes a run.
digest() {
	local d
	d=$(md5sum)
	d=${d%% *}
	# A digest that failed must never equal another that failed.
	[[ $d =~ ^[0-9a-f]{32}$ ]] || { echo "digest: md5sum failed" >&2; d="no-digest-$RANDOM$RANDOM"; }
	echo "$d"
}

# sum DEV [SECTORS]: the digest of the first SECTORS (default all) of DEV.
sum() {
	local n=${2:-$(sectors "$1")}
	# Large reads: 512-byte ones take minutes on the debug kernel.
	dd if="$1" bs=1M count="$((n * 512))" iflag=direct,count_bytes 2>/dev/null | digest
}


# In the emulated VM every program started costs tens of milliseconds of
# CPU (a dmsetup over 150), which VMs side by side share, and a wait that
# polls with programs grows costlier the slower the host runs: the helpers
# below start as few as they can, and the waits sleep on dm events.

# nap SECONDS: sleep in the shell itself (a read that times out on a pipe
# nothing writes to), no program started.
exec {nap_fd}<> <(:)
nap() {
	read -r -t "$1" -u "$nap_fd" _
	return 0
}

# mstatus NAME: the migrate status of NAME into the array MST (MST[1] the
# state, MST[2] "IN_SYNC/REGIONS", as field counts), by one dmsetup and no
# other program.
mstatus() {
	local line
	MST=()
	line=$(dmsetup status "$1" 2> /dev/null) || return 1
	read -r -a MST <<< "$line"
	[ "${MST[2]:-}" = migrate ] || return 1
	MST=("${MST[@]:2}")
}

# snap: every migration's status line into ST[name] (one dmsetup, which
# asks the devices one by one), and into ST_AT the middle of the time it
# took, in microseconds: on a loaded host a dmsetup takes from 0.1 to 0.6 s,
# and a window timed from its start would be off by the difference.
declare -A ST
snap() {
	local name rest t0
	ST=()
	t0=${EPOCHREALTIME/./}
	while read -r name rest; do
		ST[${name%:}]=$rest
	done < <(dmsetup status --target migrate)
	# shellcheck disable=SC2034 # read by the callers
	ST_AT=$(( (t0 + ${EPOCHREALTIME/./}) / 2 ))
}
# sfield NAME N: field N of NAME's migrate status in the last snap (1 = state, 5 = bytes copied).
sfield() {
	local f
	read -r -a f <<< "${ST[$1]}"
	echo "${f[$(($2 + 2))]}"
}
# field NAME N: the Nth field of the migrate status (1 = state).
field() {
	mstatus "$1" && echo "${MST[$2]:-}"
}

# in_sync NAME: regions in sync.
in_sync() {
	mstatus "$1" && echo "${MST[2]%%/*}"
}

# event_nr NAME: the device's current dm event number.
event_nr() {
	local ev
	ev=$(dmsetup info -c --noheadings -o events "$1") || return 1
	echo "${ev// /}"
}

# dm_wait NAME EVENT SECONDS: until NAME's event counter passes EVENT (the
# target raises an event at every state change), at most SECONDS.
dm_wait() {
	timeout "$3" dmsetup wait "$1" "$2" > /dev/null 2>&1
	# No such device: no event will come, and nothing to spin on.
	[ $? -ne 1 ] || nap 1
	return 0
}

# wait_status NAME SECONDS TEST [POLL]: until TEST, a shell expression on
# MST (mstatus), holds, at most SECONDS. Between looks, a dm wait that the
# next event ends (the event number read before the status, so that a
# change between the two ends it at once), bounded at 5 s as a table's
# first state comes with no event; or, for what no event announces
# (regions turning in sync), a nap of POLL seconds.
wait_status() {
	local name=$1 end=$((SECONDS + $2)) test=$3 poll=${4:-} ev=0
	while :; do
		[ -n "$poll" ] || ev=$(event_nr "$name")
		mstatus "$name" && eval "$test" && return 0
		[ "$SECONDS" -lt "$end" ] || return 1
		if [ -n "$poll" ]; then
			nap "$poll"
		else
			dm_wait "$name" "${ev:-0}" 5
		fi
	done
}

# wait_state NAME STATE SECONDS
wait_state() {
	# shellcheck disable=SC2034 # read by the test wait_status evaluates
	local want=$2
	wait_status "$1" "$3" '[ "${MST[1]}" = "$want" ]' && return 0
	diag "wait_state: $1 is '$(field "$1" 1)' after $3 s, not '$2'"
	return 1
}

# wait_drained NAME: the copies in flight (status field 7) have ended.
wait_drained() {
	wait_status "$1" 30 '[ "${MST[7]}" = 0 ]' 0.1
}

# wait_synced NAME [STALL]: NAME reaches synced, however slowly the machine
# copies, as long as regions keep turning in sync: fails only once none did
# for STALL seconds (default 60), so that a test is bounded by the work
# left, not by how fast this host runs the VM. Progress is looked at every
# 5 s, and at the event that comes with synced.
wait_synced() {
	local name=$1 stall=${2:-60} last=-1 now since=$SECONDS ev
	while :; do
		ev=$(event_nr "$name")
		mstatus "$name" && [ "${MST[1]}" = synced ] && return 0
		now=${MST[2]%%/*}
		if [ "$now" != "$last" ]; then
			last=$now
			since=$SECONDS
		elif [ $((SECONDS - since)) -ge "$stall" ]; then
			diag "wait_synced: $name is '$(field "$name" 1)' with $now regions in sync, none more for $stall s"
			return 1
		fi
		dm_wait "$name" "${ev:-0}" 5
	done
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


# sum_mib DEV [MIB [SKIP]]: the digest of MIB MiB (default all) of DEV from
# SKIP MiB on.
sum_mib() {
	local n=${2:-$(($(sectors "$1") / 2048))}
	dd if="$1" bs=1M count="$n" skip="${3:-0}" iflag=direct 2>/dev/null | digest
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

# A write load whose every lost write shows: fio passes over a device, one
# after the other, each writing every 64 KiB block once in random order,
# tagged with the pass number and the block's offset
# (verify_pattern=0x5eedPPPP%o), then reading everything back. Not
# verify=crc32c: crc32c blocks are self-consistent, so --verify_only
# accepts a block left over from an earlier pass, i.e. a lost write; a
# per-pass tag does not, and the device's content after the load is known
# exactly: the last pass's.
# load_pass DEV PASS [FIO-ARGS...]: one pass of the load (see above).
load_pass() {
	fio --name=load --filename="$1" --rw=randwrite --bs=64k --direct=1 \
		--verify=pattern --verify_pattern="$(printf '0x5eed%04x' "$2")%o" \
		--eta=never "${@:3}" > "/tmp/load-$2.out" 2>&1
}

# load_start DEV [FIO-ARGS...]: passes in the background until load_stop.
load_start() {
	rm -f /tmp/load*
	(
		pass=0
		while [ ! -e /tmp/load.stop ]; do
			pass=$((pass + 1))
			load_pass "$1" "$pass" "${@:2}" || { echo "$pass" > /tmp/load.failed; exit 1; }
			echo "$pass" > /tmp/load.passes
		done
	) &
	load_pid=$!
}

# load_stop: end the load after its current pass; true if every pass read
# back what it wrote.
load_stop() {
	local rc
	touch /tmp/load.stop
	wait "$load_pid"
	rc=$?
	passes=$(cat /tmp/load.passes 2> /dev/null || echo 0)
	diag "load: $passes passes verified, exit $rc"
	[ -e /tmp/load.failed ] &&
		grep -m 5 -E '^fio|verify|err=' "/tmp/load-$(cat /tmp/load.failed).out" | sed 's/^/# /'
	[ "$rc" -eq 0 ] && [ "$passes" -ge 1 ]
}

# load_verify DEV: DEV holds exactly what the last pass wrote.
load_verify() {
	load_pass "$1" "$passes" --verify_only && return 0
	grep -m 3 -E 'bad|wanted' "/tmp/load-$passes.out" | sed 's/^/# /'
	return 1
}

# ktap_expect DESC EXPR: one test case, passed when the shell expression
# EXPR is true; for compound conditions ('[ a ] && [ b ]'), which
# ktap_check would cut at the first &&. A failure shows the last answer of
# tool (its exit status and stderr), when there was one.
ktap_expect() {
	local desc=$1
	shift
	if eval "$*"; then
		ktap_ok "$desc"
	else
		ktap_not_ok "$desc"
		[ -n "${rc:-}" ] && diag "last dmmigrate: exit $rc: ${err:-}"
	fi
	return 0
}
