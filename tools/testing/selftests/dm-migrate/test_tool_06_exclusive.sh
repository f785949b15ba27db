#!/bin/bash
# One migration per device, and signals that cannot leave a volume
# suspended:
# - two volumes started to one destination at the same moment, 10 rounds:
#   exactly one starts, the other is refused naming the device, and one
#   migrate table alone maps the destination;
# - a start and a create over its destination at the same moment, 6 rounds:
#   exactly one of them succeeds;
# - SIGTERM, SIGINT and SIGHUP sent to start, confirm and abort the moment
#   the volume is suspended (tools/testing/faults preloads the signal into
#   the real tool): the command dies only once its table is live, and the
#   next command finishes its step;
# - SIGINT or SIGTERM at a random moment (0-199 ms) of start, 20 rounds:
#   never a suspended volume or a table left loaded.
# vm: -d a:16M -d b:16M -d d:16M -t 600
# debug-kernel: full run only (the tool's locks and signals; the target's refusal of a shared device is test_target_12's)
. "$(dirname "$0")/lib.sh"

rounds=10
creates=6
randoms=20
ktap_plan $((rounds + creates + 3 + randoms + 1))

a=$(disk a) && b=$(disk b) && d=$(disk d) || die "disks missing"
signal_at_suspend=/usr/local/sbin/dmm-signal-at-suspend.so
[ -f "$signal_at_suspend" ] || die "no $signal_at_suspend"
tool_ok create va "$a" && tool_ok create vb "$b" || die "cannot create the volumes"

# launch TAG ARGS...: dmmigrate ARGS in the background, results in /tmp/TAG.*
launch() {
	local tag=$1
	shift
	(
		dmmigrate "$@" > "/tmp/$tag.out" 2> "/tmp/$tag.err"
		echo $? > "/tmp/$tag.rc"
	) &
}
rc_of() { cat "/tmp/$1.rc"; }
# maps_dest: migrate tables whose destination is $d.
maps_dest() {
	dmsetup table | awk -v d="$(majmin "$d")" '$4 == "migrate" && $6 == d' | wc -l
}

for ((r = 1; r <= rounds; r++)); do
	launch sa start va "$d"
	sleep "$(printf '0.%03d' $((RANDOM % 30)))"
	launch sb start vb "$d"
	wait
	desc="round $r: va and vb started to one destination at once"
	if [ "$(rc_of sa)" = 0 ]; then winner=va loser=sb; else winner=vb loser=sa; fi
	if [ "$(rc_of sa)$(rc_of sb)" != 00 ] && [ "$(rc_of ${winner/v/s})" = 0 ] &&
		grep -q "$d" "/tmp/$loser.err" && same "migrate tables mapping $d" "$(maps_dest)" 1; then
		ktap_ok "$desc: $winner started, the other refused"
	else
		ktap_not_ok "$desc: start va exit $(rc_of sa), start vb exit $(rc_of sb): $(cat /tmp/sa.err /tmp/sb.err)"
	fi
	dmmigrate abort va > /dev/null 2>&1
	dmmigrate abort vb > /dev/null 2>&1
	linear_on va "$a" && linear_on vb "$b" || die "round $r: not back on the sources"
done

for ((r = 1; r <= creates; r++)); do
	if ((r % 2)); then
		launch s start va "$d"
		sleep "$(printf '0.%03d' $((RANDOM % 30)))"
		launch k create vc "$d"
	else
		launch k create vc "$d"
		sleep "$(printf '0.%03d' $((RANDOM % 30)))"
		launch s start va "$d"
	fi
	wait
	desc="round $r: start va to $d and create vc on it at once"
	if [ $(( $(rc_of s) == 0 )) -ne $(( $(rc_of k) == 0 )) ]; then
		ktap_ok "$desc: exactly one succeeded (start $(rc_of s), create $(rc_of k))"
	else
		ktap_not_ok "$desc: start exit $(rc_of s), create exit $(rc_of k): $(cat /tmp/s.err /tmp/k.err)"
	fi
	dmmigrate abort va > /dev/null 2>&1
	dmmigrate remove vc > /dev/null 2>&1
	linear_on va "$a" && ! dmsetup info vc > /dev/null 2>&1 || die "round $r: not cleaned up"
done

# signalled SIG ARGS...: dmmigrate ARGS with SIG sent the moment it suspends.
signalled() {
	local sig=$1
	shift
	LD_PRELOAD=$signal_at_suspend DMM_SIGNAL=$sig dmmigrate "$@" > /dev/null 2> /tmp/sig.err
	rc=$?
}
signalled 15 start va "$d"
ktap_expect "SIGTERM at start's suspend: killed once the migration runs" \
	'same "exit" "$rc" 143 && dm_settled va && [ "$(dmsetup table va | cut -d" " -f3)" = migrate ] &&
	 { tool wait va --timeout 120; [ "$rc" -eq 0 ]; }'
signalled 2 confirm va
ktap_expect "SIGINT at confirm's suspend: killed once the volume is on the destination" \
	'same "exit" "$rc" 130 && dm_settled va && linear_on va "$d" && tool_ok status va'
tool_ok start va "$a" && tool_ok wait va --timeout 120 || die "no migration back"
signalled 1 abort va
ktap_expect "SIGHUP at abort's suspend: killed once the volume is on the source" \
	'same "exit" "$rc" 129 && dm_settled va && linear_on va "$d" && tool_ok status va'
tool_ok start va "$a" && tool_ok wait va --timeout 120 && tool_ok confirm va &&
	linear_on va "$a" || die "va not back on $a"

# Job control: without it bash starts background commands with SIGINT
# ignored, and a SIGINT round would test nothing.
set -m
for ((r = 1; r <= randoms; r++)); do
	sig=$((r % 2 ? 2 : 15))
	delay=$((RANDOM % 200))
	dmmigrate start vb "$d" > /dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' "$delay")"
	kill -"$sig" "$pid" 2> /dev/null
	wait "$pid"
	killed=$?
	if dm_settled vb; then
		ktap_ok "round $r: signal $sig after $delay ms (exit $killed): vb not left suspended"
	else
		ktap_not_ok "round $r: signal $sig after $delay ms (exit $killed): vb left suspended"
		dmsetup resume vb
	fi
	dmmigrate abort vb > /dev/null 2>&1
	linear_on vb "$b" || die "round $r: vb not back on $b"
done
set +m

tool_ok remove va && tool_ok remove vb && no_dm_devices && unload_migrate
ktap_check "remove, no dm device left, rmmod" [ $? -eq 0 ]
ktap_finish
