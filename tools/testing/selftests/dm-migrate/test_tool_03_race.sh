#!/bin/bash
# Confirm and abort issued at the same moment, 10 rounds (DMM_RACE_ROUNDS;
# make check-all 40), on a synced
# migration: exactly one exits 0, the other exits 6 saying the volume is not
# migrating any more; the volume ends linear on the winner's leg (the
# destination for confirm, the source for abort), and both the volume and
# that leg alone read what was written before. The second command starts
# 0-59 ms after the first, confirm first in odd rounds and abort first in
# even ones, so that both the lock and the state re-read after it are raced.
# Each round writes fresh data and starts again from wherever the last one
# left the volume, to the other disk: after a confirm the old source is the
# new destination.
# vm: -d a:16M -d b:16M -t 600
# debug-kernel: full run only (rounds of confirm against abort; the swaps are the fuzzer's and the failure matrix's too)
# kernels: 6.12 in make check (the tool's lock between two commands; the swaps run on 6.1 in the failure matrix)
. "$(dirname "$0")/lib.sh"

rounds=${DMM_RACE_ROUNDS:-10}
ktap_plan $((rounds + 2))

a=$(disk a) && b=$(disk b) || die "disks missing"
tool_ok create vol "$a" || die "cannot create the volume"
on=$a
off=$b
wins=" "

# launch CMD: dmmigrate CMD vol in the background, results in /tmp/CMD.*
launch() {
	(
		dmmigrate "$1" vol > "/tmp/$1.out" 2> "/tmp/$1.err"
		echo $? > "/tmp/$1.rc"
	) &
}

# judge: exactly one of confirm and abort exited 0 and said so; the other
# exited 6, not migrating any more. Sets $winner and $leg, its leg.
judge() {
	local loser
	if [ "$(cat /tmp/confirm.rc)" = 0 ]; then
		winner=confirm loser=abort leg=$off
		grep -Eq '^vol: confirmed, now on the destination \(I/O paused [0-9]+ ms\)$' /tmp/confirm.out
	else
		winner=abort loser=confirm leg=$on
		[ "$(cat /tmp/abort.rc)" = 0 ] &&
			grep -Eq '^vol: aborted, back on the source \(I/O paused [0-9]+ ms\)$' /tmp/abort.out
	fi || {
		diag "no winner: confirm exit $(cat /tmp/confirm.rc), abort exit $(cat /tmp/abort.rc)"
		winner=none
		return 1
	}
	same "$loser exit status" "$(cat "/tmp/$loser.rc")" 6 &&
		same "$loser stderr" "$(cat "/tmp/$loser.err")" \
			"dmmigrate: volume vol is not migrating; nothing to $loser (see 'dmmigrate status vol')"
}

for ((r = 1; r <= rounds; r++)); do
	dd if=/dev/urandom of=/dev/mapper/vol bs=1M seek=$((1 + RANDOM % 14)) count=1 \
		oflag=direct conv=fsync 2> /dev/null || die "round $r: cannot write"
	want=$(sum_mib /dev/mapper/vol)
	tool_ok start vol "$off" && tool_ok wait vol --timeout 60 ||
		die "round $r: no synced migration to $off"

	delay=$((RANDOM % 60))
	if ((r % 2)); then first=confirm second=abort; else first=abort second=confirm; fi
	launch "$first"
	sleep "$(printf '0.%03d' "$delay")"
	launch "$second"
	wait

	desc="round $r: $first, $second ${delay} ms later"
	if judge && linear_on vol "$leg" && same "volume data" "$(sum_mib /dev/mapper/vol)" "$want" &&
		same "data on $leg alone" "$(sum_mib "$leg")" "$want"; then
		ktap_ok "$desc: $winner won"
	else
		ktap_not_ok "$desc"
	fi
	wins+="$winner "
	[ "$leg" = "$on" ] || { off=$on; on=$leg; }
done

diag "winners:$wins"
[[ $wins == *" confirm "* && $wins == *" abort "* ]]
ktap_check "both confirm and abort won some rounds" [ $? -eq 0 ]

tool_ok remove vol && no_dm_devices && unload_migrate
ktap_check "remove, no dm device left, rmmod" [ $? -eq 0 ]
ktap_finish
