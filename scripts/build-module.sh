#!/bin/bash
# Build dm-migrate.ko for one kernel in a directory of its own, so modules for
# several kernels can coexist: build-module.sh KVER [OUTDIR [kunit]]. Prints
# the path of the module. W=1 warnings are errors here: what users build must
# be clean. "kunit" links the KUnit suites in (CONFIG_DM_MIGRATE_KUNIT_TEST),
# for a kernel built with KUnit: the debug kernel.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kver=$1
out=$(realpath -m "${2:-$top/build/$kver}")
# shellcheck source=vm/kernel.sh
. "$top/scripts/vm/kernel.sh"
kernel_paths "$kver"
[ -d "$kdir" ] || { echo "build-module: no headers for $kver" >&2; exit 1; }

mkdir -p "$out/kernel/tests"
cp -p "$top/Kbuild" "$top/VERSION" "$out/"
cp -p "$top"/kernel/Kbuild "$top"/kernel/*.[ch] "$out/kernel/"
cp -p "$top"/kernel/tests/*.c "$out/kernel/tests/"
tests=()
[ "${3:-}" = kunit ] && tests=(CONFIG_DM_MIGRATE_KUNIT_TEST=y)
make -s -C "$kdir" M="$out" CONFIG_DM_MIGRATE=m "${tests[@]}" KCFLAGS=-Werror W=1 modules >&2
echo "$out/kernel/dm-migrate.ko"
