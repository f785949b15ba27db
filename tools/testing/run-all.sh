#!/bin/bash
# make check: every test of the project, counted case by case.
#   host   the userspace unit tests, the module building cleanly for each
#          kernel with VERSION as its modinfo version, checkpatch and sparse
#          on the kernel sources, the Debian packages (tools/testing/packaging.sh:
#          built, lintian-clean, their contents, DKMS building the module)
#   vm     each tools/testing/selftests/dm-migrate/test_*.sh in qemu on 6.1,
#          6.12 and the debug kernel (KASAN, lockdep, kmemleak:
#          scripts/debug-kernel.sh), the host-driven crash tests, the
#          target's KUnit suites (tools/testing/kunit) and a short run of the
#          fuzzer (tools/testing/fuzz) on the debug kernel, and the kernel's
#          kselftest runner from a kernel tree on the others
#          (tools/testing/ksft-tree)
# Most VM tests wait on throttled or delayed disks, timeouts and sleeps, not
# on the CPU, so VMs run side by side in DMM_VM_SLOTS slots (default 4; one
# on the debug kernel, which mostly computes, takes two), the longest
# first (tools/testing/budgets), while the debug kernel builds beside them;
# its tests start once it is built.
# Each group's wall time and host CPU time are printed and kept in
# build/check/times.tsv, the slowest groups and those over their budget are
# listed at the end, and a run longer than DMM_CHECK_BUDGET minutes (50)
# fails.
# A case counts once: passed, failed or skipped (never skipped as passed).
# The last line is "N passed, N failed"; the exit status is non-zero on any
# failure. DMM_KERNELS, DMM_TESTS and DMM_HOST_TESTS narrow a run by hand; DMM_CRASH_ROUNDS lengthens the crash tests (default 2),
# DMM_FAILURE_ROUNDS the failure matrix (default 1 round a row and phase) and
# DMM_FUZZ="CASES LIVE_OPS" the fuzzer's run (default "200 100"), and
# DMM_DEBUG_ALL=1 runs every test on every kernel, not only the unmarked;
# DMM_SYSTEM_LANE=1 adds the booted-Debian lane on 6.1 and 6.12
# (tools/testing/system/lane.sh).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
logdir=$top/build/check
rm -rf "$logdir"
mkdir -p "$logdir/jobs"
kernels=${DMM_KERNELS:-6.1 6.12 debug}
# VM slots: a VM on the debug kernel, mostly computing, takes two.
slots=${DMM_VM_SLOTS:-4}
check_budget=${DMM_CHECK_BUDGET:-50}
selftests=tools/testing/selftests/dm-migrate
budgets=tools/testing/budgets
passed=0
failed=0
skipped=0
run_start=$SECONDS
read -r _ cpu0_user cpu0_nice cpu0_sys cpu0_idle _ < /proc/stat
: > "$logdir/times.tsv"

result() {	# result ok|fail|skip GROUP DESC: print one case
	case $1 in
	ok) echo "ok - [$2] $3" ;;
	fail) echo "not ok - [$2] $3" ;;
	skip) echo "skip - [$2] $3" ;;
	esac
}

tally() {	# tally FILE: print a job's output and count its cases
	local line
	while IFS= read -r line; do
		echo "$line"
		case $line in
		"ok - "*) passed=$((passed + 1)) ;;
		"not ok - "*) failed=$((failed + 1)) ;;
		"skip - "*) skipped=$((skipped + 1)) ;;
		esac
	done < "$1"
}

# count_ktap GROUP FILE INDENT PLANNED: the cases of a KTAP file at one
# nesting depth; planned cases that never reported count as failed.
count_ktap() {
	local group=$1 file=$2 indent=$3 planned=$4 n=0 line desc notok
	while IFS= read -r line; do
		line=${line%$'\r'}
		[[ $line =~ ^${indent}(not\ )?ok\ [0-9]+\ (.*)$ ]] || continue
		n=$((n + 1))
		notok=${BASH_REMATCH[1]:-}
		desc=${BASH_REMATCH[2]}
		if [[ $desc =~ \#\ SKIP ]]; then
			result skip "$group" "$desc"
		elif [ -n "$notok" ]; then
			result fail "$group" "$desc"
		else
			result ok "$group" "$desc"
		fi
	done < "$file"
	while [ -n "$planned" ] && [ "$n" -lt "$planned" ]; do
		n=$((n + 1))
		result fail "$group" "case $n of $planned never reported"
	done
}

planned_of() {	# the "1..N" plan of a top-level KTAP file
	tr -d '\r' < "$1" | grep -m1 -E '^1\.\.[0-9]+$' | cut -d. -f3
}

run_case() {	# run_case GROUP DESC CMD...: one case from a command's status
	local group=$1 desc=$2 log
	shift 2
	log=$logdir/$(echo "$group-$desc" | tr -c 'a-zA-Z0-9.-' '_').log
	if "$@" > "$log" 2>&1; then
		result ok "$group" "$desc"
	else
		result fail "$group" "$desc (log: $log)"
		tail -n 20 "$log" | sed 's/^/#   /'
	fi
}

# budget_of GROUP: its budget in seconds (tools/testing/budgets), 0 if none.
budget_of() {
	awk -v g="$1" '$1 == g { print $2; found = 1 } END { if (!found) print 0 }' "$budgets"
}

# timed GROUP CMD...: run CMD, then record its wall and CPU time (user and
# system of every process it waited for, qemu included: the cutime and
# cstime of this shell's /proc/PID/stat) in times.tsv.
timed() {
	local group=$1 start=$SECONDS me=$BASHPID t0 cpu
	shift
	t0=$(children_cpu "$me")
	"$@"
	cpu=$(( $(children_cpu "$me") - t0 ))
	printf '%s\t%s\t%s\t%s\n' "$group" $((SECONDS - start)) "$cpu" \
		"$(budget_of "$group")" >> "$logdir/times.tsv"
	echo "# $group: $((SECONDS - start)) s, CPU $cpu s"
}

children_cpu() {	# children_cpu PID: its children's CPU seconds
	local stat
	read -r stat < "/proc/$1/stat"
	# The fields after the command's name: cutime and cstime are 14 and 15.
	# shellcheck disable=SC2086
	set -- ${stat##*) }
	echo $(( (${14} + ${15}) / clk_tck ))
}
clk_tck=$(getconf CLK_TCK)

echo "# host: userspace"
host_userspace() {
	make -s -C userspace clean > /dev/null 2>&1
	make -C userspace check > "$logdir/userspace.ktap" 2> "$logdir/userspace.err"
	local rc=$?
	count_ktap host/userspace "$logdir/userspace.ktap" "" ""
	[ $rc -eq 0 ] || grep -q '^not ok' "$logdir/userspace.ktap" ||
		result fail host/userspace "make -C userspace check exited $rc (log: $logdir/userspace.err)"
}

# The tree checkpatch and the debug kernel build from, extracted once here:
# the jobs below would race each other to extract it.
run_case host/build "linux-source-6.12 extracted" scripts/linux-source.sh > "$logdir/jobs/00-source.res"
tally "$logdir/jobs/00-source.res"

# The debug kernel builds beside the host tests and the first VMs, taking
# VM slots while it runs (build_weight).
build_debug() {
	run_case host/build "debug kernel (KASAN, lockdep, kmemleak, KUnit) builds" scripts/debug-kernel.sh &&
		kver=$(scripts/vm/kver.sh debug) &&
		run_case host/build "module builds warning-free (W=1) for $kver" \
			scripts/build-module.sh "$kver" &&
		run_case host/build "module with its KUnit suites builds warning-free for $kver" \
			scripts/build-module.sh "$kver" "build/$kver-kunit" kunit &&
		run_case host/build "VM initramfs for $kver" scripts/vm/mkinitramfs.sh "$kver"
}
debug_pid=
if [[ " $kernels " == *" debug "* ]]; then
	echo "# debug kernel: building beside the other tests (a first build takes about 9 minutes)"
	timed build/debug-kernel build_debug > "$logdir/jobs/01-debug-kernel.res" 2>&1 &
	debug_pid=$!
fi

# The Debian packages: built from a copy of the tree, lintian, DKMS.
host_packaging() {
	tools/testing/packaging.sh > "$logdir/packaging.ktap" 2>&1
	count_ktap host/packaging "$logdir/packaging.ktap" "" "$(planned_of "$logdir/packaging.ktap")"
}

host() {
	# The packages build beside the tests below: dpkg-buildpackage,
	# lintian and DKMS take half a minute, mostly on one CPU.
	timed host/packaging host_packaging > "$logdir/jobs/02-packaging.res" 2>&1 &
	local packaging=$!
	timed host/userspace host_userspace
	local k kver
	for k in $kernels; do
		[ "$k" = debug ] && continue
		kver=$(scripts/vm/kver.sh "$k")
		run_case host/build "module builds warning-free (W=1) for $kver" \
			scripts/build-module.sh "$kver"
		# shellcheck disable=SC2016
		run_case host/build "module's modinfo version is VERSION ($(cat VERSION)) for $kver" \
			bash -c '[ "$(modinfo -F version "build/$1/kernel/dm-migrate.ko")" = "$(cat VERSION)" ]' \
			_ "$kver"
		run_case host/build "VM initramfs for $kver" scripts/vm/mkinitramfs.sh "$kver"
	done
	run_case host/style "checkpatch --strict clean" scripts/checkpatch.sh
	run_case host/style "sparse clean" scripts/sparse.sh
	# What every VM copies in, built once: the VMs side by side would each
	# run make in the same tree.
	run_case host/build "tool and guest helpers build for the VMs" \
		bash -c 'make -s -C userspace && make -s -C tools/testing/fuzz && make -s -C tools/testing/bench && make -s -C tools/testing/faults'
	wait "$packaging"
	cat "$logdir/jobs/02-packaging.res"
}
export DMM_PREBUILT=1
timed host host > "$logdir/jobs/03-host.res" 2>&1
tally "$logdir/jobs/03-host.res"

# vm_test KERNEL KVER SCRIPT [ARGS...]: one guest script in a VM, with the
# disks and timeout of its "# vm:" line (vm_extra: more run.sh options); its
# KTAP cases and the VM's verdict (exit status, console, kmemleak on the
# debug kernel) counted.
vm_test() {
	local k=$1 kver=$2 t=$3 name vmargs vm_rc ktap verdict disks
	shift 3
	name=$(basename "$t" .sh)
	vmargs=$(sed -n 's/^# vm: //p' "$t")
	# A timeout is there to catch a hang: on the debug kernel, with VMs
	# side by side, a test may take twice its Debian time and still be well.
	if [ "$k" = debug ] && [[ $vmargs =~ -t\ ([0-9]+) ]]; then
		vmargs+=" -t $((BASH_REMATCH[1] * 2))"
	fi
	disks=$logdir/vm/$name-$kver.disks
	# shellcheck disable=SC2086
	scripts/vm/run.sh -k "$kver" -w "$logdir/vm" -i "$disks" -l "$name" $vmargs ${vm_extra:-} \
		-- "/dmm/$t" "$@" > "$logdir/$name-$kver.out" 2>&1
	vm_rc=$?
	rm -rf "$disks"
	ktap=$logdir/vm/$name-$kver.ktap
	[ -f "$ktap" ] && count_ktap "vm $k/$name" "$ktap" "" "$(planned_of "$ktap")"
	verdict=$(grep '^# vm: .*FAILED' "$logdir/$name-$kver.out" | head -n 1)
	[ -n "$verdict" ] || verdict="# vm: $(tail -n 1 "$logdir/$name-$kver.out")"
	if [ $vm_rc -eq 0 ]; then
		result ok "vm $k/$name" "VM exit and console clean"
	else
		result fail "vm $k/$name" "VM: ${verdict#\# vm: }"
		grep '^# ' "$logdir/$name-$kver.out" | grep -v '^# watchdog: ' | tail -n 12 | sed 's/^/#   /'
		grep '^# watchdog: ' "$logdir/$name-$kver.out" | head -n 100 | sed 's/^/#   /'
	fi
}

# host_test KERNEL KVER SCRIPT: a test that drives several VM boots itself.
host_test() {
	local k=$1 kver=$2 t=$3 name
	name=$(basename "$t" .sh)
	"$t" "$kver" > "$logdir/$name-$kver.ktap" 2>&1
	count_ktap "vm $k/$name" "$logdir/$name-$kver.ktap" "" \
		"$(planned_of "$logdir/$name-$kver.ktap")"
}

# The queue: one job a line, "KERNEL KIND SCRIPT [ARGS]", KIND vm or host.
# Skips are counted at once.
# left_out KERNEL SCRIPT: make check leaves SCRIPT out on KERNEL (the skip
# counted): the debug kernel runs at a fraction of the speed, and tests
# marked "# debug-kernel: full run only" run there with DMM_DEBUG_ALL=1;
# tests marked "# kernels: 6.12 ..." (the tool's own logic, or covered on
# 6.1 by others) run on 6.1 too with it.
left_out() {
	local k=$1 t=$2 why
	[ -z "${DMM_DEBUG_ALL:-}" ] || return 1
	if [ "$k" = debug ] && grep -q '^# debug-kernel: full run only' "$t"; then
		why=$(sed -n 's/^# debug-kernel: //p' "$t")
	elif [ "$k" = 6.1 ] && grep -q '^# kernels: 6.12 ' "$t"; then
		why=$(sed -n 's/^# kernels: //p' "$t")
	else
		return 1
	fi
	result skip "vm $k/$(basename "$t" .sh)" "$why (DMM_DEBUG_ALL=1 runs it)" >> "$logdir/jobs/04-skips.res"
}

queue_for() {	# queue_for KERNEL
	local k=$1 t name
	for t in ${DMM_TESTS:-$(ls $selftests/test_*.sh)}; do
		left_out "$k" "$t" || echo "$k vm $t"
	done
	if [ -z "${DMM_TESTS:-}" ]; then
		# KUnit and the fuzzer on the debug kernel; the kernel's
		# selftest runner over two of the tests (from a kernel tree, on
		# loop devices) on the others.
		if [ "$k" = debug ]; then
			echo "$k vm tools/testing/kunit/kunit_guest.sh"
			echo "$k vm tools/testing/fuzz/fuzz_guest.sh ${DMM_FUZZ:-200 100}"
		else
			echo "$k vm tools/testing/ksft-tree/run_tests_guest.sh"
		fi
	fi
	for t in ${DMM_HOST_TESTS-$(ls $selftests/host_*.sh)}; do
		name=$(basename "$t" .sh)
		if [ "$k" = debug ] && [ -z "${DMM_DEBUG_ALL:-}" ]; then
			result skip "vm debug/$name" "a killed VM leaves no kmemleak report; full run only (DMM_DEBUG_ALL=1 runs it)" \
				>> "$logdir/jobs/04-skips.res"
			continue
		fi
		left_out "$k" "$t" || echo "$k host $t"
	done
	# The booted-Debian lane (tools/testing/system/lane.sh: the packages
	# installed and used across reboots on a real Debian system): make
	# check-all and make check-system set DMM_SYSTEM_LANE=1.
	if [ -n "${DMM_SYSTEM_LANE:-}" ] && [ "$k" != debug ]; then
		echo "$k host tools/testing/system/lane.sh"
	fi
}

# Longest first (by budget), so that the long tail does not start last.
by_budget() {
	local k kind t args
	while read -r k kind t args; do
		echo "$(budget_of "$(basename "$t" .sh)@$k") $k $kind $t $args"
	done | sort -rn -s -k1,1 | cut -d' ' -f2-
}

: > "$logdir/jobs/04-skips.res"
# One order over every kernel: sorted kernel by kernel, the longest groups
# of the last kernel started after the short ones of the first, and the
# run ended on them, a slot or two busy and the rest idle.
pending=()
debug_pending=()
for k in $kernels; do
	queue_for "$k"
done | by_budget > "$logdir/jobs/queue"
while read -r line; do
	if [ "${line%% *}" = debug ]; then debug_pending+=("$line"); else pending+=("$line"); fi
done < "$logdir/jobs/queue"
tally "$logdir/jobs/04-skips.res"

declare -A job_of job_weight
running=0
jobnr=10
weight_of() {	# weight_of KERNEL: the VM slots its job takes (and timeout factor)
	if [ "$1" = debug ]; then echo 2; else echo 1; fi
}

start_job() {	# start_job "KERNEL KIND SCRIPT [ARGS]"
	local k kind t args kver group
	read -r k kind t args <<< "$1"
	jobnr=$((jobnr + 1))
	group=$(basename "$t" .sh)@$k
	if ! kver=$(scripts/vm/kver.sh "$k" 2> /dev/null); then
		result fail "vm $k" "no such kernel: $group did not run" > "$logdir/jobs/$jobnr.res"
		tally "$logdir/jobs/$jobnr.res"
		return
	fi
	echo "# start $group"
	case $kind:$t in
	vm:*_failures.sh)	# the failure matrix: DMM_FAILURE_ROUNDS rounds a row
		# shellcheck disable=SC2086
		vm_extra="-t $(( (600 + 400 * ${DMM_FAILURE_ROUNDS:-1}) * $(weight_of "$k") ))" \
			timed "$group" vm_test "$k" "$kver" "$t" "${DMM_FAILURE_ROUNDS:-1}" ;;
	vm:*fuzz_guest.sh)	# its timeout grows with the cases asked for
		# shellcheck disable=SC2086
		set -- $args
		vm_extra="-t $((1500 + ($1 + $2) / 2))" timed "$group" vm_test "$k" "$kver" "$t" $args ;;
	vm:*)	# shellcheck disable=SC2086
		timed "$group" vm_test "$k" "$kver" "$t" $args ;;
	host:*)	timed "$group" host_test "$k" "$kver" "$t" ;;
	esac > "$logdir/jobs/$jobnr.res" 2>&1 &
	job_of[$!]=$jobnr
	job_weight[$!]=$(weight_of "$k")
	running=$((running + job_weight[$!]))
}

finish_one() {	# wait for any job and count it
	local pid
	wait -n -p pid
	case $pid in
	"$debug_pid")
		debug_pid=
		tally "$logdir/jobs/01-debug-kernel.res"
		# Its tests go ahead of the rest: they are the longest.
		if grep -q '^not ok' "$logdir/jobs/01-debug-kernel.res"; then
			for line in "${debug_pending[@]}"; do
				read -r _ _ t _ <<< "$line"
				result fail "vm debug/$(basename "$t" .sh)" "not run: the debug kernel did not build"
			done > "$logdir/jobs/05-debug-missing.res"
			tally "$logdir/jobs/05-debug-missing.res"
		else
			pending=("${debug_pending[@]}" "${pending[@]}")
		fi
		debug_pending=()
		;;
	*)
		[ -n "${job_of[$pid]:-}" ] || return 0
		running=$((running - job_weight[$pid]))
		tally "$logdir/jobs/${job_of[$pid]}.res"
		unset "job_of[$pid]" "job_weight[$pid]" ;;
	esac
}

# The debug kernel's build (make -j on every CPU) takes two slots while it
# runs: beside four VMs it starved them past their timeouts on a cold run,
# and was starved in turn.
build_weight() {
	echo $(( ${debug_pid:+2}+0 ))
}

while [ ${#pending[@]} -gt 0 ] || [ "$running" -gt 0 ] || [ -n "$debug_pid" ]; do
	# A job starts when it fits, or when nothing else runs (DMM_VM_SLOTS=1).
	while [ ${#pending[@]} -gt 0 ] && { [ "$running" -eq 0 ] ||
		[ $((running + $(build_weight) + $(weight_of "${pending[0]%% *}"))) -le "$slots" ]; }; do
		start_job "${pending[0]}"
		pending=("${pending[@]:1}")
	done
	finish_one
done

# What the run cost, and where: the slowest groups, those over budget.
read -r _ cpu1_user cpu1_nice cpu1_sys cpu1_idle _ < /proc/stat
busy=$(( (cpu1_user + cpu1_nice + cpu1_sys) - (cpu0_user + cpu0_nice + cpu0_sys) ))
idle=$((cpu1_idle - cpu0_idle))
minutes=$(( (SECONDS - run_start + 59) / 60 ))
echo "# slowest groups (wall s, CPU s, budget s):"
sort -t$'\t' -k2,2 -rn "$logdir/times.tsv" | head -n 10 |
	awk -F'\t' '{ printf "#   %-40s %5d %5d %5d%s\n", $1, $2, $3, $4, ($4 > 0 && $2 > $4) ? "  over budget" : "" }'
awk -F'\t' '$4 > 0 && $2 > $4 { printf "# over budget: %s took %d s, budget %d s\n", $1, $2, $4 }' \
	"$logdir/times.tsv"
echo "# whole run: $((SECONDS - run_start)) s, host CPU busy $((100 * busy / (busy + idle + 1)))%"
if [ "$minutes" -gt "$check_budget" ]; then
	result fail budget "make check took $minutes minutes, over its $check_budget-minute budget: make room (Documentation/testing.md)" \
		> "$logdir/jobs/99-budget.res"
else
	result ok budget "make check within its $check_budget-minute budget ($minutes minutes)" \
		> "$logdir/jobs/99-budget.res"
fi
tally "$logdir/jobs/99-budget.res"

[ "$skipped" -gt 0 ] && echo "# $skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
