#!/bin/bash
# The selftests as a kernel developer runs them: from a kernel tree (the
# part of linux-source's tree in /ksft, scripts/vm/run.sh), with
# "make -C tools/testing/selftests TARGETS=dm-migrate run_tests", on a
# machine with dm-migrate.ko installed and no disks made for the tests, so
# that each disk is a loop device (lib.sh). Two short tests are run through
# the kernel's runner (TEST_PROGS on make's command line); each must be
# reported "ok" by it, and their own cases must have passed.
# vm: -t 400
. "$(dirname "$0")/../selftests/dm-migrate/lib.sh"

progs="test_target_01_basic.sh test_target_04_flush.sh"
ktap_plan 4

ls /sys/block | grep -q '^vd' && die "this VM must have no virtio disks"
step "make run_tests"
# The VM's /bin/sh is busybox, whose applets shadow PATH (its readlink
# lacks the -e the selftests Makefile uses); a host's sh finds coreutils.
make -C /ksft/tools/testing/selftests SHELL=/bin/bash TARGETS=dm-migrate TEST_PROGS="$progs" run_tests \
	> /tmp/run_tests.out 2>&1
rc=$?
sed 's/^/# /' /tmp/run_tests.out | tail -n 80
ktap_check "make run_tests exits 0" same "exit status" "$rc" 0
for p in $progs; do
	ktap_expect "the kernel's runner reports $p ok, on loop devices" \
		"grep -qxE 'ok [0-9]+ selftests: dm-migrate: $p' /tmp/run_tests.out && ! grep -q '# not ok ' /tmp/run_tests.out"
done
ktap_check "the loop devices are gone afterwards" same "loop devices" "$(losetup -a | grep -c dmm-selftest)" 0
ktap_finish
