# shellcheck shell=bash
# Sourced by the lane's guest scripts (lane_guest.sh): case lines for the
# host, which numbers them (lane.sh), and the phase kept on the root file
# system across reboots and hard resets.
# Output: "ok - DESC", "not ok - DESC", "# comment"; markers for the host:
#   # HARD-RESET-NOW   kill qemu now (everything that must survive is synced)
#   # LANE-DONE        the last phase ended; the VM powers off
#   # LANE-ABORT: WHY  the lane cannot go on; the VM powers off

state=/var/lib/dmm-lane
mkdir -p "$state"

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
skip() { echo "ok - $1 # SKIP $2"; }
note() { echo "# $*"; }

# check DESC CMD...: one case from a command's status; its output, if it
# failed, as comments.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		echo "$out" | tail -n 15 | sed 's/^/#   /'
	fi
}

phase() { cat "$state/phase" 2>/dev/null || echo 1; }
# set_phase N: the phase of the next boot, on disk before anything reboots.
set_phase() { echo "$1" > "$state/phase"; sync; }

reboot_now() { note "rebooting"; sync; systemctl reboot; sleep infinity; }
hard_reset_now() { sync; echo "# HARD-RESET-NOW"; sleep infinity; }
lane_done() { sync; echo "# LANE-DONE"; systemctl poweroff; sleep infinity; }
lane_abort() { sync; echo "# LANE-ABORT: $*"; systemctl poweroff; sleep infinity; }
