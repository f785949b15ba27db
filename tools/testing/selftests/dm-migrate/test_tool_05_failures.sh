#!/bin/bash
# The failure matrix (Documentation/dm-migrate-failures.rst): rows 1-6 of the
# brief's table, each injected while copying and again after the volume is
# in sync, with random delays before the fault and before the command, for
# ROUNDS rounds (first argument; make check runs 1, make check-failures 10,
# which is 20 per row; a second argument picks rows, "6" or "2 6"; in
# make check's debug lane each row runs in one phase, see phases_of).
# Every round checks the state reported (and a halt
# announced by a change uevent), that confirm is accepted exactly when the
# volume is in sync on a healthy destination and that a refused confirm
# changed nothing, that no write hangs, that the leg that serves after
# confirm or abort holds every acknowledged write (a ledger of 4 KiB writes
# made across the fault), and that nothing is left behind; at the end the
# module unloads.
# vm: -d src:64M -d dst:64M -t 3000 -m 2048
# debug-kernel: full run only; leg failures run there in test_target_08 and 15
. "$(dirname "$0")/lib.sh"

rounds=${1:-1}
rows=${2:-1 2 3 4 5 6}
# phases_of ROW: both phases; in the debug lane one, each leg's failure
# still seen in both.
phases_of() {
	if ! debug_lane; then
		echo copying synced
	else
		case $1 in 1|4|5) echo copying ;; *) echo synced ;; esac
	fi
}
ktap_plan $(( $(for row in $rows; do phases_of "$row"; done | wc -w) * rounds + 1 ))

src=$(disk src) && dst=$(disk dst) || die "disks missing"
len=$((64 * 2048))
bad=$((len - 4 * 2048))		# row 3: the last 4 MiB of the source fail
ledger_from=$((8 * 256))	# ledger writes: 4 KiB blocks in [8, 56) MiB
ledger_blocks=$((48 * 256))
load_migrate || die "module does not load"
modprobe nbd nbds_max=1 || die "no nbd"
modprobe dm-flakey && modprobe dm-delay || die "no dm-flakey or dm-delay"
ip link set lo up

# The destination "node" of row 2: nbd-server exporting the dst disk over
# TCP, nbd-client with a 5 s I/O timeout: I/O to a node that stops
# answering fails after it instead of hanging.
cat > /tmp/nbd.conf <<EOF
[generic]
	user = root
	group = root
	listenaddr = 127.0.0.1
	port = 10809
[dst]
	exportname = $dst
EOF
node_up() {
	nbd-server -C /tmp/nbd.conf || return 1
	nbd-client -N dst 127.0.0.1 10809 /dev/nbd0 -t 5 > /dev/null 2>&1
}
node_down() {	# kill: the node is gone; stop: it hangs, the link is cut
	killall "-$1" nbd-server
}
node_cleanup() {
	killall -CONT nbd-server 2> /dev/null
	nbd-client -d /dev/nbd0 > /dev/null 2>&1
	killall -KILL nbd-server 2> /dev/null
	nap 0.2
}

# The kernel's uevents, as a udev rule would run on them: a halted
# migration must announce itself.
printf '#!/bin/sh\necho "$ACTION $DEVNAME ${DM_MIGRATE_STATE:-}" >> /tmp/uevents\n' > /tmp/uevent-log
chmod +x /tmp/uevent-log
uevent /tmp/uevent-log &
uevent_pid=$!

# A random delay of 0 to $1 tenths of a second.
rsleep() {
	sleep "$(awk -v m="$1" -v r="$RANDOM" 'BEGIN { printf "%.1f", r % (m + 1) / 10 }')"
}

# The ledger: 4 KiB writes at random blocks through the volume until
# /tmp/ledger.stop appears, 0.2 s apart (unpaced, its programs kept a CPU
# of the emulated VM busy all along). Each line "<block>
# <md5> ok|fail|hung": no write may take 30 s (the nbd timeout is 5 s).
ledger_run() {
	local blk sum
	rm -f /tmp/ledger /tmp/ledger.stop
	while [ ! -e /tmp/ledger.stop ]; do
		blk=$((ledger_from + (RANDOM * 32768 + RANDOM) % ledger_blocks))
		head -c 4096 /dev/urandom > /tmp/blk
		sum=$(md5sum < /tmp/blk)
		sum=${sum:0:32}
		timeout 30 dd if=/tmp/blk of=/dev/mapper/vol bs=4096 seek="$blk" \
			oflag=direct conv=notrunc,fsync 2> /dev/null
		case $? in
		0) echo "$blk $sum ok" ;;
		124) echo "$blk $sum hung" ;;
		*) echo "$blk $sum fail" ;;
		esac >> /tmp/ledger
		nap 0.2
	done
}

# ledger_holds DEV: every block whose last write was acknowledged holds
# that write on DEV (a block whose last write failed may hold either).
ledger_holds() {
	local dev=$1 blk sum st got n=0 bad_n=0
	awk '{ last[$1] = $0 } END { for (b in last) print last[b] }' /tmp/ledger > /tmp/ledger.last
	while read -r blk sum st; do
		[ "$st" = ok ] || continue
		n=$((n + 1))
		got=$(dd if="$dev" bs=4096 skip="$blk" count=1 iflag=direct 2> /dev/null | md5sum)
		[ "${got:0:32}" = "$sum" ] || bad_n=$((bad_n + 1))
	done < /tmp/ledger.last
	diag "ledger: $n acknowledged blocks checked on $dev, $bad_n wrong"
	acked=$n
	[ "$bad_n" -eq 0 ]
}

# What a refused command must leave as it was: tables, and each device's
# state and open count (status counters may move).
dm_tables() {
	dmsetup table
	dmsetup info -c --noheadings -o name,attr,open
}

# wait_health SRC DST: the target reports these leg healths (ok/failed).
wait_health() {
	local want="$1 $2"
	wait_status vol 120 '[ "${MST[8]} ${MST[9]}" = "$want" ]' && return 0
	diag "health: source $(field vol 8), destination $(field vol 9); want $1 $2"
	return 1
}

# stop_fio PID: SIGKILL, and a minute to exit, which a process does only
# once its writes in flight have completed; one that never completes is
# reported with where fio and the devices stand. (Not SIGTERM: fio sent
# it a few seconds after its start was seen, on the debug kernel, to run on
# with no I/O in flight until the VM's timeout.)
stop_fio() {
	local pid=$1
	kill -KILL "$pid"
	for _ in $(seq 600); do
		kill -0 "$pid" 2> /dev/null || { wait "$pid" 2> /dev/null; return 0; }
		nap 0.1
	done
	dmsetup status | sed 's/^/status: /'
	grep -H . /sys/block/*/inflight | grep -v ':  *0  *0$' | sed 's/^/in flight: /'
	echo "fio $pid: $(awk '/^State/ { print $2 }' "/proc/$pid/status") $(cat "/proc/$pid/wchan")"
	sed 's/^/    /' "/proc/$pid/stack"
	return 1
}

round() {
	local row=$1 phase=$2 r=$3 dest=/dev/mapper/dstx cmd errs=() want state before fault
	local serving fio_pid= start=$SECONDS

	step "row $row $phase round $r: setting up"
	: > /tmp/uevents
	# Legs: each behind a dm device whose table the fault replaces.
	dmsetup create srcx --table "0 $len linear $src 0" || return 1
	case $row in
	2) node_up || { errs+=("nbd node does not come up"); return 1; }
	   dest=/dev/nbd0 ;;
	6) dmsetup create dstx --table "0 $len delay $dst 0 0 $dst 0 25" || return 1 ;;
	*) dmsetup create dstx --table "0 $len linear $dst 0" || return 1 ;;
	esac
	tool create vol /dev/mapper/srcx
	tool start vol "$dest" --rate 12M --force
	[ "$rc" -eq 0 ] || { diag "start: exit $rc: $err"; return 1; }
	[ "$phase" = synced ] && { dmsetup message vol 0 rate 0; wait_synced vol ||
		errs+=("never in sync before the fault"); }
	ledger_run &
	ledger_pid=$!
	[ "$row" = 6 ] && {
		# One process (--thread), so that one SIGKILL stops it all.
		fio --name=heavy --filename=/dev/mapper/vol --direct=1 --ioengine=libaio \
			--iodepth=8 --rw=randwrite --bs=16k --offset=56M --size=8M --thread \
			--time_based --runtime=600 > /dev/null 2>&1 &
		fio_pid=$!
	}
	rsleep 20

	step "row $row $phase round $r: the fault, and what must be reported"
	# The fault.
	case $row in
	1) dmsetup reload dstx --table "0 $len error" && dmsetup suspend dstx && dmsetup resume dstx ;;
	2) fault=KILL
	   [ $((RANDOM % 2)) = 0 ] && fault=STOP
	   node_down "$fault"
	   diag "row 2: nbd-server sent SIG$fault" ;;
	3) printf '0 %s linear %s 0\n%s %s error\n' "$bad" "$src" "$bad" $((len - bad)) |
		dmsetup reload srcx && dmsetup suspend srcx && dmsetup resume srcx
	   # After sync nothing reads the bad range unless asked: a reader does,
	   # and must get the destination's data.
	   [ "$phase" = synced ] && {
		   [ "$(sum_mib /dev/mapper/vol 4 60)" = "$(sum_mib "$dst" 4 60)" ] ||
			   errs+=("reads of the failed range not served from the destination")
	   } ;;
	4) dmsetup reload srcx --table "0 $len flakey $src 0 0 3600 1 error_writes" &&
		dmsetup suspend srcx && dmsetup resume srcx ;;
	5) dmsetup reload dstx --table "0 $len error" && dmsetup suspend dstx && dmsetup resume dstx
	   dmsetup reload srcx --table "0 $len error" && dmsetup suspend srcx && dmsetup resume srcx ;;
	6) ;;
	esac

	# What the target must report once the fault has been seen (row 3
	# copying: only if the copy reaches the bad range, which it must, the
	# range being last).
	case $row in
	1|2) wait_health ok failed || errs+=("destination failure not reported") ;;
	3|4) [ "$row" = 3 ] && [ "$phase" = copying ] && dmsetup message vol 0 rate 0
	     wait_health failed ok || errs+=("source failure not reported") ;;
	5) wait_health failed failed || errs+=("failure of both legs not reported") ;;
	6) dmsetup message vol 0 rate 0
	   wait_synced vol || errs+=("no convergence under heavy writes to a slow destination") ;;
	esac
	if [ "$(field vol 1)" = halted ]; then
		vol_dev=dm-$(dmsetup info -c --noheadings -o minor vol | tr -d ' ')
		for _ in $(seq 50); do
			grep -q "^change $vol_dev halted$" /tmp/uevents && break
			nap 0.1
		done
		grep -q "^change $vol_dev halted$" /tmp/uevents ||
			errs+=("no change uevent announced the halt")
	fi
	rsleep 20
	step "row $row $phase round $r: stopping the writes"
	touch /tmp/ledger.stop
	wait "$ledger_pid"
	grep -q ' hung$' /tmp/ledger && errs+=("a write to the volume hung for 30 s")
	# While a healthy leg holds every write, none may fail (a flush
	# included): only writes to regions that the failed source alone
	# holds (row 4 while copying) or with both legs failed (row 5) may.
	case $row$phase in
	4copying|5*) ;;
	*) grep -q ' fail$' /tmp/ledger &&
		errs+=("$(grep -c ' fail$' /tmp/ledger) writes failed though a healthy leg held every write") ;;
	esac
	[ -n "$fio_pid" ] && { stop_fio "$fio_pid" > /tmp/fio.stuck ||
		{ errs+=("fio's writes did not complete in 60 s"); sed 's/^/# /' /tmp/fio.stuck; }; }

	step "row $row $phase round $r: confirm or abort"
	# The command: confirm or abort, at random (abort follows a refused
	# confirm). Confirm is accepted exactly when the volume is in sync on
	# a healthy destination.
	state=$(field vol 1)
	want=refused
	[ "$state" = synced ] && [ "$(field vol 9)" = ok ] && want=accepted
	serving=$src
	cmd=abort
	if [ $((RANDOM % 2)) = 1 ]; then
		cmd=confirm
		before=$(dm_tables)
		tool confirm vol
		if [ "$want" = accepted ]; then
			[ "$rc" -eq 0 ] || errs+=("confirm in state $state: exit $rc: $err")
			serving=$dst
		else
			{ [ "$rc" -ne 0 ] && [ -n "$err" ]; } ||
				errs+=("confirm in state $state not refused (exit $rc)")
			[ "$(dm_tables)" = "$before" ] || errs+=("the refused confirm changed the devices")
			diag "confirm refused as it must be: $err"
		fi
	fi
	if [ "$serving" = "$src" ]; then
		tool abort vol
		[ "$rc" -eq 0 ] || errs+=("abort in state $state: exit $rc: $err")
		linear_on vol /dev/mapper/srcx > /dev/null || errs+=("abort did not leave vol on the source")
	fi

	# The data: the serving leg holds every acknowledged write, except a
	# source that failed writes (row 4) after abort, which reports failed.
	if [ "$row" = 4 ] && [ "$serving" = "$src" ]; then
		diag "row 4, abort: the source failed writes; its data is not checked"
	else
		ledger_holds "$serving" || errs+=("an acknowledged write is missing from $serving")
		[ "$acked" -gt 0 ] || errs+=("no write was acknowledged")
	fi
	[ "$row" = 6 ] && [ "$serving" = "$dst" ] &&
		{ [ "$(sum_mib "$src" 64)" = "$(sum_mib "$dst" 64)" ] || errs+=("legs differ after confirm"); }

	step "row $row $phase round $r: checks and removal"
	# Nothing left behind.
	tool remove vol
	[ "$rc" -eq 0 ] || errs+=("remove: exit $rc: $err")
	[ "$row" = 2 ] && node_cleanup
	dmsetup remove srcx
	[ "$row" = 2 ] || dmsetup remove dstx
	[ -z "$(dmsetup ls | grep -v '^No devices')" ] || errs+=("devices left: $(dmsetup ls | tr '\n' ' ')")

	diag "row $row $phase round $r: state $state, $cmd$([ $cmd = confirm ] && echo " $want"), $(wc -l < /tmp/ledger) ledger writes, $((SECONDS - start)) s"
	[ ${#errs[@]} -eq 0 ] && return 0
	for e in "${errs[@]}"; do diag "row $row $phase round $r: $e"; done
	return 1
}

for r in $(seq "$rounds"); do
	for row in $rows; do
		for phase in $(phases_of "$row"); do
			ktap_check "row $row, fault $([ $phase = copying ] && echo while copying || echo after sync), round $r" \
				round "$row" "$phase" "$r"
			# A failed round may leave devices: the next starts clean.
			dmsetup remove_all > /dev/null 2>&1
			node_cleanup > /dev/null 2>&1
		done
	done
done
kill "$uevent_pid"
ktap_check "the module unloads" unload_migrate
ktap_finish
