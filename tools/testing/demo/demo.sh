#!/bin/bash
# make demo, inside the VM: a live migration of a mounted ext4 volume
# under a file-writing load, from one virtio disk to the other, with
# progress, confirm and a data check. Every claim printed comes from a
# check made here; the summary lists them and the exit status is non-zero
# if any failed.
. "$(dirname "$0")/../selftests/dm-migrate/lib.sh"

failed=0
checks=()

step() {
	echo
	echo "== $* =="
}

# show CMD...: print the command line, then run it.
show() {
	echo "# $*"
	"$@"
}

# check DESC CMD...: run CMD; record and print whether DESC holds.
check() {
	local desc=$1
	shift
	if "$@"; then
		checks+=("PASS  $desc")
		echo "   ok: $desc"
	else
		checks+=("FAIL  $desc")
		echo "   FAILED: $desc"
		failed=$((failed + 1))
	fi
}

# load: write a file every 0.2 s to /mnt/vol/load, each flushed to disk
# (conv=fsync), its checksum recorded, until /tmp/load.stop appears.
load() {
	local i=0
	mkdir -p /mnt/vol/load
	while [ ! -e /tmp/load.stop ]; do
		i=$((i + 1))
		dd if=/dev/urandom of="/mnt/vol/load/f$i" bs=4k count=$((16 + RANDOM % 48)) \
			conv=fsync 2> /dev/null || { echo "load: write $i failed" >&2; exit 1; }
		(cd /mnt/vol && sha256sum "load/f$i") >> /tmp/manifest
		echo "$i" > /tmp/load.count
		sleep 0.2
	done
}

src=$(disk src) && dst=$(disk dst) || { echo "demo: disks missing"; exit 1; }
mkdir -p /mnt/vol

step "The disks: $src ($(($(sectors "$src") / 2048)) MiB, source) and $dst ($(($(sectors "$dst") / 2048)) MiB, destination)"
show dmmigrate create vol "$src"
check "dmmigrate create: /dev/mapper/vol is linear over $src" linear_on vol "$src"
show dmmigrate status vol

step "mkfs.ext4 /dev/mapper/vol and mount it on /mnt/vol"
mkfs.ext4 -q /dev/mapper/vol && mount /dev/mapper/vol /mnt/vol
check "ext4 made and mounted" grep -q '^/dev/mapper/vol /mnt/vol ext4 ' /proc/mounts

step "Write 100 files (16-256 KiB) and record their checksums"
mkdir /mnt/vol/data
for i in $(seq 100); do
	dd if=/dev/urandom of="/mnt/vol/data/f$i" bs=16k count=$((1 + RANDOM % 16)) 2> /dev/null
done
sync
(cd /mnt/vol && sha256sum data/*) > /tmp/manifest
echo "$(du -sh /mnt/vol/data | cut -f1) in $(wc -l < /tmp/manifest) files"

step "Start a load: files written one after another, 0.2 s apart, each fsync'ed and checksummed"
rm -f /tmp/load.stop
load &
load_pid=$!
sleep 2
check "the load is writing" [ -s /tmp/load.count ]

step "dmmigrate start vol $dst (while the load runs)"
before_start=$(cat /tmp/load.count)
show dmmigrate start vol "$dst"
check "dmmigrate start: exit 0, migrate table loaded" [ "$(dmsetup table vol | awk '{ print $3 }')" = migrate ]
show dmmigrate status vol

step "Progress: dmmigrate status vol --watch (a line a second until in sync)"
# Through a pipe, --watch prints one line per update instead of redrawing
# one line with \r, which the serial console would only pass on at the end.
show dmmigrate status vol --watch | cat
check "status --watch ended with the volume in sync" [ $? -eq 0 ]
show dmmigrate wait vol --timeout 60
check "dmmigrate wait: exit 0 (in sync, destination healthy)" [ $? -eq 0 ]
show dmmigrate status vol

step "dmmigrate confirm vol --wipe-source (the load still running)"
check "the load was still running at confirm" kill -0 "$load_pid"
before_confirm=$(cat /tmp/load.count)
out=$(dmmigrate confirm vol --wipe-source)
rc=$?
echo "$out"
check "dmmigrate confirm: exit 0" [ $rc -eq 0 ]
pause=$(echo "$out" | sed -n 's/.*(I\/O paused \([0-9]*\) ms)$/\1/p')
check "I/O paused ${pause:-?} ms during the cut-over (as reported by confirm)" [ -n "$pause" ]
show dmsetup table vol
check "the volume is now linear over the destination $dst ($(majmin "$dst"))" linear_on vol "$dst"
[ -z "$(ls "/sys/block/${src#/dev/}/holders")" ] && [ -z "$(blkid -p -o value -s TYPE "$src")" ]
check "the old source $src is released (no holder) and its ext4 signature wiped" [ $? -eq 0 ]

step "Stop the load"
sleep 2
touch /tmp/load.stop
wait "$load_pid"
check "the load wrote every file without an error" [ $? -eq 0 ]
total=$(cat /tmp/load.count)
echo "load files: $before_start before start, $((before_confirm - before_start)) between start and confirm," \
	"$((total - before_confirm)) after confirm"

step "Check the data: unmount, fsck -n the destination, remount, verify checksums"
umount /mnt/vol
echo "(the volume still holds $dst, hence e2fsck's warning; -n only reads)"
show e2fsck -f -n "$dst"
check "e2fsck -f -n $dst: clean" [ $? -eq 0 ]
mount /dev/mapper/vol /mnt/vol
files=$(wc -l < /tmp/manifest)
(cd /mnt/vol && sha256sum -c /tmp/manifest > /tmp/verify.out 2>&1)
check "all $files files (100 written before, $total by the load) read back identical" [ $? -eq 0 ]
grep -v ': OK$' /tmp/verify.out
umount /mnt/vol
show dmmigrate remove vol
check "dmmigrate remove: no dm device left" no_dm_devices

step "Summary"
printf '%s\n' "${checks[@]}"
if [ "$failed" -eq 0 ]; then
	echo "PASS: ${#checks[@]} checks passed"
else
	echo "FAIL: $failed of ${#checks[@]} checks failed"
fi
[ "$failed" -eq 0 ]
