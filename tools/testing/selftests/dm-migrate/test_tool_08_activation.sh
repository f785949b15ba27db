#!/bin/bash
# What udev and the boot-time activation ask of the tool (dmmigrate(8),
# "ACTIVATION"), without udev, as a reboot leaves the devices:
# - status --export (udev's import) only reads: a suspended volume stays
#   suspended, a step left by a killed command stays for the next command;
# - start --window puts the window in the table and in the record, and
#   activate --metadata after a "reboot" brings the volume back with it;
# - probe --export names the volume recorded on a metadata device, nothing
#   for any other device, and refuses what is not a block device;
# - the record outlives the migration: after confirm it says "on the
#   destination", and activate --metadata brings the volume back there
#   after a "reboot" (volume and /run gone);
# - activate --metadata on a device without a record, or one that cannot
#   be read, fails (exit 4), and the scan of every device fails naming an
#   unreadable one (it used to say "no migration to activate", exit 0) and
#   skips a suspended dm device (it used to hang reading it);
# - a new start with another metadata device clears the old record (found
#   by a scan when /run no longer names it), a metadata device that brings
#   a volume back is refused to another volume, and remove clears the
#   record: nothing brings the volume back afterwards.
# vm: -d src:16M -d dst:16M -d m1:4M -d m2:4M -d spare:16M -d other:16M -t 400
# kernels: 6.12 in make check (the tool's records and activation; the swaps run on 6.1 in the crash tests)
# debug-kernel: full run only (userspace: records, probes and the scan)
. "$(dirname "$0")/lib.sh"

ktap_plan 16

src=$(disk src) && dst=$(disk dst) && m1=$(disk m1) && m2=$(disk m2) &&
	spare=$(disk spare) && other=$(disk other) || die "disks missing"
load_migrate || die "cannot load dm-migrate"
tool_ok create vol "$src" || die "cannot create vol"
dd if=/dev/urandom of=/dev/mapper/vol bs=1M oflag=direct conv=fsync 2> /dev/null
want=$(sum_mib /dev/mapper/vol)

# 1: the export reads a suspended volume and leaves it suspended.
dmsetup suspend vol
tool status --export vol
ktap_expect "status --export of a suspended volume leaves it suspended" \
	'[ "$rc" -eq 0 ] && grep -q "^DM_MIGRATE_STATE=idle$" <<< "$out" &&
	 [ "$(dmsetup info -c --noheadings -o attr vol | cut -c3)" = s ]'
dmsetup resume vol

tool_ok start vol "$dst" --metadata "$m1" --window 64M && tool_ok wait vol --timeout 120 ||
	die "no migration"
# The window given to start (128 regions of 512 KiB) is in the table and in
# the record: a "reboot" mid-migration brings the volume back with it.
win=$(dmsetup table vol | grep -c ' window 128$')
dmsetup remove vol && rm -rf /run/dmmigrate
tool activate --metadata "$m1"
ktap_expect "start --window: in the table, and in the record that a reboot brings back" \
	'[ "$win" = 1 ] && [ "$rc" -eq 0 ] && dmsetup table vol | grep -q " window 128\$" &&
	 tool_ok wait vol --timeout 120'
# 2: a step a killed command left stays for the next command to settle.
mkdir -p /run/dmmigrate
echo "confirm $(majmin "$src") $(majmin "$dst") $(majmin "$m1")" > /run/dmmigrate/vol.state
tool status --export vol
ktap_expect "status --export leaves a killed command's step in place" \
	'[ "$rc" -eq 0 ] && [ -e /run/dmmigrate/vol.state ] &&
	 grep -q "^DM_MIGRATE_STATE=synced$" <<< "$out"'
rm -f /run/dmmigrate/vol.state

# 3-4: probe
tool probe "$m1" --export
p1=$out r1=$rc
tool probe "$src" --export
ktap_expect "probe names the volume on its metadata device, nothing elsewhere" \
	'[ "$r1 $rc" = "0 0" ] && [ -z "$out" ] &&
	 same probe "$(echo $p1)" "DM_MIGRATE_METADATA_VOLUME=vol DM_MIGRATE_METADATA_STATE=migrating"'
before=$(dm_snapshot)
tool probe /dev/null --export
r1=$rc e1=$err
tool probe "$m1"
ktap_expect "probe refuses a file that is no block device, and a call without --export" \
	'[ "$r1 $rc" = "1 1" ] && same error "$e1" "dmmigrate: /dev/null is not a block device; give the path of a block device" &&
	 [ -n "$err" ] && same "dm devices" "$(dm_snapshot)" "$before"'

# 5: after confirm and a "reboot", the volume comes back on the destination.
tool_ok confirm vol || diag "confirm failed"
rec=$(record_state "$m1")
dmsetup remove vol && rm -rf /run/dmmigrate
tool activate --metadata "$m1"
ktap_expect "after confirm the record says on the destination (5), and activate --metadata brings vol back there" \
	'[ "$rc" -eq 0 ] && same record "$rec" 5 && same activate "$out" "vol: on the destination" &&
	 linear_on vol "$dst" && dm_settled vol && same data "$(sum_mib /dev/mapper/vol)" "$want"'
tool activate --metadata "$m1"
ktap_expect "activate --metadata again: already active, nothing changed" \
	'[ "$rc" -eq 0 ] && same activate "$out" "vol: already active, left as it is" && linear_on vol "$dst"'

# 6-8: devices without a record, unreadable, suspended.
before=$(dm_snapshot)
tool activate --metadata "$src"
ktap_expect "activate --metadata of a device without a record: exit 4, nothing changed" \
	'[ "$rc" -eq 4 ] && same error "$err" "dmmigrate: $src holds no record of a dm-migrate volume; give the metadata device of a migration" &&
	 same "dm devices" "$(dm_snapshot)" "$before"'
dmsetup create broken --table "0 $(sectors "$spare") error" || die "no error device"
broken=dm-$(dmsetup info -c --noheadings -o minor broken | tr -d ' ')
tool activate --metadata /dev/mapper/broken
r1=$rc e1=$err
tool activate
diag "activate --metadata broken: exit $r1: $e1; activate: exit $rc: $out / $err"
ktap_expect "an unreadable device fails activate --metadata and the scan (exit 4, named), not 'no migration'" \
	'[ "$r1 $rc" = "4 4" ] && grep -q "cannot read the metadata device /dev/mapper/broken" <<< "$e1" &&
	 grep -q "could not be read (.*/dev/$broken" <<< "$err" && grep -q "^vol: already active" <<< "$out"'
dmsetup remove broken
dmsetup create held --table "0 $(sectors "$spare") linear $spare 0" && dmsetup suspend held ||
	die "no suspended device"
t0=$(uptime_cs)
out=$(timeout 60 dmmigrate activate 2>&1)
rc=$?
diag "activate with a suspended device: exit $rc in $(( ($(uptime_cs) - t0) * 10 )) ms: $out"
ktap_expect "the scan skips a suspended dm device instead of waiting for it" \
	'[ "$rc" -eq 0 ] && [ $(( $(uptime_cs) - t0 )) -lt 3000 ]'
dmsetup resume held && dmsetup remove held

# 9-11: a new start elsewhere clears the old record, found by a scan.
rm -f /run/dmmigrate/vol.home
tool_ok start vol "$src" --metadata "$m2" && tool_ok wait vol --timeout 120 ||
	diag "second migration failed"
ktap_expect "a start with another metadata device clears the old record (found by a scan)" \
	'same "record on m1" "$(record_state "$m1")" 0 && same "record on m2" "$(record_state "$m2")" 1'
tool_ok abort vol || diag "abort failed"
tool_ok create vol2 "$other" || diag "cannot create vol2"
before=$(dm_snapshot)
tool start vol2 "$spare" --metadata "$m2"
ktap_expect "the metadata device that brings vol back is refused to vol2 (exit 5)" \
	'[ "$rc" -eq 5 ] && same record "$(record_state "$m2")" 4 &&
	 same error "$err" "dmmigrate: metadata device $m2 brings volume vol back at boot (on the source); remove vol, give another device, or --fresh-metadata to overwrite it" &&
	 same "dm devices" "$(dm_snapshot)" "$before"'
tool_ok remove vol2 || diag "cannot remove vol2"
tool_ok remove vol
tool activate
ktap_expect "remove clears the record: activate brings nothing back" \
	'[ "$rc" -eq 0 ] && same record "$(record_state "$m2")" 0 &&
	 same activate "$out" "no migration to activate" && ! dmsetup info vol > /dev/null 2>&1 &&
	 same "data on dst" "$(sum_mib "$dst")" "$want"'

# 12-14: bad input to activate.
before=$(dm_snapshot)
tool activate vol --metadata "$m1"
ktap_expect "activate with a NAME and --metadata: usage error, nothing changed" \
	'[ "$rc" -eq 1 ] && grep -q "activate takes a NAME or --metadata DEVICE, not both" <<< "$err" &&
	 same "dm devices" "$(dm_snapshot)" "$before"'
tool activate --timeout 5
ktap_expect "activate --timeout without --metadata: usage error" \
	'[ "$rc" -eq 1 ] && grep -q "timeout needs --metadata" <<< "$err"'
tool activate --metadata /nonexistent
ktap_expect "activate --metadata of a missing path: exit 4, named" \
	'[ "$rc" -eq 4 ] && grep -q "/nonexistent: no such device" <<< "$err" &&
	 same "dm devices" "$(dm_snapshot)" "$before"'
ktap_finish
