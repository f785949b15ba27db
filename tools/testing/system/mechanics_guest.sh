#!/bin/bash
# The lane's own mechanics, without the project's packages: a reboot from
# inside, a hard reset by the host, a power-off at the end.
#   DMM_LANE_GUEST=tools/testing/system/mechanics_guest.sh tools/testing/system/lane.sh 6.12
# lane-plan: 6 3
. /lane/guest_lib.sh

case $(phase) in
1)
	systemctl is-system-running --wait > /dev/null
	check "boot 1: systemd is PID 1" test "$(cat /proc/1/comm)" = systemd
	check "boot 1: systemd-udevd runs" systemctl is-active systemd-udevd
	echo "kernel $(uname -r)" > "$state/boot1"
	set_phase 2
	reboot_now ;;
2)
	check "boot 2: the phase survived a reboot" test -f "$state/boot1"
	dd if=/dev/urandom of="$state/data" bs=1M count=4 status=none
	sha256sum "$state/data" > "$state/data.sha256"
	set_phase 3
	hard_reset_now ;;
3)
	check "boot 3: came back after the hard reset" true
	check "boot 3: data synced before the reset intact" sha256sum -c --quiet "$state/data.sha256"
	check "boot 3: the disks by serial" test -b /dev/disk/by-id/virtio-src -a -b /dev/disk/by-id/virtio-dst \
		-a -b /dev/disk/by-id/virtio-meta
	lane_done ;;
*)
	lane_abort "unknown phase $(phase)" ;;
esac
