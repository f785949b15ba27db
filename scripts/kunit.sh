#!/bin/bash
# Run the target's KUnit suites on User-Mode Linux, with KASAN, UBSAN and
# lockdep, in Debian's linux-source-6.12 tree with kernel/ linked in as
# drivers/md/dm-migrate. Prints KTAP. Both the extracted tree and the build
# directory are cached under /var/cache/dm-migrate, keyed on the source
# package version, the compiler and the kunitconfig, so a stale build is never
# reused; with no cache everything is made afresh (about 5 minutes).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${DMM_CACHE:-/var/cache/dm-migrate}
kunitconfig=$top/tools/testing/kunit/.kunitconfig

src=$("$top/scripts/linux-source.sh")
key=$( { basename "$src"; gcc --version | head -n 1; cat "$kunitconfig"; } |
	sha256sum | cut -c1-16)
build=$cache/kunit-build-$key

# Link the project into the tree; idempotent, and re-pointed at this checkout.
ln -sfn "$top/kernel" "$src/drivers/md/dm-migrate"
grep -q 'dm-migrate/Kconfig' "$src/drivers/md/Kconfig" ||
	sed -i 's|^endif # MD$|source "drivers/md/dm-migrate/Kconfig"\n\nendif # MD|' \
		"$src/drivers/md/Kconfig"
grep -q 'dm-migrate/Kconfig' "$src/drivers/md/Kconfig" ||
	{ echo "kunit: cannot hook drivers/md/Kconfig" >&2; exit 1; }
grep -q 'dm-migrate/' "$src/drivers/md/Makefile" ||
	echo 'obj-$(CONFIG_DM_MIGRATE) += dm-migrate/' >> "$src/drivers/md/Makefile"

cd "$src"
# A source file newer than its object is rebuilt; a fresh clone's files are
# all new, so nothing of an older checkout survives.
python3 tools/testing/kunit/kunit.py run --arch=um --jobs="$(nproc)" \
	--build_dir="$build" --kunitconfig="$kunitconfig" --raw_output=kunit \
	--timeout=300
