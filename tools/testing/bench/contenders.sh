#!/bin/bash
# Guest half of the contenders benchmark: dm-migrate beside a plain copy,
# dm-raid1's resync, dm-clone and dm-linear, on the same throttled legs, the
# contenders interleaved within each round. Prints one line per measurement:
#   result <measure> <contender> <round> <value> [<value>...]
# which tools/testing/bench/run.sh turns into medians and ratios. A second
# argument runs only the measures it names ("discarded_copy cutover").
# groups, dm-migrate alone: rate groups' copy rates and a volume's memory.
all="thin idle_copy foreground half_read write_cost converge cutover post_copy discarded_copy verify memory groups"
rounds=${1:-3}
measures=${2:-$all}
# A misspelt measure would silently measure nothing.
for m in $measures; do
	[[ " $all " == *" $m "* ]] || { echo "contenders: unknown measure '$m' (measures: $all)" >&2; exit 2; }
done
want() { [[ " $measures " == *" $1 "* ]]; }
. /dmm/tools/testing/selftests/dm-migrate/lib.sh

src=$(disk src) && dst=$(disk dst) && tmeta=$(disk tmeta) || exit 1
region=1024			# sectors: the tool's default, 512 KiB
len=$(sectors "$src")		# the whole 1 GiB for copies and foreground
conv_len=$((128 * 2048))	# 128 MiB for convergence
cut_len=$((32 * 2048))		# 32 MiB for the cutover
mib=$((len / 2048))
# raid1: md loads its personality on demand, which this guest cannot.
for m in dm-migrate dm-raid raid1 dm-mirror dm-zero dm-thin-pool; do
	modprobe "$m" || exit 1
done
# dm-clone, which Debian's kernels do not ship: tools/testing/bench/run.sh
# builds it for 6.12 alone and puts it beside dm-migrate.ko.
clone=
if want post_copy; then
	ko=/lib/modules/$(uname -r)/extra/dm-clone.ko
	if [ -f "$ko" ]; then
		modprobe dm-persistent-data && insmod "$ko" || exit 1
		clone=clone
	else
		echo "# post_copy: no dm-clone.ko for $(uname -r) (built for 6.12 only): the clone contender is skipped"
	fi
fi

# stat DEV FIELD: a counter of /sys/block/DEV/stat (3 sectors read,
# 7 sectors written).
stat_of() {
	awk -v f="$2" '{ print $f }' "/sys/block/$(basename "$1")/stat"
}

now_ms() {
	echo $(($(uptime_cs) * 10))
}

# raid_synced NAME: dm-raid's resync finished ("idle" with all in sync).
raid_synced() {
	dmsetup status "$1" | awk '{ split($7, r, "/"); exit !(r[1] == r[2] && $8 == "idle") }'
}

raid_copied() {	# sectors dm-raid has resynced
	dmsetup status "$1" | awk '{ split($7, r, "/"); print r[1] }'
}

migrate_copied() {	# sectors dm-migrate has copied
	echo $(($(in_sync "$1") * region))
}

# dm-clone's status: --noflush, as without it a status commits dm-clone's
# metadata, flushing the destination.
clone_hydrated() {	# dm-clone has hydrated every region
	dmsetup status --noflush "$1" | awk '{ split($7, h, "/"); exit !(h[2] > 0 && h[1] == h[2]) }'
}

clone_copied() {	# sectors dm-clone has hydrated
	dmsetup status --noflush "$1" | awk -v r="$region" '{ split($7, h, "/"); print h[1] * r }'
}

# create CONTENDER LEN [held]: the device "bench" over the legs' first LEN
# sectors, copying from src to dst where the contender copies; "held": the
# post-copy contenders' background copy held (a write still copies its
# region first).
create() {
	local feat
	case $1 in
	migrate) echo "0 $2 migrate $src $dst - $region" | dmsetup create bench ;;
	# A raid1 set without metadata devices, leg 1 rebuilt from leg 0 (with
	# "sync" alone such a set reports itself in sync at once).
	raid1) echo "0 $2 raid raid1 5 0 rebuild 1 region_size $region 2 - $src - $dst" |
		dmsetup create bench ;;
	linear) echo "0 $2 linear $src 0" | dmsetup create bench ;;
	# The destination the volume from the start, the metadata on the
	# unthrottled disk and new.
	postcopy)
		feat=(fresh post_copy ${3:+paused})
		echo "0 $2 migrate $src $dst $tmeta $region ${#feat[@]} ${feat[*]}" | dmsetup create bench ;;
	clone)
		dd if=/dev/zero of="$tmeta" bs=4k count=1 oflag=direct 2> /dev/null
		echo "0 $2 clone $tmeta $dst $src $region${3:+ 1 no_hydration}" | dmsetup create bench ;;
	esac
}

copied() {
	case $1 in
	migrate | postcopy) migrate_copied bench ;;
	clone) clone_copied bench ;;
	verify) echo $(($(field bench 18) / 512)) ;;	# compared, per leg
	raid1) raid_copied bench ;;
	*) echo 0 ;;
	esac
}

# wait_copied CONTENDER [SECTORS]: poll until the copy is done, or has
# copied SECTORS (at most 20 minutes). dm-linear copies nothing.
wait_copied() {
	local i
	for ((i = 0; i < 12000; i++)); do
		if [ -n "${2:-}" ]; then
			[ "$1" = linear ] || [ "$(copied "$1")" -ge "$2" ] && return 0
		else
			case $1 in
			migrate | postcopy) [ "$(field bench 1)" = synced ] && return 0 ;;
			raid1) raid_synced bench && return 0 ;;
			clone) clone_hydrated bench && return 0 ;;
			esac
		fi
		sleep 0.1
	done
	return 1
}

# Idle copy of the whole volume: MiB/s, and sectors read from the source and
# written to the destination per sector of volume; MEASURE (default
# idle_copy) names the result.
idle_copy() {
	local c=$1 round=$2 t0 t1 r0 w0
	r0=$(stat_of "$src" 3)
	w0=$(stat_of "$dst" 7)
	t0=$(now_ms)
	if [ "$c" = plain ]; then
		dd if="$src" of="$dst" bs=1M count="$mib" iflag=direct oflag=direct 2> /dev/null
	else
		create "$c" "$len" && wait_copied "$c"
	fi
	t1=$(now_ms)
	[ "$c" = plain ] || dmsetup remove bench
	echo "result ${3:-idle_copy} $c $round $(awk -v m="$mib" -v ms=$((t1 - t0)) 'BEGIN { printf "%.2f", m * 1000 / ms }')" \
		"$(awk -v a=$(($(stat_of "$src" 3) - r0)) -v l="$len" 'BEGIN { printf "%.3f", a / l }')" \
		"$(awk -v a=$(($(stat_of "$dst" 7) - w0)) -v l="$len" 'BEGIN { printf "%.3f", a / l }')"
}

# fio_window RW: 10 s of 4 KiB random I/O at queue depth 8 on the bench
# device; prints "<IOPS> <p99 latency us>" (reads and writes summed, the
# worse p99).
fio_window() {
	fio --name=fg --filename=/dev/mapper/bench --direct=1 --ioengine=libaio \
		--iodepth=8 --rw="$1" --rwmixread=70 --bs=4k --time_based --runtime=10 \
		--randrepeat=0 --output-format=terse --terse-version=3 2> /dev/null |
		awk -F';' '{
			p = 0
			for (i = 18; i <= 37; i++) if ($i ~ /^99\.000000%=/) { split($i, a, "="); p = a[2] }
			for (i = 59; i <= 78; i++) if ($i ~ /^99\.000000%=/) { split($i, a, "="); if (a[2] > p) p = a[2] }
			printf "%d %d", $8 + $49, p
		}'
}

# A source mostly discarded: the copier paused, the last 7/8 of the volume
# discarded through it, then resumed. Seconds to sync, and sectors read
# from the source per sector of volume.
discarded_copy() {
	local round=$1 t0 t1 r0
	echo "0 $len migrate $src $dst - $region 1 paused" | dmsetup create bench || return 1
	blkdiscard -o $((len / 8 * 512)) /dev/mapper/bench || return 1
	r0=$(stat_of "$src" 3)
	t0=$(now_ms)
	dmsetup message bench 0 resume
	wait_copied migrate || return 1
	t1=$(now_ms)
	dmsetup remove bench
	echo "result discarded_copy migrate $round $(awk -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", ms / 1000 }')" \
		"$(awk -v a=$(($(stat_of "$src" 3) - r0)) -v l="$len" 'BEGIN { printf "%.3f", a / l }')"
}

# window MEASURE CONTENDER ROUND RW: one fio window on the bench device;
# prints the result line with the copy's speed in the same window (MiB/s).
window() {
	local c0 t0 res
	c0=$(copied "$2")
	t0=$(now_ms)
	res=$(fio_window "$4")
	echo "result $1 $2 $3 $res" \
		"$(awk -v s=$(($(copied "$2") - c0)) -v ms=$(($(now_ms) - t0)) 'BEGIN { printf "%.2f", s / 2048 * 1000 / ms }')"
}

# Foreground I/O during the copy (from its start): IOPS and p99 of each
# workload, with the copy's speed in the same window.
foreground() {
	local c=$1 round=$2 rw
	create "$c" "$len" || return 1
	for rw in randread randwrite randrw; do
		window "fg_$rw" "$c" "$round" "$rw"
	done
	dmsetup remove bench
}

# verify_ended: the verify of the bench device has ended (dm events).
verify_ended() {
	wait_status bench 1200 '[ "${MST[13]}" != verifying ]'
}

# An online verify of the whole volume in sync (contender "verify"), beside
# a plain read of both legs side by side and dm-linear: first idle, MiB/s of
# volume compared and sectors read from each leg per sector of volume; then
# the foreground windows during a second verify, with the verify's speed in
# the same window (dm-linear: the same windows, no verify).
verify() {
	local c=$1 round=$2 t0 t1 r0 d0 rw
	case $c in
	verify) create migrate "$len" && wait_copied migrate || return 1 ;;
	linear) create linear "$len" || return 1 ;;
	esac
	if [ "$c" != linear ]; then
		r0=$(stat_of "$src" 3)
		d0=$(stat_of "$dst" 3)
		t0=$(now_ms)
		if [ "$c" = plain ]; then
			dd if="$src" of=/dev/null bs=1M count="$mib" iflag=direct 2> /dev/null &
			dd if="$dst" of=/dev/null bs=1M count="$mib" iflag=direct 2> /dev/null
			wait
		else
			dmsetup message bench 0 verify && verify_ended || return 1
		fi
		t1=$(now_ms)
		echo "result verify_idle $c $round $(awk -v m="$mib" -v ms=$((t1 - t0)) 'BEGIN { printf "%.2f", m * 1000 / ms }')" \
			"$(awk -v a=$(($(stat_of "$src" 3) - r0)) -v l="$len" 'BEGIN { printf "%.3f", a / l }')" \
			"$(awk -v a=$(($(stat_of "$dst" 3) - d0)) -v l="$len" 'BEGIN { printf "%.3f", a / l }')"
	fi
	[ "$c" = plain ] && return 0
	[ "$c" = linear ] || dmsetup message bench 0 verify || return 1
	for rw in randread randwrite randrw; do
		window "vfg_$rw" "$c" "$round" "$rw"
	done
	dmsetup remove bench
}

# Random reads once half the volume is copied: the reads of regions in
# sync may go to either leg.
half_read() {
	local c=$1 round=$2
	create "$c" "$len" && wait_copied "$c" $((len / 2)) || return 1
	window half_randread "$c" "$round" randread
	dmsetup remove bench
}

# Bytes on each leg per byte the user wrote, 10 s of random 64 KiB writes
# to a volume in sync.
write_cost() {
	local c=$1 round=$2 s0 d0 kb
	create "$c" "$conv_len" && wait_copied "$c" || return 1
	s0=$(stat_of "$src" 7)
	d0=$(stat_of "$dst" 7)
	kb=$(fio --name=w --filename=/dev/mapper/bench --direct=1 --ioengine=libaio \
		--iodepth=4 --rw=randwrite --bs=64k --time_based --runtime=10 \
		--output-format=terse --terse-version=3 2> /dev/null | cut -d';' -f47)
	dmsetup remove bench
	echo "result write_cost $c $round" \
		"$(awk -v a=$(($(stat_of "$src" 7) - s0)) -v k="$kb" 'BEGIN { printf "%.3f", a / 2 / k }')" \
		"$(awk -v a=$(($(stat_of "$dst" 7) - d0)) -v k="$kb" 'BEGIN { printf "%.3f", a / 2 / k }')"
}

# Post-copy, dm-migrate's (postcopy) beside dm-clone's, the destination the
# volume from the start: the idle copy of the whole volume (plain: dd); the
# foreground windows from the copy's start, beside dm-linear on the
# destination; and, the background copy held, the cost of 10 s of 4 KiB
# writes to regions not copied (each copies its region first): sectors read
# from the source and written to the destination per sector the user wrote.
post_copy() {
	local c=$1 round=$2 rw r0 w0 kb
	[ "$c" = linear ] || idle_copy "$c" "$round" post_copy_idle
	[ "$c" = plain ] && return 0
	if [ "$c" = linear ]; then
		echo "0 $len linear $dst 0" | dmsetup create bench
	else
		create "$c" "$len"
	fi || return 1
	for rw in randread randwrite randrw; do
		window "post_copy_$rw" "$c" "$round" "$rw"
	done
	dmsetup remove bench
	[ "$c" = linear ] && return 0
	create "$c" "$len" held || return 1
	# The regions in a random order, one 4 KiB write at a random place in
	# each: fio's random offsets would come back to regions already copied.
	awk -v n=$((len / region)) -v rs=$((region * 512)) 'BEGIN {
		srand()
		for (i = 0; i < n; i++) p[i] = i
		for (i = n - 1; i > 0; i--) { j = int(rand() * (i + 1)); t = p[i]; p[i] = p[j]; p[j] = t }
		print "fio version 2 iolog"
		print "/dev/mapper/bench add"
		print "/dev/mapper/bench open"
		for (i = 0; i < n; i++) print "/dev/mapper/bench write " p[i] * rs + int(rand() * rs / 4096) * 4096 " 4096"
		print "/dev/mapper/bench close"
	}' > /tmp/copy_first.iolog
	r0=$(stat_of "$src" 3)
	w0=$(stat_of "$dst" 7)
	kb=$(fio --name=cf --read_iolog=/tmp/copy_first.iolog --direct=1 --ioengine=libaio \
		--iodepth=8 --runtime=10 --output-format=terse --terse-version=3 2> /dev/null | cut -d';' -f47)
	dmsetup remove bench
	echo "result post_copy_copy_first $c $round" \
		"$(awk -v a=$(($(stat_of "$src" 3) - r0)) -v k="$kb" 'BEGIN { printf "%.3f", a / 2 / k }')" \
		"$(awk -v a=$(($(stat_of "$dst" 7) - w0)) -v k="$kb" 'BEGIN { printf "%.3f", a / 2 / k }')"
}

# Convergence: time to sync 128 MiB while fio writes at LOAD% of a leg's
# 20 MiB/s (random 64 KiB writes, rate-limited), in seconds; 0 = idle.
converge() {
	local load=$1 round=$2 t0 t1 fio_pid='' ok=0
	create migrate "$conv_len" || return 1
	if [ "$load" -gt 0 ]; then
		fio --name=load --filename=/dev/mapper/bench --direct=1 --ioengine=libaio \
			--iodepth=4 --rw=randwrite --bs=64k --time_based \
			--runtime=1200 --rate=$((20 * load / 100))m > /dev/null 2>&1 &
		fio_pid=$!
	fi
	t0=$(now_ms)
	wait_copied migrate && ok=1
	t1=$(now_ms)
	if [ -n "$fio_pid" ]; then
		kill "$fio_pid"
		wait "$fio_pid" 2> /dev/null
	fi
	dmsetup remove bench
	[ "$ok" = 1 ] || t1=-1000
	echo "result converge load$load $round $(awk -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", ms / 1000 }')"
}

# The cutover: fio writes (4 KiB, queue depth 1) to a 32 MiB volume in
# sync while its table is swapped; the longest completion latency (ms) is
# the stall. "confirm" is dmmigrate confirm ("confirm_md" with a metadata
# device on the unthrottled disk), "swap1" a one-process swap,
# "swap3" three dmsetup commands, "none" no swap at all (the throttled
# legs' own worst latency); "interpose" and "collapse" move the bottom of
# a two-layer stack (fio on a linear device over a linear device over the
# leg, as an LV on a crypt device) under a volume and out again; the second
# value is the suspended time the swapping process measured (ms), where it
# reports one.
cutover() {
	local how=$1 round=$2 fio_pid lat inproc=- md=() on=/dev/mapper/vol
	# dm uuids: the devices of a migration with metadata must be found
	# again after a reboot.
	dmsetup create s32 --uuid DMM-BENCH-s32 --table "0 $cut_len linear $src 0"
	dmsetup create d32 --uuid DMM-BENCH-d32 --table "0 $cut_len linear $dst 0"
	if [ "$how" = confirm_md ]; then
		dmsetup create m32 --uuid DMM-BENCH-m32 --table "0 8192 linear $tmeta 0"
		md=(--metadata /dev/mapper/m32 --fresh-metadata)
	fi
	if [ "$how" = confirm ] || [ "$how" = confirm_md ]; then
		if ! { dmmigrate create vol /dev/mapper/s32 > /dev/null &&
			dmmigrate start vol /dev/mapper/d32 --force "${md[@]}" > /dev/null &&
			dmmigrate wait vol --timeout 120 > /dev/null; }; then
			dmsetup remove vol s32 d32
			[ "$how" = confirm_md ] && dmsetup remove m32
			return 1
		fi
	elif [ "$how" = interpose ] || [ "$how" = collapse ]; then
		on=/dev/mapper/top
		dmsetup create mid --table "0 $cut_len linear $(majmin /dev/mapper/s32) 0"
		dmsetup create top --table "0 $cut_len linear $(majmin /dev/mapper/mid) 0"
		[ "$how" = interpose ] || dmmigrate create vol /dev/mapper/s32 --interpose > /dev/null
	else
		dmsetup create vol --table "0 $cut_len linear $(majmin /dev/mapper/s32) 0"
	fi
	fio --name=cut --filename="$on" --direct=1 --ioengine=psync \
		--rw=randwrite --bs=4k --time_based --runtime=6 \
		--output-format=terse --terse-version=3 > /tmp/cut.out 2> /dev/null &
	fio_pid=$!
	sleep 3
	case $how in
	confirm | confirm_md)
		inproc=$(dmmigrate confirm vol | sed -n 's/.*I\/O paused \([0-9]*\) ms.*/\1/p') ;;
	interpose)
		inproc=$(dmmigrate create vol /dev/mapper/s32 --interpose |
			sed -n 's/.*I\/O paused \([0-9]*\) ms.*/\1/p') ;;
	collapse)
		inproc=$(dmmigrate remove vol --collapse | sed -n 's/.*I\/O paused \([0-9]*\) ms.*/\1/p') ;;
	swap1)
		inproc=$(dmm-swap vol "0 $cut_len linear $(majmin /dev/mapper/d32) 0" |
			awk '{ printf "%.1f", $1 / 1000 }') ;;
	swap3)
		dmsetup reload vol --table "0 $cut_len linear $(majmin /dev/mapper/d32) 0" &&
			dmsetup suspend vol && dmsetup resume vol ;;
	none) ;;
	esac
	wait "$fio_pid"
	# Write clat max, usec, field 56 of terse v3.
	lat=$(cut -d';' -f56 < /tmp/cut.out)
	if [ "$how" = confirm ] || [ "$how" = confirm_md ]; then
		dmmigrate remove vol > /dev/null
	elif [ "$on" = /dev/mapper/top ]; then
		dmmigrate remove vol --collapse > /dev/null
		dmsetup remove top mid
	else
		dmsetup remove vol
	fi
	dmsetup remove s32 d32
	[ "$how" = confirm_md ] && dmsetup remove m32
	echo "result cutover $how $round $(awk -v l="$lat" 'BEGIN { printf "%.1f", l / 1000 }') $inproc"
}

# A destination that stays thin: the source 10% written (1 MiB in every
# 10), copied onto a dm-thin volume over the destination leg (64 KiB
# blocks, metadata on an unthrottled disk) by dd and by dm-migrate: MiB/s
# of volume, and pool blocks allocated.
thin() {
	local c=$1 round=$2 t0 t1 used
	dd if=/dev/zero of="$tmeta" bs=4k count=1 oflag=direct 2> /dev/null
	dmsetup create tpool --table "0 $len thin-pool $tmeta $dst 128 0" &&
		dmsetup message tpool 0 "create_thin 0" &&
		dmsetup create tdst --table "0 $len thin /dev/mapper/tpool 0" || return 1
	t0=$(now_ms)
	if [ "$c" = plain ]; then
		dd if="$src" of=/dev/mapper/tdst bs=1M count="$mib" iflag=direct oflag=direct 2> /dev/null
	else
		echo "0 $len migrate $src /dev/mapper/tdst - $region" | dmsetup create bench &&
			wait_copied migrate
		dmsetup remove bench
	fi
	t1=$(now_ms)
	used=$(dmsetup status tpool | awk '{ split($6, a, "/"); print a[1] }')
	dmsetup remove tdst tpool
	echo "result thin $c $round $(awk -v m="$mib" -v ms=$((t1 - t0)) 'BEGIN { printf "%.2f", m * 1000 / ms }') $used"
}

# In-core memory of a 1 TiB volume (legs on dm-zero), from the kernel's
# slab and vmalloc counters; kB, and bytes per region.
memory() {
	local c=$1 tib=$((2 * 1024 * 1024 * 1024)) before after regions=$((2 * 1024 * 1024 * 1024 / region))
	dmsetup create z1 --table "0 $tib zero"
	dmsetup create z2 --table "0 $tib zero"
	sync
	echo 3 > /proc/sys/vm/drop_caches
	before=$(awk '/^(Slab|VmallocUsed):/ { s += $2 } END { print s }' /proc/meminfo)
	case $c in
	migrate) echo "0 $tib migrate /dev/mapper/z1 /dev/mapper/z2 - $region 1 paused" | dmsetup create bench ;;
	mirror) echo "0 $tib mirror core 2 $region nosync 2 /dev/mapper/z1 0 /dev/mapper/z2 0" | dmsetup create bench ;;
	esac
	after=$(awk '/^(Slab|VmallocUsed):/ { s += $2 } END { print s }' /proc/meminfo)
	dmsetup remove bench z1 z2
	echo "result memory $c 1 $((after - before)) $(awk -v k=$((after - before)) -v r="$regions" 'BEGIN { printf "%.3f", k * 1024 / r }')"
}

# Rate groups (Documentation/dm-migrate.rst): N volumes copying in one
# group under one budget, a quarter of a leg's 20 MiB/s. Regions of 128 KiB,
# so that a member's rate over the window is counted in fine steps.
group_budget=$((5 * 1024 * 1024))
group_region=256

# snap and sfield (lib.sh): every member's status in one dmsetup.

# groups_clean: the groups measures' devices, members before their legs.
groups_clean() {
	local d
	for d in $(dmsetup ls | awk '$1 ~ /^gm[0-9]+$/ { print $1 }') \
		$(dmsetup ls | awk '$1 ~ /^(g[sd]|z[lr])[0-9]+$/ { print $1 }'); do
		dmsetup remove "$d"
	done
}

# groups_rate N ROUND: N volumes, slices of the legs' first 1 GiB (1/N
# each), made in one group at a budget of 1 byte/s (each copies a region,
# then waits), then given the real budget by one message, which starts them
# together. After 3 s, their bytes copied (status) over a 30 s window: the
# group's MiB/s, its ratio to the budget, and the least and the most a
# member copied, MiB/s.
groups_rate() {
	local n=$1 round=$2 slen=$((len / $1)) i name concise='' t0 got sum=0 lo='' hi=0
	local -a names=()
	local -A b0=()
	for ((i = 0; i < n; i++)); do
		concise+="gs$i,,,rw,0 $slen linear $src $((i * slen));gd$i,,,rw,0 $slen linear $dst $((i * slen));"
	done
	dmsetup create --concise "${concise%;}" || return 1
	for ((i = 0; i < n; i++)); do
		name=$(printf 'gm%02d' "$i")
		echo "0 $slen migrate /dev/mapper/gs$i /dev/mapper/gd$i - $group_region 4 group bench 1 0" |
			dmsetup create "$name" || { groups_clean; return 1; }
		names+=("$name")
	done
	dmsetup message gm00 0 group bench "$group_budget" 0 || { groups_clean; return 1; }
	nap 3
	snap
	t0=$ST_AT
	for name in "${names[@]}"; do
		b0[$name]=$(sfield "$name" 5)
	done
	nap 30
	snap
	for name in "${names[@]}"; do
		got=$(($(sfield "$name" 5) - ${b0[$name]}))
		sum=$((sum + got))
		[ -n "$lo" ] && [ "$got" -ge "$lo" ] || lo=$got
		[ "$got" -le "$hi" ] || hi=$got
	done
	groups_clean
	awk -v n="$n" -v r="$round" -v s="$sum" -v lo="$lo" -v hi="$hi" -v us=$((ST_AT - t0)) \
		-v b="$group_budget" 'BEGIN {
		m = 1048576 * us / 1000000
		printf "result groups n%d %d %.2f %.3f %.3f %.3f\n", n, r, s / m, s * 1000000 / us / b, lo / m, hi / m
	}'
}

# kmem: the kernel's slab, vmalloc and per-CPU use, kB (/proc/meminfo).
kmem() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	awk '/^(Slab|VmallocUsed|Percpu):/ { s += $2 } END { print s }' /proc/meminfo
}

# group_memory CASE ROUND: the kernel memory 16 volumes on dm-zero legs
# (made before) add when created, in bytes per volume. linear: dm-linear
# devices of 1 GiB, the mapped device's own part; paused: migrate volumes
# of 1 GiB, region 128 KiB, paused, in a group; paused_1t: the same at
# 1 TiB; copying: of 1 GiB in a group at 1 byte/s, their copiers started
# (their copy buffers held) and waiting for the budget.
group_memory() {
	local c=$1 round=$2 n=16 size=$((2 * 1024 * 1024)) i concise='' feat before after end
	[ "$c" = paused_1t ] && size=$((2 * 1024 * 1024 * 1024))
	case $c in
	copying) feat="4 group mem 1 0" ;;
	*) feat="5 paused group mem 1 0" ;;
	esac
	for ((i = 0; i < n; i++)); do
		concise+="zl$i,,,rw,0 $size zero;zr$i,,,rw,0 $size zero;"
	done
	dmsetup create --concise "${concise%;}" || return 1
	before=$(kmem)
	for ((i = 0; i < n; i++)); do
		if [ "$c" = linear ]; then
			echo "0 $size linear /dev/mapper/zl$i 0"
		else
			echo "0 $size migrate /dev/mapper/zl$i /dev/mapper/zr$i - $group_region $feat"
		fi | dmsetup create "$(printf 'gm%02d' "$i")" || { groups_clean; return 1; }
	done
	if [ "$c" = copying ]; then
		# A member's copier allocates its buffers before it asks for the
		# budget, which lets a few copies through (each table loaded
		# resets it) and then holds every member for hours: once one has
		# copied, the copiers have started.
		end=$((SECONDS + 60))
		while [ "$SECONDS" -lt "$end" ]; do
			snap
			for ((i = 0; i < n; i++)); do
				[ "$(sfield "$(printf 'gm%02d' "$i")" 5)" = 0 ] || break
			done
			[ "$i" -lt "$n" ] && break
			nap 0.5
		done
		nap 2
	fi
	after=$(kmem)
	groups_clean
	echo "result group_memory $c $round $(((after - before) * 1024 / n))"
}

# The thin measure's source, 10% written over zeros (discarded: the legs'
# images punch holes), then, for the others, data throughout: zeros would
# not be written to the destination (dm-migrate-copier.c).
if want thin; then
	blkdiscard "$src"
	for i in $(seq 0 $((mib / 10 - 1))); do
		dd if=/dev/urandom of="$src" bs=1M count=1 seek=$((i * 10)) oflag=direct 2> /dev/null
	done
	for round in $(seq "$rounds"); do
		for c in plain migrate; do
			thin "$c" "$round"
		done
	done
fi
dd if=/dev/urandom of="$src" bs=1M count="$mib" oflag=direct 2> /dev/null

# Before the rounds below: discarded_copy leaves most of the source
# unmapped, and the groups' copies are to read data.
if want groups; then
	for round in $(seq "$rounds"); do
		for n in 1 4 16; do
			groups_rate "$n" "$round"
		done
		for c in linear paused paused_1t copying; do
			group_memory "$c" "$round"
		done
	done
fi

for round in $(seq "$rounds"); do
	want idle_copy && for c in plain migrate raid1; do
		idle_copy "$c" "$round"
	done
	want foreground && for c in migrate raid1 linear; do
		foreground "$c" "$round"
	done
	want half_read && for c in migrate raid1 linear; do
		half_read "$c" "$round"
	done
	want write_cost && for c in migrate raid1; do
		write_cost "$c" "$round"
	done
	want converge && for load in 0 50 90; do
		converge "$load" "$round"
	done
	want cutover && for i in 1 2 3 4; do
		for how in confirm confirm_md interpose collapse swap1 swap3 none; do
			cutover "$how" "$round"
		done
	done
	want verify && for c in plain verify linear; do
		verify "$c" "$round"
	done
	want post_copy && for c in plain postcopy $clone linear; do
		post_copy "$c" "$round"
	done
	# Last: it leaves most of the source unmapped.
	want discarded_copy && discarded_copy "$round"
done
want memory && for c in migrate mirror; do
	memory "$c"
done
true
