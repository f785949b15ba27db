#!/bin/bash
# Print the path of an extracted Debian linux-source-6.12 tree (for KUnit,
# checkpatch, the debug kernel and the selftests), extracting it once under
# /var/cache/dm-migrate, keyed on the package version, with this checkout's
# kernel/ linked in as drivers/md/dm-migrate and its selftests as
# tools/testing/selftests/dm-migrate. An interrupted extraction is
# never taken for a tree.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
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
# Link the project into the tree; idempotent, and re-pointed at this checkout.
# Only when it points elsewhere: VMs and builds side by side call this, and
# a link being replaced would be missing for a moment.
[ "$(readlink "$src/drivers/md/dm-migrate")" = "$top/kernel" ] ||
	ln -sfn "$top/kernel" "$src/drivers/md/dm-migrate"
grep -q 'dm-migrate/Kconfig' "$src/drivers/md/Kconfig" ||
	sed -i 's|^endif # MD$|source "drivers/md/dm-migrate/Kconfig"\n\nendif # MD|' \
		"$src/drivers/md/Kconfig"
grep -q 'dm-migrate/Kconfig' "$src/drivers/md/Kconfig" ||
	{ echo "linux-source: cannot hook drivers/md/Kconfig" >&2; exit 1; }
grep -q 'dm-migrate/' "$src/drivers/md/Makefile" ||
	echo 'obj-$(CONFIG_DM_MIGRATE) += dm-migrate/' >> "$src/drivers/md/Makefile"

# The selftests as a directory of the tree's own whose files link here, so
# that their Makefile finds the tree's lib.mk ("make -C
# tools/testing/selftests TARGETS=dm-migrate run_tests"); made again only
# when this checkout's set of files or its place changed.
ksft=$src/tools/testing/selftests/dm-migrate
mine=$top/tools/testing/selftests/dm-migrate
if [ "$(readlink "$ksft/lib.sh")" != "$mine/lib.sh" ] ||
	[ "$(ls "$ksft" 2> /dev/null)" != "$(ls "$mine")" ]; then
	rm -rf "$ksft.tmp"
	cp -rs "$mine" "$ksft.tmp"
	rm -rf "$ksft"
	mv "$ksft.tmp" "$ksft"
fi

echo "$src"
