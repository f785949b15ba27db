#!/bin/bash
# make check: every test of the project, counted case by case.
#   host   the userspace unit tests, the module building cleanly for each
#          kernel, checkpatch and sparse on the kernel sources
#   kunit  the target's KUnit suites on UML (KASAN, UBSAN, lockdep)
#   vm     each tools/testing/migrate/test_*.sh in qemu on 6.1, 6.12 and the
#          debug kernel (KASAN, lockdep, kmemleak: scripts/debug-kernel.sh),
#          and a short run of the fuzzer (tools/testing/fuzz) on the latter
# A case counts once: passed, failed or skipped (never skipped as passed).
# The last line is "N passed, N failed"; the exit status is non-zero on any
# failure. DMM_KERNELS, DMM_TESTS, DMM_HOST_TESTS and DMM_SKIP_KUNIT narrow a
# run by hand; DMM_CRASH_ROUNDS lengthens the crash tests (default 2),
# DMM_FAILURE_ROUNDS the failure matrix (default 1 round a row and phase) and
# DMM_FUZZ="CASES LIVE_OPS" the fuzzer's run (default "300 150"), and
# DMM_DEBUG_ALL=1 runs every test on the debug kernel, not only the unmarked.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
logdir=$top/build/check
rm -rf "$logdir"
mkdir -p "$logdir"
kernels=${DMM_KERNELS:-6.1 6.12 debug}
passed=0
failed=0
skipped=0

result() {	# result ok|fail|skip GROUP DESC
	case $1 in
	ok) passed=$((passed + 1)); echo "ok - [$2] $3" ;;
	fail) failed=$((failed + 1)); echo "not ok - [$2] $3" ;;
	skip) skipped=$((skipped + 1)); echo "skip - [$2] $3" ;;
	esac
}

# count_ktap GROUP FILE INDENT PLANNED: count the cases of a KTAP file at
# one nesting depth; planned cases that never reported count as failed.
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

echo "# host: userspace"
make -s -C userspace clean > /dev/null 2>&1
make -C userspace check > "$logdir/userspace.ktap" 2> "$logdir/userspace.err"
us_rc=$?
count_ktap host/userspace "$logdir/userspace.ktap" "" ""
[ $us_rc -eq 0 ] || grep -q '^not ok' "$logdir/userspace.ktap" ||
	result fail host/userspace "make -C userspace check exited $us_rc (log: $logdir/userspace.err)"

echo "# host: kernel sources"
for k in $kernels; do
	kver=$(scripts/vm/kver.sh "$k")
	run_case host/build "module builds warning-free (W=1) for $kver" \
		scripts/build-module.sh "$kver"
done
run_case host/style "checkpatch --strict clean" scripts/checkpatch.sh
run_case host/style "sparse clean" scripts/sparse.sh

if [ -z "${DMM_SKIP_KUNIT:-}" ]; then
	echo "# kunit (UML): first build takes minutes"
	scripts/kunit.sh > "$logdir/kunit.log" 2>&1
	kunit_rc=$?
	# kunit.py's raw output: suites at depth 0, cases 4 spaces in.
	grep -E '^ *(KTAP|1\.\.|# Subtest|(not )?ok )' "$logdir/kunit.log" > "$logdir/kunit.ktap"
	count_ktap kunit "$logdir/kunit.ktap" "    " ""
	grep -q -E '^    (not )?ok ' "$logdir/kunit.ktap" ||
		result fail kunit "no KUnit case ran (log: $logdir/kunit.log)"
	[ $kunit_rc -eq 0 ] || grep -q '^ *not ok' "$logdir/kunit.ktap" ||
		result fail kunit "kunit.py exited $kunit_rc (log: $logdir/kunit.log)"
else
	result skip kunit "DMM_SKIP_KUNIT set"
fi

# vm_test KERNEL KVER SCRIPT [ARGS...]: one guest script in a VM, with the
# disks and timeout of its "# vm:" line; its KTAP cases and the VM's verdict
# (exit status, console, kmemleak on the debug kernel) counted.
vm_test() {
	local k=$1 kver=$2 t=$3 name vmargs vm_rc ktap verdict start=$SECONDS	# vm_extra: more run.sh options
	shift 3
	name=$(basename "$t" .sh)
	vmargs=$(sed -n 's/^# vm: //p' "$t")
	echo "# vm $kver: $name"
	# shellcheck disable=SC2086
	scripts/vm/run.sh -k "$kver" -w "$logdir/vm" -l "$name" $vmargs ${vm_extra:-} -- "/dmm/$t" "$@" \
		> "$logdir/$name-$kver.out" 2>&1
	vm_rc=$?
	echo "# vm $kver: $name: $((SECONDS - start)) s"
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
	rm -f "$logdir"/vm/*.img
}

if [[ " $kernels " == *" debug "* ]]; then
	echo "# debug kernel: a first build takes about 8 minutes"
	run_case host/build "debug kernel (KASAN, lockdep, kmemleak) builds" scripts/debug-kernel.sh
fi

tests=${DMM_TESTS:-$(ls tools/testing/migrate/test_*.sh)}
for k in $kernels; do
	if ! kver=$(scripts/vm/kver.sh "$k" 2> /dev/null); then
		result fail "vm $k" "no such kernel: none of its tests ran"
		continue
	fi
	for t in $tests; do
		# The debug kernel runs at a fraction of the speed: tests marked
		# "# debug-kernel: full run only" run there with DMM_DEBUG_ALL=1.
		if [ "$k" = debug ] && [ -z "${DMM_DEBUG_ALL:-}" ] &&
			grep -q '^# debug-kernel: full run only' "$t"; then
			result skip "vm debug/$(basename "$t" .sh)" \
				"$(sed -n 's/^# debug-kernel: //p' "$t") (DMM_DEBUG_ALL=1 runs it)"
			continue
		fi
		case $t in
		*_failures.sh)	# the failure matrix: DMM_FAILURE_ROUNDS rounds a row
			vm_extra="-t $((600 + 400 * ${DMM_FAILURE_ROUNDS:-1}))" \
				vm_test "$k" "$kver" "$t" "${DMM_FAILURE_ROUNDS:-1}" ;;
		*)	vm_test "$k" "$kver" "$t" ;;
		esac
	done
	[ "$k" = debug ] && [ -z "${DMM_TESTS:-}" ] &&
		vm_test "$k" "$kver" tools/testing/fuzz/fuzz_guest.sh ${DMM_FUZZ:-300 150}
	# Tests that drive several VM boots themselves (crash tests) run here.
	for t in ${DMM_HOST_TESTS-$(ls tools/testing/migrate/host_*.sh)}; do
		name=$(basename "$t" .sh)
		if [ "$k" = debug ] && [ -z "${DMM_DEBUG_ALL:-}" ]; then
			result skip "vm debug/$name" "a killed VM leaves no kmemleak report; full run only (DMM_DEBUG_ALL=1 runs it)"
			continue
		fi
		echo "# vm $kver: $name (host-driven)"
		start=$SECONDS
		"$t" "$kver" > "$logdir/$name-$kver.ktap" 2>&1
		echo "# vm $kver: $name: $((SECONDS - start)) s"
		count_ktap "vm $k/$name" "$logdir/$name-$kver.ktap" "" \
			"$(planned_of "$logdir/$name-$kver.ktap")"
	done
done

[ "$skipped" -gt 0 ] && echo "# $skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
