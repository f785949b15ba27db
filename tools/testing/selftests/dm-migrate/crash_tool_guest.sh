#!/bin/bash
# Guest half of host_crash_02_confirm_abort.sh.
#
#   crash_tool_guest.sh run CMD        (first boot: killed by the host)
#   crash_tool_guest.sh check CMD SUM  (second boot, on the same disks)
#
# CMD faildest is the failure matrix's row 7: "run" migrates to dst through
# a dm device (dstdev) that starts failing mid-copy, writes across the
# failure and prints the crash marker; "check" brings dstdev back healthy
# before "dmmigrate activate": the migration must come back halted with the
# destination failed, reading SUM, confirm refused (exit 7) and abort
# leaving the volume on src with SUM.
#
# "run": wrap src as volume vol, fill it with random data and report its
# digest, migrate it to dst with a metadata device, wait for sync, then
# print the crash marker and run "dmmigrate CMD vol" (confirm or abort)
# once; the host kills qemu at a random moment after the marker.
#
# "check": read the tool record the crash left on the metadata device, then
# run "dmmigrate activate" and check that it followed the record: migrating
# comes back as the migrate table over src and dst, confirming as linear on
# dst, aborting as linear on src, and on the destination or on the source
# (CMD had completed) as linear on that leg. Then run CMD again (after
# waiting for sync when the migration came back): when the crash
# interrupted CMD, it must exit 0 (doing the rest, or saying it is done);
# when CMD had completed, exit 6 "not migrating" as for any completed
# command. The volume must end linear on CMD's leg (dst for confirm, src
# for abort) with the record saying so (5 on the destination, 4 on the
# source) and read exactly SUM, through the volume and on that leg alone.
. "$(dirname "$0")/lib.sh"

src=$(disk src) && dst=$(disk dst) && meta=$(disk meta) || exit 1
cmd=$2
case $cmd in
confirm) leg=$dst settled=5 ;;
abort|faildest) leg=$src settled=4 ;;
*) echo "crash_tool_guest.sh: confirm or abort, not '$cmd'" >&2; exit 2 ;;
esac

# dstdev: the destination of row 7, found again by its uuid after the crash.
dstdev() {
	dmsetup create dstdev --uuid dmm-test-dstdev --table "0 $(sectors "$dst") linear $dst 0"
}

case $1 in
run)
	if [ "$cmd" = faildest ]; then
		dstdev || exit 1
		dmmigrate create vol "$src" || exit 1
		dd if=/dev/urandom of=/dev/mapper/vol bs=1M oflag=direct conv=fsync 2> /dev/null
		dmmigrate start vol /dev/mapper/dstdev --metadata "$meta" --rate 8M || exit 1
		wait_status vol 300 '[ "${MST[2]%%/*}" -ge 64 ]' 0.5 || exit 1
		dmsetup reload dstdev --table "0 $(sectors "$dst") error" &&
			dmsetup suspend dstdev && dmsetup resume dstdev || exit 1
		# Written across the failure: the first MiB of each 8, in sync or not.
		for mib in 0 8 16 24 32 40 48 56; do
			dd if=/dev/urandom of=/dev/mapper/vol bs=1M count=1 seek=$mib \
				oflag=direct 2> /dev/null || exit 1
		done
		diag "after the failure: $(dmsetup status vol)"
		echo "# sum $(sum_mib /dev/mapper/vol)"
		echo "# crash point: $cmd"
		sleep 600
	fi
	dmmigrate create vol "$src" || exit 1
	dd if=/dev/urandom of=/dev/mapper/vol bs=1M oflag=direct conv=fsync 2> /dev/null
	echo "# sum $(sum_mib /dev/mapper/vol)"
	dmmigrate start vol "$dst" --metadata "$meta" --rate 16M || exit 1
	dmmigrate wait vol --timeout 120 || exit 1
	diag "record before $cmd: $(record_state "$meta")"
	t0=$(uptime_cs)
	echo "# crash point: $cmd"
	dmmigrate "$cmd" vol > /tmp/cmd.out 2>&1
	echo "# $cmd done: exit $? after $(( ($(uptime_cs) - t0) * 10 )) ms: $(cat /tmp/cmd.out)"
	# Wait for the host's kill.
	sleep 600
	;;
check)
	want=$3
	ktap_plan 3
	if [ "$cmd" = faildest ]; then
		dstdev || exit 1
		tool activate
		diag "activate: exit $rc: $out${err:+ / $err}; $(dmsetup status vol)"
		ktap_expect "activate with the destination back: halted, destination failed, reading the source" \
			'[ "$rc" -eq 0 ] && same state "$(field vol 1) $(field vol 9)" "halted failed" &&
			 same "data through vol" "$(sum_mib /dev/mapper/vol)" "$want"'
		tool confirm vol
		c=$rc
		tool abort vol
		ktap_expect "confirm refused (exit 7), abort accepted" '[ "$c $rc" = "7 0" ]'
		ktap_expect "linear on the source, data as written before the crash" \
			'linear_on vol "$src" && dm_settled vol && same "data on src" "$(sum_mib "$src")" "$want"'
		ktap_finish
		exit
	fi
	rec=$(record_state "$meta")
	echo "# record at boot: $rec"
	tool activate
	diag "activate: exit $rc: $out${err:+ / $err}"
	case $rec in
	1) desc="migrating: the migration resumes"
	   [ "$rc" -eq 0 ] && same activate "$out" "vol: migration resumed" &&
		same "table of vol" "$(dmsetup table vol | cut -d' ' -f3-5)" \
			"migrate $(majmin "$src") $(majmin "$dst")" && dm_settled vol ;;
	2) desc="confirming: linear on the destination, record settled"
	   [ "$rc" -eq 0 ] && same activate "$out" "vol: confirm finished, now on the destination" &&
		linear_on vol "$dst" && dm_settled vol && same record "$(record_state "$meta")" 5 ;;
	3) desc="aborting: linear on the source, record settled"
	   [ "$rc" -eq 0 ] && same activate "$out" "vol: abort finished, back on the source" &&
		linear_on vol "$src" && dm_settled vol && same record "$(record_state "$meta")" 4 ;;
	4|5) desc="$cmd had completed: the volume back on the leg it left"
	   [ "$rec" = "$settled" ] &&
		[ "$rc" -eq 0 ] && same activate "$out" "vol: on the $( [ "$rec" = 5 ] && echo destination || echo source )" &&
		linear_on vol "$leg" && dm_settled vol ;;
	*) desc="a record of the migration on the metadata device (got '$rec')"; false ;;
	esac
	ktap_check "activate after the crash, record $desc" [ $? -eq 0 ]

	if [ "$cmd" = confirm ] && [ "$(field vol 1)" != "" ]; then
		tool wait vol --timeout 120
		diag "wait: exit $rc${err:+: $err}"
	fi
	tool "$cmd" vol
	diag "$cmd again: exit $rc: $out${err:+ / $err}"
	if [ "$rec" = "$settled" ]; then
		# Not interrupted: run again, a completed command finds nothing
		# to do, as without a crash (test_tool_03_race.sh).
		[ "$rc" -eq 6 ] && same stderr "$err" \
			"dmmigrate: volume vol is not migrating; nothing to $cmd (see 'dmmigrate status vol')"
		ktap_check "$cmd, completed before the crash, again: exit 6, not migrating" [ $? -eq 0 ]
	else
		ktap_check "$cmd, interrupted by the crash, again exits 0" [ "$rc" -eq 0 ]
	fi

	linear_on vol "$leg" && dm_settled vol && same "record" "$(record_state "$meta")" "$settled" &&
		same "data through vol" "$(sum_mib /dev/mapper/vol)" "$want" &&
		same "data on $leg alone" "$(sum_mib "$leg")" "$want" &&
		[ ! -e /run/dmmigrate/vol.state ]
	ktap_check "linear on the $( [ "$cmd" = confirm ] && echo destination || echo source ), record settled, data as written before the crash" [ $? -eq 0 ]
	ktap_finish
	;;
esac
