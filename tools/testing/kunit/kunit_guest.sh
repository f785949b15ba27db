#!/bin/bash
# The target's KUnit suites (kernel/tests/) on the debug kernel, under its
# KASAN, lockdep, kmemleak and debug objects: scripts/vm/run.sh puts the
# module built with them (scripts/build-module.sh ... kunit) in
# /lib/modules/KVER/kunit/, and KUnit runs a module's suites as it loads,
# printing KTAP to the kernel log. Each case is reported here as a case of
# its own, "SUITE: CASE"; a parameterised case passes only if every
# parameter did.
# vm: -t 300
. "$(dirname "$0")/../selftests/dm-migrate/lib.sh"

ko=/lib/modules/$(uname -r)/kunit/dm-migrate.ko
[ -f "$ko" ] || die "no $ko: this runs on the debug kernel"
# Its dependencies, as modprobe knows them for the plain module.
modprobe dm-migrate && rmmod dm_migrate || die "the module's dependencies do not load"
dmesg -c > /dev/null
insmod "$ko" || die "insmod $ko failed"
dmesg | sed 's/^\[[^]]*\] //' > /tmp/kunit.log
rmmod dm_migrate || die "the module does not unload"

# Suites at depth 0 ("# Subtest: NAME" 4 spaces in), cases 4 spaces in,
# a parameterised case's parameters 8 spaces in.
awk '/^    # Subtest: / { suite = $3; next }
     /^    ok [0-9]+ / { $1 = $2 = ""; sub(/^ +/, ""); print "ok", suite ": " $0; next }
     /^    not ok [0-9]+ / { $1 = $2 = $3 = ""; sub(/^ +/, ""); print "not_ok", suite ": " $0 }' \
	/tmp/kunit.log > /tmp/kunit.cases
n=$(wc -l < /tmp/kunit.cases)
[ "$n" -gt 0 ] || { sed 's/^/# /' /tmp/kunit.log | tail -n 40; die "no KUnit case ran"; }
ktap_plan $((n + 1))
while read -r verdict desc; do
	case $verdict:$desc in
	ok:*"# SKIP"*) ktap_skip "${desc%% # SKIP*}" "${desc#*# SKIP }" ;;
	ok:*) ktap_ok "$desc" ;;
	*) ktap_not_ok "$desc" ;;
	esac
done < /tmp/kunit.cases
grep -q '^not_ok' /tmp/kunit.cases && grep -B 12 'not ok' /tmp/kunit.log | sed 's/^/# /' | head -n 60
ktap_expect "the suites' own totals show no failure" \
	'grep -q "# Totals: " /tmp/kunit.log && ! grep -qE "# Totals: .* fail:[1-9]" /tmp/kunit.log'
ktap_finish
