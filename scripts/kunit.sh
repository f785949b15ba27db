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

cd "$src"
# A source file newer than its object is rebuilt; a fresh clone's files are
# all new, so nothing of an older checkout survives.
python3 tools/testing/kunit/kunit.py run --arch=um --jobs="$(nproc)" \
	--build_dir="$build" --kunitconfig="$kunitconfig" --raw_output=kunit \
	--timeout=300
