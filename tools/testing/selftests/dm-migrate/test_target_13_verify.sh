#!/bin/bash
# Online verify (Documentation/dm-migrate.rst, "Verify"), through dmmigrate
# and the target:
# - bad input (a volume not migrating, a bad rate, a bad message, a second
#   verify while one runs) is refused and changes nothing;
# - a verify while copying compares the regions in sync so far, skipping
#   the others; after sync it compares them all and finds them equal;
# - a pause freezes it, resume goes on, a suspend makes it start over and
#   says so, stop ends it;
# - blocks written behind the target's back to the destination under
#   regions in sync are found, as exactly those regions; confirm --verify
#   refuses; --repair copies them again and a second verify finds none; the
#   legs are then equal and confirm --verify cuts over;
# - under a verified write load, with one leg reading 50 ms late
#   (dm-delay), verifies running end to end find no false difference and
#   lose no write (fio's pattern verify, legs compared);
# - an abort during a verify, and a leg failing under one (the verify ends
#   "failed", could not compare), end cleanly, nothing hangs or is left.
# vm: -d src:32M -d dst:32M -t 400
. "$(dirname "$0")/lib.sh"

ktap_plan 16

src=$(disk src) && dst=$(disk dst) || die "disks missing"
len=$(sectors "$src")
region=131072
regions=$((len * 512 / region))
load_migrate || die "module does not load"
modprobe dm-delay || die "no dm-delay"

# vfield N: the Nth field of the verify's status (1 = its state).
vfield() { field vol $((12 + $1)); }
vpassed() { local p; p=$(vfield 2); echo "${p%%/*}"; }

# corrupt REGION: 4 KiB of random data on the destination 4 KiB into REGION.
corrupt() {
	dd if=/dev/urandom of="$dst" bs=4096 count=1 seek=$(($1 * region / 4096 + 1)) \
		oflag=direct conv=notrunc 2> /dev/null
}

dd if=/dev/urandom of="$src" bs=1M count=$((len / 2048)) oflag=direct 2> /dev/null
tool_ok create vol "$src" || die "cannot create the volume"

# Refused: not migrating, no such volume, a bad rate; nothing changed.
before=$(dm_snapshot)
tool verify vol; r1=$rc
tool verify nosuch; r2=$rc
tool verify vol --rate 12x; r3=$rc
ktap_expect "verify of a volume not migrating or absent, a bad rate: refused, nothing changed" \
	'same "not migrating" $r1 6 && same absent $r2 4 && same "bad rate" $r3 1 && same snapshot "$(dm_snapshot)" "$before"'

# While copying: what is in sync when the verify passes is compared.
tool_ok start vol "$dst" --region-size 128K --rate 4M || die "cannot start"
wait_status vol 60 '[ "${MST[2]%%/*}" -ge $((regions / 4)) ]' 0.2
low=$(in_sync vol)
tool verify vol; vrc=$rc
high=$(in_sync vol); compared=$(vfield 3)
diag "verify while copying: exit $vrc, $compared compared, $low..$high in sync: $out"
ktap_expect "a verify while copying compares the regions in sync and skips the rest" \
	'same exit $vrc 0 && [ "$compared" -ge "$low" ] && [ "$compared" -le "$high" ] && [ "$compared" -lt $regions ] && same passed "$(vpassed)" $regions'
wait_synced vol || die "no sync"

tool verify vol
ktap_expect "after sync: every region compared and equal" \
	'same exit $rc 0 && same state "$(vfield 1)" equal && same compared "$(vfield 3)" $regions && same differ "$(vfield 4)" 0 && [[ $out == *"verify equal: $regions regions compared, 0 differ"* ]]'

# One at a time; pause, resume, a suspend, stop.
tool_ok verify vol --background --rate 1M
before=$(dmsetup table vol)
tool verify vol; r1=$rc
dmsetup message vol 0 verify rate 2>/dev/null; r2=$?
dmsetup message vol 0 verify now 2>/dev/null; r3=$?
ktap_expect "a second verify and malformed verify messages are refused, nothing changed" \
	'same "second verify" $r1 5 && [[ $err == *"is running"* ]] && [ $r2 -ne 0 ] && [ $r3 -ne 0 ] && same table "$(dmsetup table vol)" "$before" && same state "$(vfield 1)" verifying'
nap 1
tool_ok pause vol
nap 0.5
p1=$(vpassed); nap 2; p2=$(vpassed)
tool_ok resume vol
wait_status vol 30 '[ "${MST[14]%%/*}" -gt "$p2" ]' 0.2
ktap_expect "a pause freezes the verify, resume goes on" \
	'same "passed while paused" "$p2" "$p1" && [ "$(vpassed)" -gt "$p2" ]'
dmsetup suspend vol && dmsetup resume vol
ktap_expect "a suspend makes the verify start over, and says so" \
	'same restarts "$(vfield 8)" 1 && same state "$(vfield 1)" verifying && dmesg | grep -q "verify starts over after a suspend"'
tool verify vol --stop; r1=$rc
tool verify vol --stop; r2=$rc
ktap_expect "stop ends the verify; a second stop is refused" \
	'same stop $r1 0 && same state "$(vfield 1)" stopped && same "second stop" $r2 6'

# Corruption behind the target's back, found, refused, repaired.
for r in 5 6 100 $((regions - 1)); do corrupt "$r"; done
tool verify vol; vrc=$rc
ktap_expect "verify finds exactly the corrupted regions" \
	'same exit $vrc 10 && same differ "$(vfield 4)" 4 && [[ $out == *"regions that differ: 5-6 100 $((regions - 1))"* ]]'
tool confirm vol --verify
ktap_expect "confirm --verify refuses while they differ" \
	'same exit $rc 10 && same "still migrating" "$(field vol 1)" synced'
tool verify vol --repair; r1=$rc; rep=$(vfield 5)
tool verify vol; r2=$rc
ktap_expect "--repair copies them again; a second verify finds none; the legs are equal" \
	'same repair $r1 10 && same repaired "$rep" 4 && same "second verify" $r2 0 && same legs "$(sum "$dst")" "$(sum "$src")"'

tool confirm vol --verify
ktap_expect "confirm --verify cuts over once they are equal" \
	'same exit $rc 0 && linear_on vol "$dst"'

# Under a verified write load: no false difference, no lost write. The
# new destination reads 50 ms late (dm-delay), so that a compare's two
# reads lie far apart and a write let through between them would show.
dmsetup create srcl --table "0 $len delay $src 0 50 $src 0 0" || die "cannot wrap the source"
tool_ok start vol /dev/mapper/srcl --region-size 128K --force && wait_synced vol ||
	die "cannot start to the delayed device"
load_start /dev/mapper/vol
n=0; bad=0
while [ $n -lt 2 ]; do
	tool verify vol
	[ "$rc" -eq 0 ] || { bad=$((bad + 1)); diag "verify under load: exit $rc: $out $err"; }
	n=$((n + 1))
done
loaded=$(kill -0 "$load_pid" 2> /dev/null && echo yes)
load_stop; lrc=$?
ktap_expect "verifies under a write load find no difference and lose no write" \
	'same "verifies that failed" $bad 0 && same "load ran throughout" "$loaded" yes && [ $lrc -eq 0 ] && load_verify /dev/mapper/vol && same legs "$(sum /dev/mapper/srcl)" "$(sum "$dst")"'

# An abort during a verify; a leg failing under one.
tool_ok verify vol --background --rate 1M || die "cannot start a verify"
tool abort vol
ktap_expect "abort during a verify: back on the volume's device" \
	'same abort $rc 0 && linear_on vol "$dst"'
tool_ok start vol /dev/mapper/srcl --region-size 128K --force && wait_synced vol &&
	tool_ok verify vol --background --rate 1M || die "cannot start a verify"
dmsetup reload srcl --table "0 $len error" && dmsetup suspend srcl && dmsetup resume srcl
wait_status vol 60 '[ "${MST[13]}" = failed ]'
tool verify vol; r1=$rc
ktap_expect "a leg failing under a verify ends it as failed; a new one is refused" \
	'same state "$(vfield 1)" failed && same "new verify" $r1 7'
tool abort vol; r1=$rc
tool_ok remove vol; r2=$rc
dmsetup remove srcl
ktap_expect "abort and remove after the failure; nothing left" \
	'same abort $r1 0 && same remove $r2 0 && no_dm_devices'
ktap_check "no kernel warnings" no_problems_in_dmesg
unload_migrate
ktap_finish
