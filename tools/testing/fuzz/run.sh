#!/bin/bash
# make fuzz: the long run of the fuzzer, on the debug kernel (KASAN,
# lockdep, kmemleak): DMM_FUZZ_CASES generated tables and sequences
# (default 5000) and DMM_FUZZ_LIVE operations on a live device under fio
# (default 2000), from seed DMM_FUZZ_SEED (default: the time; printed, so a
# failure can be replayed). make check runs a short one.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
t=tools/testing/fuzz/fuzz_guest.sh
vmargs=$(sed -n 's/^# vm: //p' "$top/$t")
# shellcheck disable=SC2086
exec "$top/scripts/vm/run.sh" -k debug -w "$top/build/fuzz" $vmargs -t 21600 -l fuzz -- \
	"/dmm/$t" "${DMM_FUZZ_CASES:-5000}" "${DMM_FUZZ_LIVE:-2000}" ${DMM_FUZZ_SEED:-}
