#!/bin/bash
# A migration to a second node for real (run on the host: it starts two VMs
# and kills one). Node B exports its disk with nbd-server; node A migrates
# a mounted ext4 volume under a writer to it over NBD (nbd_guest.sh). The
# two VMs share a network of their own: a qemu socket netdev whose host
# side is a TCP connection on 127.0.0.1 between the two qemus (B listens, A
# connects), the guests on IPv4 link-local addresses, so no packet reaches
# a host interface.
#   confirm    A confirms; B checks, on its own disk, every file A wrote
#   node-kill  B's qemu killed mid-copy
#   link-cut   B's link set down mid-copy (qemu monitor set_link): A sees
#              no change of its own, B's packets stop
# After either failure A's migration must halt with the destination failed
# within two of NBD's transport timeouts (plus slack), confirm be refused,
# abort succeed, the writer never see an error, nothing hang, and A's data
# be whole. Both consoles must be clean (scripts/vm/run.sh).
#   host_nbd_01.sh KVER [CASE...]   (default: all three)
# kernels: 6.12 in make check (the target's side of a failed leg runs on 6.1 in test_target_08 and the failure matrix)
set -uo pipefail
kver=$("$(dirname "$0")/../../../../scripts/vm/kver.sh" "$1") || exit 1
shift
cases=("$@")
[ $# -gt 0 ] || cases=(confirm node-kill link-cut)
guest=/dmm/tools/testing/selftests/dm-migrate/nbd_guest.sh
# NBD's transport timeout (nbd-client -t): I/O to a node that stopped
# answering fails after it instead of hanging. Short: a write waits for
# it, up to twice, and must stay under the VMs' 20 s hung-task threshold.
# The halt may take two of them too: nbd fails
# the connection when a request times out, but its timeout handler waits
# for a sender stuck on the full socket, which gives up only at its own
# send timeout, the same ("Send data failed (result -11)"; seen on 6.1 and
# 6.12). Then the table's reaction and the guest's report, on an emulated
# CPU.
nbd_timeout=6
slack=8
halt_limit=$((2 * nbd_timeout + slack))
# The cases each one reports: A's and B's, A's and the halt's.
planned=0
for c in "${cases[@]}"; do
	case $c in
	confirm) planned=$((planned + 10)) ;;
	node-kill|link-cut) planned=$((planned + 11)) ;;
	*) echo "host_nbd_01.sh: no case '$c'" >&2; exit 2 ;;
	esac
done
. "$(dirname "$0")/crash_lib.sh" nbd "$planned"

# free_port: a TCP port of 127.0.0.1 nothing uses.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		[ -z "$(ss -Htan "( sport = :$p or dport = :$p )")" ] && { echo "$p"; return; }
	done
}

# relay PREFIX FILE PLANNED: a guest's KTAP cases as cases of this test;
# those it planned and never reported count as failed.
relay() {
	local prefix=$1 file=$2 planned=$3 got=0 line
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$prefix: ${line#ok [0-9]* }" ;;
		"not ok "*) not_ok "$prefix: ${line#not ok [0-9]* }" ;;
		*) echo "$line"; continue ;;
		esac
		got=$((got + 1))
	done < <(tr -d '\r' 2> /dev/null < "$file" | grep -E '^((not )?ok [0-9]+ |# )')
	while [ "$got" -lt "$planned" ]; do
		got=$((got + 1))
		not_ok "$prefix: case $got of $planned never reported"
	done
}

# wait_for FILE TEXT PID: until FILE has a line starting with TEXT, while PID
# runs (its VM's timeout bounds the wait).
wait_for() {
	while kill -0 "$3" 2> /dev/null; do
		tr -d '\r' 2> /dev/null < "$1" | grep -q "^$2" && return 0
		sleep 0.1
	done
	tr -d '\r' 2> /dev/null < "$1" | grep -q "^$2"
}

# verdict NAME RC OUT: the VM's verdict from run.sh.
verdict() {
	if [ "$2" -eq 0 ]; then
		ok "$1: VM console clean"
	else
		not_ok "$1: VM: $(grep '^# vm: .*FAILED' "$3" | head -n 1)"
		grep -E '^# (vm|console):' "$3" | head -n 12
	fi
}

# monitor SOCKET COMMAND: a command to a qemu's human monitor, its answer
# read back before the socket is closed.
monitor() {
	python3 - "$@" <<-'EOF'
	import socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	s.settimeout(10)
	out = b""
	while not out.endswith(b"(qemu) "):
	    out += s.recv(4096)
	s.sendall(sys.argv[2].encode() + b"\n")
	out = b""
	while not out.endswith(b"(qemu) "):
	    out += s.recv(4096)
	EOF
}

# kill_qemu LABEL: kill the qemu of that VM if it still runs (its pid file
# outlives it: the pid is checked to be that qemu's).
kill_qemu() {
	local pidfile=$work/$1-$kver.pid pid
	pid=$(cat "$pidfile" 2> /dev/null) || return 0
	tr '\0' ' ' 2> /dev/null < "/proc/$pid/cmdline" | grep -q -- "-pidfile $pidfile " &&
		kill -9 "$pid"
}

run_case() {	# run_case confirm|node-kill|link-cut
	local c=$1 port a b aq bq apid bpid arc brc t0 took took_s end
	rm -f "$work"/*.img
	port=$(free_port)
	a=nbd-a-$c b=nbd-b-$c
	bq=(-q "-netdev socket,id=n0,listen=127.0.0.1:$port -device virtio-net-pci,netdev=n0,mac=52:54:00:a9:fe:02")
	aq=(-q "-netdev socket,id=n0,connect=127.0.0.1:$port -device virtio-net-pci,netdev=n0,mac=52:54:00:a9:fe:01")
	# B is killed in the failure cases (-K: a clean console is its verdict).
	[ "$c" = confirm ] || bq+=(-K)
	[ "$c" = link-cut ] && bq+=(-q "-monitor unix:$work/b.monitor,server=on,wait=off")
	"$top/scripts/vm/run.sh" -k "$kver" -w "$work" -d export:64M -t 600 -l "$b" "${bq[@]}" -- \
		"$guest" node > "$work/$b.out" 2>&1 &
	bpid=$!
	# A connects to B's listening socket: B's qemu must be up first (its
	# run.sh builds what both VMs boot from, when not prebuilt).
	while kill -0 "$bpid" 2> /dev/null && [ -z "$(ss -Htln "sport = :$port")" ]; do
		sleep 0.2
	done
	"$top/scripts/vm/run.sh" -k "$kver" -w "$work" -d vol:64M -t 600 -l "$a" "${aq[@]}" -- \
		"$guest" volume "$([ "$c" = confirm ] && echo confirm || echo fail)" "$nbd_timeout" \
		> "$work/$a.out" 2>&1 &
	apid=$!
	if [ "$c" != confirm ]; then
		if wait_for "$work/$a-$kver.ktap" "# copying" "$apid"; then
			case $c in
			node-kill) kill_qemu "$b" ;;
			link-cut) monitor "$work/b.monitor" "set_link n0 off" ;;
			esac
			t0=${EPOCHREALTIME/./}
			wait_for "$work/$a-$kver.ktap" "# destination failed" "$apid"
			took=$(( (${EPOCHREALTIME/./} - t0) / 100000 ))
			took_s=$((took / 10)).$((took % 10))
			if [ "$took" -le $((halt_limit * 10)) ]; then
				ok "$c: A's migration halted $took_s s after B went away (at most $halt_limit s)"
			else
				not_ok "$c: A's migration halted $took_s s after B went away (at most $halt_limit s)"
			fi
		else
			not_ok "$c: A never reported copying; B was not taken away"
		fi
	fi
	wait "$apid"
	arc=$?
	# B ends by itself once it has checked A's list (A sends it unless it
	# stopped early), a minute at most; in the failure cases it is taken
	# down now.
	end=$((SECONDS + 60))
	while [ "$c" = confirm ] && [ $SECONDS -lt $end ] && kill -0 "$bpid" 2> /dev/null; do
		sleep 0.5
	done
	kill_qemu "$b"
	wait "$bpid"
	brc=$?
	if [ "$c" = confirm ]; then
		relay "$c" "$work/$a-$kver.ktap" 5
		relay "$c" "$work/$b-$kver.ktap" 3
	else
		relay "$c" "$work/$a-$kver.ktap" 8
		# How A's kernel took it (nbd's timeouts and errors are expected).
		tr -d '\r' < "$work/$a-$kver.console" | grep -a -E 'nbd0:|device-mapper: migrate' | head -n 8 |
			sed 's/^/# node A console: /'
	fi
	verdict "$c: node A" $arc "$work/$a.out"
	verdict "$c: node B" $brc "$work/$b.out"
}

for c in "${cases[@]}"; do
	start=$SECONDS
	run_case "$c"
	echo "# $c: $((SECONDS - start)) s"
done
[ "$n" -eq "$planned" ] || echo "# ran $n cases"
exit $failed
