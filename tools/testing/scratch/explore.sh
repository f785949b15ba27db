#!/bin/bash
. /dmm/tools/testing/migrate/lib.sh
a=$(disk a); b=$(disk b); c=$(disk c)
n=$(sectors $a)
modprobe dm-migrate
dmsetup create lin --table "0 $n linear $c 0"
echo "0 $n migrate $a $b - 1024" | dmsetup create mig
wait_state mig synced 30
t() { local s e; s=${EPOCHREALTIME/./}; dmsetup suspend $1; dmsetup resume $1; e=${EPOCHREALTIME/./}; echo -n "$(( (e - s) / 1000 )) "; }
echo -n "linear: "; for i in 1 2 3 4 5; do t lin; done; echo
echo -n "migrate: "; for i in 1 2 3 4 5; do t mig; done; echo
echo -n "linear: "; for i in 1 2 3 4 5; do t lin; done; echo
dmsetup remove mig
dmmigrate create vol $a
for i in 1 2 3 4; do dmmigrate start vol $b --force >/dev/null; dmmigrate wait vol; dmmigrate abort vol; done
