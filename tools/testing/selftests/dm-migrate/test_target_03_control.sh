#!/bin/bash
# Copy control: the rate limit holds within 10%, pause really freezes the
# copy, messages raise dm events and change uevents carrying the state,
# suspend drains the copier and resume restarts it, a swap to a linear
# table destroys no slab cache with the I/O held, and the device can be
# removed while copying.
# vm: -d src:256M -d dst:256M -t 400
. "$(dirname "$0")/lib.sh"

ktap_plan 13

src=$(disk src) && dst=$(disk dst) || die "disks missing"
len=$(sectors "$src")
load_migrate || die "module does not load"

# Every kernel uevent, as a udev rule would see it: action, device, state.
printf '#!/bin/sh\necho "$ACTION $DEVNAME ${DM_MIGRATE_STATE:-}" >> /tmp/uevents\n' > /tmp/uevent-log
chmod +x /tmp/uevent-log
uevent /tmp/uevent-log &
uevent_pid=$!
# uevent_with STATE: a change uevent of the volume carried STATE.
uevent_with() {
	local i
	for i in $(seq 50); do
		grep -q "^change $mig_dev $1\$" /tmp/uevents 2> /dev/null && return 0
		nap 0.1
	done
	diag "no change uevent with state $1: $(tr '\n' ';' < /tmp/uevents)"
	return 1
}

rate=$((4 * 1024 * 1024))
echo "0 $len migrate $src $dst - 1024 2 rate $rate" | dmsetup create mig ||
	die "cannot create the target"
mig_dev=dm-$(dmsetup info -c --noheadings -o minor mig | tr -d " ")

# Copied bytes over 12 s of wall time, after a second to settle.
sleep 1
b1=$(field mig 5); t1=$(uptime_cs)
sleep 12
b2=$(field mig 5); t2=$(uptime_cs)
achieved=$(( (b2 - b1) * 100 / (t2 - t1) ))
diag "rate limit $rate B/s, achieved $achieved B/s over $(( t2 - t1 )) cs"
ktap_expect "copy rate within 10% of the limit" \
	'[ $achieved -ge $((rate * 9 / 10)) ] && [ $achieved -le $((rate * 11 / 10)) ]'
ms=$(field mig 6); bytes=$(field mig 5)
reported=$(( bytes * 1000 / (ms > 0 ? ms : 1) ))
diag "copy ms $ms, bytes $bytes: $reported B/s"
ktap_expect "bytes copied over copy ms agrees with the limit (10%)" \
	'[ $reported -ge $((rate * 9 / 10)) ] && [ $reported -le $((rate * 11 / 10)) ]'

# A pause raises an event and freezes the copy once copies in flight end.
ev=$(event_nr mig)
timeout 10 dmsetup wait mig "$ev" > /dev/null &
waiter=$!
nap 0.5
dmsetup message mig 0 pause
wait $waiter
ktap_check "pause raises a dm event" [ $? -eq 0 ]
ktap_check "pause raises a change uevent with the state" uevent_with paused
wait_drained mig
s1=$(in_sync mig); b1=$(field mig 5)
sleep 4
s2=$(in_sync mig); b2=$(field mig 5)
diag "paused: in sync $s1 -> $s2, bytes $b1 -> $b2"
ktap_expect "pause freezes progress" \
	'[ "$(field mig 1)" = paused ] && [ "$s1" = "$s2" ] && [ "$b1" = "$b2" ]'

dmsetup message mig 0 resume
sleep 2
ktap_expect "resume restarts the copy" '[ "$(in_sync mig)" -gt "$s2" ] && [ "$(field mig 1)" = copying ]'

# Suspend drains: nothing in flight, nothing moves; resume goes on.
dmsetup suspend mig
s1=$(in_sync mig)
c1=$(field mig 7)
sleep 3
ktap_expect "suspend drains the copier" '[ "$c1" = 0 ] && [ "$(in_sync mig)" = "$s1" ]'
dmsetup resume mig
sleep 2
ktap_check "resume after suspend copies again" [ "$(in_sync mig)" -gt "$s1" ]

# Unlimited rate: the copy finishes, with an event.
ev=$(event_nr mig)
dmsetup message mig 0 rate 0
ktap_check "copy reaches synced once unlimited" wait_synced mig
ktap_check "reaching synced raised an event" [ "$(event_nr mig)" -gt "$ev" ]
ktap_check "reaching synced raised a change uevent with the state" uevent_with synced
kill "$uevent_pid"

# A swap to a linear table, as confirm does, after a write through the
# volume: dm core's bio slab cache of the migrate table is held until its
# destructor (dm-migrate-keep.c), so none is destroyed inside dm_swap_table,
# where the volume's I/O is held (from 6.12 that waits for RCU).
# Kernel text patched under TCG while another vCPU runs it can trap on a
# stale int3 (seen in __schedule) or stall a CPU (function_graph patches
# every function: a soft lockup on a busy host). So only two cold
# functions are patched: two kprobes, left as int3 (no optimizer jump), and
# with the comm recording off, which would hook sched_switch in __schedule.
swap_destroys_no_cache() {
	local t=/sys/kernel/tracing ok=0
	dd if=/dev/zero of=/dev/mapper/mig bs=4k count=1 oflag=direct 2> /dev/null || return 1
	echo 0 > /proc/sys/debug/kprobes-optimization && echo 0 > $t/options/record-cmd &&
		echo 'p:dmm_swap dm_swap_table' >> $t/kprobe_events &&
		echo 'p:dmm_kcd kmem_cache_destroy' >> $t/kprobe_events &&
		echo stacktrace > $t/events/kprobes/dmm_kcd/trigger &&
		echo > $t/trace && echo 1 > $t/events/kprobes/enable || return 1
	dmsetup reload mig --table "0 $len linear $dst 0" && dmsetup suspend mig &&
		dmsetup resume mig && dmsetup remove mig && ok=1
	echo 0 > $t/events/kprobes/enable
	cp $t/trace /tmp/swap.trace
	echo '!stacktrace' > $t/events/kprobes/dmm_kcd/trigger
	echo > $t/kprobe_events
	[ $ok = 1 ] || return 1
	grep -q 'dmm_swap:' /tmp/swap.trace || { diag "dm_swap_table not traced"; return 1; }
	# The cache does end, in the destructor the remove runs.
	grep -q 'dmm_kcd:' /tmp/swap.trace || { diag "no slab cache destroyed at all"; return 1; }
	# Each destroy's stack: the "=>" lines after it; none may pass dm_swap_table.
	awk '/dmm_kcd:/ { in_kcd = 1; next } /=>/ { if (in_kcd && /dm_swap_table/) bad++; next }
		!/<stack trace>/ { in_kcd = 0 } END { exit bad > 0 }' /tmp/swap.trace && return 0
	diag "a slab cache destroyed in dm_swap_table: $(grep -v '^#' /tmp/swap.trace | tr -s ' \n' ' ;' | cut -c1-600)"
	return 1
}
events=/sys/kernel/tracing/kprobe_events
[ -e $events ] || mount -t tracefs nodev /sys/kernel/tracing 2> /dev/null
if [ -w $events ]; then
	ktap_check "a swap to linear destroys no slab cache while suspended" swap_destroys_no_cache
else
	ktap_skip "a swap to linear destroys no slab cache while suspended" \
		"this kernel has no kprobe events"
	dmsetup remove mig
fi

# Remove in the middle of a copy, with a write load running.
echo "0 $len migrate $src $dst - 256 2 rate $rate" | dmsetup create mig2
fio --name=load --filename=/dev/mapper/mig2 --direct=1 --rw=randwrite --bs=4k \
	--time_based --runtime=4 --eta=never > /dev/null
dmsetup remove mig2 && unload_migrate
ktap_check "remove while copying, then rmmod" [ $? -eq 0 ]
ktap_finish
