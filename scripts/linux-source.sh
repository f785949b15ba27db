#!/bin/bash
# Print the path of an extracted Debian linux-source-6.12 tree (for KUnit,
# checkpatch), extracting it once under /var/cache/dm-migrate, keyed on the
# package version. An interrupted extraction is never taken for a tree.
set -euo pipefail

cache=${DMM_CACHE:-/var/cache/dm-migrate}
tarball=/usr/src/linux-source-6.12.tar.xz
[ -f "$tarball" ] || { echo "linux-source: $tarball missing (scripts/deps.sh)" >&2; exit 1; }
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
src=$cache/linux-source-6.12-$srcver

if [ ! -f "$src/.dmm-extracted" ]; then
	mkdir -p "$cache"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	touch "$src.tmp/.dmm-extracted"
	mv "$src.tmp" "$src"
fi
echo "$src"
