#!/bin/bash
# The booted-Debian lane: a real Debian 12 system (systemd as PID 1,
# systemd-udevd) on a Debian cloud kernel, in qemu, where an administrator
# installs the project's packages and migrates a mounted volume across
# reboots and a hard reset (lane_guest.sh says what each boot checks).
#   lane.sh KVER            (KVER: "6.1", "6.12" or a full version)
# Prints KTAP; exits non-zero on any failure.
#
# The root is a qcow2 overlay of the cached image (image.sh), made fresh for
# each run. This script plays the firmware and the boot loader: each boot is
# one qemu run (-no-reboot: a reboot in the guest ends it) of the kernel and
# initramfs that the root's /boot holds at that moment (read with debugfs),
# so that the initramfs the packages rebuild is the one that boots. The
# guest keeps its phase on its root; its case lines arrive on the second
# serial port and are numbered here; "# HARD-RESET-NOW" has this script
# kill qemu and boot again from the same disks, "# LANE-DONE" ends the lane
# with the guest powering off. Each boot's console is scanned for oops,
# BUG, WARN, lockdep, KASAN, hung tasks (a case per boot), and a boot that
# takes longer than DMM_LANE_BOOT_TIMEOUT seconds (1800: the first, where
# DKMS builds the module under TCG, took 750 s beside other VMs) is killed
# and fails the run.
#   DMM_DEBS           the directory of the .deb files (default build/deb,
#                      made by scripts/deb.sh first if it exists)
#   DMM_LANE_GUEST     the guest script (default lane_guest.sh; its
#                      "# lane-plan: CASES BOOTS" line gives the plan)
#   DMM_LANE_MEM       guest memory in MiB (1536)
#   DMM_LANE_BPS       throttle the data disks to this many bytes/s
#   DMM_LANE_KEEP=1    keep the disks (root overlay included) afterwards
#   DMM_LANE_APPEND    more kernel parameters (e.g. "debug": initramfs-tools
#                      logs to /run/initramfs/initramfs.debug)
# Logs in build/system/KVER/: bootN.console, bootN.ktap (the guest's lines).
set -uo pipefail
# The whole script is read before it runs (main): it runs for half an
# hour, and bash would otherwise read an edited file at the old offsets.
main() {

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
kver=$("$top/scripts/vm/kver.sh" "${1:-}") || exit 2
guest=${DMM_LANE_GUEST:-$here/lane_guest.sh}
boot_timeout=${DMM_LANE_BOOT_TIMEOUT:-1800}
mem=${DMM_LANE_MEM:-1536}
logdir=$top/build/system/$kver
rm -rf "$logdir"
mkdir -p "$logdir"
work=$(mktemp -d /var/tmp/dmm-lane.XXXXXX)
qpid=
cleanup() {
	[ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null
	if [ -n "${DMM_LANE_KEEP:-}" ]; then
		echo "# lane: kept the disks in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r plan_cases plan_boots < <(sed -n 's/^# lane-plan: //p' "$guest")
[ -n "${plan_boots:-}" ] || { echo "lane.sh: no '# lane-plan: CASES BOOTS' in $guest" >&2; exit 2; }
planned=$((plan_cases + plan_boots + 1))
echo "KTAP version 1"
echo "1..$planned"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n $*"; failed=1; }
finish() {	# finish: the cases never reported, the exit status
	while [ $n -lt $planned ]; do
		not_ok "case $((n + 1)) of $planned never reported"
	done
	[ $n -eq $planned ] || { echo "# ran $n cases, planned $planned"; failed=1; }
	echo "# lane: $kver: $((SECONDS - start_time)) s, logs in $logdir"
	exit $failed
}
die() { echo "# lane: $*"; not_ok "lane: $*"; finish; }
start_time=$SECONDS

for tool in qemu-system-x86_64 qemu-img mke2fs debugfs flock; do
	command -v $tool > /dev/null || die "$tool is missing"
done

# The lane's disk: the guest scripts, VERSION and the packages.
lane=$work/lane
mkdir -p "$lane/debs"
cp "$guest" "$lane/lane_guest.sh"
cp "$here/guest_lib.sh" "$top/VERSION" "$lane/"
if grep -q '^# lane-needs: debs' "$guest"; then
	debs=${DMM_DEBS:-}
	if [ -z "$debs" ]; then
		debs=$top/build/deb
		# Lanes side by side make them once (released on exit).
		mkdir -p "$top/build"
		exec 8> "$top/build/.deb.lock"
		flock -x 8
		# Made again when a file of the tree (but the tests) is newer
		# than one of them.
		oldest=$(ls -tr "$debs"/*.deb 2> /dev/null | head -n 1)
		if [ -x "$top/scripts/deb.sh" ] && { [ -z "$oldest" ] ||
			(cd "$top" && git ls-files -z --cached --others --exclude-standard -- . ':!tools' |
				xargs -0 -r sh -c 'find "$@" -maxdepth 0 -newer "$0" -print 2> /dev/null' "$oldest" |
				grep -q .); }; then
			echo "# lane: making the packages (scripts/deb.sh)"
			"$top/scripts/deb.sh" > "$logdir/deb.log" 2>&1 ||
				{ tail -n 20 "$logdir/deb.log" | sed 's/^/# deb: /'; die "scripts/deb.sh failed (log: $logdir/deb.log)"; }
		fi
	fi
	ls "$debs"/*.deb > /dev/null 2>&1 || die "no .deb files in $debs"
	cp "$debs"/*.deb "$lane/debs/"
	exec 8>&-
	echo "# lane: packages: $(cd "$lane/debs" && echo *.deb)"
fi
printf 'KVER=%s\n' "$kver" > "$lane/lane.env"
mke2fs -q -t ext4 -L DMMLANE -d "$lane" "$work/lane.img" \
	"$(( $(du -sm "$lane" | cut -f1) * 2 + 32 ))M" > /dev/null || die "cannot make the lane's disk"

# The base image, held (shared) while it is in use: image.sh removes older
# images only when it can lock them alone.
img=
for _ in 1 2; do
	img=$("$here/image.sh" "$kver" 2> "$logdir/image.log") ||
		{ sed 's/^/# image: /' "$logdir/image.log" | tail -n 20; die "image.sh failed (log: $logdir/image.log)"; }
	exec 9>> "$(dirname "$img").lock"
	flock -s 9
	[ -f "$img" ] && break
done
grep '^image.sh: built' "$logdir/image.log" | sed 's/^/# /'
imgdir=$(dirname "$img")
qemu-img create -q -f qcow2 -b "$img" -F raw "$work/root.qcow2" > /dev/null || die "qemu-img create failed"

drives=(-drive "file=$work/root.qcow2,if=none,id=root,format=qcow2"
	-device virtio-blk-pci,drive=root
	-drive "file=$work/lane.img,if=none,id=lane,format=raw,readonly=on"
	-device virtio-blk-pci,drive=lane,serial=lane)
for d in src:256M dst:256M meta:8M; do
	serial=${d%%:*}
	truncate -s "${d#*:}" "$work/$serial.img"
	opts="file=$work/$serial.img,if=none,id=$serial,format=raw,discard=unmap"
	[ -n "${DMM_LANE_BPS:-}" ] && opts+=",throttling.bps-total=$DMM_LANE_BPS"
	drives+=(-drive "$opts" -device "virtio-blk-pci,drive=$serial,serial=$serial")
done

# What the kernel says went wrong (scripts/vm/run.sh's list).
bad_re='BUG:|WARNING:|ODEBUG:|Oops|Kernel panic|general protection fault|possible (circular|recursive) locking|lockdep|INFO: task .* blocked for more than|KASAN|UBSAN|list_(add|del) corruption|soft lockup|hard LOCKUP|rcu.*(stall|detected)|Call Trace'

boot=0
# end_boot: the boot ended; keep its console, scan it.
end_boot() {
	local c=$logdir/boot$boot.console bad
	tr -d '\r' < "$work/console" > "$c"
	bad=$(grep -a -n -E "$bad_re" "$c" | head -n 5)
	if [ -z "$bad" ]; then
		ok "boot $boot: console clean (no oops, BUG, WARN, lockdep, KASAN, hung task)"
	else
		not_ok "boot $boot: kernel problem in the console ($c)"
		grep -a -E -A 20 "$bad_re" "$c" | head -n 40 | sed 's/^/# console: /'
	fi
}

# take_lines FILE: the guest's new complete lines since the last call.
seen=0
take_lines() {
	local complete line
	complete=$(tr -cd '\n' < "$1" | wc -c)
	[ "$complete" -gt "$seen" ] || return 0
	while IFS= read -r line; do
		line=${line//$'\r'/}
		if [[ $line =~ ^(not\ )?ok\ (-\ |[0-9]+\ )?(.*)$ ]]; then
			if [ -n "${BASH_REMATCH[1]}" ]; then not_ok "${BASH_REMATCH[3]}"; else ok "${BASH_REMATCH[3]}"; fi
		else
			case $line in
			"# HARD-RESET-NOW"*) marker=reset ;;
			"# LANE-DONE"*) marker="done" ;;
			"# LANE-ABORT"*) marker=abort; abort_why=${line#*: } ;;
			esac
			[ -n "$line" ] && echo "$line"
		fi
	done < <(sed -n "$((seen + 1)),${complete}p" "$1")
	seen=$complete
}

# The host is the machine's firmware and boot loader: each boot is a qemu
# run (-no-reboot: the guest's reboot ends it) with the kernel and
# initramfs the root file system's /boot holds then, as GRUB would load
# them; the packages' initramfs hook and DKMS change them.
boot_files() {
	if [ "$boot" -eq 1 ]; then
		kernel=$imgdir/vmlinuz initrd=$imgdir/initrd.img
		return 0
	fi
	kernel=$work/vmlinuz initrd=$work/initrd.img
	rm -f "$work/root.raw" "$kernel" "$initrd"
	qemu-img convert -O raw "$work/root.qcow2" "$work/root.raw" &&
		debugfs -R "dump /boot/vmlinuz-$kver $kernel" "$work/root.raw" > /dev/null 2>&1 &&
		debugfs -R "dump /boot/initrd.img-$kver $initrd" "$work/root.raw" > /dev/null 2>&1
	rm -f "$work/root.raw"
	[ -s "$kernel" ] && [ -s "$initrd" ]
}

outcome=
abort_why=
while :; do
	boot=$((boot + 1))
	if [ "$boot" -gt "$plan_boots" ]; then
		outcome="more boots than the $plan_boots planned"
		break
	fi
	ktap=$logdir/boot$boot.ktap
	: > "$work/console"
	: > "$ktap"
	seen=0
	marker=
	boot_files || { outcome="boot $boot: no /boot/vmlinuz-$kver and /boot/initrd.img-$kver on the root disk"; break; }
	echo "# lane: boot $boot ($(( $(stat -c %s "$initrd") / 1024 )) KiB initramfs)"
	qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m "$mem" \
		-display none -monitor none -no-reboot \
		-serial "file:$work/console" -serial "file:$ktap" \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 root=/dev/vda rw ${DMM_LANE_APPEND:-}" \
		"${drives[@]}" < /dev/null > "$logdir/qemu$boot.log" 2>&1 &
	qpid=$!
	boot_start=$SECONDS
	load_start=$(cut -d' ' -f1 /proc/loadavg)
	done_at=
	outcome=
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 1
		take_lines "$ktap"
		case $marker in
		reset)
			kill -9 "$qpid"
			outcome=reset
			break ;;
		"done"|abort)
			# The guest powers off: qemu ends by itself.
			[ -n "$done_at" ] || done_at=$SECONDS
			if [ $((SECONDS - done_at)) -gt 180 ]; then
				kill -9 "$qpid"
				outcome="$marker, but the VM did not power off within 180 s"
				break
			fi ;;
		esac
		if grep -a -q 'Kernel panic' "$work/console"; then
			sleep 2
			kill -9 "$qpid"
			outcome="kernel panic in boot $boot"
			break
		fi
		if [ $((SECONDS - boot_start)) -gt "$boot_timeout" ]; then
			kill -9 "$qpid"
			outcome="boot $boot timed out after $boot_timeout s"
			break
		fi
	done
	wait "$qpid" 2> /dev/null
	qemu_rc=$?
	qpid=
	take_lines "$ktap"
	end_boot
	# TCG's speed is the host's: its load says how far to trust times.
	echo "# lane: boot $boot took $((SECONDS - boot_start)) s (host load $load_start, then $(cut -d' ' -f1 /proc/loadavg))"
	if [ -z "$outcome" ]; then
		if grep -a -q 'reboot: Restarting system' "$work/console"; then
			outcome=reboot
		elif [ "$marker" = "done" ] && grep -a -q 'reboot: Power down' "$work/console"; then
			outcome="done"
		elif [ "$marker" = abort ]; then
			outcome="the guest gave up in boot $boot: $abort_why"
		else
			outcome="boot $boot: the VM stopped (qemu exit $qemu_rc) without LANE-DONE"
		fi
	fi
	case $outcome in
	reset) echo "# lane: killed the VM (hard reset) in boot $boot" ;;
	reboot) ;;
	*) break ;;
	esac
done

if [ "$outcome" = "done" ]; then
	ok "lane: $boot boots, ended with LANE-DONE and a power-off"
else
	not_ok "lane: $outcome"
	tail -n 30 "$logdir/boot$boot.console" 2>/dev/null | sed 's/^/# console: /'
fi
finish
}
main "$@"
