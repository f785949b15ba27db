#!/bin/bash
# create --interpose and remove --collapse killed (SIGKILL, which no tool
# can hold) before each of their device-mapper steps in turn, under a live
# three-layer stack: LUKS2 (key in the kernel keyring) on the disk, an LVM
# volume group on the crypt device, one LV mounted with ext4 under a file
# load, one raw LV under fio with tagged writes. After each kill the next
# command settles the move, alternately the command run again and
# 'dmmigrate activate'; the stack must then be whole every time: no layer
# suspended or with a table left loaded, the crypt device mapping the disk
# (and no volume) or the volume (linear over the disk), and the loads never
# see an error. In make check each step is killed once, settled by one
# command or the other by turns (each move meets both on its early and
# late steps); the full run (DMM_DEBUG_ALL=1) kills every step twice, once
# per settling command.
# vm: -d a:64M -t 900
# kernels: 6.12 in make check (the tool's kill handling, the same on every kernel; test_tool_09 moves stacks on 6.1)
# debug-kernel: full run only (the stack moves are userspace's; the debug kernel has no dm-crypt)
. "$(dirname "$0")/lib.sh"

kill_at=/usr/local/sbin/dmm-kill-at-ioctl.so
a=$(disk a) || die "disks missing"
for mod in dm-crypt xts algif_skcipher; do modprobe "$mod" 2> /dev/null; done
[ -d /sys/module/dm_crypt ] || skip_all "no dm-crypt in this kernel (CONFIG_DM_CRYPT)"
command -v cryptsetup > /dev/null && command -v lvm > /dev/null ||
	skip_all "cryptsetup and lvm are needed"
[ -f "$kill_at" ] || die "no $kill_at"
load_migrate || die "cannot load dm-migrate"

key=/tmp/passphrase
printf 'test passphrase' > "$key"
lvmconf='devices { obtain_device_list_from_udev = 0 use_devicesfile = 0 }
	activation { udev_sync = 0 udev_rules = 0 }'
lvmc() { LVM_SUPPRESS_FD_WARNINGS=1 lvm "$1" --config "$lvmconf" "${@:2}"; }
mkdir -p /etc/lvm /run/lock/lvm /mnt/x
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--key-file "$key" "$a" && cryptsetup open --key-file "$key" "$a" luks || die "LUKS"
lvmc pvcreate -q /dev/mapper/luks && lvmc vgcreate -q vg /dev/mapper/luks &&
	lvmc lvcreate -q -Zn -L 16M -n fs vg && lvmc lvcreate -q -Zn -L 8M -n raw vg > /dev/null ||
	die "LVM on LUKS"
mkfs.ext4 -q /dev/mapper/vg-fs && mount /dev/mapper/vg-fs /mnt/x || die "ext4"

# killed N ARGS...: dmmigrate ARGS killed before its Nth dm step; true
# if it was killed, false if it ran to the end (exit 0).
killed() {
	local n=$1
	shift
	# In a subshell whose stderr is dropped: bash's own "Killed" line.
	(
		DMM_KILL_AT=$n LD_PRELOAD=$kill_at dmmigrate "$@" > /dev/null 2> /tmp/killed.err
		echo $? > /tmp/killed.rc
	) 2> /dev/null
	kill_rc=$(cat /tmp/killed.rc)
	[ "$kill_rc" -eq 137 ] && return 0
	[ "$kill_rc" -eq 0 ] || diag "dmmigrate $* (kill at $n): exit $kill_rc: $(cat /tmp/killed.err)"
	return 1
}

# whole: the stack is whole: every layer resumed with no table waiting, the
# crypt device over the disk with no volume, or over the volume, linear
# over the disk, and no move recorded; $state is then "disk" or "volume",
# else empty. Two dmsetup runs in all: each costs the emulated CPU.
whole() {
	local info tables dev vol
	state=
	# attr: L (live table), then I if a table is loaded, s if suspended.
	info=$(dmsetup info -c --noheadings -o name,attr,major,minor --separator ' ')
	tables=$(dmsetup table)
	if awk '$2 !~ /^L--/ { bad = 1 } END { exit !bad }' <<< "$info"; then
		diag "not settled: $(tr '\n' ';' <<< "$info")"
		return 1
	fi
	dev=$(awk '$1 == "luks:" { print $8 }' <<< "$tables")
	vol=$(awk '$1 == "v" { print $3 ":" $4 }' <<< "$info")
	if [ -n "$(ls /run/dmmigrate/*.stack 2> /dev/null)" ]; then
		diag "a move is still recorded: $(ls /run/dmmigrate)"
	elif [ -z "$vol" ] && [ "$dev" = "$(majmin "$a")" ]; then
		state=disk
	elif [ -n "$vol" ] && [ "$dev" = "$vol" ] &&
		grep -q "^v: 0 $(sectors "$a") linear $(majmin "$a") 0\$" <<< "$tables"; then
		state=volume
	else
		diag "crypt over $dev, volume $vol: $(tr '\n' ';' <<< "$tables")"
	fi
}

# settle WAY ARGS...: the move killed is settled by the command run again
# (WAY=again; ARGS is the command) or by activate.
settle() {
	if [ "$1" = again ]; then
		tool "${@:2}"
	else
		tool activate
	fi
}

interpose=(create v "$a" --interpose --key-file "$key")
collapse=(remove v --collapse --key-file "$key")
# steps ARGS...: run dmmigrate ARGS through the preload, killing nothing;
# prints how many dm steps it took.
steps() {
	DMM_KILL_AT=0 DMM_KILL_COUNT=/tmp/steps LD_PRELOAD=$kill_at dmmigrate "$@" > /dev/null &&
		cat /tmp/steps
}
steps_interpose=$(steps "${interpose[@]}") && steps_collapse=$(steps "${collapse[@]}") ||
	die "cannot interpose and collapse through the preload"
[ "$steps_interpose" -ge 8 ] && [ "$steps_collapse" -ge 6 ] ||
	die "too few steps counted ($steps_interpose, $steps_collapse): the preload does not reach the tool"
rounds=1
[ -n "${DMM_DEBUG_ALL:-}" ] && rounds=2
ktap_plan $((rounds * (steps_interpose + steps_collapse) + 2))
diag "interpose takes $steps_interpose dm steps, collapse $steps_collapse"

# The loads paced, so that the emulated CPU is left for the commands: a
# synced file write every 0.1 s, fio at 100 writes a second.
rm -f /mnt/x.stop /mnt/x.failed
(
	i=0
	while [ ! -e /mnt/x.stop ]; do
		i=$((i + 1))
		dd if=/dev/urandom of="/mnt/x/f$((i % 50))" bs=4K count=$((RANDOM % 16 + 1)) conv=fsync 2> /dev/null ||
			{ touch /mnt/x.failed; exit 1; }
		sleep 0.1
	done
) &
writer=$!
load_start /dev/mapper/vg-raw --rate_iops=100

# on STATE: bring the stack to the disk or to the volume, unkilled.
on() {
	whole > /dev/null
	[ "$state" = "$1" ] && return 0
	if [ "$1" = volume ]; then
		tool_ok "${interpose[@]}"
	else
		tool_ok "${collapse[@]}"
	fi || die "cannot bring the stack onto the $1"
}

# way_of MOVE STEP ROUND: the settling command of that kill; by turns in
# one round (interpose's odd steps and collapse's even ones by the command
# run again), the other in a second.
way_of() {
	local c=0
	[ "$1" = collapse ] && c=1
	[ $((($2 + $3 + c) % 2)) -eq 0 ] && echo again || echo activate
}

for ((round = 1; round <= rounds; round++)); do
	for what in interpose collapse; do
		[ $what = interpose ] && steps=$steps_interpose || steps=$steps_collapse
		for ((n = 1; n <= steps; n++)); do
			way=$(way_of $what $n $round)
			if [ $what = interpose ]; then
				on disk
				killed "$n" "${interpose[@]}"
				settle "$way" "${interpose[@]}"
			else
				on volume
				killed "$n" "${collapse[@]}"
				settle "$way" "${collapse[@]}"
			fi
			whole
			if [ -n "$state" ] && [ "$rc" -eq 0 ]; then
				ktap_ok "$what killed before step $n, settled by $way: whole, on the $state"
			else
				ktap_not_ok "$what killed before step $n, settled by $way: exit $rc: $err"
			fi
		done
	done
done
on disk

touch /mnt/x.stop
wait "$writer"
ktap_expect "the loads never saw an error" '[ ! -e /mnt/x.failed ] && load_stop && load_verify /dev/mapper/vg-raw'
umount /mnt/x
ktap_check "fsck clean; the kernel reported no problem" \
	eval 'fsck.ext4 -fn /dev/mapper/vg-fs > /dev/null 2>&1 && no_problems_in_dmesg'
ktap_finish
