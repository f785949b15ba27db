#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# libdmmigrate's ABI: the functions libdmmigrate.h declares, the names the
# symbol map lists and what the built library exports are the same set,
# each exported with a version, so that no function joins a version node
# by accident or leaves one. TAP output. Usage: abi.sh LIB.so HEADER MAP
set -u

lib=$1 header=$2 map=$3
. "$(dirname "$0")/lib.sh"

echo "TAP version 13"
# Declarations: a dmm_ name followed by "(" outside typedefs and comments.
sed -e 's#/\*.*\*/##' -e '/^[[:space:]]*\*/d' -e '/^\/\*/d' -e '/typedef/d' "$header" |
	grep -oE '\bdmm_[a-z0-9_]+\(' | tr -d '(' | sort -u > "$tmp/header"
grep -oE '^[[:space:]]+dmm_[a-z0-9_]+;' "$map" | tr -d ' \t;' | sort > "$tmp/map"
nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort > "$tmp/exported"

if cmp -s "$tmp/header" "$tmp/map"; then
	result ok "every function of the header is in the symbol map, and only those"
else
	result fail "every function of the header is in the symbol map, and only those" \
		"$(diff "$tmp/header" "$tmp/map" | grep '^[<>]' | tr '\n' ' ')"
fi
if [ "$(sort -u "$tmp/map" | wc -l)" = "$(wc -l < "$tmp/map")" ]; then
	result ok "each function is named once in the map"
else
	result fail "each function is named once in the map" "$(uniq -d "$tmp/map" | tr '\n' ' ')"
fi
sed 's/@.*//' "$tmp/exported" > "$tmp/names"
if cmp -s "$tmp/names" "$tmp/map"; then
	result ok "the library exports exactly the map's functions"
else
	result fail "the library exports exactly the map's functions" \
		"$(diff "$tmp/names" "$tmp/map" | grep '^[<>]' | tr '\n' ' ')"
fi
if ! grep -qv '@@\?DMMIGRATE_[0-9]*\.[0-9]*$' "$tmp/exported"; then
	result ok "every exported function has a version"
else
	result fail "every exported function has a version" \
		"$(grep -v '@@\?DMMIGRATE_' "$tmp/exported" | tr '\n' ' ')"
fi
echo "1..$n"
exit $failed
