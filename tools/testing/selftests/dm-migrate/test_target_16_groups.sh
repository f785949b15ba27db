#!/bin/bash
# Rate groups: 16 migrations (slices of two disks throttled to 16 MiB/s)
# share one budget of an eighth of that. The group's copy rate is the budget
# within 10% and equal members copy within 20% of each other; once half of
# them are in sync the rest speed up to keep it; weights share it in their
# ratio. With a limit of 4 members copying at once, never more copy, the
# others report queued and start as members finish, and one whose
# destination fails gives its place up. A running migration moves into and
# out of a group by message; a table loaded sets its group's budget only
# when resumed; bad groups and weights change nothing.
# vm: -d src:64M:16777216 -d dst:64M:16777216 -t 420
. "$(dirname "$0")/lib.sh"

ktap_plan 17

src=$(disk src) && dst=$(disk dst) || die "disks missing"
load_migrate || die "module does not load"
# An eighth of a leg's 16 MiB/s: under make check four VMs share two
# cores, and at 4 MiB/s the guest's copies (64 a second) ran short of CPU.
budget=$((2 * 1024 * 1024))
# The debug kernel (KASAN, lockdep) copies too slowly under TCG to keep up
# with a budget: there the paths run under its detectors, and the rates are
# measured on 6.1 and 6.12.
measure=yes
[[ ${KVER:-} == *-dmm-debug ]] && measure=
# rate_case DESC EXPR: a case on rates, skipped where they are not measured.
rate_case() {
	if [ -n "$measure" ]; then
		ktap_expect "$@"
	else
		ktap_skip "$1" "the debug kernel cannot copy at the budget; 6.1 and 6.12 measure it"
	fi
}

# Sixteen slices of each disk, in one dmsetup: eight of 2 MiB, eight of 6.
concise='' off=0
for i in $(seq 16); do
	len=$(( (i <= 8 ? 2 : 6) * 2048 ))
	concise+="s${i}s,,,rw,0 $len linear $src $off;s${i}d,,,rw,0 $len linear $dst $off;"
	off=$((off + len))
done
dmsetup create --concise "${concise%;}" || die "cannot make the slices"

# member NAME N FEATURES...: a migration of slice N, 32 KiB regions.
member() {
	local name=$1 n=$2
	shift 2
	echo "0 $(sectors "/dev/mapper/s${n}s") migrate /dev/mapper/s${n}s /dev/mapper/s${n}d - 64 $# $*" |
		dmsetup create "$name"
}

# last NAME K: the Kth field from the end of NAME's status (0 = the last).
last() {
	local f
	read -r -a f <<< "${ST[$1]}"
	echo "${f[$((${#f[@]} - 1 - $2))]}"
}

# window SECONDS NAMES...: bytes each copied over SECONDS into GOT[name],
# and the group's rate in bytes/s into RATE.
declare -A GOT
window() {
	local secs=$1 n t0
	shift
	declare -A b0
	snap
	t0=$ST_AT
	for n in "$@"; do b0[$n]=$(sfield "$n" 5); done
	nap "$secs"
	snap
	RATE=0
	for n in "$@"; do
		GOT[$n]=$(($(sfield "$n" 5) - ${b0[$n]}))
		RATE=$((RATE + ${GOT[$n]}))
	done
	RATE=$((RATE * 1000000 / (ST_AT - t0)))
}
# within PCT A B: A is within PCT % of B.
within() {
	[ $(($1 * 100)) -ge $(($2 * (100 - $3))) ] && [ $(($1 * 100)) -le $(($2 * (100 + $3))) ]
}
# spread NAMES...: the least and the most of GOT over NAMES, within 20 %.
spread() {
	local n lo='' hi=0
	for n in "$@"; do
		[ -z "$lo" ] || [ "${GOT[$n]}" -lt "$lo" ] && lo=${GOT[$n]}
		[ "${GOT[$n]}" -gt "$hi" ] && hi=${GOT[$n]}
	done
	diag "copied per member: least $lo, most $hi bytes"
	[ "$lo" -gt 0 ] && [ $((hi * 100)) -le $((lo * 120)) ]
}

# The shares: 16 members, then the 8 left, then weights. On the debug
# kernel in make check only the limit's members below run (the same locks
# and wake-ups, fewer bytes); DMM_DEBUG_ALL=1 runs these too.
shares() {
	# 16 members in group g, made with a budget of 1 byte/s (each copies one
	# region, then waits hours), then given the real budget by one message,
	# which starts them together.
	small=() big=()
	for i in $(seq 16); do
		name=$(printf 'g%02d' "$i")
		member "$name" "$i" group g 1 0 || die "cannot create $name"
		if [ "$i" -le 8 ]; then small+=("$name"); else big+=("$name"); fi
	done
	dmsetup message g16 0 group g $budget 0
	# From the start they share, 10 s: about 40 regions each (dmsetup reads
	# the 16 one after the other, up to 0.5 s apart: 2 regions), the small
	# ones done at 16 s.
	window 10 "${small[@]}" "${big[@]}"
	ktap_expect "members show the group, its budget and no limit in status" \
		'[ "$(last g01 3)" = g ] && [ "$(last g01 2)" = $budget ] && [ "$(last g01 1)" = 0 ] &&
		 [ "$(last g01 0)" = 1 ]'
	ktap_expect "the table line carries the group" \
		'dmsetup table g01 | grep -q " group g $budget 0"'
	diag "16 members: $RATE bytes/s against a budget of $budget"
	rate_case "16 members: the group copies at its budget (10%)" 'within $RATE $budget 10'
	rate_case "16 members: equal members copy within 20% of each other" \
		'spread "${small[@]}" "${big[@]}"'

	for n in "${small[@]}"; do wait_synced "$n" || break; done
	snap
	ktap_expect "the small half reaches synced" '[ "$(sfield g08 1)" = synced ]'
	window 5 "${big[@]}"
	diag "8 members left: $RATE bytes/s against a budget of $budget"
	rate_case "half in sync: the rest speed up to keep the budget (10%)" 'within $RATE $budget 10'
	rate_case "half in sync: the rest copy within 20% of each other" 'spread "${big[@]}"'
	for n in "${small[@]}" "${big[@]}"; do dmsetup remove "$n"; done

	# Weights 1 and 3 share the budget one to three: a quarter of the
	# budget, so that neither 6 MiB slice is done before the window ends.
	member w1 9 group w $((budget / 4)) 0 && member w3 10 group w $((budget / 4)) 0 weight 3 ||
		die "cannot create the weighted members"
	nap 0.5
	window 5 w1 w3
	diag "weights 1 and 3 copied ${GOT[w1]} and ${GOT[w3]} bytes, $RATE bytes/s in all"
	rate_case "weights 1 and 3: the budget shared one to three (20%)" \
		'within $((${GOT[w1]} * 3)) ${GOT[w3]} 20 && within $RATE $((budget / 4)) 10'
	dmsetup remove w1 && dmsetup remove w3
}
share_cases=("members show the group, its budget and no limit in status"
	"the table line carries the group"
	"16 members: the group copies at its budget (10%)"
	"16 members: equal members copy within 20% of each other"
	"the small half reaches synced"
	"half in sync: the rest speed up to keep the budget (10%)"
	"half in sync: the rest copy within 20% of each other"
	"weights 1 and 3: the budget shared one to three (20%)")
if debug_lane; then
	for c in "${share_cases[@]}"; do ktap_skip "$c" "full run only (DMM_DEBUG_ALL=1 runs it)"; done
else
	shares
fi

# At most 4 of 8 copying at once; q1's destination fails while it copies.
# Half the budget (a quarter on the debug kernel), so that the looks every
# 0.3 s see the members come and go.
qbudget=$((budget / 4))
[ -n "$measure" ] && qbudget=$((budget / 2))
# q1 on slice 9 through q1d, a linear table over the slice's destination.
dmsetup create q1d --table "$(dmsetup table s9d)"
echo "0 $(sectors /dev/mapper/s9s) migrate /dev/mapper/s9s /dev/mapper/q1d - 64 4 group q $qbudget 4" |
	dmsetup create q1
for i in $(seq 2 8); do member "q$i" "$i" group q $qbudget 4; done
most=0 queued=0 failed='' end=$((SECONDS + 180))
while [ "$SECONDS" -lt "$end" ]; do
	snap
	copying=0 done=0
	for n in q1 q2 q3 q4 q5 q6 q7 q8; do
		case $(sfield "$n" 1) in
		copying) copying=$((copying + 1)) ;;
		queued) queued=$((queued + 1)) ;;
		synced|halted) done=$((done + 1)) ;;
		esac
	done
	[ "$copying" -gt "$most" ] && most=$copying
	if [ -z "$failed" ] && [ "$(sfield q1 2 | cut -d/ -f1)" -gt 0 ]; then
		dmsetup suspend q1d && dmsetup load q1d --table "0 $(sectors /dev/mapper/q1d) error" &&
			dmsetup resume q1d
		failed=yes
	fi
	[ "$done" = 8 ] && break
	nap 0.3
done
diag "limit 4: at most $most copying, $queued looks at a member queued"
ktap_expect "limit 4: never more than 4 members copying" '[ "$most" -le 4 ] && [ "$most" -ge 3 ]'
ktap_expect "limit 4: the others reported queued" '[ "$queued" -gt 0 ]'
ktap_expect "a member whose destination failed is halted" \
	'[ "$(sfield q1 1)" = halted ] && [ "$(sfield q1 9)" = failed ]'
others_synced() {
	local n
	for n in q2 q3 q4 q5 q6 q7 q8; do [ "$(sfield "$n" 1)" = synced ] || return 1; done
}
ktap_check "every other member reached synced" others_synced
for n in q1 q2 q3 q4 q5 q6 q7 q8 q1d; do dmsetup remove "$n"; done

# A running migration moves into a group and out of it by message.
member m 9 paused
dmsetup message m 0 group moved 1048576 2
snap
ktap_expect "a message moves a migration into a group" \
	'[ "$(last m 3)" = moved ] && [ "$(last m 2)" = 1048576 ] && [ "$(last m 1)" = 2 ] &&
	 dmsetup table m | grep -q " group moved 1048576 2"'
dmsetup message m 0 group -
snap
ktap_expect "group - takes it out" \
	'[ "$(last m 3)" = - ] && ! dmsetup table m | grep -q group'

# A table loaded joins its group but sets its budget only when resumed: a
# load never resumed changes nothing live.
budget_at_resume() {
	local live loaded cleared line
	line="0 $(sectors /dev/mapper/s9s) migrate /dev/mapper/s9s /dev/mapper/s9d - 64 5 paused group moved 4194304 1"
	dmsetup message m 0 group moved 1048576 2
	echo "$line" | dmsetup load m
	live=$(dmsetup table m)
	loaded=$(dmsetup table --inactive m)
	dmsetup clear m
	cleared=$(dmsetup table m)
	echo "$line" | dmsetup load m && dmsetup suspend m && dmsetup resume m
	diag "live $live; loaded $loaded; cleared $cleared; resumed $(dmsetup table m)"
	[[ $live == *" group moved 1048576 2"* ]] && [[ $loaded == *" group moved 4194304 1"* ]] &&
		[[ $cleared == *" group moved 1048576 2"* ]] &&
		[[ $(dmsetup table m) == *" group moved 4194304 1"* ]]
}
ktap_check "a table loaded changes no budget until resumed (its own line echoes its own), then sets it" budget_at_resume

# Bad groups and weights: refused, the table unchanged.
bad_refused() {
	local table msg f ok=0
	table=$(dmsetup table m)
	for msg in "group" "group x" "group x 1" "group x y 1" "group x 1 65536" \
		"group bad/name 1 1" "group - 1 1" "group $(printf 'n%.0s' $(seq 33)) 1 1"; do
		# shellcheck disable=SC2086 # the message's words
		dmsetup message m 0 $msg 2> /dev/null && { diag "message accepted: $msg"; ok=1; }
	done
	for f in "2 group x" "4 group x 1 y" "2 weight 0" "2 weight 1001" "4 weight 2 weight 3" \
		"8 group a 1 1 group b 1 1"; do
		echo "0 $(sectors /dev/mapper/s10s) migrate /dev/mapper/s10s /dev/mapper/s10d - 64 $f" |
			dmsetup create bad 2> /dev/null &&
			{ diag "table accepted: $f"; ok=1; dmsetup remove bad; }
	done
	[ $ok = 0 ] && [ "$(dmsetup table m)" = "$table" ]
}
ktap_check "bad groups and weights refused, the table unchanged" bad_refused
dmsetup remove m
for i in $(seq 16); do dmsetup remove "s${i}s" && dmsetup remove "s${i}d"; done
unload_migrate
ktap_check "every device removed, the module unloads" [ $? -eq 0 ]
ktap_finish
