#!/bin/bash
# dmmigrate killed (SIGKILL) in the middle of start, confirm and abort, with
# and without --metadata, under a light verified fio load: whatever moment
# the kill lands, the next command on the volume, or status, must repair
# what was left (dmmigrate(8), CRASHES AND REBOOTS: "Killed without a
# reboot"): the volume resumed (dmsetup info: ACTIVE), no inactive table
# left (Tables present: LIVE), the live table either the old one or the new
# one and never anything else, the tool record on the metadata device
# settled by that table (migrating or no migration), and then running the
# killed command again exits 0 (doing the rest, or saying it is done), the
# volume reads what was written, and /run/dmmigrate/vol.state is gone.
#
# Random kills: the command runs in the background and is killed 0-200 ms
# later; every other kill of each command is repaired by "status" first,
# the others by running the command again directly. A command that finished
# before the kill counts as not killed (a confirm or abort run again then
# rightly says "not migrating"). Deterministic kills, the states a kill can
# leave between the tool's steps, made by hand: the state file the tool
# writes before a swap ("<step> <source> <dest> <metadata|->", see
# userspace/lib/recover.c) plus the new table loaded (killed between load
# and suspend: the swap did not happen), or loaded and the volume suspended
# (killed between suspend and resume: the swap did happen), repaired by
# status; the suspended one also by running the command again directly.
#
# The first 8 MiB of the volume hold random data written once (checked after
# every case: more would only cost the emulated CPU hashing); fio writes
# the last 8 MiB all along (4 KiB random writes at 20/s, crc32c verify with
# a backlog) and must end without an error.
# vm: -d a:32M -d b:32M -d meta:1M -t 1200
# debug-kernel: full run only (a killed tool at every step; the kernel sees only the swaps the failure matrix makes)
# kernels: 6.12 in make check (the tool's repair after a kill; host_crash_02 kills the whole VM on 6.1)
. "$(dirname "$0")/lib.sh"

cycles=${DMM_KILL_CYCLES:-2}
# Per metadata variant: 4 random kills per cycle, 9 deterministic states.
ktap_plan $((2 * (cycles * 4 + 9) + 2))

a=$(disk a) && b=$(disk b) && meta=$(disk meta) || die "disks missing"
len=$(sectors "$a")
tool_ok create vol "$a" || die "cannot create the volume"
dd if=/dev/urandom of=/dev/mapper/vol bs=1M count=8 oflag=direct conv=fsync 2> /dev/null ||
	die "cannot write the data"
want=$(sum_mib /dev/mapper/vol 8)
on=$a
off=$b

fio --name=bg --filename=/dev/mapper/vol --offset=24M --size=8M --rw=randwrite \
	--bs=4k --direct=1 --ioengine=psync --rate_iops=20 --verify=crc32c \
	--verify_backlog=16 --time_based --runtime=3600 --eta=never > /tmp/fio.out 2>&1 &
fio_pid=$!

# The metadata arguments of start, and the metadata device as the state file
# and the table name it (major:minor, or "-").
md_args=()
md_id=-

# new_table CMD: the table CMD switches to (start: its first seven words).
new_table() {
	case $1 in
	start) echo "0 $len migrate $(majmin "$on") $(majmin "$off") $md_id 1024" ;;
	confirm) echo "0 $len linear $(majmin "$off") 0" ;;
	abort) echo "0 $len linear $(majmin "$on") 0" ;;
	esac
}

# table_is WHICH CMD OLD: the live table of vol is OLD, or the table CMD
# switches to; WHICH (set) says which.
table_is() {
	local t new
	t=$(dmsetup table vol)
	new=$(new_table "$2")
	if [ "$t" = "$3" ]; then
		which=old
	elif [ "$t" = "$new" ] || { [ "$2" = start ] && [ "${t#"$new" }" != "$t" ]; }; then
		which=new
	else
		diag "table of vol: '$t'; neither the old '$3' nor the new '$new'"
		return 1
	fi
}

# record_ok CMD WHICH: with metadata, the record says what the live table
# is: migrating (1), linear on the source (4; or no record before the
# first start) or on the destination (5).
record_ok() {
	local r want_r
	[ "$md_id" = - ] && return 0
	r=$(record_state "$meta")
	if { [ "$1" = start ] && [ "$2" = new ]; } || { [ "$1" != start ] && [ "$2" = old ]; }; then
		want_r=1
	elif [ "$1" = confirm ]; then
		want_r=5
	else
		want_r=4
		[ "$1" = start ] && [ "$r" = - ] && r=4
	fi
	same "record after $1 ($2 table)" "$r" "$want_r"
}

# rerun_ok CMD: dmmigrate CMD exits 0 and says what it did.
rerun_ok() {
	local pat
	case $1 in
	start) tool start vol "$off" "${md_args[@]}"
	       pat="^(|vol: already migrating to $off)$" ;;
	confirm) tool confirm vol
		 pat='^vol: (confirmed, now on the destination \(I/O paused [0-9]+ ms\)|already confirmed, now on the destination)$' ;;
	abort) tool abort vol
	       pat='^vol: (aborted, back on the source \(I/O paused [0-9]+ ms\)|already aborted, back on the source)$' ;;
	esac
	diag "$1 again: exit $rc: $out${err:+ / $err}"
	[ "$rc" -eq 0 ] && [ -z "$err" ] && grep -Eq "$pat" <<< "$out"
}

# done_ok CMD: vol is where CMD puts it, settled, data intact, no state file.
done_ok() {
	local t
	t=$(dmsetup table vol)
	case $1 in
	start) [ "$t" = "$(new_table start)" ] || [ "${t#"$(new_table start) "}" != "$t" ] ||
		{ diag "table after start: $t"; return 1; } ;;
	*) same "table after $1" "$t" "$(new_table "$1")" || return 1 ;;
	esac
	dm_settled vol && same "data through vol" "$(sum_mib /dev/mapper/vol 8)" "$want" &&
		{ [ ! -e /run/dmmigrate/vol.state ] || { diag "vol.state left: $(cat /run/dmmigrate/vol.state)"; false; }; } &&
		record_ok "$1" new
}

# after CMD: the leg CMD left the volume on holds the data alone.
after() {
	case $1 in
	confirm) same "data on $off alone" "$(sum_mib "$off" 8)" "$want" ;;
	abort) same "data on $on alone" "$(sum_mib "$on" 8)" "$want" ;;
	esac
}

# sync_legs: $on is the disk vol is on (its source when migrating), $off
# the other: a confirm moves the volume to the other disk, and a failed
# case must not derail the next ones.
sync_legs() {
	local t
	t=$(dmsetup table vol | cut -d' ' -f4)
	if [ "$t" = "$(majmin "$b")" ]; then on=$b off=$a; else on=$a off=$b; fi
}

# prepare CMD: bring vol to where CMD applies: idle for start, migrating
# (and for confirm in sync) otherwise.
prepare() {
	sync_legs
	if [ "$1" = start ]; then
		[ "$(field vol 1)" = "" ] || tool_ok abort vol
	else
		[ "$(field vol 1)" != "" ] || tool_ok start vol "$off" "${md_args[@]}" || return 1
		[ "$1" != confirm ] || tool_ok wait vol --timeout 120
	fi
}

# Kills of each command so far: odd ones are repaired by status.
declare -A kills
# killed CMD: one random kill of dmmigrate CMD and everything after it.
killed() {
	local cmd=$1 old delay pid krc how desc
	prepare "$cmd" || { ktap_not_ok "$cmd${md_args[*]:+ ${md_args[*]}}: cannot prepare"; return; }
	old=$(dmsetup table vol)
	delay=$((RANDOM % 201))
	case $cmd in
	start) dmmigrate start vol "$off" "${md_args[@]}" > /tmp/killed.out 2>&1 & ;;
	*) dmmigrate "$cmd" vol > /tmp/killed.out 2>&1 & ;;
	esac
	pid=$!
	sleep "$(printf '0.%03d' "$delay")"
	# Braces and 2>: no "Killed" job report from bash in the KTAP.
	{ kill -9 "$pid"; wait "$pid"; krc=$?; } 2> /dev/null
	kills[$cmd]=$((${kills[$cmd]:-0} + 1))
	desc="$cmd${md_args[*]:+ ${md_args[*]}} killed after $delay ms"
	if [ "$krc" -ne 137 ]; then
		# Finished before the kill.
		desc="$cmd${md_args[*]:+ ${md_args[*]}} finished (exit $krc) before the kill at $delay ms"
		[ "$krc" -eq 0 ] && done_ok "$cmd" && after "$cmd"
		ktap_check "$desc: done, data intact" [ $? -eq 0 ]
		return
	fi
	how=rerun
	if ((kills[$cmd] % 2)); then
		how=status
		table_is which "$cmd" "$old" && tool_ok status vol && dm_settled vol &&
			table_is which "$cmd" "$old" && [ ! -e /run/dmmigrate/vol.state ] &&
			record_ok "$cmd" "$which"
	else
		table_is which "$cmd" "$old"
	fi || { ktap_not_ok "$desc: repaired by $how"; return; }
	rerun_ok "$cmd" && done_ok "$cmd" && after "$cmd"
	ktap_check "$desc ($which table; repaired by $how): $cmd again exits 0, done, data intact" [ $? -eq 0 ]
}

# by_hand CMD loaded|suspended status|rerun: the state a kill between the
# tool's load and suspend (loaded) or between its suspend and resume
# (suspended) leaves, repaired by status or by running CMD again.
by_hand() {
	local cmd=$1 kind=$2 how=$3 old new src dst
	which=
	prepare "$cmd" || { ktap_not_ok "$cmd${md_args[*]:+ ${md_args[*]}}: cannot prepare"; return; }
	old=$(dmsetup table vol)
	if [ "$cmd" = start ]; then
		# The table the tool loads, learnt from a start (its log: "fresh",
		# formatting the metadata, is not in dmsetup table) and abort;
		# in sync before the abort, so that a start taking up its bitmap
		# would read stale blocks of the destination.
		dmmigrate -v start vol "$off" "${md_args[@]}" > /dev/null 2> /tmp/start.log &&
			new=$(sed -n 's/^dmmigrate: vol: \(0 [0-9]* migrate .*\)$/\1/p' /tmp/start.log) &&
			[ -n "$new" ] && tool_ok wait vol --timeout 120 && tool_ok abort vol ||
			{ ktap_not_ok "start: cannot learn its table"; return; }
		# As the tool does before a fresh start's load: without it the
		# target would take up the aborted start's bitmap, whose regions
		# in sync the writes since the abort went past.
		if [[ $new == *" fresh"* ]]; then
			dd if=/dev/zero of="$meta" bs=4096 count=1 oflag=direct conv=notrunc 2> /dev/null ||
				{ ktap_not_ok "start: cannot zero the superblock"; return; }
		fi
		src=$(majmin "$on") dst=$(majmin "$off")
	else
		new=$(new_table "$cmd")
		src=$(dmsetup table vol | cut -d' ' -f4) dst=$(dmsetup table vol | cut -d' ' -f5)
	fi
	echo "$cmd $src $dst $md_id" > /run/dmmigrate/vol.state
	dmsetup reload vol --table "$new" || { ktap_not_ok "$cmd: cannot load '$new'"; return; }
	[ "$kind" = loaded ] || dmsetup suspend vol
	if [ "$how" = status ]; then
		tool_ok status vol && dm_settled vol && table_is which "$cmd" "$old" &&
			same "table after status" "$which" "$([ "$kind" = loaded ] && echo old || echo new)" &&
			[ ! -e /run/dmmigrate/vol.state ] && record_ok "$cmd" "$which"
	fi && rerun_ok "$cmd" && done_ok "$cmd" && after "$cmd"
	ktap_check "$cmd${md_args[*]:+ ${md_args[*]}}: killed with the new table $kind: repaired by $how${which:+ ($which table)}, $cmd again exits 0, done, data intact" [ $? -eq 0 ]
}

for variant in plain metadata; do
	if [ "$variant" = metadata ]; then
		md_args=(--metadata "$meta")
		md_id=$(majmin "$meta")
	fi
	for ((c = 1; c <= cycles; c++)); do
		killed start
		killed confirm
		killed start
		killed abort
	done
	for kind in "loaded status" "suspended status" "suspended rerun"; do
		# shellcheck disable=SC2086
		for cmd in start confirm abort; do by_hand "$cmd" $kind; done
	done
done

kill -0 "$fio_pid" 2> /dev/null && kill -INT "$fio_pid"
wait "$fio_pid"
grep -E 'err=|verify|bad|READ:|WRITE:' /tmp/fio.out | head -n 6 | sed 's/^/# fio: /'
grep -q 'err= 0' /tmp/fio.out && ! grep -qi 'verify.*fail\|bad magic\|crc32c: verify' /tmp/fio.out
ktap_check "fio ran all along without an error" [ $? -eq 0 ]

[ "$(field vol 1)" = "" ] || tool_ok abort vol
tool_ok remove vol && no_dm_devices && [ -z "$(ls /run/dmmigrate/*.state 2> /dev/null)" ] &&
	no_problems_in_dmesg && unload_migrate
ktap_check "remove, no dm device or state file left, dmesg clean, rmmod" [ $? -eq 0 ]
ktap_finish
