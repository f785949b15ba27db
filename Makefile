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
#   make check-system        the booted-Debian lane: the packages installed
#                            and a migration across reboots and a hard reset
#                            on Debian 12 with systemd, on 6.1 and 6.12
#                            (make check-all runs it too)
#   make fuzz                the long fuzzer run on the debug kernel
#   make demo                a live migration under load, in a VM
#   make bench               benchmarks, results in Documentation/performance.md
#   make install             module, library, header, pkg-config file, tool,
#                            udev rules, systemd units, initramfs-tools hook,
#                            man pages, bash completion (PREFIX, LIBDIR,
#                            DESTDIR, ...: userspace/Makefile); make uninstall
#   make install-userspace   all but the module (the Debian packages' build)
#   make install-dkms        the module's sources with dkms.conf, for DKMS, in
#                            /usr/src/dm-migrate-VERSION
#   make deb                 Debian packages in build/deb/, lintian-checked

KVER ?= $(shell uname -r)
# Debian's cloud headers when the running kernel has none (as on build hosts).
KDIR ?= $(or $(wildcard /lib/modules/$(KVER)/build),\
	$(shell ls -d /usr/src/linux-headers-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1))
PREFIX ?= /usr/local
DESTDIR ?=
# The project's one version: the module's (modinfo), the library's and the
# tool's, the packages', the man pages' and DKMS's come from it.
VERSION := $(shell cat VERSION)
# The release KDIR builds for: the module goes to /lib/modules/$(MODKVER).
MODKVER = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
DKMSSRCDIR ?= /usr/src/dm-migrate-$(VERSION)
# Absolute, as the sub-makes run in other directories.
DESTDIR_ABS = $(if $(DESTDIR),$(abspath $(DESTDIR)))
NOT_A_DIR = [ -z "$(DESTDIR)" ] || [ ! -e "$(DESTDIR)" ] || [ -d "$(DESTDIR)" ] || \
	{ echo "install: DESTDIR=$(DESTDIR) is not a directory" >&2; exit 1; }

.PHONY: all module userspace check check-all check-failures check-system fuzz demo bench deps install clean \
	checkpatch sparse install-module install-userspace install-dkms uninstall \
	uninstall-module uninstall-userspace deb

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
	DMM_SYSTEM_LANE=1 DMM_DEBUG_ALL=1 DMM_CRASH_ROUNDS=20 DMM_FAILURE_ROUNDS=10 DMM_FUZZ="5000 2000" DMM_KILL_CYCLES=10 DMM_RACE_ROUNDS=40 \
		DMM_CHECK_BUDGET=600 tools/testing/run-all.sh

check-failures: deps
	DMM_FAILURE_ROUNDS=$${DMM_FAILURE_ROUNDS:-10} DMM_KERNELS="$${DMM_KERNELS:-6.1 6.12}" \
		DMM_TESTS=tools/testing/selftests/dm-migrate/test_tool_05_failures.sh DMM_HOST_TESTS= \
		tools/testing/run-all.sh

# The booted-Debian lane alone (tools/testing/system/lane.sh); DMM_TESTS
# of a blank runs no VM test.
check-system: deps
	DMM_SYSTEM_LANE=1 DMM_KERNELS="$${DMM_KERNELS:-6.1 6.12}" DMM_TESTS=' ' DMM_HOST_TESTS= \
		tools/testing/run-all.sh

fuzz: deps
	tools/testing/fuzz/run.sh

demo: deps
	scripts/demo.sh

bench: deps
	tools/testing/bench/run.sh

install: install-module install-userspace

# One copy of the module: make install's goes to updates/ of its kernel,
# DKMS's (the dm-migrate-dkms package, or dkms install by hand) to
# updates/dkms/, and with both, which one loads would be up to depmod. So
# install refuses while DKMS has the module installed for that kernel.
install-module: module
	@$(NOT_A_DIR)
	@if [ -z "$(DESTDIR)" ] && command -v dkms > /dev/null && \
		dkms status -m dm-migrate -k $(MODKVER) 2> /dev/null | grep -q ': installed'; then \
		echo "install: DKMS has dm-migrate installed for $(MODKVER):" \
			"remove it first (dkms remove dm-migrate/<version> --all," \
			"or apt remove dm-migrate-dkms), or run make install-userspace" >&2; \
		exit 1; \
	fi
	$(MAKE) -C $(KDIR) M=$(CURDIR) CONFIG_DM_MIGRATE=m INSTALL_MOD_DIR=updates \
		INSTALL_MOD_PATH=$(DESTDIR_ABS) modules_install
	@$(if $(DESTDIR),,depmod -a $(MODKVER))

install-userspace: userspace
	@$(NOT_A_DIR)
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR_ABS)

# The sources DKMS builds the module from: both Kbuild files, the target's
# sources, VERSION (kernel/Kbuild reads it) and dkms.conf with the version.
install-dkms:
	@$(NOT_A_DIR)
	install -d $(DESTDIR)$(DKMSSRCDIR)/kernel
	install -m 0644 Kbuild VERSION $(DESTDIR)$(DKMSSRCDIR)/
	install -m 0644 kernel/Kbuild $(filter-out %.mod.c,$(wildcard kernel/*.[ch])) $(DESTDIR)$(DKMSSRCDIR)/kernel/
	sed 's|@VERSION@|$(VERSION)|g' dkms.conf.in > $(DESTDIR)$(DKMSSRCDIR)/dkms.conf
	chmod 0644 $(DESTDIR)$(DKMSSRCDIR)/dkms.conf

uninstall: uninstall-module uninstall-userspace

# make install's module, of every kernel (never DKMS's, in updates/dkms/).
uninstall-module:
	@$(NOT_A_DIR)
	@for ko in $$(find $(DESTDIR_ABS)/lib/modules/*/updates -path '*/updates/dkms' -prune -o \
			-name 'dm-migrate.ko*' -print 2> /dev/null); do \
		echo "rm -f $$ko"; rm -f "$$ko" || exit 1; \
		kver=$${ko#$(DESTDIR_ABS)/lib/modules/}; kver=$${kver%%/*}; \
		[ -n "$(DESTDIR)" ] || depmod -a "$$kver" || exit 1; \
	done

uninstall-userspace:
	@$(NOT_A_DIR)
	$(MAKE) -C userspace uninstall DESTDIR=$(DESTDIR_ABS)

deb:
	scripts/deb.sh

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
