#!/bin/bash
# Run the target's KUnit suites on User-Mode Linux, with KASAN, UBSAN and
# lockdep, in Debian's linux-source-6.12 tree with kernel/ linked in as
# drivers/md/dm-migrate. Prints KTAP. Both the extracted tree and the build
# directory are cached under /var/cache/dm-migrate, keyed on the source
# package version, the compiler and the kunitconfig, so a stale kernel build is
# never reused; with no cache everything is made afresh (about 5 minutes).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${DMM_CACHE:-/var/cache/dm-migrate}
kunitconfig=$top/tools/testing/kunit/.kunitconfig

src=$("$top/scripts/linux-source.sh")
key=$( { basename "$src"; gcc --version | head -n 1; cat "$kunitconfig"; } |
	sha256sum | cut -c1-16)
build=$cache/kunit-build-$key

cd "$src"
# The project's objects are always rebuilt: make goes by mtimes, and an object
# built from another checkout (the tree is shared) can be newer than this
# checkout's sources. The kernel's own objects stay cached.
rm -rf "$build/drivers/md/dm-migrate"
python3 tools/testing/kunit/kunit.py run --arch=um --jobs="$(nproc)" \
	--build_dir="$build" --kunitconfig="$kunitconfig" --raw_output=kunit \
	--timeout=300
