#!/bin/bash
# Build dm-clone.ko, the post_copy benchmark's other contender, for one 6.12
# kernel: Debian's cloud kernels leave CONFIG_DM_CLONE unset but ship the
# dm-persistent-data and dm-bufio it needs. Built out of tree from
# linux-source-6.12 (scripts/linux-source.sh) into build/dm-clone-KVER, once.
#   dm-clone.sh KVER    prints the path of the module
set -euo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
kver=$1
# The source is 6.12's: another series' headers would not build it.
[[ $kver == 6.12.* ]] || { echo "dm-clone: built for 6.12 kernels only, not $kver" >&2; exit 1; }
out=$top/build/dm-clone-$kver
ko=$out/dm-clone.ko
if [ ! -f "$ko" ] || [ "$0" -nt "$ko" ]; then
	# shellcheck source=../../../scripts/vm/kernel.sh
	. "$top/scripts/vm/kernel.sh"
	kernel_paths "$kver"
	md=$("$top/scripts/linux-source.sh")/drivers/md
	mkdir -p "$out"
	cp -p "$md"/dm-clone-target.c "$md"/dm-clone-metadata.[ch] "$out/"
	# dm.h and persistent-data/*.h come from the tree the files sit in.
	printf 'obj-m := dm-clone.o\ndm-clone-y := dm-clone-target.o dm-clone-metadata.o\nccflags-y := -I%s\n' \
		"$md" > "$out/Kbuild"
	make -s -C "$kdir" M="$out" modules >&2
fi
echo "$ko"
