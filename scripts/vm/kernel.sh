# Sourced: kernel_paths KVER sets, for an installed Debian kernel or the
# debug kernel (release *-dmm-debug, see scripts/debug-kernel.sh):
#   kimage   the kernel image qemu boots
#   kdir     the tree external modules are built against
#   modroot  the root its /lib/modules lives under ("" for /)
kernel_paths() {
	local dir
	case $1 in
	*-dmm-debug)
		dir=$("$(dirname "${BASH_SOURCE[0]}")/../debug-kernel.sh")
		[ "$(cat "$dir/release")" = "$1" ] ||
			{ echo "kernel_paths: the debug kernel is $(cat "$dir/release"), not $1" >&2; return 1; }
		kimage=$dir/bzImage kdir=$dir/build modroot=$dir/mods
		;;
	*)
		kimage=/boot/vmlinuz-$1 kdir=/lib/modules/$1/build modroot=
		[ -d "$kdir" ] || kdir=/usr/src/linux-headers-$1
		;;
	esac
}
