#!/bin/bash
# Common helpers of the host-side crash tests (host_crash_*.sh), which boot
# and kill their VMs themselves: a work directory for the VMs' disks,
# removed at exit, and KTAP output with ok/not_ok counting the cases.
#   . crash_lib.sh NAME PLANNED
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)
work=$(mktemp -d "/var/tmp/dmm-$1.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "KTAP version 1"
echo "1..$2"
n=0
failed=0
nfail=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); nfail=$((nfail + 1)); echo "not ok $n $*"; failed=1; }

# boot_until_window LABEL COMMAND...: boot the VM of the array vm in the
# background, running COMMAND, until it says "crash window open" or ends:
# bounded by the VM's timeout, not by a count of polls, since on a loaded
# host the boot and the fill may take minutes. Sets runner (its run.sh) and
# ktap (its KTAP file); its output goes to $work/LABEL.out.
boot_until_window() {
	local label=$1
	shift
	"$top/scripts/vm/run.sh" "${vm[@]}" -l "$label" -K -- "$@" > "$work/$label.out" 2>&1 &
	runner=$!
	ktap=$work/$label-$kver.ktap
	while kill -0 "$runner" 2>/dev/null; do
		grep -q "crash window open" "$ktap" 2>/dev/null && break
		sleep 0.1
	done
}

# crash_vm LABEL: kill qemu (no clean shutdown); rc gets run.sh's status.
crash_vm() {
	kill -9 "$(cat "$work/$1-$kver.pid")" 2>/dev/null
	wait "$runner"
	rc=$?
}
