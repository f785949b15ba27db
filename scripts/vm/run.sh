#!/bin/bash
# Run one command in a qemu VM booting a Debian kernel, with dm-migrate.ko
# built against that kernel's headers, the project's tools and tests, and
# virtio disks. The command's output (KTAP) arrives on the VM's second serial
# port and is echoed here as it comes.
#
#   run.sh [options] -- COMMAND...
#     -k KVER          kernel version (default: newest installed cloud kernel);
#                      "6.1" and "6.12" pick the newest of that series,
#                      "debug" the debug kernel (scripts/debug-kernel.sh)
#     -d SERIAL:SIZE[:BPS[:IOPS]]
#                      a virtio disk with that serial, SIZE bytes (K/M/G),
#                      optionally throttled; repeatable
#     -w DIR           keep the disk images and logs in DIR (reused if there)
#     -i DIR           keep the disk images in DIR instead (VMs side by side
#                      each need their own: the images are named by serial)
#     -t SECONDS       timeout (default 600)
#     -m MIB           guest memory (default 1536)
#     -l NAME          log name (default: the command's first word)
#     -K               the VM is killed from outside (a crash test): being
#                      killed counts as success if the console is clean;
#                      qemu's pid is in <workdir>/<name>.pid
#     -q ARGS          more qemu arguments, split at blanks (a NIC and its
#                      netdev, a monitor socket); repeatable
#
# Exit status 0 only if the command exited 0, the VM ended by itself and the
# console is free of oops, BUG, WARN, lockdep, KASAN and hung-task reports.
# Logs: <workdir>/<name>.console and <name>.ktap.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/scripts/vm
kver=
disks=()
workdir=
imgdir=
timeout=600
mem=1536
name=
expect_kill=
qemu_extra=()

while getopts "k:d:w:i:t:m:l:Kq:" opt; do
	case $opt in
	k) kver=$OPTARG ;;
	d) disks+=("$OPTARG") ;;
	w) workdir=$OPTARG ;;
	i) imgdir=$OPTARG ;;
	t) timeout=$OPTARG ;;
	m) mem=$OPTARG ;;
	l) name=$OPTARG ;;
	K) expect_kill=1 ;;
	q) read -r -a more <<< "$OPTARG"; qemu_extra+=("${more[@]}") ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "run.sh: no command" >&2; exit 2; }

kver=$("$here/kver.sh" "${kver:-}")
# shellcheck source=kernel.sh
. "$here/kernel.sh"
kernel_paths "$kver"
[ -n "$name" ] || name=$(basename "$1" .sh)
name=$name-$kver
logdir=${workdir:-$top/build/vm}
mkdir -p "$logdir"
# Without -w or -i the disks are new and blank for every run.
if [ -z "$imgdir" ]; then
	imgdir=${workdir:-$(mktemp -d /var/tmp/dmm-disks.XXXXXX)}
	[ -n "$workdir" ] || fresh_disks=$imgdir
fi
mkdir -p "$imgdir"
workdir=$logdir
console=$workdir/$name.console
ktap=$workdir/$name.ktap
: > "$console"
: > "$ktap"

# The test programs the guest scripts call.
helpers=(tools/testing/fuzz/build/dmm-fuzz tools/testing/bench/build/dmm-swap
	tools/testing/faults/build/dmm-signal-at-suspend.so
	tools/testing/faults/build/dmm-kill-at-ioctl.so)
# DMM_PREBUILT: make check built the module, the tool and the helpers once
# before starting VMs side by side, which would each run make in one tree.
# On the debug kernel, the module with its KUnit suites too (kunit_guest.sh).
kunit_ko=$top/build/$kver-kunit/kernel/dm-migrate.ko
if [ -n "${DMM_PREBUILT:-}" ]; then
	ko=$top/build/$kver/kernel/dm-migrate.ko
	[ -f "$ko" ] || { echo "run.sh: DMM_PREBUILT but no $ko" >&2; exit 2; }
else
	ko=$("$top/scripts/build-module.sh" "$kver")
	case $kver in
	*-dmm-debug) "$top/scripts/build-module.sh" "$kver" "${kunit_ko%/kernel/*}" kunit > /dev/null ;;
	esac
	[ -n "${DMM_NO_USERSPACE:-}" ] || make -s -C "$top/userspace" >&2
	for h in "${helpers[@]}"; do
		make -s -C "$top/${h%/build/*}" >&2
	done
fi
base=$("$here/mkinitramfs.sh" "$kver")

# The project's part of the initramfs, put before the base archive. Both
# are built for each boot and are 100 MB: gone when the VM is.
stage=$(mktemp -d)
cleanup() {
	rm -rf "$stage" ${fresh_disks:+"$fresh_disks"} ${project:+"$project"} ${initrd:+"$initrd"}
	[ -n "${tail_pid:-}" ] && kill "$tail_pid" 2>/dev/null
	true
}
trap cleanup EXIT
mkdir -p "$stage/dmm" "$stage/etc" "$stage/usr/local/sbin" "$stage/usr/local/lib" \
	"$stage/lib/modules/$kver/extra"
cp "$ko" "$stage/lib/modules/$kver/extra/"
# DMM_VM_MODULES: more modules built for KVER, beside it for the command to
# insmod (the bench's dm-clone, which the kernel does not ship).
for m in ${DMM_VM_MODULES:-}; do
	cp "$m" "$stage/lib/modules/$kver/extra/"
done
if [ -f "$kunit_ko" ]; then
	mkdir -p "$stage/lib/modules/$kver/kunit"
	cp "$kunit_ko" "$stage/lib/modules/$kver/kunit/"
fi
modinfo -F depends "$ko" | tr ',' ' ' > "$stage/etc/dmm-module-deps"
cp -r "$top/tools" "$stage/dmm/"
# The selftests print KTAP through the kernel's own helpers, which sit
# beside them in a kernel tree; /ksft is the part of linux-source's tree
# that "make -C tools/testing/selftests TARGETS=dm-migrate run_tests" needs.
src=$("$top/scripts/linux-source.sh")
cp -r "$src/tools/testing/selftests/kselftest" "$stage/dmm/tools/testing/selftests/"
mkdir -p "$stage/ksft/scripts" "$stage/ksft/tools/testing/selftests"
cp "$src/scripts/subarch.include" "$stage/ksft/scripts/"
cp -r "$src/tools/testing/selftests/"{Makefile,lib.mk,kselftest} "$stage/ksft/tools/testing/selftests/"
cp -r "$top/tools/testing/selftests/dm-migrate" "$stage/ksft/tools/testing/selftests/"
for p in dmmigrate migrate-volume; do
	[ -x "$top/userspace/build/$p" ] && cp "$top/userspace/build/$p" "$stage/usr/local/sbin/"
done
for h in "${helpers[@]}"; do
	cp "$top/$h" "$stage/usr/local/sbin/"
done
cp -P "$top"/userspace/build/libdmmigrate.so* "$stage/usr/local/lib/" 2>/dev/null || true
printf '%q ' "$@" > "$stage/etc/dmm-run"
# A test still running 90 s before the timeout has the guest say what
# it waits on (scripts/vm/init): a bio stuck in a target leaves its waiters
# asleep interruptibly, where the hung-task detector does not look.
[ "$timeout" -gt 180 ] && echo $((timeout - 90)) > "$stage/etc/dmm-watchdog"
# The guest's tests shorten some runs on the debug kernel unless told not to.
printf 'KVER=%s\nDMM_DEBUG_ALL=%s\n' "$kver" "${DMM_DEBUG_ALL:-}" > "$stage/etc/dmm-env"
echo /usr/local/lib > "$stage/etc/ld.so.conf"
project=$workdir/$name.project.cpio
(cd "$stage" && find . | cpio -o -H newc --quiet) > "$project"
initrd=$workdir/$name.initrd
cat "$project" "$base" > "$initrd"

# Disks are found in the guest by serial, never by vdX order.
drive_args=()
i=0
for d in "${disks[@]}"; do
	IFS=: read -r serial size bps iops <<< "$d"
	img=$imgdir/$serial.img
	[ -e "$img" ] || truncate -s "$size" "$img"
	# Discards punch holes, so a discarded range reads zeros, as on most SSDs.
	opts="file=$img,if=none,id=d$i,format=raw,cache=none,aio=threads,discard=unmap"
	[ -n "${bps:-}" ] && opts+=",throttling.bps-total=$bps"
	[ -n "${iops:-}" ] && opts+=",throttling.iops-total=$iops"
	drive_args+=(-drive "$opts" -device "virtio-blk-pci,drive=d$i,serial=$serial")
	i=$((i + 1))
done

tail -n +1 -f "$ktap" 2>/dev/null | grep --line-buffered -v '^DMM-EXIT:' &
tail_pid=$!

# A boot that dies or warns before the test starts (TCG has been seen to
# oops, and to warn of a stray debug exception, in early boot, before any of
# our code runs; the init ends such a boot) is retried once, a VM to be
# killed (-K) too: its killer waits for the test's output first. Its
# console is kept as <name>.console.boot1. no_timer_check: on a loaded host TCG's
# timer can miss the kernel's IO-APIC check, which then panics the boot.
for attempt in 1 2; do
	: > "$console"
	: > "$ktap"
	set +e
	timeout --foreground -k 10 "$timeout" qemu-system-x86_64 \
		-accel tcg,thread=multi -cpu max -smp 2 -m "$mem" \
		-display none -monitor none -no-reboot \
		-serial "file:$console" -serial "file:$ktap" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -pidfile "$workdir/$name.pid" \
		-kernel "$kimage" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 oops=panic loglevel=5 no_timer_check rdinit=/init" \
		"${drive_args[@]}" "${qemu_extra[@]}"
	qemu_rc=$?
	set -e
	[ -s "$ktap" ] || [ $attempt -eq 2 ] || [ $qemu_rc -eq 33 ] && break
	echo "# vm: $name: the VM died before the test started (qemu $qemu_rc); booting again"
	cp "$console" "$console.boot1"
done
sleep 0.3
kill "$tail_pid" 2>/dev/null || true
tail_pid=

verdict=
case $qemu_rc in
33) ;;
137) [ -n "$expect_kill" ] || verdict="qemu was killed" ;;
124) verdict="timeout after ${timeout}s" ;;
0) verdict="the VM stopped without reporting (kernel panic?)" ;;
*) [ $qemu_rc -ge 65 ] && verdict="test exited $(( (qemu_rc - 65) / 2 ))" ||
	verdict="qemu exited $qemu_rc" ;;
esac
exit_line=$(tr -d '\r' < "$ktap" | grep -a '^DMM-EXIT:' | tail -n 1 || true)
[ -z "$verdict" ] && [ -z "$expect_kill" ] && [ "$exit_line" != "DMM-EXIT: 0" ] &&
	verdict="no exit report"

# Anything the kernel says went wrong fails the run, whatever the test said.
# (The kmemleak report, read below, has function names that would match.)
bad=$(sed '/^DMM-KMEMLEAK-BEGIN/,/^DMM-KMEMLEAK-END/d' "$console" | grep -a -n -E 'BUG:|WARNING:|ODEBUG:|Oops|Kernel panic|general protection fault|possible (circular|recursive) locking|lockdep|INFO: task .* blocked for more than|KASAN|UBSAN|list_(add|del) corruption|soft lockup|hard LOCKUP|rcu.*(stall|detected)|Call Trace' | head -n 5 || true)
if [ -n "$bad" ]; then
	verdict="${verdict:+$verdict; }kernel problem in the console: $(echo "$bad" | head -n 1)"
fi
# The debug kernel's kmemleak report (scripts/vm/init), one object a line: a
# leak whose allocation trace runs through the module, or through code no
# longer loaded (an unloaded module's addresses print bare), fails the run;
# the kernel's own are noted only.
leaks=$(sed -n '/^DMM-KMEMLEAK-BEGIN/,/^DMM-KMEMLEAK-END/p' "$console" | tr -d '\r' |
	awk '/^unreferenced object/ { if (obj != "") print obj; obj = $0; next }
	     obj != "" && !/^DMM-KMEMLEAK/ { obj = obj " |" $0 }
	     END { if (obj != "") print obj }')
if [ -n "$leaks" ]; then
	ours=$(echo "$leaks" | grep -E 'dm_migrate|\| +0xffffffff[0-9a-f]+( \||$)' || true)
	echo "# vm: $name: kmemleak: $(echo "$leaks" | wc -l) unreferenced objects, $(echo -n "$ours" | grep -c '^' || true) traced to the module"
	[ -z "$ours" ] || {
		verdict="${verdict:+$verdict; }kmemleak: a leak traced to dm-migrate"
		echo "$ours" | head -n 3 | sed 's/^/# kmemleak: /'
	}
elif [ -z "$expect_kill" ] && [[ $kver == *-dmm-debug ]] && [ -n "$exit_line" ] &&
	! grep -q -a '^DMM-KMEMLEAK-END' "$console"; then
	verdict="${verdict:+$verdict; }no kmemleak report from the debug kernel"
fi

if [ -z "$verdict" ]; then
	echo "# vm: $name: passed, console clean ($console)"
	exit 0
fi
echo "# vm: $name: FAILED: $verdict"
echo "# vm: console: $console"
grep -a -E -A 20 'BUG:|WARNING:|Oops|Kernel panic|blocked for more than|lockdep|KASAN' "$console" | head -n 40 | sed 's/^/# console: /'
sed -n '/^DMM-WATCHDOG-BEGIN/,/^DMM-WATCHDOG-END/p' "$console" | tr -d '\r' |
	grep -v '^DMM-WATCHDOG' | head -n 150 | sed 's/^/# watchdog: /'
exit 1
