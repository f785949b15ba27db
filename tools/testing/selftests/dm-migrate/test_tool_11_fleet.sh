#!/bin/bash
# A fleet under one rate group, through the tool: 16 volumes (slices of two
# disks) moved by "dmmigrate batch" with a budget of a quarter of the legs'
# bandwidth and at most 4 copying at once. The batch is killed at random
# moments and run again until it ends by itself: every volume confirmed,
# its data as written (one under a fio load all along), never more than 4
# copying. Moved back, each with a metadata device: the batch killed and
# the volumes "rebooted" (removed, /run cleared, "dmmigrate activate"), then
# a destination failing: the batch run again stops at the failure, and with
# --keep-going confirms the others and names the failed one, exit 7. With
# --confirm-at-end a volume in sync waits for the others. "status --group" gives the group's totals, "group"
# changes a budget and moves migrations in and out, a start with a metadata
# device records the group and activation rejoins it; bad plans and bad
# groups are refused with nothing changed.
# vm: -d src:64M:16777216 -d dst:64M:16777216 -d meta:4M -t 480
# debug-kernel: full run only; the kernel's group paths run there in test_target_16
# kernels: 6.12 in make check (the batch and the group commands are the tool's; test_target_16 runs the groups on 6.1)
# shellcheck disable=SC2034 # the values the cases read, in the expressions ktap_expect evaluates
. "$(dirname "$0")/lib.sh"

ktap_plan 21

src=$(disk src) && dst=$(disk dst) && meta=$(disk meta) || die "disks missing"
load_migrate || die "module does not load"
# A quarter of a leg's 16 MiB/s.
budget=$((4 * 1024 * 1024))
size=4	# MiB per volume

# Volume N moves between slice NsS of src and NsD of dst, slices with dm
# uuids: identities a metadata device's record can name.
concise='' off=0
for i in $(seq 16); do
	len=$((size * 2048))
	concise+="${i}sS,DMMTEST-${i}sS,,rw,0 $len linear $src $off;${i}sD,DMMTEST-${i}sD,,rw,0 $len linear $dst $off;"
	off=$((off + len))
done
# and its metadata device NsM, a slice of meta.
for i in $(seq 17); do
	concise+="${i}sM,DMMTEST-${i}sM,,rw,0 256 linear $meta $(((i - 1) * 256));"
done
dmsetup create --concise "${concise%;}" || die "cannot make the slices"
declare -A SUM
for i in $(seq 16); do
	dmmigrate create "v$i" "/dev/mapper/${i}sS" > /dev/null || die "cannot create v$i"
	dd if=/dev/urandom of="/dev/mapper/v$i" bs=1M count=$size oflag=direct 2> /dev/null
	SUM[v$i]=$(sum "/dev/mapper/v$i")
done

# plan FILE SIDE [EXTRA LINE] [OPTION]: a plan moving every volume to its
# slice on SIDE; OPTION metadata: each with its metadata slice.
plan() {
	local i
	{
		echo "# the fleet, to the $2 slices"
		echo "group fleet"
		for i in $(seq 16); do
			echo "v$i /dev/mapper/${i}s$2${4:+ --metadata /dev/mapper/${i}sM}"
		done
		[ -z "${3:-}" ] || echo "$3"
	} > "$1"
}
# data_ok: every volume but those named holds what was written to it.
data_ok() {
	local i bad=
	for i in $(seq 16); do
		[[ " $* " == *" v$i "* ]] && continue
		[ "$(sum "/dev/mapper/v$i")" = "${SUM[v$i]}" ] || bad+=" v$i"
	done
	[ -z "$bad" ] || diag "data differs on:$bad"
	[ -z "$bad" ]
}
# all_on_one VOLUME SIDE: VOLUME linear on its slice on SIDE.
all_on_one() {
	[ "$(dmsetup table "$1")" = "0 $((size * 2048)) linear $(majmin "/dev/mapper/${1#v}s$2") 0" ] && return 0
	diag "$1 not on its $2 slice"
	return 1
}
# all_on SIDE [BUT]: every volume (but BUT) linear on its slice on SIDE.
all_on() {
	local i r=0
	for i in $(seq 16); do
		[ "v$i" = "${2:-}" ] || all_on_one "v$i" "$1" || r=1
	done
	return $r
}

step "bad plans and groups change nothing"
before=$(dm_snapshot)
plan /tmp/dup D "v17 /dev/mapper/2sD"
tool batch /tmp/dup --group fleet --rate 4M
r1=$rc e1=$err
printf 'v1 /dev/mapper/1sD --weight 0\n' > /tmp/badw
tool batch /tmp/badw --group fleet --rate 4M
r2=$rc
echo '{"group": "fleet", "volumes": [{"name": "v1", "dest": "/dev/mapper/1sD", "wieght": 2}]}' > /tmp/badj
tool batch /tmp/badj --rate 4M
r3=$rc e3=$err
plan /tmp/nov D "nosuch $meta"
tool batch /tmp/nov --group fleet --rate 4M
r4=$rc
tool start v1 /dev/mapper/1sD --group nosuchgroup
r5=$rc e5=$err
tool group fleet --rate 4M --max-active 70000
r6=$rc
ktap_expect "bad plans (destination twice, weight 0, unknown JSON key, unknown volume), a start in an unknown group and a bad limit: refused, nothing changed" \
	'[ "$r1$r2$r3$r4$r5$r6" = 111411 ] && [[ $e1 == *"2sD is the destination of v2 and of v17"* ]] &&
	 [[ $e3 == *wieght* ]] && [[ $e5 == *"rate group nosuchgroup is not set"* ]] &&
	 same "dm devices" "$(dm_snapshot)" "$before" && [ ! -e /run/dmmigrate/fleet.group ]'

tool_ok group fleet --rate 4M --max-active 4
ktap_expect "group fleet --rate 4M --max-active 4 sets the group" \
	'[ "$rc" -eq 0 ] && same kept "$(cat /run/dmmigrate/fleet.group)" "$budget 4"'

step "the batch, killed at random moments and run again"
plan /tmp/plan D
# The most members copying at once, sampled all along.
(
	most=0
	while [ ! -e /tmp/sampler.stop ]; do
		n=$(dmsetup status --target migrate 2> /dev/null | awk '$5 == "copying"' | wc -l)
		[ "$n" -gt "$most" ] && most=$n && echo "$most" > /tmp/most
		nap 0.2
	done
) &
sampler=$!
load_start /dev/mapper/v1 --size=${size}M
kills=0 rounds=0 totals=
while [ "$rounds" -lt 12 ]; do
	rounds=$((rounds + 1))
	dmmigrate batch /tmp/plan > /tmp/batch.out 2> /tmp/batch.err &
	pid=$!
	if [ "$rounds" -le 6 ]; then
		nap "$((1 + RANDOM % 5)).$((RANDOM % 10))"
		# The group's totals while it has members (not before the
		# batch has started any, nor once all are done).
		t=$(dmmigrate --json status --group fleet)
		[[ $t == *'"members":0,'* ]] || totals=$t
		if kill -9 "$pid" 2> /dev/null; then
			kills=$((kills + 1))
			wait "$pid" 2> /dev/null
			continue
		fi
	fi
	wait "$pid"
	brc=$?
	[ "$brc" -eq 0 ] && break
	diag "batch round $rounds: exit $brc: $(tail -n 3 /tmp/batch.err)"
done
diag "batch: $kills kills, $rounds runs, last exit ${brc:-none}"
load_stop
lrc=$?
touch /tmp/sampler.stop
wait "$sampler"
ktap_expect "the batch killed $kills times at random and run again ends by itself, exit 0" \
	'[ "${brc:-1}" -eq 0 ] && [ "$kills" -ge 3 ]'
ktap_expect "every volume confirmed onto its destination slice" 'all_on D'
ktap_expect "every volume holds what was written to it; the one under fio passed every verify and holds the last pass" \
	'data_ok v1 && [ "$lrc" -eq 0 ] && load_verify /dev/mapper/v1'
ktap_expect "never more than 4 members copying at once (most seen: $(cat /tmp/most 2> /dev/null))" \
	'[ "$(cat /tmp/most 2> /dev/null || echo 0)" -ge 1 ] && [ "$(cat /tmp/most)" -le 4 ]'
out=$totals
[ -n "$out" ] || diag "status --group fleet never saw a member"
ktap_expect "status --group fleet --json mid-batch: the group's budget, limit and totals" \
	'[[ $out == *"\"group\":{\"name\":\"fleet\",\"rate\":$budget,\"max_active\":4,\"members\":"* ]] &&
	 [ "$(jfield copying)" -le 4 ] && [ "$(jfield members)" -ge 1 ] && [ -n "$(jfield bytes_total)" ]'
tool --json batch /tmp/plan
ktap_expect "the batch run once more: nothing to do, every volume confirmed before this run" \
	'[ "$rc" -eq 0 ] && [ "$(grep -o "\"before_this_run\":true" <<< "$out" | wc -l)" -eq 16 ] &&
	 [[ $out == *"\"confirmed\":16,\"failed\":0"* ]]'
# Data written again, the v1 load having changed it.
SUM[v1]=$(sum /dev/mapper/v1)

step "back, through a reboot, with a destination failing"
plan /tmp/back S "" metadata
# Half the budget: the batch is still at work when it is killed, however
# slowly the 16 starts go (they took 16 s beside three other VMs).
dmmigrate batch /tmp/back --rate 2M > /tmp/back.out 2> /tmp/back.err &
pid=$!
# on_d: how many volumes are still linear on their D slice, not started.
on_d() {
	local i n=0
	for i in $(seq 16); do
		[ "$(dmsetup table "v$i")" = "0 $((size * 2048)) linear $(majmin "/dev/mapper/${i}sD") 0" ] && n=$((n + 1))
	done
	echo "$n"
}
# Every volume started (its record written), then a moment more.
for _ in $(seq 100); do
	[ "$(on_d)" -eq 0 ] && break
	nap 0.2
done
nap "0.$((1 + RANDOM % 9))"
kill -9 "$pid" 2> /dev/null || diag "the batch had ended before the kill"
wait "$pid" 2> /dev/null
# A reboot, as far as the volumes know: gone, with the tool's /run, and
# brought back from their records.
for i in $(seq 16); do dmsetup remove "v$i" || diag "cannot remove v$i"; done
rm -rf /run/dmmigrate
tool activate
n=$(dmsetup table --target migrate | grep -c '^v')
ktap_expect "after the batch killed and a 'reboot', activate brings back all 16 ($n migrating), in group fleet" \
	'[ "$rc" -eq 0 ] && [ "$(dmsetup ls | grep -c "^v[0-9]")" -eq 16 ] && [ "$n" -ge 1 ] &&
	 [ "$(dmsetup table --target migrate | grep -c " group fleet 2097152 4")" -eq "$n" ]'
# Fail the destination of a member waiting its turn, or else of the one
# copying that has the most left.
snap
fv='' least=''
for i in $(seq 16); do
	state=$(sfield "v$i" 1)
	[ "$state" = queued ] && fv=v$i && break
	[ "$state" = copying ] || continue
	n=$(sfield "v$i" 2)
	n=${n%%/*}
	if [ -z "$least" ] || [ "$n" -lt "$least" ]; then least=$n fv=v$i; fi
done
fs=${fv#v}sS
diag "failing the destination of ${fv:-none} ($fs)"
dmsetup suspend "$fs" && dmsetup reload "$fs" --table "0 $((size * 2048)) error" && dmsetup resume "$fs"
tool batch /tmp/back
ktap_expect "the batch run again stops at the failure: exit 7, $fv named" \
	'[ -n "$fv" ] && [ "$rc" -eq 7 ] && [[ $err == *"$fv: a leg has failed"* ]]'
tool --json batch /tmp/back --keep-going
ktap_expect "--keep-going: the other 15 confirmed, $fv failed, exit 7, in the JSON summary" \
	'[ "$rc" -eq 7 ] && [[ $out == *"\"confirmed\":15,\"failed\":1"* ]] &&
	 [[ $out == *"{\"name\":\"$fv\",\"dest\":\"/dev/mapper/$fs\",\"result\":\"failed\""* ]]'
tool_ok abort "$fv"
ktap_expect "$fv rolled back onto its slice of before; the others on their source slices; all data intact" \
	'[ "$(dmsetup table "$fv")" = "0 $((size * 2048)) linear $(majmin "/dev/mapper/${fv#v}sD") 0" ] &&
	 all_on S "$fv" && data_ok'
dmsetup suspend "$fs" && dmsetup reload "$fs" --table "0 $((size * 2048)) linear $src $(((${fv#v} - 1) * size * 2048))" && dmsetup resume "$fs"
# And moved there too, as the others, for what follows.
tool_ok start "$fv" "/dev/mapper/$fs" --force && tool_ok confirm "$fv" --wait

step "group: budgets, members in and out"
tool_ok group fleet --rate 4M
tool_ok start v1 /dev/mapper/1sD --group fleet --rate 1M
tool_ok start v2 /dev/mapper/2sD --group fleet --weight 3
ktap_expect "start --group --weight: the table joins the group with its budget and the weight" \
	'[[ $(dmsetup table v2) == *" group fleet $budget 4 weight 3"* ]]'
tool_ok group fleet --rate 2M
ktap_expect "group fleet --rate 2M: every member's budget changes, the limit stays" \
	'[[ $(dmsetup table v1) == *" group fleet 2097152 4"* ]] && [[ $(dmsetup table v2) == *" group fleet 2097152 4"* ]]'
tool_ok group - v1
r1=$rc
t1=$(dmsetup table v1)
tool_ok group fleet v1
ktap_expect "group - v1 takes it out, group fleet v1 puts it back" \
	'[ "$r1" -eq 0 ] && [[ $t1 != *group* ]] && [[ $(dmsetup table v1) == *" group fleet 2097152 4"* ]]'
tool_ok group other --rate 1M
tool start v2 /dev/mapper/2sD --group other
r1=$rc e1=$err
tool group fleet v9
ktap_expect "a start repeated in another group, and moving an idle volume: refused" \
	'[ "$r1" -eq 6 ] && [[ $e1 == *"another rate group"* ]] && [ "$rc" -eq 6 ]'
tool_ok abort v1
tool_ok abort v2
tool status --group fleet
ktap_expect "with no member left, status --group answers from the kept budget" \
	'[ "$rc" -eq 0 ] && [[ $out == *"group fleet: 0 copying"*"budget 2.0 MiB/s, 4 at once"* ]]'

step "--confirm-at-end"
printf 'group fleet\nv4 /dev/mapper/4sD\nv5 /dev/mapper/5sD\n' > /tmp/two
tool_ok start v5 /dev/mapper/5sD --group fleet --paused
dmmigrate batch /tmp/two --confirm-at-end > /tmp/two.out 2> /tmp/two.err &
pid=$!
for _ in $(seq 150); do [ "$(field v4 1)" = synced ] && break; nap 0.2; done
nap 2
s4=$(field v4 1)
tool_ok resume v5
wait "$pid"
brc=$?
ktap_expect "--confirm-at-end: v4 in sync waits for v5 (paused, picked up from before), then both confirmed" \
	'[ "$s4" = synced ] && [ "$brc" -eq 0 ] && all_on_one v4 D && all_on_one v5 D && data_ok'

step "the record keeps the group"
tool_ok start v3 /dev/mapper/3sD --metadata /dev/mapper/17sM --group fleet --weight 5 --paused
dmsetup remove v3 && rm -rf /run/dmmigrate
tool activate --metadata /dev/mapper/17sM
ktap_expect "after a 'reboot' activate brings v3 back into group fleet with its budget and weight" \
	'[ "$rc" -eq 0 ] && [[ $(dmsetup table v3) == *" group fleet 2097152 4 weight 5"* ]]'
tool --json status --group fleet
ktap_expect "status --group fleet: v3 its one member" \
	'[ "$rc" -eq 0 ] && [ "$(jfield members)" = 1 ] && [[ $out == *"\"name\":\"v3\""* ]]'
tool_ok abort v3
ktap_expect "v3 back on its source slice, its data intact" \
	'[ "$(dmsetup table v3)" = "0 $((size * 2048)) linear $(majmin /dev/mapper/3sS) 0" ] && data_ok'

ktap_finish
