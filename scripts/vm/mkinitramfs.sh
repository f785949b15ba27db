#!/bin/bash
# Build the base initramfs of the test VM for one kernel version: busybox,
# the tools the tests run (with their shared libraries) and the kernel
# modules they load. Prints the path of the cpio archive. The result is cached
# under /var/cache/dm-migrate keyed on everything that goes into it, so a
# stale archive is never used; without the cache it is simply rebuilt.
set -euo pipefail

kver=$1
here=$(cd "$(dirname "$0")" && pwd)
cache=${DMM_CACHE:-/var/cache/dm-migrate}/initramfs
# shellcheck source=kernel.sh
. "$here/kernel.sh"
kernel_paths "$kver"
moddir=$modroot/lib/modules/$kver

tools=(
	/usr/bin/busybox /usr/bin/bash /usr/sbin/dmsetup /usr/bin/fio
	/usr/sbin/mke2fs /usr/sbin/e2fsck /usr/sbin/blkid /usr/sbin/wipefs
	/usr/sbin/sfdisk /usr/bin/nbd-server /usr/sbin/nbd-client
	/usr/sbin/losetup /usr/bin/flock /usr/bin/timeout /usr/sbin/blkdiscard
	/usr/bin/make /usr/bin/readlink /usr/bin/md5sum
	/usr/sbin/cryptsetup /usr/sbin/lvm /usr/bin/ip
)
modules=(
	virtio_pci virtio_blk dm-mod dm-flakey dm-delay
	dm-log-writes dm-mirror dm-raid raid1 dm-zero dm-bufio libcrc32c nbd loop brd
	dm-thin-pool dm-crypt xts algif_skcipher dm-multipath dm-round-robin
	virtio_net
)

# The key: this script, the guest helpers, the kernel's module tree and
# dpkg's record of what is installed (the tools and their libraries come
# from packages). Every VM boot computes it, so it is cheap: asking dpkg
# which package holds each tool cost 3.5 s of CPU a boot.
key=$( { cat "$0" "$here/init" "$here/guest-exit.c"; echo "$kver";
	 cat /var/lib/dpkg/status; stat -c '%n %s %Y' "$moddir/modules.dep"; } |
	sha256sum | cut -c1-16)
out=$cache/base-$kver-$key.cpio
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc,lib,lib64,usr/bin,usr/sbin,proc,sys,dev,tmp,run,mnt}

copy_with_libs() {
	local f=$1 lib
	mkdir -p "$root$(dirname "$f")"
	cp -L "$f" "$root$f"
	# mawk: no \s, so match the "=> /path" and bare "/path" forms plainly.
	for lib in $(ldd "$f" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
for t in "${tools[@]}"; do
	copy_with_libs "$t"
done
ln -s /usr/sbin/mke2fs "$root/usr/sbin/mkfs.ext4"
ln -s /usr/sbin/e2fsck "$root/usr/sbin/fsck.ext4"
gcc -O2 -static -o "$root/sbin/guest-exit" "$here/guest-exit.c"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
ln -s busybox "$root/bin/sh"
ln -s /usr/bin/bash "$root/bin/bash"
cp /usr/bin/busybox "$root/bin/busybox"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"

# The modules and everything they depend on, from modules.dep; a kernel
# without one of them (the debug kernel has no dm-raid) goes without.
for m in "${modules[@]}"; do
	modprobe -d "${modroot:-/}" -S "$kver" --show-depends "$m" 2>/dev/null |
		awk '$1 == "insmod" { print $2 }' || true
done | sort -u | while read -r ko; do
	rel=/lib/modules/${ko#*/lib/modules/}
	mkdir -p "$root$(dirname "$rel")"
	cp "$ko" "$root$rel"
done
mkdir -p "$root/lib/modules/$kver"
cp "$moddir"/modules.order "$moddir"/modules.builtin* "$root/lib/modules/$kver/" 2>/dev/null || true
depmod -b "$root" "$kver"

mkdir -p "$cache"
rm -f "$cache/base-$kver-"*.cpio*
# Uncompressed: the guest unpacks it at every boot, and under TCG gunzip
# of its 100 MB cost about 2 s of CPU a boot.
(cd "$root" && find . | cpio -o -H newc --quiet) > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
