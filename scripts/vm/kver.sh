#!/bin/bash
# Resolve a kernel name to an installed Debian cloud kernel version:
# "" (newest), "6.1", "6.12" (newest of the series) or a full version.
set -euo pipefail
want=${1:-}
if [ -n "$want" ] && [ -e "/boot/vmlinuz-$want" ]; then
	echo "$want"
	exit 0
fi
v=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sed 's|/boot/vmlinuz-||' |
	{ if [ -n "$want" ]; then grep -E "^${want//./\\.}[.-]"; else cat; fi; } |
	sort -V | tail -n 1 || true)
[ -n "$v" ] || { echo "kver: no installed cloud kernel matches '$want'" >&2; exit 1; }
echo "$v"
