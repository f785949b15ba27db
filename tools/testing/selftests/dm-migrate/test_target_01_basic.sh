#!/bin/bash
# The migrate target: module load, bad table lines refused with a clear
# message, data written through the target read back identical, messages,
# remove and rmmod.
# vm: -d src:64M -d dst:64M -t 300
# debug-kernel: full run only (every test there loads, creates and removes; the fuzzer sends thousands of bad table lines and messages)
. "$(dirname "$0")/lib.sh"

ktap_plan 11

src=$(disk src) && dst=$(disk dst) || die "disks missing"
len=$(sectors "$src")

ktap_check "module loads" load_migrate
ktap_check "target registered" sh -c 'dmsetup targets | grep -q "^migrate *v1\."'

# bad_table DESC EXPECTED-MESSAGE TABLE: refused, message in the kernel log,
# and no device left behind.
bad_table() {
	local desc=$1 msg=$2 table=$3 out
	dmesg -c > /dev/null
	if echo "$table" | dmsetup create bad 2>/dev/null; then
		dmsetup remove bad
		return 1
	fi
	out=$(dmesg)
	dmsetup info bad > /dev/null 2>&1 && return 1
	grep -q "$msg" <<< "$out" || { diag "$desc: got: $out"; return 1; }
}

bad=0
bad_table "too few arguments" "Invalid argument count" "0 $len migrate $src $dst -" || bad=$((bad + 1))
bad_table "region not a power of two" "not a power of two" "0 $len migrate $src $dst - 1000" || bad=$((bad + 1))
bad_table "region too small" "out of range" "0 $len migrate $src $dst - 4" || bad=$((bad + 1))
bad_table "same device" "same device" "0 $len migrate $src $src - 1024" || bad=$((bad + 1))
bad_table "no such source" "Cannot open source" "0 $len migrate /dev/nonexistent $dst - 1024" || bad=$((bad + 1))
bad_table "unknown feature" "Unknown or repeated" "0 $len migrate $src $dst - 1024 1 turbo" || bad=$((bad + 1))
bad_table "feature count beyond args" "Invalid number of feature" "0 $len migrate $src $dst - 1024 3 rate 5" || bad=$((bad + 1))
bad_table "bad rate" "Invalid rate" "0 $len migrate $src $dst - 1024 2 rate fast" || bad=$((bad + 1))
bad_table "target longer than source" "smaller than the target" "0 $((len + 8)) migrate $src $dst - 1024" || bad=$((bad + 1))
bad_table "metadata device is a leg" "metadata device is one of the legs" "0 $len migrate $src $dst $dst 1024" || bad=$((bad + 1))
ktap_check "10 bad table lines refused with their messages, nothing left behind" [ "$bad" -eq 0 ]

# Data written through a paused target lands on the source and reads back.
dd if=/dev/urandom of=/tmp/data bs=1M count=8 2>/dev/null
echo "0 $len migrate $src $dst - 1024 1 paused" | dmsetup create mig
ktap_check "paused target created" wait_state mig paused 5
dd if=/tmp/data of=/dev/mapper/mig bs=1M seek=3 oflag=direct conv=fsync 2>/dev/null
want=$(digest < /tmp/data)
got=$(dd if=/dev/mapper/mig bs=1M skip=3 count=8 iflag=direct 2>/dev/null | digest)
onsrc=$(dd if="$src" bs=1M skip=3 count=8 iflag=direct 2>/dev/null | digest)
ktap_check "data read back through the target is what was written" [ "$got" = "$want" ]
ktap_check "the write reached the source" [ "$onsrc" = "$want" ]
ktap_check "paused: nothing copied" [ "$(in_sync mig)" = 0 ]

# Bad messages change nothing.
before=$(dmsetup table mig)
badmsg=0
for m in "" "frobnicate" "rate" "rate -1" "rate 1 2" "pause now"; do
	# shellcheck disable=SC2086
	dmsetup message mig 0 $m 2>/dev/null && badmsg=$((badmsg + 1))
done
ktap_expect "bad messages refused, table unchanged" \
	'[ "$badmsg" -eq 0 ] && [ "$(dmsetup table mig)" = "$before" ] && [ "$(field mig 1)" = paused ]'

dmsetup message mig 0 rate 1048576
ktap_check "rate message shows in status and table" \
	sh -c "[ \"\$(dmsetup status mig | awk '{print \$7}')\" = 1048576 ] && dmsetup table mig | grep -q 'rate 1048576'"

ktap_check "device removed" dmsetup remove mig
ktap_check "module unloads" unload_migrate
ktap_finish
