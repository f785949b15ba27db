#!/bin/bash
# Crash mid-copy with a metadata device (run on the host: it kills qemu).
# Each round boots the VM, starts a migration under random writes, kills
# qemu (no clean shutdown) at a random moment, boots again on the same disks
# and resumes: the migration must come back, recopy no more than the regions
# not yet committed in sync plus the write-intent window, finish, and leave
# both legs equal with verified data.
#   host_crash_01.sh KVER [ROUNDS]   (DMM_CRASH_ROUNDS overrides ROUNDS)
set -uo pipefail
kver=$1
rounds=${DMM_CRASH_ROUNDS:-${2:-2}}
window=256
# Regions the copier can finish in the commit period and the sampling
# delay before the kill (2 s at 8 MiB/s of 128 KiB regions), plus the
# copies in flight.
lag=$((2 * 8388608 / 131072 + 8))
. "$(dirname "$0")/crash_lib.sh" crash $((rounds * 5))

for round in $(seq "$rounds"); do
	# Nothing of the last round may be taken for this one.
	rm -f "$work"/*.img "$work"/*.ktap "$work"/*.pid
	vm=(-k "$kver" -w "$work" -d src:128M -d dst:128M -d meta:4M -t 600)
	boot_until_window crash-load /dmm/tools/testing/selftests/dm-migrate/crash_guest.sh load
	delay=$((3 + RANDOM % 10)).$((RANDOM % 10))
	sleep "$delay"
	# The last in-sync count the guest reported a good while before the kill.
	sampled=$(grep -a '^# insync' "$ktap" | tail -n 1 | awk '{ print $3 }')
	sleep 1
	crash_vm crash-load
	if [ $rc -eq 0 ] && [ -n "$sampled" ]; then
		ok "round $round: killed the VM ${delay}s into the copy (in sync then: $sampled)"
	else
		not_ok "round $round: the loaded VM did not run until killed (rc $rc)"
		sed 's/^/# /' "$work/crash-load.out" | tail -n 10
		sampled=0
	fi

	"$top/scripts/vm/run.sh" "${vm[@]}" -l crash-resume -- \
		/dmm/tools/testing/selftests/dm-migrate/crash_guest.sh resume > "$work/resume.out" 2>&1
	rc=$?
	ktap=$work/crash-resume-$kver.ktap
	read -r loaded total < <(grep -a '^# loaded' "$ktap" | awk '{ print $3, $5 }')
	lost=$(( ${sampled:-0} - ${loaded:-0} ))
	[ "$lost" -ge 0 ] || lost=0
	if [ -n "${loaded:-}" ] && [ "$lost" -le $((window + lag)) ]; then
		ok "round $round: resumed with $loaded of $total in sync; $lost regions copied again (at most $((window + lag)))"
	else
		not_ok "round $round: resumed with ${loaded:-?} in sync, sampled $sampled before the crash"
	fi
	while read -r line; do
		case $line in
		"ok "*) ok "round $round: ${line#ok [0-9]* }" ;;
		"not ok "*) not_ok "round $round: ${line#not ok [0-9]* }" ;;
		esac
	done < <(tr -d '\r' < "$ktap" | grep -E '^(not )?ok [0-9]+ ' | grep -v 'migration comes back')
	[ $rc -eq 0 ] || { not_ok "round $round: resume VM: $(grep '^# vm:' "$work/resume.out" | head -n 1)"; }
done
# A failed resume VM adds a case; keep the plan honest.
[ "$n" -eq $((rounds * 5)) ] || echo "# ran $n cases"
exit $failed
