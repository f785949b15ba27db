#!/bin/bash
# Crash mid-hydration in post-copy (run on the host: it kills qemu). Each
# round boots the VM, starts a post-copy migration under writes whose
# acknowledgements (FUA or fsync) the guest reports, kills qemu at a random
# moment, hands the acknowledgements recorded here, outside the VM, to a
# second boot on the same disks, which checks that every one of them
# survived, on the volume and then on the destination alone
# (crash_post_copy_guest.sh).
#   host_crash_03_post_copy.sh KVER [ROUNDS]   (DMM_CRASH_ROUNDS overrides)
set -uo pipefail
kver=$1
rounds=${DMM_CRASH_ROUNDS:-${2:-1}}
guest=/dmm/tools/testing/selftests/dm-migrate/crash_post_copy_guest.sh
. "$(dirname "$0")/crash_lib.sh" crash3 $((rounds * 7))

for round in $(seq "$rounds"); do
	rm -f "$work"/*.img "$work"/*.ktap "$work"/*.pid
	vm=(-k "$kver" -w "$work" -d src:128M -d dst:128M -d meta:4M -t 600)
	boot_until_window pc-load "$guest" load
	delay=$((4 + RANDOM % 8)).$((RANDOM % 10))
	sleep "$delay"
	crash_vm pc-load
	# What the guest said before it died: the acknowledged writes.
	tr -d '\r' < "$ktap" | sed -n 's/^# \(ack [0-9]* [0-9]* [0-9]*\)$/\1/p; s/^# \(srcsum .*\)$/\1/p' \
		> "$work/acks.txt"
	acked=$(grep -c '^ack ' "$work/acks.txt")
	if [ $rc -eq 0 ] && [ "$acked" -gt 0 ] && grep -q '^srcsum ' "$work/acks.txt"; then
		ok "round $round: killed the VM ${delay}s into the hydration, $acked writes acknowledged"
	else
		not_ok "round $round: the loaded VM did not run until killed (rc $rc, $acked acks)"
		sed 's/^/# /' "$work/pc-load.out" | tail -n 10
	fi
	cp "$work/acks.txt" "$work/acks.img"
	truncate -s 1M "$work/acks.img"

	"$top/scripts/vm/run.sh" "${vm[@]}" -d acks:1M -l pc-resume -- "$guest" resume \
		> "$work/resume.out" 2>&1
	rc=$?
	while read -r line; do
		case $line in
		"ok "*) ok "round $round: ${line#ok [0-9]* }" ;;
		"not ok "*) not_ok "round $round: ${line#not ok [0-9]* }" ;;
		"# "*) echo "$line" ;;
		esac
	done < <(tr -d '\r' < "$work/pc-resume-$kver.ktap" | grep -E '^((not )?ok [0-9]+ |# )')
	[ $rc -eq 0 ] || not_ok "round $round: resume VM: $(grep '^# vm:' "$work/resume.out" | head -n 1)"
done
[ "$n" -eq $((rounds * 7)) ] || echo "# ran $n cases"
exit $failed
