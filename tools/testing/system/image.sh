#!/bin/bash
# Print the path of a cached Debian 12 root image for the system lane
# (lane.sh), building it first if it is not cached:
#   image.sh KVER            (KVER: "6.1", "6.12" or a full version)
# The image is a raw ext4 file system (root.img, read-only: every run boots a
# qcow2 overlay of it) made by mmdebstrap (minbase) with systemd as PID 1,
# udev, DKMS with a compiler and the headers of exactly one kernel, KVER's,
# so that DKMS builds once; beside it the kernel and initramfs of the image
# itself (vmlinuz, initrd.img) for qemu's -kernel and -initrd.
# At every boot dmm-lane.service mounts the disk labelled DMMLANE read-only
# at /lane and runs /lane/lane_guest.sh with its output on /dev/ttyS1.
#
# Cached in /var/cache/dm-migrate/system-KVER-KEY/, KEY a sha256 over this
# script, the package list, the kernel and the host's apt index (its Release
# files): an apt-get update that brings new versions makes a new image. The
# build is atomic (a temporary directory renamed) and serialised by flock;
# images of the same kernel under older keys are removed when no lane uses
# them (lane.sh holds a shared lock on its image while it runs).
set -euo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
self=$top/tools/testing/system/image.sh
kver=$("$top/scripts/vm/kver.sh" "${1:-}")
cache=${DMM_SYSTEM_CACHE:-/var/cache/dm-migrate}
suite=bookworm
mirrors=(
	"deb http://deb.debian.org/debian $suite main"
	"deb http://deb.debian.org/debian $suite-updates main"
	"deb http://deb.debian.org/debian-security $suite-security main"
)

# The kernel's package as the host has it (the 6.12 backport is only
# "-unsigned"), and its headers.
kpkg=$(dpkg-query -S "/boot/vmlinuz-$kver" 2>/dev/null | cut -d: -f1 || true)
[ -n "$kpkg" ] || kpkg=linux-image-$kver
pkgs=(systemd systemd-sysv udev dbus kmod dmsetup libdevmapper1.02.1 libblkid1
	e2fsprogs fio util-linux mount procps dkms gcc make initramfs-tools
	"$kpkg" "linux-headers-$kver")
# What the project's packages depend on (debian/control: the guest has no
# network to fetch them from), but not the packages themselves.
control=$top/debian/control
if [ -f "$control" ]; then
	own=" $(sed -n 's/^Package: *//p' "$control" | tr '\n' ' ') "
	while read -r p; do
		[[ $own == *" $p "* ]] || pkgs+=("$p")
	done < <(awk '/^(Pre-Depends|Depends|Recommends):/ { f = 1; sub(/^[^:]*:/, ""); print; next }
		/^[^ \t]/ { f = 0 } f' "$control" | tr ',' '\n' |
		sed -e 's/|.*//' -e 's/[(\[].*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' |
		grep -v -e '^\$' -e '^$' | sort -u)
fi
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | awk '!seen[$0]++')

for tool in mmdebstrap mke2fs qemu-img flock; do
	command -v "$tool" > /dev/null ||
		{ echo "image.sh: $tool is missing (apt-get install mmdebstrap e2fsprogs qemu-utils util-linux)" >&2; exit 1; }
done

key=$({
	cat "$self"
	printf '%s\n' "${pkgs[@]}" "${mirrors[@]}" "$kver"
	# The host's view of the archive: after an apt-get update that
	# brings anything new, at least one of these changes.
	cat /var/lib/apt/lists/*Release 2>/dev/null | sha256sum
} | sha256sum | cut -c1-16)
name=system-$kver-$key
dir=$cache/$name
mkdir -p "$cache"

if [ ! -f "$dir/root.img" ]; then
	exec 9> "$cache/$name.lock"
	flock -x 9
fi
if [ ! -f "$dir/root.img" ]; then
	echo "image.sh: building $dir (a few minutes)" >&2
	# What a build killed half-way left (the lock is ours).
	rm -rf "$cache/.$name.build."*
	start=$SECONDS
	tmp=$(mktemp -d "$cache/.$name.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	tree=$tmp/tree
	# Sources on the command line: without them mmdebstrap would read
	# them from stdin whenever stdin is not a terminal.
	mmdebstrap --variant=minbase --mode=root --format=directory \
		--include="$(IFS=,; echo "${pkgs[*]}")" \
		--aptopt='APT::Install-Recommends "false"' \
		--customize-hook='chroot "$1" passwd -d root' \
		"$suite" "$tree" "${mirrors[@]}" > "$tmp/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$tmp/mmdebstrap.log" >&2; exit 1; }

	echo dmm-lane > "$tree/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tdmm-lane\n' > "$tree/etc/hosts"
	echo '/dev/vda / ext4 errors=remount-ro 0 1' > "$tree/etc/fstab"
	mkdir -p "$tree/lane" "$tree/usr/local/sbin"
	cat > "$tree/usr/local/sbin/dmm-lane-run" <<'EOF'
#!/bin/sh
# Mount the lane's disk and run its script, output on the second serial port.
out=/dev/ttyS1
stty -F $out raw -echo 2>/dev/null
i=0
while [ ! -e /dev/disk/by-label/DMMLANE ] && [ $i -lt 60 ]; do
	sleep 1
	i=$((i + 1))
done
if ! mountpoint -q /lane && ! mount -o ro /dev/disk/by-label/DMMLANE /lane; then
	echo "# LANE-ABORT: cannot mount the disk labelled DMMLANE" > $out
	systemctl poweroff
	exit 1
fi
exec /bin/bash /lane/lane_guest.sh > $out 2>&1 < /dev/null
EOF
	chmod 755 "$tree/usr/local/sbin/dmm-lane-run"
	# Type=exec, not oneshot: the boot counts as finished once it runs,
	# so that systemd-analyze answers from inside it.
	cat > "$tree/etc/systemd/system/dmm-lane.service" <<'EOF'
[Unit]
Description=dm-migrate system lane (tools/testing/system)
After=multi-user.target

[Service]
Type=exec
ExecStart=/usr/local/sbin/dmm-lane-run

[Install]
WantedBy=multi-user.target
EOF
	mkdir -p "$tree/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/dmm-lane.service \
		"$tree/etc/systemd/system/multi-user.target.wants/dmm-lane.service"
	# Nothing may take the dpkg lock from the lane's apt-get or load the
	# disk behind its back.
	for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
		fstrim.timer man-db.timer; do
		ln -sf /dev/null "$tree/etc/systemd/system/$u"
	done

	cp "$tree/boot/vmlinuz-$kver" "$tmp/vmlinuz"
	cp "$tree/boot/initrd.img-$kver" "$tmp/initrd.img"
	du -sm "$tree" | awk '{ print "# tree MiB", $1 }' > "$tmp/info"
	mke2fs -q -t ext4 -L dmmroot -d "$tree" "$tmp/root.img" 4G >&2
	chmod 0444 "$tmp/root.img"
	rm -rf "$tree"
	printf '%s\n' "${pkgs[@]}" > "$tmp/packages"
	echo "# built in $((SECONDS - start)) s" >> "$tmp/info"
	chmod 755 "$tmp"
	mv -T "$tmp" "$dir"
	trap - EXIT
	echo "image.sh: built $dir in $((SECONDS - start)) s" >&2
	# Older images of this kernel, when no lane holds them.
	for old in "$cache"/system-"$kver"-*; do
		[ -d "$old" ] && [ "$old" != "$dir" ] || continue
		(
			flock -n -x 8 || exit 0
			rm -rf "$old" "$old.lock"
		) 8> "$old.lock"
	done
fi
echo "$dir/root.img"
