#!/bin/bash
# Crash in the middle of dmmigrate confirm and abort (run on the host: it
# kills qemu). A confirm or abort with a metadata device writes its step to
# the tool record before it swaps the table, so that after a crash at any
# moment "dmmigrate activate" finishes it and the volume comes back wholly on
# one leg, never migrating again once the record says confirming (writes
# after the cut-over went to the destination alone), nor half done.
#
# Each round boots the VM, migrates a volume of random data to a second disk
# with a metadata device, waits for sync, prints a marker and runs confirm
# (odd rounds) or abort (even rounds) once; the host kills qemu (kill -9, no
# clean shutdown) 0-300 ms after it saw the marker, so the kill lands before,
# during or after the record write and the swap. The second boot, on the
# same disks, checks that activate followed whatever record the crash left
# (migrating: the migration resumes; confirming or aborting: linear on the
# destination or the source; none: the command had completed), that running
# the command again exits 0 if the crash interrupted it, that the volume ends
# linear on the command's leg, and that it reads exactly what was written
# before the crash (crash_tool_guest.sh). The records the crashes left are
# listed at the end. A last round is the failure matrix's row 7: the
# destination fails mid-copy, the host crashes, the destination comes back;
# the migration must come back halted with the destination failed.
#   host_crash_02_confirm_abort.sh KVER [ROUNDS]   (DMM_CRASH_ROUNDS overrides)
# kernels: 6.12 in make check (the records and activation are the tool's; 6.1 resumes from a crash in host_crash_01 and 03, and keeps a failed leg in test_target_12)
set -uo pipefail
rounds=${DMM_CRASH_ROUNDS:-${2:-2}}
. "$(dirname "$0")/crash_lib.sh" crash2 $(((rounds + 1) * 5))
kver=$("$top/scripts/vm/kver.sh" "$1") || exit 1
outcomes=

for round in $(seq $((rounds + 1))); do
	if ((round > rounds)); then cmd=faildest; elif ((round % 2)); then cmd=confirm; else cmd=abort; fi
	# Nothing of the last round may be taken for this one.
	rm -f "$work"/*.img "$work"/*.ktap "$work"/*.pid
	vm=(-k "$kver" -w "$work" -d src:64M -d dst:64M -d meta:1M -t 600)
	"$top/scripts/vm/run.sh" "${vm[@]}" -l crash-run -K -- \
		/dmm/tools/testing/selftests/dm-migrate/crash_tool_guest.sh run "$cmd" > "$work/run.out" 2>&1 &
	runner=$!
	ktap=$work/crash-run-$kver.ktap
	pidfile=$work/crash-run-$kver.pid
	rm -f "$ktap" "$pidfile"
	# Bounded by the VM's own timeout (-t), not by a count of polls: on a
	# loaded host the first boot may take minutes to reach the marker.
	seen=
	while kill -0 "$runner" 2>/dev/null; do
		grep -q "^# crash point" "$ktap" 2>/dev/null && { seen=1; break; }
		sleep 0.01
	done
	delay=$((RANDOM % 301))
	if [ -n "$seen" ]; then
		sleep "$(printf '0.%03d' "$delay")"
		kill -9 "$(cat "$pidfile")" 2>/dev/null
	fi
	wait $runner
	rc=$?
	want=$(tr -d '\r' < "$ktap" | awk '$1 == "#" && $2 == "sum" { print $3 }' | tail -n 1)
	finished=$(tr -d '\r' < "$ktap" | grep -a "^# $cmd done" || true)
	if [ -n "$seen" ] && [ $rc -eq 0 ] && [ -n "$want" ]; then
		ok "round $round: killed the VM ${delay} ms into $cmd${finished:+ (after it finished: ${finished#\# })}"
	else
		not_ok "round $round: the VM did not reach $cmd and run until killed (rc $rc, marker ${seen:-not} seen, sum '${want:-}')"
		sed 's/^/# run: /' "$work/run.out" | tail -n 15
		grep -a -E 'BUG:|WARNING:|Oops|blocked for more than|KASAN|lockdep|stall' \
			"$work/crash-run-$kver.console" | head -n 5 | sed 's/^/# console: /'
		want=none
	fi
	tr -d '\r' < "$ktap" | grep -a -A 5 '^# crash point' | sed 's/^/# first boot: /'

	"$top/scripts/vm/run.sh" "${vm[@]}" -l crash-check -- \
		/dmm/tools/testing/selftests/dm-migrate/crash_tool_guest.sh check "$cmd" "$want" > "$work/check.out" 2>&1
	rc=$?
	ktap=$work/crash-check-$kver.ktap
	rec=$(tr -d '\r' < "$ktap" | awk '$1 == "#" && $2 == "record" && $3 == "at" { print $5 }' | tail -n 1)
	outcomes+=" $cmd:${rec:-?}"
	tr -d '\r' < "$ktap" | grep -a '^# ' | grep -v '^# totals' | sed 's/^/# second boot: /'
	got=0
	while read -r line; do
		case $line in
		"ok "*) ok "round $round: $cmd: ${line#ok [0-9]* }" ;;
		"not ok "*) not_ok "round $round: $cmd: ${line#not ok [0-9]* }" ;;
		*) continue ;;
		esac
		got=$((got + 1))
	done < <(tr -d '\r' < "$ktap" | grep -a -E '^(not )?ok [0-9]+ ')
	while [ $got -lt 3 ]; do
		not_ok "round $round: $cmd: not run (second boot ended early)"
		got=$((got + 1))
	done
	verdict=$(grep '^# vm:' "$work/check.out" | head -n 1)
	if [ $rc -eq 0 ]; then
		ok "round $round: second boot: exit 0, console clean"
	elif [ $got -eq 3 ] && [[ $verdict == *"FAILED: test exited 1" ]]; then
		# The guest's failures are counted above; the kernel was fine.
		ok "round $round: second boot: console clean"
	else
		not_ok "round $round: second boot: $verdict"
		grep '^# console:' "$work/check.out" | head -n 10
	fi
done
# Records the crashes left (1 migrating, 2 confirming, 3 aborting, 0 done).
echo "# records after the crashes:$outcomes"
echo "# totals: pass $((n - nfail)) fail $nfail"
exit $failed
