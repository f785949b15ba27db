#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian packages of the tree, as make deb builds them (scripts/deb.sh,
# run in a copy of the tree): they build, lintian finds no error or
# warning, each holds what it should, every version is the top VERSION
# file's, the packaged tool runs against the packaged library, and DKMS
# builds the packaged module sources (in a mount namespace of its own,
# with its trees under a scratch directory) into a module whose modinfo
# version is VERSION. TAP output. Usage: packaging.sh [KVER] (the kernel
# DKMS builds for; default the newest 6.12 cloud kernel)
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
version=$(cat "$top/VERSION")

result() {	# result ok|fail|skip DESC [WHY]
	n=$((n + 1))
	case $1 in
	ok)	echo "ok $n - $2" ;;
	skip)	echo "ok $n - $2 # SKIP $3" ;;
	*)	echo "not ok $n - $2"; echo "$3" | head -n 20 | sed 's/^/# /'; failed=1 ;;
	esac
}

echo "TAP version 13"
# The tree's files as git has them, new ones included, ignored ones not
# (outside git: all but build/).
tree=$tmp/dm-migrate
mkdir -p "$tree"
if git -C "$top" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$tree"
else
	tar -C "$top" --exclude=./build -cf - . | tar -xf - -C "$tree"
fi

debs=$tree/build/deb
"$tree/scripts/deb.sh" > "$tmp/deb.log" 2>&1
rc=$?
pkgs="dm-migrate-dkms dmmigrate libdmmigrate1 libdmmigrate-dev"
missing=
for p in $pkgs; do
	ls "$debs/${p}_${version}_"*.deb > /dev/null 2>&1 || missing+=" $p"
done
if [ -z "$missing" ]; then
	result ok "make deb builds $pkgs"
else
	result fail "make deb builds $pkgs" "missing:$missing (exit $rc); $(tail -n 15 "$tmp/deb.log")"
fi

# deb.sh ends with lintian: no error, no warning (its info lines shown).
tags=$(grep -E '^[EWIPX]: ' "$tmp/deb.log")
if [ -z "$missing" ] && [ $rc -eq 0 ] && ! echo "$tags" | grep -qE '^[EW]: '; then
	result ok "lintian: no error or warning"
else
	result fail "lintian: no error or warning" "exit $rc; $tags"
fi
echo "$tags" | grep -E '^[IPX]: ' | sed 's/^/# lintian: /'

deb() { find "$debs" -maxdepth 1 -name "${1}_${version}_*.deb" | head -n 1; }
files() { dpkg-deb -c "$(deb "$1")" 2> /dev/null | awk '{ print $6 }' | sed 's|^\./|/|'; }

# Every version is VERSION.
bad=
for p in $pkgs; do
	v=$(dpkg-deb -f "$(deb "$p")" Version 2> /dev/null)
	[ "$v" = "$version" ] || bad+=" $p=$v"
done
if [ -z "$bad" ]; then
	result ok "every package's version is $version"
else
	result fail "every package's version is $version" "$bad"
fi

# has PKG DESC PATTERN...: each extended regex matches a file of PKG.
has() {
	local p=$1 desc=$2 re miss=
	shift 2
	files "$p" > "$tmp/files"
	for re in "$@"; do
		grep -qE "^$re\$" "$tmp/files" || miss+=" $re"
	done
	if [ -z "$miss" ]; then
		result ok "$p: $desc"
	else
		result fail "$p: $desc" "missing:$miss"
	fi
}
# only PKG DESC PATTERN: every file (not directory) of PKG matches it.
only() {
	local extra
	extra=$(files "$1" | grep -v '/$' | grep -vE "^($3)\$")
	if [ -z "$extra" ]; then
		result ok "$1: $2"
	else
		result fail "$1: $2" "also: $extra"
	fi
}

ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
tool_files=(/usr/sbin/dmmigrate /usr/share/man/man8/dmmigrate.8.gz
	/usr/share/bash-completion/completions/dmmigrate)
for f in "$top"/userspace/udev/*.rules; do tool_files+=("(/usr)?/lib/udev/rules.d/${f##*/}"); done
for f in "$top"/userspace/systemd/*.service; do
	tool_files+=("(/usr)?/lib/systemd/system/${f##*/}")
done
for f in "$top"/userspace/initramfs-tools/hooks/* "$top"/userspace/initramfs-tools/scripts/*/*; do
	[ -e "$f" ] && tool_files+=("/usr/share/initramfs-tools/${f#"$top"/userspace/initramfs-tools/}")
done
has dmmigrate "tool, udev rules, units, initramfs-tools scripts, man page, completion" \
	"${tool_files[@]}"
only libdmmigrate1 "only the shared library and its docs" \
	"/usr/lib/$ma/libdmmigrate\.so\.1(\.[0-9.]+)?|/usr/share/doc/libdmmigrate1/.*"
has libdmmigrate-dev "header, .so link, static library, .pc, man page" \
	/usr/include/libdmmigrate.h "/usr/lib/$ma/libdmmigrate.so" "/usr/lib/$ma/libdmmigrate.a" \
	"/usr/lib/$ma/pkgconfig/libdmmigrate.pc" /usr/share/man/man3/libdmmigrate.3.gz
dkms_files=("/usr/src/dm-migrate-$version/dkms.conf" "/usr/src/dm-migrate-$version/Kbuild"
	"/usr/src/dm-migrate-$version/VERSION" "/usr/src/dm-migrate-$version/kernel/Kbuild")
for f in "$top"/kernel/*.[ch]; do
	case $f in *.mod.c) continue ;; esac
	dkms_files+=("/usr/src/dm-migrate-$version/kernel/${f##*/}")
done
has dm-migrate-dkms "dkms.conf, Kbuild files, VERSION, every source of the target" \
	"${dkms_files[@]}"

# What the packages say inside: dkms.conf's version, the symbols file.
x=$tmp/x
for p in $pkgs; do dpkg-deb -x "$(deb "$p")" "$x" 2> /dev/null; done
conf=$(grep '^PACKAGE_VERSION=' "$x/usr/src/dm-migrate-$version/dkms.conf" 2> /dev/null)
if [ "$conf" = "PACKAGE_VERSION=\"$version\"" ]; then
	result ok "dkms.conf: $conf"
else
	result fail "dkms.conf: PACKAGE_VERSION=\"$version\"" "got '$conf'"
fi
got=$(LD_LIBRARY_PATH=$x/usr/lib/$ma "$x/usr/sbin/dmmigrate" --version 2>&1)
if [ "$got" = "dmmigrate $version" ]; then
	result ok "the packaged tool runs against the packaged library: '$got'"
else
	result fail "the packaged tool runs against the packaged library" "got '$got'"
fi
mapped=$(grep -cE '^[[:space:]]+dmm_[a-z0-9_]+;' "$top/userspace/lib/libdmmigrate.sym")
dpkg-deb -e "$(deb libdmmigrate1)" "$tmp/ctl" 2> /dev/null
listed=$(grep -cE '^ dmm_[a-z0-9_]+@DMMIGRATE_' "$tmp/ctl/symbols" 2> /dev/null)
if [ "$mapped" = "$listed" ]; then
	result ok "libdmmigrate1's symbols file lists the $mapped functions of the version script"
else
	result fail "libdmmigrate1's symbols file lists the functions of the version script" \
		"$listed listed, $mapped in the map"
fi

# DKMS over the packaged sources, as the package's postinst runs it, with
# its trees here: a framework.conf.d of our own is mounted over the
# system's in a private mount namespace, and modules are not signed.
kver=${1:-$("$top/scripts/vm/kver.sh" 6.12 2> /dev/null)}
desc="dkms add and build of the packaged sources for $kver: modinfo version $version"
if [ "$(id -u)" != 0 ] || ! command -v dkms > /dev/null || [ ! -d "/lib/modules/$kver/build" ]; then
	result skip "$desc" "needs root, dkms and the headers of $kver"
elif ! unshare -m true 2> /dev/null; then
	result skip "$desc" "cannot make a mount namespace"
else
	mkdir -p "$tmp/fw" "$tmp/dkms" "$tmp/modules"
	cat > "$tmp/fw/dm-migrate-test.conf" <<-EOF
	source_tree="$x/usr/src"
	dkms_tree="$tmp/dkms"
	install_tree="$tmp/modules"
	sign_file="/nonexistent"
	EOF
	# shellcheck disable=SC2016
	unshare -m bash -c 'mount --bind "$1" /etc/dkms/framework.conf.d &&
		dkms add -m dm-migrate -v "$2" && dkms build -m dm-migrate -v "$2" -k "$3"' \
		_ "$tmp/fw" "$version" "$kver" > "$tmp/dkms.log" 2>&1
	ko=$(find "$tmp/dkms/dm-migrate/$version/$kver" -name 'dm-migrate.ko*' 2> /dev/null | head -n 1)
	got=$([ -n "$ko" ] && modinfo -F version "$ko")
	if [ "$got" = "$version" ]; then
		result ok "$desc"
	else
		result fail "$desc" "module ${ko:-not built}, version '$got'; $(tail -n 10 "$tmp/dkms.log")"
	fi
fi
echo "1..$n"
exit $failed
