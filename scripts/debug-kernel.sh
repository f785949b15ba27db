#!/bin/bash
# Build the debug kernel (KASAN, lockdep, kmemleak, debug objects, hung-task
# detector) from Debian's linux-source-6.12 with the project's own config,
# tools/testing/debug-kernel/config merged onto tinyconfig. Prints the
# directory that holds it:
#   bzImage   the kernel image
#   build/    the O= build tree, which dm-migrate.ko is built against
#   mods/     its modules, installed as /lib/modules/<release> under it
#   release   its kernel release (uname -r)
# Cached under /var/cache/dm-migrate, keyed on the source package version, the
# compiler, the config and this script; made from scratch when absent (about
# 15 minutes on two cores). An interrupted build is never taken for one.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${DMM_CACHE:-/var/cache/dm-migrate}
fragment=$top/tools/testing/debug-kernel/config

src=$("$top/scripts/linux-source.sh")
key=$( { basename "$src"; gcc --version | head -n 1; cat "$fragment" "$0"; } |
	sha256sum | cut -c1-16)
out=$cache/debug-kernel-$key
if [ -f "$out/release" ]; then
	echo "$out"
	exit 0
fi

rm -rf "$out.tmp"
mkdir -p "$out.tmp/build"
mk() { make -s -C "$src" O="$out.tmp/build" ARCH=x86_64 "$@"; }
{
	mk tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out.tmp/build" \
		"$out.tmp/build/.config" "$fragment" > /dev/null
	mk olddefconfig
	# A line that did not take (a dependency missing, a symbol renamed)
	# would quietly build a kernel without the detector it names.
	missing=$(grep -E '^CONFIG_' "$fragment" | while read -r line; do
		grep -qxF "$line" "$out.tmp/build/.config" || echo "$line"; done)
	[ -z "$missing" ] || { echo "debug-kernel: not in the built config:" $missing >&2; exit 1; }
	mk -j"$(nproc)" bzImage modules
	mk INSTALL_MOD_PATH="$out.tmp/mods" INSTALL_MOD_STRIP=1 modules_install
} >&2
cp "$out.tmp/build/arch/x86/boot/bzImage" "$out.tmp/bzImage"
mk -s kernelrelease > "$out.tmp/release"
rm -f "$out.tmp/mods/lib/modules/$(cat "$out.tmp/release")/build"
rm -rf "$cache"/debug-kernel-*[0-9a-f]
mv "$out.tmp" "$out"
echo "$out"
