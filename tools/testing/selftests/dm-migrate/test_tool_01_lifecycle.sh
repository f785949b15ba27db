#!/bin/bash
# dmmigrate end to end under a write load: create, start (loading the
# module itself), status in both forms checked field by field against the
# target, pause, resume, rate, wait, confirm, list, remove; then a second
# volume started and aborted mid-copy under load. The JSON answers of
# dmmigrate(8)'s contract (the envelope, errors, confirm and abort), -q, a
# repeated start, and commands about a volume that does not exist, which
# must create no file. A monitor --json of vol runs throughout: its lines
# must follow the states vol passes through, the copy's progress in
# steps, and end when vol is removed. After confirm the source,
# and after abort the destination, is zeroed and unplugged from the VM, and
# the volume still reads exactly what the load last wrote: the surviving
# leg alone holds every acknowledged write. Every command's exit status and
# stderr are checked, and nothing is left behind (dm devices, module).
#
# The load is lib.sh's fio passes over the whole volume (load_start), one
# after the other while the migration runs; the volume's content after it
# is known exactly: the last pass's.
# vm: -d src:128M -d dst:128M -d src2:128M -d dst2:128M -d src3:16M -d dst3:16M -t 500
# debug-kernel: full run only (the lifecycle is the tool's; its swaps are the failure matrix's too)
# kernels: 6.12 in make check (the tool's lifecycle; the swaps it makes run on 6.1 in the failure matrix and the crash tests)
. "$(dirname "$0")/lib.sh"

ktap_plan 32

src=$(disk src) && dst=$(disk dst) && src2=$(disk src2) && dst2=$(disk dst2) &&
	src3=$(disk src3) && dst3=$(disk dst3) ||
	die "disks missing"
bytes=$(($(sectors "$src") * 512))
region=524288

# unplug DEV: zero the virtio disk, then take it out of the VM (PCI
# hot-remove), so that nothing can read from it any more.
unplug() {
	local name=${1#/dev/} pci
	[ -z "$(ls "/sys/block/$name/holders")" ] || { diag "$1 still held"; return 1; }
	dd if=/dev/zero of="$1" bs=1M count=$(($(sectors "$1") / 2048)) oflag=direct 2> /dev/null &&
		pci=$(dirname "$(readlink -f "/sys/block/$name/device")") &&
		echo 1 > "$pci/remove" && [ ! -e "/sys/block/$name" ]
}

# hundredths A B: 100 * A / B with two decimals, rounded half up, as the
# JSON contract prints percents.
hundredths() {
	local h=$((($1 * 10000 + $2 / 2) / $2))
	printf '%d.%02d' $((h / 100)) $((h % 100))
}

# json_coherent STATE RATE: $out, vol's status --json, describes a
# migration from src to dst in STATE with that rate limit, and its numbers
# agree with each other: regions, percent, throughput, time remaining.
json_coherent() {
	local total insync bps left
	total=$(jfield regions_total); insync=$(jfield regions_in_sync)
	bps=$(jfield bytes_per_second); left=$(jfield seconds_remaining)
	same name "$(jfield name)" vol && same state "$(jfield state)" "$1" &&
	same source "$(jfield source)" "$src" && same source_dev "$(jfield source_dev)" "$(majmin "$src")" &&
	same destination "$(jfield destination)" "$dst" &&
	same destination_dev "$(jfield destination_dev)" "$(majmin "$dst")" &&
	same metadata "$(jfield metadata)" null && same size "$(jfield size)" "$bytes" &&
	same region_size "$(jfield region_size)" "$region" &&
	same regions_total "$total" $((bytes / region)) &&
	[ "$insync" -ge 0 ] && [ "$insync" -le "$total" ] &&
	same percent "$(jfield percent)" "$(hundredths "$insync" "$total")" &&
	same rate_limit "$(jfield rate_limit)" "$2" &&
	[ "$bps" -gt 0 ] && { [ "$2" = 0 ] || [ "$bps" -le $(($2 * 11 / 10)) ]; } &&
	same seconds_remaining "$left" $(((bytes - insync * region + bps - 1) / bps)) &&
	same source_health "$(jfield source_health)" ok &&
	same destination_health "$(jfield destination_health)" ok &&
	same metadata_health "$(jfield metadata_health)" null && same errors "$(jfield errors)" 0
}

tool_ok create vol "$src" && [ -z "$out" ] && linear_on vol "$src" &&
	same uuid "$(dmsetup info -c --noheadings -o uuid vol)" MIGRATE-vol
ktap_check "create: exit 0, linear over the device, uuid MIGRATE-vol" [ $? -eq 0 ]

tool_ok status vol && same "status" "$out" "vol: idle, 128.0 MiB on $src ($(majmin "$src"))" &&
	tool_ok status vol --json && same state "$(jfield state)" idle &&
	same source "$(jfield source)" "$src" && same destination "$(jfield destination)" null &&
	same size "$(jfield size)" "$bytes" && same percent "$(jfield percent)" null
ktap_check "status of an idle volume, human and json" [ $? -eq 0 ]

dmmigrate monitor vol --json > /tmp/monitor.out 2> /tmp/monitor.err &
mon_pid=$!
# Its first line, vol idle, before anything changes.
for _ in $(seq 100); do
	[ -s /tmp/monitor.out ] && break
	nap 0.1
done

load_start /dev/mapper/vol
sleep 1
kill -0 "$load_pid" && ! grep -q '^dm_migrate ' /proc/modules &&
	tool_ok start vol "$dst" --rate 8M && [ -z "$out" ] &&
	grep -q '^dm_migrate ' /proc/modules &&
	same table "$(dmsetup table vol)" \
		"0 $((bytes / 512)) migrate $(majmin "$src") $(majmin "$dst") - 1024 2 rate 8388608"
ktap_check "start --rate 8M under load: exit 0, module loaded by the tool, migrate table" [ $? -eq 0 ]

sleep 2
tool_ok status vol
echo "$out" | sed 's/^/# /'
grep -Eq '^vol: copying, [0-9.]+% in sync \([0-9]+ of 256 regions of 512.0 KiB\), 128.0 MiB$' <<< "$out" &&
	grep -q "^  source:      $src ($(majmin "$src")), ok, 0 errors$" <<< "$out" &&
	grep -q "^  destination: $dst ($(majmin "$dst")), ok, 0 errors$" <<< "$out" &&
	grep -Eq '^  copied:      .* at .*/s \(limit 8.0 MiB/s\)$' <<< "$out" &&
	grep -Eq '^  remaining:   [0-9]+s$' <<< "$out"
ktap_check "status: copying, legs, health, rate limit, time left" [ $? -eq 0 ]

s1=$(in_sync vol)
tool_ok status vol --json
json=$out
s2=$(in_sync vol)
diag "$json"
out=$json
json_coherent copying 8388608 && [ "$(jfield regions_in_sync)" -ge "$s1" ] &&
	[ "$(jfield regions_in_sync)" -le "$s2" ]
ktap_check "status --json: every field coherent, in sync between two dmsetup samples" [ $? -eq 0 ]

# envelope COMMAND: $out is one line, the JSON answer of COMMAND listing
# volumes, vol among them.
envelope() {
	[ "$(echo "$out" | wc -l)" = 1 ] &&
		grep -q "^{\"version\":1,\"command\":\"$1\",\"volumes\":\[.*{\"name\":\"vol\",\"state\":\"copying\",.*}\]}$" <<< "$out" ||
		{ diag "$1 --json: $out"; return 1; }
}
tool_ok status vol --json && envelope status && tool_ok --json status && envelope status &&
	tool_ok list --json && envelope list
ktap_check "status NAME, status and list with --json: one envelope, version 1, volumes" [ $? -eq 0 ]

tool start vol "$dst" --rate 8M
same "start again" "$rc: $out" "0: vol: already migrating to $dst" &&
	tool_ok start vol "$dst" --rate 8M -q && same "start again -q" "$out" ""
ktap_check "start again with the same arguments: exit 0, says so; with -q silent" [ $? -eq 0 ]

tool status typo-vol
same "status typo-vol" "$rc" 4 && tool confirm typo-vol --json && same "confirm typo-vol" "$rc" 4 &&
	grep -q '"error":{"code":4,"name":"no-device","message":"volume typo-vol does not exist' <<< "$out" &&
	tool create typo-vol "$dst" && same "create typo-vol over the destination" "$rc" 5 &&
	same "files in /run/dmmigrate" "$(ls /run/dmmigrate | grep -v '^vol\.')" ""
ktap_check "status, confirm and a refused create of a volume that does not exist: exit 4, 4, 5, JSON error, no file made" [ $? -eq 0 ]

tool_ok pause vol && [ -z "$out" ] && wait_state vol paused 5 &&
	dmsetup table vol | grep -q ' paused rate 8388608$'
ktap_check "pause: exit 0, state and table paused" [ $? -eq 0 ]
wait_drained vol
s1=$(in_sync vol); b1=$(field vol 5)
sleep 2
s2=$(in_sync vol); b2=$(field vol 5)
tool_ok status vol --json
diag "paused under load: in sync $s1 -> $s2, bytes $b1 -> $b2"
same "in sync" "$s2" "$s1" && same "bytes copied" "$b2" "$b1" && json_coherent paused 8388608
ktap_check "paused: the copy stands still, status --json says paused" [ $? -eq 0 ]

tool confirm vol --json
same "confirm while paused" "$rc" 6 && diag "$out" &&
	grep -q '^{"version":1,"command":"confirm","error":{"code":6,"name":"state","message":"volume vol is not in sync (paused, [0-9.]*%); .*"}}$' <<< "$out" &&
	same "stderr" "$err" "dmmigrate: $(sed 's/.*"message":"\(.*\)"}}$/\1/' <<< "$out")"
ktap_check "confirm refused while paused: exit 6, the JSON error on stdout, its message on stderr" [ $? -eq 0 ]

tool_ok resume vol && [ -z "$out" ] && sleep 2 && [ "$(in_sync vol)" -gt "$s2" ] &&
	tool_ok status vol --json && json_coherent copying 8388608
ktap_check "resume: exit 0, the copy moves again" [ $? -eq 0 ]

# The copy may have ended since the resume (a slow host's timing).
tool_ok list && echo "$out" | sed 's/^/# /' &&
	grep -Eq '^vol +(copying +[0-9]+\.[0-9]|synced +100\.0)%$' <<< "$out" &&
	same "list lines" "$(echo "$out" | wc -l)" 1
ktap_check "list: the volume, copying (or just synced), with its percent" [ $? -eq 0 ]

tool_ok rate vol 32MiB/s && [ -z "$out" ] && dmsetup table vol | grep -q ' 2 rate 33554432$' &&
	tool_ok status vol --json && same rate_limit "$(jfield rate_limit)" 33554432
ktap_check "rate 32MiB/s (as status prints rates): exit 0, in the table and in status" [ $? -eq 0 ]

tool_ok wait vol --timeout 120 && [ -z "$out" ] && tool_ok status vol --json &&
	json_coherent synced 33554432 && same regions_in_sync "$(jfield regions_in_sync)" 256 &&
	same percent "$(jfield percent)" 100.00 && same seconds_remaining "$(jfield seconds_remaining)" 0
ktap_check "wait: exit 0 once synced; status --json synced, 100%, 0 s left" [ $? -eq 0 ]

kill -0 "$load_pid" && [ ! -e /tmp/load.failed ] && tool_ok confirm vol &&
	grep -Eq '^vol: confirmed, now on the destination \(I/O paused [0-9]+ ms\)$' <<< "$out" &&
	linear_on vol "$dst"
ktap_check "confirm under load: exit 0, pause reported, linear on the destination" [ $? -eq 0 ]
diag "$out"

tool_ok status vol --json && same state "$(jfield state)" idle && same source "$(jfield source)" "$dst" &&
	same destination "$(jfield destination)" null
ktap_check "status --json after confirm: idle on the destination" [ $? -eq 0 ]

ktap_check "the load read back every pass across start, pause and confirm" load_stop
ktap_check "the old source is free: zeroed and unplugged from the VM" unplug "$src"
ktap_check "the volume reads the last pass exactly, from the destination alone" load_verify /dev/mapper/vol

# A second volume, aborted in the middle of the copy, under load.
tool_ok create vol2 "$src2" && load_start /dev/mapper/vol2 && sleep 1 &&
	kill -0 "$load_pid" && tool_ok start vol2 "$dst2" --rate 4M && sleep 3 && [ "$(in_sync vol2)" -gt 0 ] &&
	[ "$(in_sync vol2)" -lt 256 ] && [ "$(field vol2 1)" = copying ]
ktap_check "vol2: create and start under load, copy under way" [ $? -eq 0 ]

tool_ok list && echo "$out" | sed 's/^/# /' && grep -Eq '^vol +idle +0\.0%$' <<< "$out" &&
	grep -Eq '^vol2 +copying +[0-9]+\.[0-9]%$' <<< "$out" && same "list lines" "$(echo "$out" | wc -l)" 2
ktap_check "list: vol idle, vol2 copying" [ $? -eq 0 ]

kill -0 "$load_pid" && tool_ok abort vol2 --json &&
	grep -Eq '^\{"version":1,"command":"abort","name":"vol2","result":"aborted","pause_ms":[0-9]+\}$' <<< "$out" &&
	linear_on vol2 "$src2" && tool_ok status vol2 --json && same state "$(jfield state)" idle &&
	same source "$(jfield source)" "$src2"
ktap_check "abort --json mid-copy under load: exit 0, the answer with the pause, linear on the source" [ $? -eq 0 ]
diag "$out"

ktap_check "the load on vol2 read back every pass across start and abort" load_stop
ktap_check "the destination of vol2 is free: zeroed and unplugged from the VM" unplug "$dst2"
ktap_check "vol2 reads the last pass exactly, from the source alone" load_verify /dev/mapper/vol2

# Repeated, as an orchestrator retries: create over the same device and
# remove of a volume gone succeed and say so.
tool_ok create vol3 "$src3" && tool_ok create vol3 "$src3" &&
	same "create again" "$out" "vol3: already created over $src3" &&
	tool_ok remove vol3 && tool_ok remove vol3 --json &&
	same "remove again" "$out" '{"version":1,"command":"remove","name":"vol3","result":"already"}'
ktap_check "create and remove repeated: exit 0, already done" [ $? -eq 0 ]

# A third volume moved by the library's example alone (libdmmigrate(3)).
tool_ok create vol3 "$src3" && dd if=/dev/urandom of=/dev/mapper/vol3 bs=1M count=16 oflag=direct 2> /dev/null &&
	sum3=$(md5sum < /dev/mapper/vol3) && migrate-volume vol3 "$dst3" 120 > /tmp/example.out 2>&1
rc=$?
sed 's/^/# example: /' /tmp/example.out
same "example exit" "$rc" 0 && grep -q "^vol3: confirmed after [0-9]* progress calls, I/O paused [0-9]* ms, now idle on $dst3, ok$" /tmp/example.out &&
	linear_on vol3 "$dst3" && same "vol3 data" "$(md5sum < "$dst3")" "$sum3" && tool_ok remove vol3
ktap_check "the library's example moves vol3: started, waited for, confirmed, data equal on the destination" [ $? -eq 0 ]

tool_ok remove vol && tool_ok remove vol2 && [ -z "$out" ] && no_dm_devices &&
	tool_ok list && same list "$out" ""
ktap_check "remove both: exit 0, no dm device left, list empty" [ $? -eq 0 ]

# The monitor ends by itself once vol is gone.
for _ in $(seq 50); do
	kill -0 "$mon_pid" 2> /dev/null || break
	nap 0.2
done
kill "$mon_pid" 2> /dev/null && diag "monitor still running 10 s after the remove"
wait "$mon_pid"
mon_rc=$?
sed 's/^/# monitor: /' /tmp/monitor.out | grep -v '"event":"progress"'
# The states of the lines, each change once; the percent of progress lines.
mon_states=$(sed -n 's/.*"volume":{"name":"vol","state":"\([a-z]*\)".*/\1/p' /tmp/monitor.out | uniq | tr '\n' ' ')
mon_pct=$(grep '"event":"progress"' /tmp/monitor.out | grep -o '"percent":[0-9.]*' | cut -d: -f2)
same "monitor exit" "$mon_rc" 0 && [ ! -s /tmp/monitor.err ] &&
	! grep -qv '^{"version":1,"command":"monitor","event":"[a-z]*","time":"[0-9T:-]*Z","name":"vol","volume":.*}$' /tmp/monitor.out &&
	same "first line" "$(head -n 1 /tmp/monitor.out | grep -o '"event":"[a-z]*"')" '"event":"present"' &&
	same "last line" "$(tail -n 1 /tmp/monitor.out)" \
		"$(tail -n 1 /tmp/monitor.out | grep '"event":"removed".*"volume":null}$')" &&
	same "states" "$mon_states" "idle copying paused copying synced idle "
ktap_check "monitor --json: a line per change, the states vol went through in order, ends when vol is removed" [ $? -eq 0 ]
diag "progress lines: $(echo "$mon_pct" | wc -l), percents: $(echo $mon_pct | cut -c1-200)"
[ "$(echo "$mon_pct" | wc -l)" -ge 20 ] && echo "$mon_pct" | sort -n -c
ktap_check "monitor --json: the copy's progress in steps, never going back" [ $? -eq 0 ]
ktap_check "rmmod dm_migrate" unload_migrate
ktap_finish
