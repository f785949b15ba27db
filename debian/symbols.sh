#!/bin/sh
# The symbols file of libdmmigrate1 from the library's version script
# (userspace/lib/libdmmigrate.sym): each function of node DMMIGRATE_X.Y,
# and the node itself, first in release X.Y.0. Usage: symbols.sh MAP
set -eu
echo "libdmmigrate.so.1 libdmmigrate1 #MINVER#"
echo "* Build-Depends-Package: libdmmigrate-dev"
awk '
/^DMMIGRATE_[0-9]+\.[0-9]+ *\{/ {
	node = $1
	sub(/ *\{.*/, "", node)
	ver = node
	sub(/^DMMIGRATE_/, "", ver)
	ver = ver ".0"
	print " " node "@" node " " ver
	next
}
node != "" && /^[ \t]+[a-z_][a-z0-9_]*;/ {
	sym = $1
	sub(/;$/, "", sym)
	print " " sym "@" node " " ver
}
/^\}/ { node = "" }
' "$1" | LC_ALL=C sort
