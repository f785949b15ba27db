#!/bin/bash
# The fuzzer's run in the VM: fuzz_guest.sh CASES LIVE_OPS [SEED].
# First CASES devices with generated table lines and operations (legs,
# a device too small, a failing one, devices and numbers that do not exist);
# then LIVE_OPS random messages, suspends, resumes and reloads on a migrate
# device copying under fio writes with verify, whose legs must end equal.
# At the end no device is left and the module unloads. The console (oops,
# KASAN, lockdep, kmemleak) is judged by the host's run.sh.
# vm: -d a:32M -d b:32M -d meta:4M -d small:1M -t 1500 -m 2048
. "$(dirname "$0")/../selftests/dm-migrate/lib.sh"

cases=${1:-200}
live_ops=${2:-100}
seed=${3:-$(date +%s)}
ktap_plan 7

a=$(disk a) && b=$(disk b) && meta=$(disk meta) && small=$(disk small) ||
	die "disks missing"
len=$(sectors "$a")
load_migrate || die "module does not load"
dmsetup create fzerr --table "0 $len error" || die "no error device"
# A leg that fails a while after the copy starts.
dmsetup create fzflaky --table "0 $len flakey $(majmin "$b") 0 1 1" ||
	die "no flakey device"

diag "seed $seed"
dmm-fuzz -s "$seed" -n "$cases" "$a" "$b" "$meta" "$small" \
	/dev/mapper/fzerr /dev/mapper/fzflaky "$(majmin "$a")" > /tmp/fuzz.out 2>&1
rc=$?
cat /tmp/fuzz.out
ktap_check "$cases generated table lines and operation sequences: each worked or was refused cleanly" [ $rc -eq 0 ]
dmsetup remove fzflaky fzerr
ktap_expect "no device left by the fuzzer" '[ -z "$(dmsetup ls | grep -v "^No devices")" ]'

# Live: a copy under verified writes while the fuzzer pokes it; the legs
# are compared whole after the copy.
dd if=/dev/zero of="$meta" bs=1M count=1 oflag=direct 2>/dev/null
echo "0 $len migrate $a $b $meta 64 3 fresh rate 4194304" | dmsetup create fzlive ||
	die "cannot create the live device"
# fio passes over the first 24 MiB for as long as the fuzzer runs, each
# writing every block once (fio's verify needs that) and verifying it.
rm -f /tmp/fuzz.done /tmp/fio.failed
(
	pass=0
	while [ ! -e /tmp/fuzz.done ]; do
		pass=$((pass + 1))
		fio --output-format=terse --minimal --filename=/dev/mapper/fzlive \
			--direct=1 --ioengine=psync --verify=crc32c --verify_fatal=1 \
			--name=live --rw=randwrite --bsrange=4k-64k --size=24M \
			--randseed=$((seed % 65536 + pass)) --rate=2m > /tmp/fio.out 2>&1 ||
			{ echo "pass $pass" > /tmp/fio.failed; break; }
	done
	echo "# fio: $pass passes"
) &
fio_pid=$!
dmm-fuzz -s "$((seed + 1))" -n "$live_ops" -l fzlive > /tmp/live.out 2>&1
rc=$?
touch /tmp/fuzz.done
cat /tmp/live.out
ktap_check "$live_ops random operations on a live migrate device worked or were refused cleanly" [ $rc -eq 0 ]
wait $fio_pid
[ -e /tmp/fio.failed ] && { cat /tmp/fio.failed /tmp/fio.out; }
ktap_check "fio writes with verify came through the operations" [ ! -e /tmp/fio.failed ]

dmsetup message fzlive 0 resume
dmsetup message fzlive 0 rate 0
wait_synced fzlive
ktap_expect "after the copy the legs are equal" '[ "$(sum_mib "$a")" = "$(sum_mib "$b")" ]'
dmsetup remove fzlive
ktap_check "no device left" no_dm_devices
ktap_check "the module unloads" unload_migrate
ktap_finish
