#!/bin/bash
# make demo: a live migration in a VM, narrated on this terminal. A volume
# over one virtio disk carries ext4 and files; while a load writes more
# files, dmmigrate moves it to a second disk, shows progress, confirms, and
# the data is checked (tools/testing/demo/demo.sh runs in the guest). Both
# disks are 512 MiB and throttled to 16 MiB/s, as a real disk would limit
# the copy, so the copy takes about 40 s. Exit status: the guest's verdict.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bps=$((16 * 1024 * 1024))

echo "dm-migrate demo: booting a VM (qemu, TCG) with two 512 MiB virtio disks, src and dst,"
echo "each throttled to $((bps / 1024 / 1024)) MiB/s; the guest narrates below."
exec "$top/scripts/vm/run.sh" -l demo -t 300 \
	-d "src:512M:$bps" -d "dst:512M:$bps" -- /dmm/tools/testing/demo/demo.sh
