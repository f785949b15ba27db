#!/bin/bash
# sparse over the kernel sources, built against each installed cloud kernel's
# headers; any sparse report on the project's files fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
command -v sparse > /dev/null || { echo "sparse: not installed (scripts/deps.sh)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for k in 6.1 6.12; do
	kver=$("$top/scripts/vm/kver.sh" "$k")
	mkdir -p "$out/$kver/kernel/tests"
	cp "$top/Kbuild" "$top/VERSION" "$out/$kver/"
	cp "$top"/kernel/Kbuild "$top"/kernel/*.[ch] "$out/$kver/kernel/"
	make -s -C "/usr/src/linux-headers-$kver" M="$out/$kver" CONFIG_DM_MIGRATE=m \
		C=2 CHECK="sparse -Wno-decl" modules > "$out/$kver.log" 2>&1 || status=1
	if grep -E "kernel/dm-migrate[^ ]*:[0-9]+:[0-9]+: (warning|error)" "$out/$kver.log"; then
		status=1
	fi
done
exit $status
