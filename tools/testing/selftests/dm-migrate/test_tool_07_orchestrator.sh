#!/bin/bash
# An orchestrator's view (dmmigrate(8), "JSON OUTPUT"): three volumes moved
# by a driver that reads nothing but the tool's --json answers. Every
# command (create, start, wait, confirm, remove) is first killed with
# SIGKILL at a random moment (0-390 ms) and then run again until it answers
# without an error, as a driver retries after a timeout; each must end
# done ("created", "started", ...) or "already". A monitor --json of every
# volume runs throughout. Then, checked behind the driver's back: every
# volume on its destination with its data, the monitor's lines, nothing
# left (dm devices, state files, the module).
# vm: -d s1:16M -d d1:16M -d s2:16M -d d2:16M -d s3:16M -d d3:16M -t 500
# debug-kernel: full run only (the tool's answers and retries; its swaps run in the debug lane's failure matrix)
. "$(dirname "$0")/lib.sh"

vols="v1 v2 v3"
ktap_plan 7

for v in $vols; do
	n=${v#v}
	eval "src_$v=\$(disk s$n) && dst_$v=\$(disk d$n)" || die "disks missing"
done
src_of() { eval "echo \$src_$1"; }
dst_of() { eval "echo \$dst_$1"; }

dmmigrate monitor --json > /tmp/monitor.out 2> /tmp/monitor.err &
mon_pid=$!

# answer_of KEY: KEY's string in the one-line answer $ans (first level).
answer_of() {
	sed -n "s/^{\"version\":1,\"command\":\"[a-z]*\",.*\"$1\":\"\\([^\"]*\\)\".*}$/\\1/p" <<< "$ans"
}

# drive WANT ARGS...: dmmigrate --json ARGS, killed once at a random
# moment, then run until its answer has no error (a busy volume is waited
# for); the answer's result must be WANT or "already". Tries in $tries.
drive() {
	local want=$1 pid result
	shift
	dmmigrate --json "$@" > /dev/null 2>&1 &
	pid=$!
	nap "0.$(printf '%02d' $((RANDOM % 40)))"
	kill -KILL "$pid" 2> /dev/null && killed=$((killed + 1))
	wait "$pid" 2> /dev/null
	for tries in 1 2 3 4 5 6 7 8 9 10; do
		ans=$(dmmigrate --json "$@" 2> /dev/null)
		grep -q '"error":' <<< "$ans" || break
		diag "$* (try $tries): $ans"
		nap 0.5
	done
	result=$(answer_of result)
	[ "$result" = already ] && already=$((already + 1))
	if [ "$result" = "$want" ] || [ "$result" = already ]; then
		return 0
	fi
	diag "$*: answer $ans, want result $want"
	return 1
}

for v in $vols; do
	src=$(src_of $v)
	dd if=/dev/urandom of="$src" bs=1M count=16 oflag=direct 2> /dev/null
	eval "sum_$v=\$(md5sum < \"\$src\")"
done

# The steps one after the other, each for every volume, as a batch would.
killed=0
already=0
ok=1
for v in $vols; do drive created create $v "$(src_of $v)" || ok=; done
for v in $vols; do drive started start $v "$(dst_of $v)" --rate 4M || ok=; done
for v in $vols; do drive synced wait $v --timeout 120 || ok=; done
ktap_check "create, start, wait of three volumes through --json alone, each killed once and retried" [ -n "$ok" ]

ok=1
for v in $vols; do
	drive confirmed confirm $v || ok=
	eval "want=\$sum_$v"
	linear_on $v "$(dst_of $v)" && same "$v data" "$(md5sum < /dev/mapper/$v)" "$want" || ok=
done
ktap_check "confirm of each, killed once and retried: on its destination, its data whole" [ -n "$ok" ]

ok=1
ans=$(dmmigrate --json status)
for v in $vols; do
	grep -q "{\"name\":\"$v\",\"state\":\"idle\",\"source\":\"$(dst_of $v)\"" <<< "$ans" || ok=
done
ktap_check "status --json lists the three, idle on their destinations" [ -n "$ok" ] || diag "$ans"

ok=1
for v in $vols; do drive removed remove $v || ok=; done
no_dm_devices && same "files left in /run/dmmigrate" "$(ls /run/dmmigrate)" "" || ok=
ktap_check "remove of each, killed once and retried: no dm device, no file left (locks, steps)" [ -n "$ok" ]

diag "$killed of 15 commands killed while running; $already retries answered already"
kill -TERM "$mon_pid"
wait "$mon_pid"
mon_rc=$?
ok=1
same "monitor exit" "$mon_rc" 0 && [ ! -s /tmp/monitor.err ] || { ok=; diag "monitor: $(cat /tmp/monitor.err)"; }
! grep -qv '^{"version":1,"command":"monitor","event":"[a-z]*","time":"[0-9T:-]*Z","name":"v[123]","volume":.*}$' /tmp/monitor.out || ok=
for v in $vols; do
	states=$(sed -n "s/.*\"volume\":{\"name\":\"$v\",\"state\":\"\\([a-z]*\\)\".*/\\1/p" /tmp/monitor.out | uniq | tr '\n' ' ')
	diag "monitor, $v: $states"
	# Killed starts and confirms may add a step back; the path must hold
	# these in order.
	grep -Eq '^(idle )+copying .*synced .*idle $' <<< "$states" || ok=
	grep -q "\"event\":\"removed\",\"time\":\"[0-9T:-]*Z\",\"name\":\"$v\",\"volume\":null}$" /tmp/monitor.out || ok=
done
ktap_check "monitor --json: every volume idle, copying, synced, idle again, then removed" [ -n "$ok" ]
ktap_check "nothing wrong in the kernel log" no_problems_in_dmesg
ktap_check "rmmod dm_migrate" unload_migrate
ktap_finish
