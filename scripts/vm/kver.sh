#!/bin/bash
# Resolve a kernel name to an installed Debian cloud kernel version:
# "" (newest), "6.1", "6.12" (newest of the series), a full version, or
# "debug" for the debug kernel (built first if it is not cached).
set -euo pipefail
want=${1:-}
case $want in
*-dmm-debug)	# already resolved
	echo "$want"
	exit 0 ;;
esac
if [ "$want" = debug ]; then
	cat "$("$(dirname "$0")/../debug-kernel.sh")/release"
	exit 0
fi
if [ -n "$want" ] && [ -e "/boot/vmlinuz-$want" ]; then
	echo "$want"
	exit 0
fi
v=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sed 's|/boot/vmlinuz-||' |
	{ if [ -n "$want" ]; then grep -E "^${want//./\\.}[.-]"; else cat; fi; } |
	sort -V | tail -n 1 || true)
[ -n "$v" ] || { echo "kver: no installed cloud kernel matches '$want'" >&2; exit 1; }
echo "$v"
