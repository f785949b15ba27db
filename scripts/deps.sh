#!/bin/bash
# Install, idempotently and without questions, every Debian package that the
# build, the tests, the demo and the benchmarks need. Safe to run repeatedly:
# when everything is present it only checks and returns.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

pkgs=(
	build-essential pkg-config bc flex bison libelf-dev libssl-dev
	python3 locales kmod cpio zstd xz-utils gzip
	qemu-system-x86 qemu-utils busybox-static mmdebstrap
	dmsetup libdevmapper-dev libblkid-dev libcryptsetup-dev libjson-c-dev cryptsetup-bin lvm2
	fio nbd-server nbd-client iproute2 e2fsprogs util-linux fdisk
	sparse valgrind
	debhelper dh-dkms dkms dpkg-dev fakeroot lintian
	linux-image-cloud-amd64 linux-headers-cloud-amd64
	linux-source-6.12
)

apt_updated=
apt_update_once() {
	[ -n "$apt_updated" ] && return
	apt-get update -qq
	apt_updated=1
}

# The newest 6.12 cloud kernel with its own headers; versions move, so pick
# the pair by pattern rather than by a fixed name.
newest_612() {
	apt-cache search --names-only '^linux-image-6\.12\..*-cloud-amd64-unsigned$' |
		awk '{print $1}' |
		sed -e 's/^linux-image-//' -e 's/-unsigned$//' | sort -V | tail -n 1
}

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

if ! ls /boot/vmlinuz-6.12.*-cloud-amd64 >/dev/null 2>&1; then
	apt_update_once
	ver=$(newest_612)
	[ -n "$ver" ] || { echo "deps: no 6.12 cloud kernel in the archive" >&2; exit 1; }
	missing+=("linux-image-$ver-unsigned" "linux-headers-$ver")
fi

if [ ${#missing[@]} -gt 0 ]; then
	apt_update_once
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
