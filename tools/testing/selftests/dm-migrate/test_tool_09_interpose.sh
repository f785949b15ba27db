#!/bin/bash
# A disk moved from under a live dm stack (create --interpose, start,
# confirm, remove --collapse), the stack's own tools then finding their
# data on the new disk alone:
# - LUKS2 opened by cryptsetup (its key in the kernel keyring), ext4 on it
#   under a file load: refused without the passphrase and with a wrong
#   one, nothing changed; interposed with it, the crypt table's key field
#   unchanged (by reference), migrated with a metadata device, confirmed
#   wiping the old disk, collapsed (the passphrase on standard input)
#   leaving no trace (no file, no record to bring the volume back); then
#   closed, found by its LUKS UUID on the new disk only, opened, fsck
#   clean, every file's checksum equal;
# - LUKS2 opened without the keyring (the key in the table): interposed
#   and collapsed with no passphrase, the table byte for byte as before
#   but for the device, the key in no line of -v's debug output;
# - an LVM volume group on one disk, three LVs: two ext4 under file loads,
#   one raw under fio with tagged writes; interposed, migrated, confirmed,
#   collapsed; then deactivated and activated again with a filter that
#   sees only the new disk, fsck clean, checksums and fio verify equal;
# - a multipath map (one path) under a linear holder: the disk under the
#   map refused (request-based), the map itself moved from under the
#   holder onto a new disk, its data equal;
# - refused, nothing changed: a disk mounted itself, a disk nothing holds,
#   a partitioned disk, a suspended holder, a holder with a table loaded,
#   a stack nine layers deep, a holder mapping the disk with a target not
#   reloaded (mirror), --key-file without --interpose, a remove without
#   --collapse of a held volume, a collapse of a migrating volume, a start
#   to a destination too small.
# vm: -d a:64M -d b:64M -d m:4M -d c:64M -d d:64M -d e:16M -d f:16M -d g:16M -d h:16M -d small:8M -t 900
# debug-kernel: full run only (the stack moves are userspace's; the debug kernel has no dm-crypt)
. "$(dirname "$0")/lib.sh"

ktap_plan 33

a=$(disk a) && b=$(disk b) && m=$(disk m) && c=$(disk c) && d=$(disk d) &&
	e=$(disk e) && f=$(disk f) && g=$(disk g) && h=$(disk h) &&
	small=$(disk small) || die "disks missing"
for mod in dm-crypt xts algif_skcipher dm-multipath dm-round-robin dm-mirror; do
	modprobe "$mod" 2> /dev/null
done
[ -d /sys/module/dm_crypt ] || skip_all "no dm-crypt in this kernel (CONFIG_DM_CRYPT)"
[ -d /sys/module/dm_multipath ] || skip_all "no dm-multipath in this kernel (CONFIG_DM_MULTIPATH)"
command -v cryptsetup > /dev/null && command -v lvm > /dev/null ||
	skip_all "cryptsetup and lvm are needed"
load_migrate || die "cannot load dm-migrate"
mkdir -p /etc/lvm /run/lock/lvm /mnt/x /mnt/y /mnt/z

# No udev here: lvm makes its own nodes and reads /dev itself.
lvmconf='devices { obtain_device_list_from_udev = 0 use_devicesfile = 0 }
	activation { udev_sync = 0 udev_rules = 0 }'
lvmc() { LVM_SUPPRESS_FD_WARNINGS=1 lvm "$1" --config "$lvmconf ${filter:-}" "${@:2}"; }
key=/tmp/passphrase
printf 'test passphrase' > "$key"
printf 'wrong' > /tmp/wrong

# files_start DIR: a writer in the background until files_stop DIR: files
# of 1-64 KiB written and synced one after another (paced, leaving the
# emulated CPU to the commands), each one's checksum listed once it is on
# disk, an error ending it.
files_start() {
	local dir=$1
	rm -f "$dir.stop" "$dir.failed" "$dir.sums"
	(
		i=0
		while [ ! -e "$dir.stop" ]; do
			i=$((i + 1))
			dd if=/dev/urandom of="$dir/f$i" bs=1K count=$((RANDOM % 64 + 1)) conv=fsync 2> /dev/null ||
				{ echo "f$i" > "$dir.failed"; exit 1; }
			echo "$(md5sum < "$dir/f$i" | cut -c1-32) f$i" >> "$dir.sums"
			[ $((i % 200)) -eq 0 ] && rm -f "$dir/f$((i - 150))" &&
				sed -i "/ f$((i - 150))\$/d" "$dir.sums"
			sleep 0.05
		done
	) &
	echo $! > "$dir.pid"
}

files_stop() {
	touch "$1.stop"
	wait "$(cat "$1.pid")"
	[ ! -e "$1.failed" ] || { diag "writer of $1 failed at $(cat "$1.failed")"; return 1; }
	diag "$1: $(wc -l < "$1.sums") files written"
}

# files_equal DIR: every listed file reads back with its checksum.
files_equal() {
	local sum name bad=0
	while read -r sum name; do
		[ "$(md5sum < "$1/$name" | cut -c1-32)" = "$sum" ] || bad=$((bad + 1))
	done < "$1.sums"
	[ "$bad" -eq 0 ] || diag "$1: $bad files differ"
	[ "$bad" -eq 0 ] && [ -s "$1.sums" ]
}

# direct_table NAME: NAME's table, its key shown, the device field blanked.
direct_table() {
	dmsetup table --showkeys "$1" | sed "s/ $(majmin "$2") / DEV /"
}

# 1-11: LUKS2, its key in the keyring.
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--key-file "$key" "$a" || die "luksFormat"
uuid=$(cryptsetup luksUUID "$a")
cryptsetup open --key-file "$key" "$a" luks || die "cryptsetup open"
mkfs.ext4 -q /dev/mapper/luks && mount /dev/mapper/luks /mnt/x || die "ext4 on luks"
files_start /mnt/x
before=$(dm_snapshot)
tool create vk "$a" --interpose
ktap_expect "LUKS in the keyring, no passphrase: refused naming --key-file, nothing changed" \
	'[ "$rc" -eq 1 ] && grep -q -- "--key-file" <<< "$err" && [ "$(dm_snapshot)" = "$before" ]'
tool create vk "$a" --interpose --key-file /tmp/wrong
ktap_expect "a wrong passphrase: refused, nothing changed" \
	'[ "$rc" -ne 0 ] && grep -q "does not open" <<< "$err" && [ "$(dm_snapshot)" = "$before" ]'
keyref=$(dmsetup table luks | awk '{ print $5 }')
tool --json create vk "$a" --interpose --key-file "$key"
pause=$(jfield pause_ms)
ktap_expect "interposed under the crypt device: it maps the volume, its key by reference as before" \
	'[ "$rc" -eq 0 ] && linear_on vk "$a" &&
	 [ "$(dmsetup table luks | awk "{ print \$5 \" \" \$7 }")" = "$keyref $(majmin /dev/mapper/vk)" ] &&
	 dm_settled luks && [ -n "$pause" ]'
diag "interpose paused I/O $pause ms"
tool create vk "$a" --interpose --key-file "$key"
ktap_expect "interpose repeated: already done" '[ "$rc" -eq 0 ] && grep -q already <<< "$out"'
tool remove vk
ktap_expect "remove without --collapse of a held volume: refused naming --collapse" \
	'[ "$rc" -eq 5 ] && grep -q -- "--collapse" <<< "$err" && dm_settled vk'
tool start vk "$small"
ktap_expect "a destination too small: refused, the stack as it was" \
	'[ "$rc" -eq 1 ] && grep -q "too small" <<< "$err" && linear_on vk "$a"'
tool_ok start vk "$b" --metadata "$m" --rate 16M
tool remove vk --collapse --key-file "$key"
ktap_expect "collapse of a migrating volume: refused" '[ "$rc" -eq 6 ] && dm_settled luks'
wait_synced vk 120
tool confirm vk --wipe-source
ktap_expect "migrated under the live crypt device and confirmed, the old disk wiped" \
	'[ "$rc" -eq 0 ] && linear_on vk "$b" && ! blkid -p "$a" > /dev/null 2>&1'
tool --json remove vk --collapse --key-file - < "$key"
pause=$(jfield pause_ms)
ktap_expect "collapsed: the crypt device maps the new disk, no trace of the volume left" \
	'[ "$rc" -eq 0 ] && [ "$(dmsetup table luks | awk "{ print \$5 \" \" \$7 }")" = "$keyref $(majmin "$b")" ] &&
	 ! dmsetup info vk > /dev/null 2>&1 && dm_settled luks && [ -z "$(ls /run/dmmigrate/vk.* 2> /dev/null)" ] &&
	 ! dmmigrate activate --metadata "$m" > /dev/null 2>&1'
diag "collapse paused I/O $pause ms"
ktap_check "the file load never failed" files_stop /mnt/x
umount /mnt/x && cryptsetup close luks
found=$(blkid -t "UUID=$uuid" -o device | tr '\n' ' ')
cryptsetup open --key-file "$key" "${found% }" luks &&
	fsck.ext4 -fn /dev/mapper/luks > /tmp/fsck.out 2>&1 && mount /dev/mapper/luks /mnt/x
ktap_expect "reopened by its LUKS UUID from the new disk only: fsck clean, every file equal" \
	'[ "$found" = "$b " ] && files_equal /mnt/x'
umount /mnt/x && cryptsetup close luks

# 12-13: LUKS2 with its key in the table.
wipefs -qa "$a"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--key-file "$key" "$a" && cryptsetup open --disable-keyring --key-file "$key" "$a" plain ||
	die "LUKS without the keyring"
mkfs.ext4 -q /dev/mapper/plain && mount /dev/mapper/plain /mnt/x || die "ext4 on plain"
files_start /mnt/x
want=$(direct_table plain "$a")
hexkey=$(dmsetup table --showkeys plain | awk '{ print $5 }')
tool -v create vp "$a" --interpose
ktap_expect "key in the table: interposed without a passphrase, the table as before but the device, the key never printed" \
	'[ "$rc" -eq 0 ] && [ "$(direct_table plain /dev/mapper/vp)" = "$want" ] &&
	 [ ${#hexkey} -ge 64 ] && ! grep -qi "$hexkey" <<< "$out$err" && grep -q libdevmapper <<< "$err"'
tool remove vp --collapse
ktap_expect "and collapsed back onto its disk, the table as before" \
	'[ "$rc" -eq 0 ] && [ "$(direct_table plain "$a")" = "$want" ] && files_stop /mnt/x && files_equal /mnt/x'
umount /mnt/x && cryptsetup close plain

# 14-19: LVM, one PV, three LVs.
lvmc pvcreate -q "$c" && lvmc vgcreate -q vg "$c" && lvmc lvcreate -q -Zn -L 20M -n l1 vg &&
	lvmc lvcreate -q -Zn -L 20M -n l2 vg && lvmc lvcreate -q -Zn -L 16M -n l3 vg > /dev/null ||
	die "cannot make the volume group"
for lv in l1 l2; do mkfs.ext4 -q "/dev/mapper/vg-$lv" || die "mkfs $lv"; done
mount /dev/mapper/vg-l1 /mnt/y && mount /dev/mapper/vg-l2 /mnt/z || die "mount the LVs"
files_start /mnt/y
files_start /mnt/z
load_start /dev/mapper/vg-l3 --rate_iops=100
tool create vl "$c" --interpose
ktap_expect "interposed under three LVs: each maps the volume" \
	'[ "$rc" -eq 0 ] && [ "$(dmsetup table | grep -c "linear $(majmin /dev/mapper/vl) ")" = 3 ] &&
	 [ "$(dmsetup table | grep -c "linear $(majmin "$c") ")" = 1 ]'
tool_ok start vl "$d" --rate 16M && wait_synced vl 120
tool confirm vl --wipe-source
ktap_expect "migrated and confirmed under the LVs" '[ "$rc" -eq 0 ] && linear_on vl "$d"'
tool remove vl --collapse
ktap_expect "collapsed: the LVs map the new disk" \
	'[ "$rc" -eq 0 ] && [ "$(dmsetup table | grep -c "linear $(majmin "$d") ")" = 3 ] &&
	 ! dmsetup info vl > /dev/null 2>&1'
ktap_expect "the loads never failed" 'files_stop /mnt/y && files_stop /mnt/z && load_stop'
umount /mnt/y && umount /mnt/z
lvmc vgchange -an vg > /dev/null
filter="devices { filter = [ \"a|^$d\$|\", \"r|.*|\" ] }"
lvmc vgchange -ay vg > /dev/null
ktap_expect "activated again seeing only the new disk" \
	'[ "$(dmsetup table | grep -c "linear $(majmin "$d") ")" = 3 ]'
fsck.ext4 -fn /dev/mapper/vg-l1 > /dev/null 2>&1 && fsck.ext4 -fn /dev/mapper/vg-l2 > /dev/null 2>&1 &&
	mount /dev/mapper/vg-l1 /mnt/y && mount /dev/mapper/vg-l2 /mnt/z
ktap_expect "fsck clean, every file equal, the raw LV holds the last pass" \
	'files_equal /mnt/y && files_equal /mnt/z && load_verify /dev/mapper/vg-l3'
umount /mnt/y && umount /mnt/z
lvmc vgchange -an vg > /dev/null
filter=

# 20-22: a multipath map (one path) under a linear holder, as LVM puts
# its LVs on a map: the map is the device moved; under the map itself the
# disk cannot be (a request-based map stacks on request-based devices only).
dmsetup create mp --table "0 $(sectors "$e") multipath 1 queue_if_no_path 0 1 1 round-robin 0 1 1 $(majmin "$e") 1" &&
	dmsetup create mpl --table "0 $(sectors "$e") linear $(majmin /dev/mapper/mp) 0" ||
	die "cannot make the multipath map"
dd if=/dev/urandom of=/dev/mapper/mpl bs=1M count=16 oflag=direct 2> /dev/null
want=$(sum_mib /dev/mapper/mpl)
before=$(dm_snapshot)
tool create vm "$e" --interpose
ktap_expect "under the request-based map itself: refused naming the map, nothing changed" \
	'[ "$rc" -eq 1 ] && grep -q "/dev/mapper/mp --interpose" <<< "$err" && [ "$(dm_snapshot)" = "$before" ]'
tool create vm /dev/mapper/mp --interpose
ktap_expect "interposed between the map and its holder" \
	'[ "$rc" -eq 0 ] && dmsetup table mpl | grep -q " $(majmin /dev/mapper/vm) "'
tool_ok start vm "$f" && wait_synced vm 60 && tool_ok confirm vm
tool remove vm --collapse
ktap_expect "migrated off the map, confirmed, collapsed: the holder maps the new disk, its data equal" \
	'[ "$rc" -eq 0 ] && dmsetup table mpl | grep -q " $(majmin "$f") " && ! dmsetup info vm > /dev/null 2>&1 &&
	 [ "$(sum_mib /dev/mapper/mpl)" = "$want" ]'
dmsetup remove mpl && dmsetup remove mp

# 23-33: refusals, each leaving everything as it was.
refused() {	# refused DESC WANT-RC PATTERN ARGS...
	local desc=$1 want=$2 pattern=$3
	shift 3
	before=$(dm_snapshot)
	tool "$@"
	if [ "$rc" -eq "$want" ] && grep -q -- "$pattern" <<< "$err" && [ "$(dm_snapshot)" = "$before" ]; then
		ktap_ok "$desc: refused, nothing changed"
	else
		ktap_not_ok "$desc: exit $rc: $err"
	fi
}
mkfs.ext4 -q "$g" && mount "$g" /mnt/x || die "ext4 on g"
refused "a disk mounted itself" 5 "mounted on /mnt/x" create vx "$g" --interpose
umount /mnt/x
refused "a disk nothing holds" 1 "dmmigrate create vx" create vx "$g" --interpose
echo ',,L' | sfdisk -q "$g" > /dev/null 2>&1
refused "a partitioned disk" 1 "partition table" create vx "$g" --interpose
wipefs -qa "$g"
dmsetup create h0 --table "0 $(sectors "$h") linear $(majmin "$h") 0"
dmsetup suspend h0
refused "a suspended holder" 5 "suspended" create vx "$h" --interpose
dmsetup resume h0
dmsetup load h0 --table "0 $(sectors "$h") linear $(majmin "$h") 0"
refused "a holder with a table loaded" 5 "not resumed" create vx "$h" --interpose
dmsetup clear h0
for i in 1 2 3 4 5 6 7 8; do
	dmsetup create "h$i" --table "0 $(sectors "$h") linear $(majmin "/dev/mapper/h$((i - 1))") 0"
done
refused "a stack nine layers deep" 1 "more than 8 layers" create vx "$h" --interpose
dmsetup remove h8
tool create vx "$h" --interpose
ktap_expect "eight layers deep: interposed" '[ "$rc" -eq 0 ] && dmsetup table h0 | grep -q " $(majmin /dev/mapper/vx) "'
tool_ok remove vx --collapse
for i in 7 6 5 4 3 2 1 0; do dmsetup remove "h$i"; done
dmsetup create mir --table "0 $(sectors "$h") mirror core 1 1024 2 $(majmin "$h") 0 $(majmin "$g") 0 1 handle_errors"
# Its resync done first: the status it moves on with is in the snapshot
# "nothing changed" compares (on 6.1 it was still resyncing).
for _ in $(seq 100); do
	[[ $(dmsetup status mir) =~ \ ([0-9]+)/([0-9]+)\  ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && break
	nap 0.1
done
refused "a holder mapping it with a mirror target" 1 "'mirror' target" create vx "$h" --interpose
dmsetup remove mir
refused "--key-file without --interpose" 1 "--key-file is for" create vx "$h" --key-file "$key"
ktap_check "no volume and no state file is left" \
	eval '[ -z "$(ls /run/dmmigrate/*.stack 2> /dev/null)" ] && ! dmsetup info vx > /dev/null 2>&1'
ktap_check "the kernel reported no problem" no_problems_in_dmesg
ktap_finish
