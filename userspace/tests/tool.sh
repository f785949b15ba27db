#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# dmmigrate's exit codes and one-line error messages for bad usage, each
# run under valgrind. Needs no device-mapper. Usage: tool.sh PATH/dmmigrate
set -u

tool=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

vg=()
if command -v valgrind >/dev/null; then
	vg=(valgrind -q --error-exitcode=1 --leak-check=full
	    --suppressions="$(dirname "$0")/valgrind.supp"
	    --log-file="$tmp/valgrind")
fi

result() {
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		echo "# $3"
		failed=1
	fi
}

# expect NAME CODE STDERR-PATTERN ARGS...: exit code, the message format
# "dmmigrate: <what>; <what to do>" on exactly one line, valgrind clean.
expect() {
	local name=$1 code=$2 pattern=$3 rc lines
	shift 3

	: >"$tmp/valgrind"
	"${vg[@]}" "$tool" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	lines=$(wc -l <"$tmp/err")
	if [ -s "$tmp/valgrind" ]; then
		result fail "$name" "valgrind: $(head -c 300 "$tmp/valgrind")"
	elif [ "$rc" != "$code" ]; then
		result fail "$name" "exit $rc, want $code: $(cat "$tmp/err")"
	elif [ "$code" = 0 ]; then
		if [ "$lines" = 0 ] && grep -Eq -- "$pattern" "$tmp/out"; then
			result ok "$name"
		else
			result fail "$name" "stdout lacks '$pattern'"
		fi
	elif [ "$lines" = 1 ] && grep -Eq '^dmmigrate: [^;]+; .+$' "$tmp/err" &&
	     grep -Eq -- "$pattern" "$tmp/err"; then
		result ok "$name"
	else
		result fail "$name" "stderr: $(cat "$tmp/err")"
	fi
}

echo "TAP version 13"
[ ${#vg[@]} -gt 0 ] || echo "# valgrind not installed: running without it"

expect "no command"		1 "no command"		
expect "unknown command"	1 "unknown command 'frobnicate'" frobnicate
expect "unknown global option"	1 "unknown option '--frob'" --frob status
expect "--help"			0 "confirm NAME"	--help
expect "--version"		0 "^dmmigrate [0-9]"	--version
expect "create: one argument"	1 "usage: dmmigrate create NAME DEVICE" create vol0
expect "start: missing DEST"	1 "wrong number of arguments" start vol0
expect "start: bad rate"	1 "invalid rate '10X'"	start vol0 /dev/null --rate 10X
expect "start: bad region size"	1 "invalid region size '1.5M'" \
	start vol0 /dev/null --region-size 1.5M
expect "start: region not a power of two" 1 "invalid region size 12288" \
	start vol0 /dev/null --region-size 12K
expect "start: region too large" 1 "invalid region size" \
	start vol0 /dev/null --region-size 2G
expect "start: --rate needs a value" 1 "'--rate' needs a value" \
	start vol0 /dev/null --rate
expect "pause: --force not valid" 1 "not valid for pause" pause vol0 --force
expect "status: unknown option" 1 "unknown option '--bogus'" status --bogus
expect "status: --watch needs NAME" 1 "--watch needs a NAME" status --watch
expect "start: --fresh-metadata needs --metadata" 1 \
	"--fresh-metadata needs --metadata DEV" start vol0 /dev/null --fresh-metadata
expect "confirm: --fresh-metadata not valid" 1 "not valid for confirm" \
	confirm vol0 --fresh-metadata
expect "start: --window needs a size" 1 "invalid window 'wide'" \
	start vol0 /dev/null --metadata /dev/null --window wide
expect "start: --window 0" 1 "invalid window '0'" \
	start vol0 /dev/null --metadata /dev/null --window 0
expect "start: --window needs --metadata" 1 "needs a metadata device" \
	start vol0 /dev/null --window 2G
expect "start: --window under 8 regions" 1 "is 7 regions of 524288 bytes; give 8 to 65536" \
	start vol0 /dev/null --metadata /dev/null --window 3584K
expect "start: --window over 65536 regions" 1 "is 131072 regions" \
	start vol0 /dev/null --metadata /dev/null --window 64G
expect "start: --post-copy needs --metadata" 1 "post-copy needs a metadata device" \
	start vol0 /dev/null --post-copy
expect "start: --post-copy takes no value" 1 "" \
	start vol0 /dev/null --metadata /dev/null --post-copy=yes
expect "create: --key-file is for --interpose" 1 "--key-file is for create --interpose" \
	create vol0 /dev/null --key-file /dev/null
expect "create: --key-file needs a file" 1 "" create vol0 /dev/null --interpose --key-file
expect "create --interpose: a key file that cannot be read" 1 "cannot read the key file" \
	create vol0 /dev/null --interpose --key-file /nonexistent
expect "remove: --key-file is for --collapse" 1 "--key-file is for remove --collapse" \
	remove vol0 --key-file /dev/null
expect "remove: --interpose is not its option" 1 "not valid for remove" remove vol0 --interpose
expect "create: --collapse is not its option" 1 "not valid for create" create vol0 /dev/null --collapse
expect "post-copy: a name is needed" 1 "usage: dmmigrate post-copy NAME" post-copy
expect "post-copy: two names" 1 "usage: dmmigrate post-copy NAME" post-copy a b
expect "post-copy: bad name" 1 "invalid volume name 'a/b'" post-copy a/b
expect "post-copy: --rate is not its option" 1 "not valid for post-copy" post-copy vol0 --rate 1M
expect "pause: --window not valid" 1 "not valid for pause" pause vol0 --window 2G
expect "activate: two names" 1 "usage: dmmigrate activate \\[NAME\\]" \
	activate a b
expect "activate: bad name" 1 "invalid volume name 'a/b'" activate a/b
expect "--help lists activate" 0 "activate \\[NAME\\]" --help
expect "status: --watch with --json" 1 "--watch needs a NAME and no --json" \
	status vol0 --watch --json
expect "wait: bad timeout"	1 "invalid timeout 'soon'" wait vol0 --timeout soon
expect "wait: zero timeout"	1 "invalid timeout '0'"	wait vol0 --timeout 0
expect "rate: bad rate"		1 "invalid rate 'fast'"	rate vol0 fast
expect "list: extra argument"	1 "usage: dmmigrate list" list vol0
expect "confirm: bad name"	1 "invalid volume name 'a/b'" confirm a/b
expect "abort: name too long"	1 "invalid volume name" abort "$(printf 'x%.0s' {1..101})"
expect "create: missing device"	4 "no such device"	create vol0 /nonexistent
expect "create: not a block device" 1 "not a block device" create vol0 /etc/passwd

# Per-command help, and the options every command takes anywhere.
for cmd in create start status wait confirm verify abort post-copy pause resume rate \
	   monitor list remove activate; do
	expect "$cmd --help"	0 "^Usage: dmmigrate $cmd"	"$cmd" --help
done
expect "-h after the command"	0 "^Usage: dmmigrate rate NAME RATE" rate -h
expect "-v and -q together"	1 "-v and -q do not go together" list -v -q
expect "rate: MB is not a suffix" 1 "invalid rate '10MB'" rate vol0 10MB
expect "monitor: two names"	1 "usage: dmmigrate monitor \\[NAME\\]" monitor a b
expect "monitor: zero timeout"	1 "invalid timeout '0'" monitor --timeout 0
expect "monitor: --watch is not its option" 1 "not valid for monitor" monitor --watch
expect "confirm: --timeout without --wait" 1 "--timeout is for confirm --wait or --verify" \
	confirm vol0 --timeout 5
expect "wait: timeout past 49 days" 1 "at most 49 days" wait vol0 --timeout 4294968
expect "start: bad rate suffix /m" 1 "invalid rate '10M/m'" start vol0 /dev/null --rate 10M/m

# expect_json NAME CODE COMMAND ARGS...: with --json, stdout is one line, a
# JSON object that Python's parser reads under each locale, of contract
# version 1, naming COMMAND ("null" if none), and with an "error" whose
# code is the exit code and whose message is stderr's line (none on exit 0).
json_check='
import json, sys
want_code, want_cmd, err = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = open(sys.argv[4]).read()
assert out.count("\n") == 1 and out.endswith("\n"), "not one line: %r" % out
a = json.loads(out)
assert a["version"] == 1, a
assert a["command"] == (None if want_cmd == "null" else want_cmd), a
if want_code:
    assert a["error"]["code"] == want_code, a
    assert "dmmigrate: " + a["error"]["message"] == err, (a, err)
    assert a["error"]["name"], a
    assert "volumes" not in a, "a list beside the error: %r" % a
else:
    assert "error" not in a, a
'
expect_json() {
	local name=$1 code=$2 cmd=$3 rc loc why=
	shift 3

	for loc in C C.UTF-8 de_DE.UTF-8 fr_FR.UTF-8; do
		: >"$tmp/valgrind"
		if [ "$loc" = C ]; then
			LC_ALL=$loc "${vg[@]}" "$tool" "$@" >"$tmp/out" 2>"$tmp/err"
		else
			LC_ALL=$loc "$tool" "$@" >"$tmp/out" 2>"$tmp/err"
		fi
		rc=$?
		if [ -s "$tmp/valgrind" ]; then
			why="valgrind: $(head -c 300 "$tmp/valgrind")"
		elif [ "$rc" != "$code" ]; then
			why="$loc: exit $rc, want $code: $(cat "$tmp/err")"
		elif ! python3 -c "$json_check" "$code" "$cmd" "$(cat "$tmp/err")" \
			"$tmp/out" 2>"$tmp/py"; then
			why="$loc: $(tail -n 1 "$tmp/py")"
		fi
		[ -z "$why" ] || break
	done
	if [ -z "$why" ]; then
		result ok "json: $name"
	else
		result fail "json: $name" "$why"
	fi
}

if ! command -v python3 >/dev/null; then
	n=$((n + 1))
	echo "ok $n - json answers parsed # SKIP python3 not installed"
else
	expect_json "usage error"		1 null --json
	expect_json "unknown command"	1 null frobnicate --json
	expect_json "bad rate, --json last"	1 rate rate vol0 10X --json
	expect_json "bad rate, --json first"	1 rate --json rate vol0 10X
	expect_json "wrong arguments"		1 start --json start vol0
	expect_json "missing device"		4 create --json create vol0 /nonexistent
	expect_json "a quote and a backslash in the message" 1 confirm \
		--json confirm 'a"b\c'
	if ! grep -qw device-mapper /proc/devices; then
		expect_json "status without device-mapper" 9 status --json status
		expect_json "list without device-mapper" 9 list list --json
		expect_json "monitor without device-mapper" 9 monitor monitor --json
	fi
fi

# Batch plans are read whole and refused before anything is asked of
# device-mapper: no plan here reaches it.
printf 'group g --rate 4M\nv1 /dev/sdb\n\nv2 /dev/sdb\n' >"$tmp/dup"
printf 'v1 /dev/sdb --weight 1001\n' >"$tmp/weight"
printf 'v1 /dev/sdb --region-size\n' >"$tmp/novalue"
printf 'v1\n' >"$tmp/nodest"
printf 'v1 /dev/sdb\ngroup g\n' >"$tmp/lategroup"
printf '# nothing\n\n' >"$tmp/empty"
printf '{"group": "g", "volumes": [{"name": "v1", "dest": "/dev/sdb", "wieght": 2}]}' >"$tmp/key.json"
printf '{"volumes": [{"name": "v1"}]}' >"$tmp/nodest.json"
printf '{"volumes": [' >"$tmp/cut.json"
printf 'v1 /dev/sdb\n' >"$tmp/nogroup"
expect "batch: a destination twice, named with its line" 1 "dup line 4: /dev/sdb is the destination of v1 and of v2" batch "$tmp/dup"
expect "batch: a weight out of range" 1 "invalid weight '1001': give 1 to 1000" batch "$tmp/weight"
expect "batch: an option without its value" 1 "option '--region-size' needs a value" batch "$tmp/novalue"
expect "batch: a volume without a destination" 1 "give NAME DEST" batch "$tmp/nodest"
expect "batch: the group line after the volumes" 1 "the group line comes once, before the volumes" batch "$tmp/lategroup"
expect "batch: a plan of no volume" 1 "names no volume" batch "$tmp/empty"
expect "batch: JSON with an unknown key" 1 'unknown key "wieght"' batch "$tmp/key.json"
expect "batch: JSON volume without dest" 1 'give an object with "name" and "dest"' batch "$tmp/nodest.json"
expect "batch: JSON cut short" 1 "not valid JSON" batch "$tmp/cut.json"
expect "batch: no group in the plan or the options" 1 "the plan names no group" batch "$tmp/nogroup"
expect "batch: a plan that is not there" 1 "cannot read it" batch "$tmp/none"
expect "group: a bad name" 1 "invalid rate group name" group 'a b' --rate 1M
expect "group: a limit out of range" 1 "invalid max-active '65536'" group g --max-active 65536
expect "group: nothing to do" 1 "give --rate, --max-active, or volumes" group g
expect "group -: no budget" 1 "no --rate or --max-active" group - --rate 1M v1
expect "start: a weight without a group" 1 "--weight is for a start in a rate group" start v1 /dev/sdb --weight 2
expect "start: weight 0" 1 "invalid weight '0'" start v1 /dev/sdb --group g --weight 0
expect "status --group with a name" 1 "takes no NAME" status v1 --group g

if grep -qw device-mapper /proc/devices; then
	n=$((n + 1))
	echo "ok $n - status without device-mapper # SKIP device-mapper is present"
else
	expect "status without device-mapper" 9 "device-mapper is not available" status
	# Parsed, not refused as usage: the rate reached the library.
	expect "rate: MiB/s, as status prints it" 9 "device-mapper is not available" \
		rate vol0 100MiB/s
fi

echo "1..$n"
exit $failed
