#!/bin/bash
# Guest halves of host_nbd_01.sh: two VMs on a network of their own (a qemu
# socket netdev between them, IPv4 link-local addresses).
#
#   nbd_guest.sh node            node B (169.254.0.2): export the disk
#                                "export" with nbd-server; once node A sends
#                                its list of files and checksums, check them
#                                on that disk, mounted here
#   nbd_guest.sh volume confirm TIMEOUT
#                                node A (169.254.0.1): volume vol on the disk
#                                "vol", ext4 and a writer on it, migrated to
#                                node B's export over NBD (TIMEOUT: its
#                                transport timeout) and confirmed; the list
#                                sent to B
#   nbd_guest.sh volume fail TIMEOUT
#                                the same until the host takes node B away
#                                mid-copy (it prints "# copying" first): the
#                                migration halts, confirm is refused, abort
#                                brings the volume back, the data is checked
#                                here
. "$(dirname "$0")/lib.sh"

node_a=169.254.0.1
node_b=169.254.0.2

net_up() {	# net_up ADDR: the one NIC the host gave, at ADDR/16
	local n nic=
	modprobe virtio_net || return 1
	for n in /sys/class/net/*; do
		[ "${n##*/}" = lo ] || nic=${n##*/}
	done
	[ -n "$nic" ] && ip addr add "$1/16" dev "$nic" && ip link set "$nic" up
}

node() {
	local disk n bad files
	disk=$(disk export) || exit 1
	net_up "$node_b" || { echo "# node B: no network"; exit 1; }
	cat > /tmp/nbd.conf <<-EOF
	[generic]
		user = root
		group = root
		listenaddr = $node_b
		port = 10809
	[export]
		exportname = $disk
		flush = true
		fua = true
	EOF
	nbd-server -C /tmp/nbd.conf || { echo "# node B: nbd-server does not start"; exit 1; }
	echo "# node B: exporting $disk"
	step "node B: waiting for node A's list of files"
	nc -l -p 10810 > /tmp/sums
	ktap_plan 3
	killall nbd-server
	ktap_check "node B: the filesystem A migrated here is clean (e2fsck -fn)" \
		e2fsck -fn "$disk"
	mount -o ro "$disk" /mnt || die "node B cannot mount its own disk"
	# Every file A wrote is there with what A wrote, and nothing else.
	n=$(grep -c . /tmp/sums)
	files=$(find /mnt -type f | grep -vc '/lost+found/')
	[ "$n" -gt 32 ] && [ "$n" = "$files" ]
	ktap_check "node B: A's list names every file on B's disk ($n listed, $files there)" [ $? -eq 0 ]
	bad=$(cd /mnt && md5sum -c --quiet /tmp/sums 2>&1)
	[ -z "$bad" ] || diag "node B: $(echo "$bad" | head -n 5 | tr '\n' ' ')"
	ktap_check "node B: every file reads back with the checksum A wrote ($n files)" [ -z "$bad" ]
	umount /mnt
	ktap_finish
}

# writer: files written to the volume with fsync until /tmp/writer.stop
# appears, one line each in /tmp/writes: "FILE STATUS MICROSECONDS MD5"
# (the fill's in /tmp/fill).
# One write in four rewrites a file of the fill in place (regions already
# copied: mirrored), the others write files of their own, 128 names at
# most (the filesystem must not fill). Paced: each write starts four
# programs, CPU the emulated machine shares with the copy.
writer() {
	local i=0 f size conv t0 rc sum
	while [ ! -e /tmp/writer.stop ]; do
		i=$((i + 1))
		if [ $((i % 4)) = 0 ]; then
			f=p$((RANDOM % 32)) size=512 conv=notrunc,fsync
		else
			f=w$((i % 128)) size=$(((RANDOM % 3 + 1) * 64)) conv=fsync
		fi
		head -c "${size}K" /dev/urandom > /tmp/blob
		t0=${EPOCHREALTIME/./}
		timeout 30 dd if=/tmp/blob of="/mnt/$f" bs=64k conv="$conv" 2> /dev/null
		rc=$?
		sum=$(md5sum < /tmp/blob)
		echo "$f $rc $((${EPOCHREALTIME/./} - t0)) ${sum%% *}" >> /tmp/writes
		nap 0.3
	done
}

writer_stop() {	# writer_stop: stop the writer; no write failed or took 30 s
	touch /tmp/writer.stop
	wait "$writer_pid"
	diag "writer: $copy_writes writes while the migration ran"
	# Enough of them that the mirrored path was taken.
	[ "$copy_writes" -ge 5 ] &&
	awk '$2 != 0 { bad++ } $3 > max { max = $3 }
	     END { printf "# writer: %d writes, %d failed, longest %d ms\n", NR, bad, max / 1000; exit bad > 0 }' \
		/tmp/writes
}

# writes: the writer's writes so far.
writes() {
	local n
	n=$(grep -c . /tmp/writes)
	echo "${n:-0}"
}

# sums: the checksum each file must have now (its last write; a failed
# one leaves it unknown), as md5sum -c reads them.
sums() {
	awk '{ last[$1] = $2 == 0 ? $4 : "failed-write" }
	     END { for (f in last) print last[f] "  " f }' /tmp/fill /tmp/writes
}

# dm_devices: what a refused command must leave as it was: tables, states
# and open counts (status counters move with the writer).
dm_devices() {
	dmsetup table
	dmsetup info -c --noheadings -o name,uuid,attr,open
}

volume() {
	local want=$1 nbd_timeout=$2 vol start
	vol=$(disk vol) || exit 1
	if [ "$want" = confirm ]; then ktap_plan 5; else ktap_plan 8; fi
	load_migrate && modprobe nbd nbds_max=1 || die "no dm-migrate or nbd"
	net_up "$node_a" || die "no network"
	step "node A: volume, filesystem, fill"
	dmmigrate create vol "$vol" && mkfs.ext4 -q /dev/mapper/vol &&
		mount /dev/mapper/vol /mnt || die "cannot make the volume's filesystem"
	# The fill: 16 MiB in 32 files.
	: > /tmp/fill
	: > /tmp/writes
	for i in $(seq 0 31); do
		head -c 512K /dev/urandom > /tmp/blob
		dd if=/tmp/blob of="/mnt/p$i" bs=64k 2> /dev/null || die "cannot fill the volume"
		sum=$(md5sum < /tmp/blob)
		echo "p$i 0 0 ${sum%% *}" >> /tmp/fill
	done
	sync

	# Node B boots beside this one: its server may not be up yet.
	step "node A: connecting to node B"
	start=$SECONDS
	until nbd-client -N export "$node_b" 10809 /dev/nbd0 -t "$nbd_timeout" > /tmp/nbd.out 2>&1; do
		[ $((SECONDS - start)) -lt 300 ] || die "node B's export unreachable: $(cat /tmp/nbd.out)"
		nap 1
	done
	diag "node A: connected to node B in $((SECONDS - start)) s"

	writer &
	writer_pid=$!
	# Paced so that the writer's writes meet the copy (unpaced it takes
	# 6 s), and more when failing, so that the host's cut lands mid-copy.
	start=$SECONDS
	first=$(writes)
	if [ "$want" = confirm ]; then
		tool_ok start vol /dev/nbd0 --rate 4M
	else
		tool_ok start vol /dev/nbd0 --rate 1M
	fi
	ktap_check "node A: migration to node B started over NBD" [ $? -eq 0 ]

	if [ "$want" = confirm ]; then
		step "node A: confirm --wait"
		tool confirm vol --wait
		diag "node A: confirm --wait: exit $rc after $((SECONDS - start)) s: $out $err"
		copy_writes=$(($(writes) - first))
		[ "$rc" -eq 0 ] && linear_on vol /dev/nbd0
		ktap_check "node A: confirm --wait succeeds, the volume is linear on /dev/nbd0" [ $? -eq 0 ]
		# Writes go to node B alone now.
		nap 3
		ktap_check "node A: the writer saw no error" writer_stop
		step "node A: unmount, remove, disconnect"
		umount /mnt && tool_ok remove vol && timeout 60 nbd-client -d /dev/nbd0 > /dev/null
		ktap_check "node A: unmounted, volume removed, NBD disconnected" [ $? -eq 0 ]
		sums > /tmp/sums
		cat /tmp/sums > "/dev/tcp/$node_b/10810"
		ktap_check "node A: the list of $(grep -c . /tmp/sums) files sent to node B" [ $? -eq 0 ]
		ktap_finish
	fi

	step "node A: copying until node B goes away"
	wait_status vol 300 '[ "${MST[2]%%/*}" -ge 16 ]' 0.5
	echo "# copying at $(cut -d' ' -f1 /proc/uptime) s: $(dmsetup status vol)"
	tool wait vol --timeout 120
	echo "# destination failed: wait exit $rc"
	copy_writes=$(($(writes) - first))
	ktap_check "node A: the migration halts with its destination failed ('wait' exits 7)" [ "$rc" -eq 7 ]
	tool_ok status vol --json
	diag "node A: $out"
	same state "$(jfield state)" halted && same destination "$(jfield destination_health)" failed &&
		same source "$(jfield source_health)" ok
	ktap_check "node A: status --json: halted, destination failed, source ok" [ $? -eq 0 ]
	before=$(dm_devices)
	tool confirm vol
	diag "node A: confirm: exit $rc: $err"
	[ "$rc" -eq 7 ] && same "devices after the refused confirm" "$(dm_devices)" "$before"
	ktap_check "node A: confirm refused (exit 7), nothing changed" [ $? -eq 0 ]
	step "node A: abort"
	tool abort vol
	diag "node A: abort: exit $rc: $out $err"
	[ "$rc" -eq 0 ] && linear_on vol "$vol"
	ktap_check "node A: abort brings the volume back on its disk" [ $? -eq 0 ]
	nap 3
	ktap_check "node A: the writer saw no error" writer_stop
	step "node A: checking the data"
	sums > /tmp/sums
	umount /mnt && e2fsck -fn /dev/mapper/vol > /tmp/fsck.out 2>&1 &&
		mount /dev/mapper/vol /mnt && (cd /mnt && md5sum -c --quiet /tmp/sums)
	ktap_check "node A: the filesystem is clean and all $(grep -c . /tmp/sums) files read back" [ $? -eq 0 ]
	step "node A: disconnect, remove, unload"
	umount /mnt && tool_ok remove vol && timeout 60 nbd-client -d /dev/nbd0 > /dev/null &&
		no_dm_devices && unload_migrate
	ktap_check "node A: NBD disconnected, nothing left, the module unloads" [ $? -eq 0 ]
	ktap_finish
}

case $1 in
node) node ;;
volume) volume "$2" "$3" ;;
*) echo "nbd_guest.sh: node or volume, not '$1'" >&2; exit 2 ;;
esac
