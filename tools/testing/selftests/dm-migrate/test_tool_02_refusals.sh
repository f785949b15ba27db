#!/bin/bash
# Every refusal of dmmigrate, each with the exit code dmmigrate(8) gives
# for it, one "dmmigrate: what is wrong; what to do" line on stderr naming
# the cause, and proof that it changed nothing: every dm device's table,
# status, open count and event number, and /dev/mapper, are as before (no
# half-made device). Covers bad destinations (missing, the source, the
# volume itself, too small, a filesystem signature, mounted, held by a dm
# device, opened exclusively), bad usage, unknown volumes, and commands
# refused by the migration state: start while migrating, confirm before
# sync, confirm with a failed destination, abort and confirm after
# confirm, remove while migrating. The accepted counterparts (--force on a
# signature, abort with a failed destination) are checked to work.
# vm: -d src:64M -d dst:64M -d small:32M -t 400
# debug-kernel: full run only (refusals are decided in userspace, before the kernel is asked)
# kernels: 6.12 in make check (refusals are decided in userspace, before the kernel is asked)
. "$(dirname "$0")/lib.sh"

ktap_plan 41

src=$(disk src) && dst=$(disk dst) && small=$(disk small) || die "disks missing"
len=$(sectors "$src")

# refused DESC CODE PATTERN ARGS...: one case: dmmigrate ARGS exits CODE,
# prints nothing on stdout and one line matching PATTERN on stderr, and
# every dm device is as it was.
refused() {
	local desc=$1 code=$2 pattern=$3 before
	shift 3
	before=$(dm_snapshot)
	tool "$@"
	diag "dmmigrate $*: exit $rc: $err"
	if same "exit status" "$rc" "$code" && same stdout "$out" "" &&
		same "stderr lines" "$(echo "$err" | wc -l)" 1 &&
		grep -Eq '^dmmigrate: [^;]+; .+$' <<< "$err" &&
		{ grep -Eq -- "$pattern" <<< "$err" || { diag "stderr lacks '$pattern'"; false; }; } &&
		same "dm devices after" "$(dm_snapshot)" "$before"; then
		ktap_ok "$desc"
	else
		ktap_not_ok "$desc"
	fi
}

dd if=/dev/urandom of=/tmp/data bs=1M count=4 2> /dev/null
tool_ok create vol "$src" || die "cannot create the volume"
# The data stays clear of the first MiB, where signatures live.
dd if=/tmp/data of=/dev/mapper/vol bs=1M seek=4 oflag=direct conv=fsync 2> /dev/null ||
	die "cannot write to the volume"
data=$(digest < /tmp/data)

# An idle volume and bad destinations.
wipefs -q -a "$dst"
refused "start: no such destination (4)" 4 "/dev/nonexistent: no such device" \
	start vol /dev/nonexistent
refused "start: destination not a block device (1)" 1 "/tmp/data is not a block device" \
	start vol /tmp/data
refused "start: destination is the source (1)" 1 "$src is the source of volume vol" \
	start vol "$src"
refused "start: destination is the volume itself (1)" 1 "is the source" \
	start vol /dev/mapper/vol
refused "start: destination too small (1)" 1 "$small is too small \(32.0 MiB, the volume has 64.0 MiB\)" \
	start vol "$small"

mkfs.ext4 -q -F "$dst"
refused "start: ext4 on the destination, no --force (5)" 5 "$dst contains a ext4 filesystem signature.*--force" \
	start vol "$dst"
ktap_check "the refused start left the ext4 signature alone" \
	same "blkid type" "$(blkid -o value -s TYPE "$dst")" ext4

mkdir -p /mnt/dst
mount "$dst" /mnt/dst || die "cannot mount the destination"
refused "start: destination mounted, even with --force (5)" 5 "$dst is mounted on /mnt/dst" \
	start vol "$dst" --force
umount /mnt/dst

dmsetup create holder --table "0 8 linear $dst 0" || die "cannot create the holder"
holder=$(dmsetup info -c --noheadings -o blkdevname holder)
refused "start: destination held by a dm device, even with --force (5)" 5 "$dst is in use by $holder" \
	start vol "$dst" --force
dmsetup remove holder

# A swap area claims its device (O_EXCL) without a holder or a mount.
mkswap "$dst" > /dev/null && swapon "$dst" || die "cannot swapon the destination"
refused "start: destination opened exclusively, even with --force (5)" 5 "$dst is in use \(Device or resource busy\)" \
	start vol "$dst" --force
swapoff "$dst"

refused "start: metadata device is the destination (1)" 1 "the metadata device $dst is the destination" \
	start vol "$dst" --force --metadata "$dst"

# Bad usage and unknown volumes.
refused "unknown command (1)" 1 "unknown command 'migrate'" migrate vol "$dst"
refused "start: region size not a power of two (1)" 1 "region size" \
	start vol "$dst" --force --region-size 12K
refused "start: region size with a bad suffix (1)" 1 "invalid region size '1Q'" \
	start vol "$dst" --force --region-size 1Q
refused "start: bad rate (1)" 1 "invalid rate 'fast'" start vol "$dst" --force --rate fast
refused "start: no such volume (4)" 4 "volume nosuch does not exist" start nosuch "$dst" --force
refused "confirm: no such volume (4)" 4 "volume nosuch does not exist" confirm nosuch
refused "status: no such volume (4)" 4 "volume nosuch does not exist" status nosuch
refused "create: name taken (5)" 5 "vol already exists" create vol "$dst"
refused "create: device in use by the volume (5)" 5 "$src is in use" create vol2 "$src"

# An idle volume: nothing to confirm, abort, pause, wait for.
refused "confirm: idle volume (6)" 6 "volume vol is not migrating" confirm vol
refused "abort: idle volume (6)" 6 "volume vol is not migrating" abort vol
refused "pause: idle volume (6)" 6 "volume vol is not migrating" pause vol
refused "wait: idle volume (6)" 6 "volume vol is not migrating" wait vol

# A paused migration: start, confirm and remove are refused.
tool_ok start vol "$dst" --force --paused && wait_state vol paused 5
ktap_check "start --force over the swap signature, paused: accepted" [ $? -eq 0 ]
refused "start: already migrating (6)" 6 "volume vol is already migrating \(paused\)" \
	start vol "$small"
refused "start again with another rate (6)" 6 "volume vol is already migrating to $dst with another rate" \
	start vol "$dst" --force --rate 1M
refused "confirm: not in sync (6)" 6 "volume vol is not in sync \(paused, 0.0%\)" confirm vol
refused "remove: migrating (6)" 6 "volume vol is migrating; confirm or abort" remove vol
refused "rate: bad rate (1)" 1 "invalid rate '10X'" rate vol 10X
refused "wait --timeout 1 on a paused copy (8)" 8 "timed out waiting for the sync of vol" wait vol --timeout 1
tool_ok abort vol && linear_on vol "$src"
ktap_check "abort of the paused migration: back on the source" [ $? -eq 0 ]

# A failed destination: a dm device over dst that starts failing once in
# sync; the next write to the volume marks it failed.
wipefs -q -a "$dst"
dmsetup create dleg --table "0 $len linear $dst 0" || die "cannot create dleg"
tool_ok start vol /dev/mapper/dleg && tool_ok wait vol --timeout 60 &&
	dmsetup reload dleg --table "0 $len error" && dmsetup suspend dleg && dmsetup resume dleg &&
	dd if=/tmp/data of=/dev/mapper/vol bs=1M seek=40 oflag=direct conv=fsync 2> /dev/null &&
	wait_state vol halted 5 && same "destination health" "$(field vol 9)" failed
ktap_check "synced, then the destination fails: halted, destination failed" [ $? -eq 0 ]
refused "confirm: destination failed (7)" 7 "the destination of vol has failed; abort" confirm vol
refused "wait: destination failed (7)" 7 "a leg of vol has failed \(source ok, destination failed\)" wait vol
tool_ok abort vol && linear_on vol "$src" &&
	same "data written before the failure" "$(sum_mib /dev/mapper/vol 4 4)" "$data" &&
	same "data written after the failure" "$(sum_mib /dev/mapper/vol 4 40)" "$data"
ktap_check "abort with a failed destination: accepted, every write on the source" [ $? -eq 0 ]
dmsetup remove dleg
mkfs.ext4 -q -F /dev/mapper/vol
want=$(sum_mib /dev/mapper/vol)

# A confirmed migration: nothing left to abort. Its --wipe-source cannot
# open the old source (a dm device holds it): the cut-over stands, the
# wipe is owed, and the same command again pays it.
wipefs -q -a "$dst"
dmsetup create srchold --table "0 $len linear $src 0" || die "cannot create srchold"
tool_ok start vol "$dst" && tool_ok wait vol --timeout 60 && tool confirm vol --wipe-source &&
	diag "confirm --wipe-source with the source held: exit $rc: $err" &&
	same "exit status" "$rc" 5 && linear_on vol "$dst" &&
	same "volume data" "$(sum_mib /dev/mapper/vol)" "$want" &&
	wipefs -p "$src" | grep -q ext4 && [ -s /run/dmmigrate/vol.wipe ]
ktap_check "start, wait, confirm --wipe-source, the old source held: cut over, data equal, the wipe refused and owed" [ $? -eq 0 ]
dmsetup remove srchold
tool_ok confirm vol --wipe-source &&
	same "re-run" "$out" "vol: already confirmed, now on the destination; the old source is wiped" &&
	! wipefs -p "$src" | grep -q ext4 && [ ! -e /run/dmmigrate/vol.wipe ] && linear_on vol "$dst"
ktap_check "confirm --wipe-source again: already confirmed, and the owed wipe done" [ $? -eq 0 ]
refused "abort: after confirm (6)" 6 "volume vol is not migrating" abort vol
# Confirm is idempotent: once more, it says so and changes nothing.
before=$(dm_snapshot)
tool_ok confirm vol && grep -q "already confirmed" <<< "$out" &&
	same "dm devices after" "$(dm_snapshot)" "$before"
ktap_check "confirm after confirm: exit 0, already confirmed, nothing changed" [ $? -eq 0 ]

tool_ok remove vol && no_dm_devices && unload_migrate
ktap_check "remove, no dm device left, rmmod" [ $? -eq 0 ]
ktap_finish
