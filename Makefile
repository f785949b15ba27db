# SPDX-License-Identifier: GPL-2.0-only
# dm-migrate: out-of-tree kernel target, userspace library and tool.
#
#   make                     build dm-migrate.ko and the userspace
#   make KDIR=/path/to/build build the module against other headers
#   make check               every test (host, VM on 6.1, 6.12 and the debug
#                            kernel, KUnit on it), within 45 minutes cold
#   make check-all           for a release: make check with every test on the
#                            debug kernel too, the crash tests 20 rounds, the
#                            failure matrix 20 rounds a row, 80 random kills
#                            of the tool (make check: 16), 40 rounds of
#                            confirm against abort (10), the tool's tests on
#                            6.1 too (make check: 6.12), the long fuzzer
#   make check-failures      the failure matrix, 20 rounds a row (10 while copying,
#                            10 after sync), on 6.1 and 6.12
#   make fuzz                the long fuzzer run on the debug kernel
#   make demo                a live migration under load, in a VM
#   make bench               benchmarks, results in Documentation/performance.md
#   make install             module, library, header, tool, udev rules, man page

KVER ?= $(shell uname -r)
# Debian's cloud headers when the running kernel has none (as on build hosts).
KDIR ?= $(or $(wildcard /lib/modules/$(KVER)/build),\
	$(shell ls -d /usr/src/linux-headers-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1))
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all module userspace check check-all check-failures fuzz demo bench deps install clean \
	checkpatch sparse

all: module userspace

module:
	@test -n "$(KDIR)" || { echo "No kernel headers found: set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) CONFIG_DM_MIGRATE=m modules

userspace:
	$(MAKE) -C userspace

deps:
	scripts/deps.sh

check: deps
	tools/testing/run-all.sh

check-all: deps
	DMM_DEBUG_ALL=1 DMM_CRASH_ROUNDS=20 DMM_FAILURE_ROUNDS=10 DMM_FUZZ="5000 2000" DMM_KILL_CYCLES=10 DMM_RACE_ROUNDS=40 \
		DMM_CHECK_BUDGET=600 tools/testing/run-all.sh

check-failures: deps
	DMM_FAILURE_ROUNDS=$${DMM_FAILURE_ROUNDS:-10} DMM_KERNELS="$${DMM_KERNELS:-6.1 6.12}" \
		DMM_TESTS=tools/testing/selftests/dm-migrate/test_tool_05_failures.sh DMM_HOST_TESTS= \
		tools/testing/run-all.sh

fuzz: deps
	tools/testing/fuzz/run.sh

demo: deps
	scripts/demo.sh

bench: deps
	tools/testing/bench/run.sh

install: all
	$(MAKE) -C $(KDIR) M=$(CURDIR) CONFIG_DM_MIGRATE=m INSTALL_MOD_DIR=updates \
		INSTALL_MOD_PATH=$(DESTDIR) modules_install
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)

checkpatch:
	scripts/checkpatch.sh

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) CONFIG_DM_MIGRATE=m C=2 modules

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-$(MAKE) -C userspace clean
	-$(MAKE) -C tools/testing/fuzz clean
	-$(MAKE) -C tools/testing/bench clean
	-$(MAKE) -C tools/testing/faults clean
	rm -rf build
