#!/bin/bash
# make deb: the Debian packages (dm-migrate-dkms, dmmigrate, libdmmigrate1,
# libdmmigrate-dev) of the tree in build/deb/, then lintian over them; any
# lintian error or warning fails.
# Their version is the top VERSION file's: when debian/changelog's newest
# entry names another, an entry for VERSION is added to it first (commit it
# with the release). The packages are built from a copy of the tree's
# files (git's, when it is a git tree) in build/deb/dm-migrate-VERSION/, so the tree
# itself gets no build products.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
version=$(cat VERSION)
out=$top/build/deb

if [ "$(dpkg-parsechangelog -S Version)" != "$version" ]; then
	maintainer=$(sed -n 's/^Maintainer: //p' debian/control)
	{
		printf 'dm-migrate (%s) unstable; urgency=medium\n\n' "$version"
		printf '  * Release %s.\n\n' "$version"
		printf ' -- %s  %s\n\n' "$maintainer" "$(date -R)"
		cat debian/changelog
	} > debian/changelog.new
	mv debian/changelog.new debian/changelog
	echo "deb: debian/changelog: added the entry of $version"
fi

rm -rf "$out"
src=$out/dm-migrate-$version
mkdir -p "$src"
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
	# Tracked and new files, not ignored ones; not those deleted.
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude=./build -cf - . | tar -xf - -C "$src"
fi

(cd "$src" && dpkg-buildpackage -us -uc -b) > "$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log" >&2
	echo "deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
}
rm -rf "$src"
ls "$out"/*.deb

# Every tag but the pedantic and experimental ones is shown; errors and
# warnings fail.
lintian --info --display-info --fail-on error,warning "$out"/*.changes
