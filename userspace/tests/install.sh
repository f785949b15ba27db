#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make install and make uninstall of the userspace, under a DESTDIR: the
# installed tool runs against the installed library (no run path of the
# build tree) and says the project's version; the udev rules, units and
# initramfs-tools scripts name the installed tool; the pkg-config file
# builds a program; uninstall leaves no file; a DESTDIR that is a file or
# a relative LIBDIR is refused before anything is written. TAP output.
# Usage: install.sh (from any directory; the tree is the script's)
# The bash -c checks take their values as arguments, in single quotes.
# shellcheck disable=SC2016
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tests/lib.sh"
version=$(cat "$here/../VERSION")
root=$tmp/root
log=$tmp/make.log

# inst ARGS...: make ARGS in userspace/, its output in $log.
inst() {
	make -s -C "$here" "$@" > "$log" 2>&1
}

# check NAME COMMAND...: one case from a command's status (its output the
# diagnostic).
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		result ok "$name"
	else
		result fail "$name" "$(echo "$out" | head -c 400)"
	fi
}

echo "TAP version 13"
if inst install DESTDIR="$root" PREFIX=/usr; then
	result ok "make install DESTDIR=... PREFIX=/usr"
else
	result fail "make install DESTDIR=... PREFIX=/usr" "$(tail -n 5 "$log")"
fi
tool=$root/usr/sbin/dmmigrate
lib=$root/usr/lib/libdmmigrate.so.1

got=$(LD_LIBRARY_PATH=$root/usr/lib "$tool" --version 2>&1)
check "installed tool runs against the installed library: '$got'" \
	[ "$got" = "dmmigrate $version" ]
check "installed tool loads libdmmigrate from the DESTDIR" \
	bash -c 'LD_LIBRARY_PATH=$1/usr/lib ldd "$2" | grep -qF "libdmmigrate.so.1 => $1/usr/lib/"' \
	_ "$root" "$tool"
check "no run path in the installed tool and library" \
	bash -c '! readelf -d "$1" "$2" | grep -E "RPATH|RUNPATH"' _ "$tool" "$lib"
check "library: soname link, development link, file named by the version" \
	bash -c '[ "$(readlink "$1/libdmmigrate.so.1")" = "libdmmigrate.so.$2" ] &&
		[ "$(readlink "$1/libdmmigrate.so")" = libdmmigrate.so.1 ] &&
		[ -f "$1/libdmmigrate.so.$2" ] && [ -f "$1/libdmmigrate.a" ]' _ "$root/usr/lib" "$version"

# Every rule, unit and initramfs-tools file of the tree is installed, and
# where it names @SBINDIR@, it names /usr/sbin instead.
missing='' unsubst=''
for f in "$here"/udev/*.rules "$here"/systemd/*.service \
	"$here"/initramfs-tools/hooks/* "$here"/initramfs-tools/scripts/*/*; do
	[ -e "$f" ] || continue
	case $f in
	*/udev/*)	to=$(find "$root" -path "*/rules.d/${f##*/}") ;;
	*/systemd/*)	to=$(find "$root" -path "*/system/${f##*/}") ;;
	*)		to=$root/usr/share/initramfs-tools/${f#"$here"/initramfs-tools/}
			[ -x "$to" ] || to= ;;
	esac
	rel=${f#"$here"/}
	if [ -z "$to" ] || [ ! -f "$to" ]; then
		missing+=" $rel"
	elif grep -q @SBINDIR@ "$f" && ! grep -q /usr/sbin/dmmigrate "$to"; then
		unsubst+=" $rel"
	fi
done
if [ -z "$missing" ]; then
	result ok "every udev rule, unit and initramfs-tools file installed"
else
	result fail "every udev rule, unit and initramfs-tools file installed" "missing:$missing"
fi
if [ -z "$unsubst" ]; then
	result ok "udev rules, units, initramfs-tools scripts name /usr/sbin/dmmigrate"
else
	result fail "udev rules, units, initramfs-tools scripts name /usr/sbin/dmmigrate" "not in:$unsubst"
fi
# The volume rule reads what device-mapper's rules set: it must sort after
# them, wherever this host's dmsetup put them (10-dm.rules upstream,
# 55-dm.rules on Debian).
dm_rules=$(ls /lib/udev/rules.d/*-dm.rules /usr/lib/udev/rules.d/*-dm.rules 2> /dev/null | head -n 1)
if [ -n "$dm_rules" ]; then
	check "the volume rule runs after ${dm_rules##*/}" \
		bash -c '[ "$(printf "%s\n" "$1" "$2" | LC_ALL=C sort | tail -n 1)" = "$2" ]' \
		_ "${dm_rules##*/}" "$(basename "$(find "$root" -name '*-dm-migrate.rules' | head -n 1)")"
else
	result skip "the volume rule runs after device-mapper's" "no device-mapper udev rules on this host"
fi
# At boot: udev starts the activation per metadata device; nothing may wait
# for the deprecated systemd-udev-settle, and a hung device must not hang
# the boot.
check "units: none waits for systemd-udev-settle; the activation has a start timeout" \
	bash -c '! grep -rl udev-settle "$1" &&
		grep -q "^TimeoutStartSec=[1-9]" "$1/dmmigrate-activate@.service"' \
	_ "$(dirname "$(find "$root" -name 'dmmigrate-activate@.service' | head -n 1)")"
check "no @PLACEHOLDER@ left in what was installed" \
	bash -c '! grep -rIlE "@[A-Z]+@" "$1"' _ "$root"
check "man pages say version $version" \
	bash -c 'grep -q "^\.TH DMMIGRATE 8 .*\"dm-migrate $2\"" "$1/man8/dmmigrate.8" &&
		grep -q "^\.TH LIBDMMIGRATE 3 .*\"dm-migrate $2\"" "$1/man3/libdmmigrate.3"' \
	_ "$root/usr/share/man" "$version"

# The pkg-config file, read through the DESTDIR as a sysroot.
pc() {
	PKG_CONFIG_PATH=$root/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root \
		pkg-config "$@"
}
got=$(pc --modversion libdmmigrate 2>&1)
check "pkg-config --modversion libdmmigrate: '$got'" [ "$got" = "$version" ]
cat > "$tmp/prog.c" <<'EOF'
#include <libdmmigrate.h>

int main(void)
{
	printf("%s\n", dmm_version());
	return 0;
}
EOF
# shellcheck disable=SC2046
if ! out=$(cc -Wall -Werror -o "$tmp/prog" "$tmp/prog.c" \
		$(pc --cflags --libs libdmmigrate) 2>&1); then
	result fail "a program builds with pkg-config's flags" "$out"
else
	got=$(LD_LIBRARY_PATH=$root/usr/lib "$tmp/prog" 2>&1)
	check "a program built with pkg-config's flags runs: '$got'" [ "$got" = "$version" ]
fi

if inst uninstall DESTDIR="$root" PREFIX=/usr; then
	left=$(find "$root" ! -type d | sed "s|^$root||")
	check "make uninstall leaves no file" [ -z "$left" ]
	[ -z "$left" ] || echo "$left" | head -n 5 | sed 's/^/# left: /'
else
	result fail "make uninstall leaves no file" "$(tail -n 5 "$log")"
fi

# The Debian layout: a multiarch LIBDIR, in the .pc file too.
ma=/usr/lib/x86_64-linux-gnu
rm -rf "$root"
if inst install DESTDIR="$root" PREFIX=/usr LIBDIR=$ma; then
	check "LIBDIR=$ma: library and .pc there" \
		bash -c '[ -f "$1$2/libdmmigrate.so.1" ] &&
			grep -qx "libdir=$2" "$1$2/pkgconfig/libdmmigrate.pc"' _ "$root" "$ma"
else
	result fail "LIBDIR=$ma: library and .pc there" "$(tail -n 5 "$log")"
fi
rm -rf "$root"

# Bad input: nothing written, a message that names the problem.
echo keep > "$tmp/file"
: > "$log"
before=$(find "$tmp" | sort)
if inst install DESTDIR="$tmp/file" PREFIX=/usr; then
	result fail "DESTDIR that is a file: refused" "make install succeeded"
elif ! grep -q "DESTDIR=$tmp/file is not a directory" "$log"; then
	result fail "DESTDIR that is a file: refused" "$(tail -n 3 "$log")"
elif [ "$(cat "$tmp/file")" != keep ] || [ "$(find "$tmp" | sort)" != "$before" ]; then
	result fail "DESTDIR that is a file: refused" "something was written: $(find "$tmp" | sort | diff <(echo "$before") - | grep '^>')"
else
	result ok "DESTDIR that is a file: refused, with its reason, nothing written"
fi
if inst install DESTDIR="$root" PREFIX=/usr LIBDIR=lib; then
	result fail "relative LIBDIR: refused" "make install succeeded"
elif ! grep -q "lib/ is not an absolute path" "$log" || [ -e "$root" ]; then
	result fail "relative LIBDIR: refused" "$(tail -n 3 "$log"); $(ls "$tmp")"
else
	result ok "relative LIBDIR: refused, with its reason, nothing written"
fi
echo "1..$n"
exit $failed
