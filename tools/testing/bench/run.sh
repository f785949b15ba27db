#!/bin/bash
# make bench: the benchmarks, in one VM boot each, legs throttled well below
# what the emulated CPU can push (20 MiB/s and 500 IOPS per leg), so that
# ratios between contenders repeat. Writes Documentation/performance.md.
# DMM_BENCH_MEASURES runs some of contenders.sh's measures alone.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
series=${DMM_BENCH_KERNEL:-6.12}
kver=$("$top/scripts/vm/kver.sh" "$series")
rounds=${DMM_BENCH_ROUNDS:-3}
out=$top/build/bench/$series
mkdir -p "$out"
leg=20971520:500
# dm-clone, the post-copy measure's other contender, built from
# linux-source-6.12: a 6.1 guest goes without (contenders.sh says so).
# Measures run alone without post_copy go without it too.
clone_ko=
if [[ $kver == 6.12.* ]] && [[ -z ${DMM_BENCH_MEASURES:-} || " $DMM_BENCH_MEASURES " == *" post_copy "* ]]; then
	clone_ko=$("$top/tools/testing/bench/dm-clone.sh" "$kver")
fi

DMM_VM_MODULES=$clone_ko "$top/scripts/vm/run.sh" -k "$kver" -w "$out" -t $((2700 * rounds)) -l contenders \
	-d "src:1G:$leg" -d "dst:1G:$leg" -d tmeta:64M \
	-- /dmm/tools/testing/bench/contenders.sh "$rounds" ${DMM_BENCH_MEASURES:+"$DMM_BENCH_MEASURES"} |
	tee "$out/contenders.log"
rm -f "$out"/*.img

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# A measure not in the log (one failed, or not run) reads empty.
res() { grep "^result $1 " "$out/metadata.log" | awk -v f="$2" '{ print $f }' | median || true; }
# med MEASURE CONTENDER FIELD: the median over rounds of a contenders value
# (FIELD 5 is the first value).
med() { grep "^result $1 $2 " "$out/contenders.log" | awk -v f="$3" '{ print $f }' | median || true; }
maxof() { grep "^result $1 $2 " "$out/contenders.log" | awk -v f="$3" '{ print $f }' | sort -n | tail -n 1 || true; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

# groups_section: the rate groups' part of performance.md.
groups_section() {
	local n c v
	echo "## Rate groups"
	echo
	echo "N volumes, slices of the 1 GiB legs (1/N of them each, region"
	echo "128 KiB), copying in one rate group of equal weights under a budget of"
	echo "5 MiB/s, a quarter of a leg's 20 MiB/s: started together by one"
	echo "message, then their bytes copied (status) over a 30 s window from 3 s"
	echo "on. The group's rate and its share of the budget; the least and the"
	echo "most one member copied, MiB/s. Alone: \`DMM_BENCH_MEASURES=groups make bench\`."
	echo
	echo "| volumes | MiB/s | of the budget | member MiB/s, least | most | least of most |"
	echo "|---|---|---|---|---|---|"
	for n in 1 4 16; do
		echo "| $n | $(med groups "n$n" 5) | $(med groups "n$n" 6) | $(med groups "n$n" 7) |" \
			"$(med groups "n$n" 8) | $(ratio "$(med groups "n$n" 7)" "$(med groups "n$n" 8)") |"
	done
	echo
	echo "The kernel memory a volume costs: the growth of Slab, VmallocUsed and"
	echo "Percpu (/proc/meminfo, caches dropped) when 16 volumes are created on"
	echo "dm-zero legs made before, per volume. paused: a migrate volume of"
	echo "1 GiB, region 128 KiB (8192 regions), paused, in a group; copying: the"
	echo "same in a group at 1 byte/s, copying started and waiting for the"
	echo "budget, so holding its copy buffers (8 of the region's size up to"
	echo "512 KiB; a member queued, paused or in sync holds none); paused 1 TiB:"
	echo "8388608 regions, the bitmap of regions in sync (a bit a region) grown"
	echo "with the volume; linear: a dm-linear device of 1 GiB, the mapped"
	echo "device's own part, which the volume has before its migration too."
	echo
	echo "| volume | bytes per volume | beyond dm-linear's |"
	echo "|---|---|---|"
	for c in linear paused copying paused_1t; do
		v=$(med group_memory "$c" 5)
		echo "| ${c/_1t/ 1 TiB} | $v | $(awk -v a="$v" -v b="$(med group_memory linear 5)" \
			'BEGIN { if (a == "" || b == "") print "-"; else print a - b }') |"
	done
}

# Some measures alone (DMM_BENCH_MEASURES="verify cutover"): their raw lines,
# and performance.md, which a full run writes, left as it is; the groups'
# section is written beside the raw lines.
if [ -n "${DMM_BENCH_MEASURES:-}" ]; then
	echo "bench: $DMM_BENCH_MEASURES alone; raw results in $out/contenders.log"
	if [[ " $DMM_BENCH_MEASURES " == *" groups "* ]]; then
		groups_section > "$out/groups.md"
		echo "bench: the groups' section of performance.md in $out/groups.md"
	fi
	exit 0
fi
"$top/scripts/vm/run.sh" -k "$kver" -w "$out" -t $((1500 * rounds)) -l metadata \
	-d "src:1G:$leg" -d "dst:1G:$leg" -d "meta:16M:$leg" \
	-- /dmm/tools/testing/bench/metadata_iops.sh "$rounds" | tee "$out/metadata.log"
rm -f "$out"/*.img

# Hand-written notes below the marker line of performance.md are kept.
# 6.12's in performance.md, another series' in performance-<series>.md.
report=$top/Documentation/performance.md
[ "$series" = 6.12 ] || report=$top/Documentation/performance-$series.md
marker='<!-- make bench writes what is above this line; what follows is kept -->'
notes=$(awk -v m="$marker" 'f || $0 == m { f = 1; print }' "$report" 2> /dev/null || true)
# window_row MEASURE CONTENDER [IDLE]: "| contender | IOPS | of dm-linear | p99 |
# copy MiB/s | of its idle copy |" of one of contenders.sh's fio windows.
# IDLE (default idle_copy) is the measure the speed is a share of.
window_row() {
	local v cp=- of=-

	v=$(med "$1" "$2" 5)
	if [ "$2" != linear ]; then
		cp=$(med "$1" "$2" 7)
		of=$(ratio "$cp" "$(med "${3:-idle_copy}" "$2" 5 || true)")
	fi
	echo "| $2 | $v | $(ratio "$v" "$(med "$1" linear 5)") | $(med "$1" "$2" 6) | $cp | $of |"
}

{
	echo "# Performance"
	echo
	echo "Measured with \`make bench\` (tools/testing/bench/run.sh): one qemu VM"
	echo "(TCG, 2 vCPUs) booting $kver, each leg a virtio disk throttled to"
	echo "20 MiB/s and 500 IOPS, the contenders interleaved within each of"
	echo "$rounds rounds; medians over the rounds."
	echo "Absolute numbers are the emulator's; the ratios are the result."
	echo
	echo "Reproduce: \`make bench\` (DMM_BENCH_ROUNDS=N for N rounds,"
	echo "DMM_BENCH_KERNEL=6.1 for 6.1; the raw lines are in"
	echo "build/bench/$series/contenders.log and metadata.log)."
	echo
	echo "## Copy of an idle 1 GiB volume"
	echo
	echo "| contender | MiB/s | of the plain copy | source read per volume byte | destination written per volume byte |"
	echo "|---|---|---|---|---|"
	plain=$(med idle_copy plain 5)
	for c in plain migrate raid1; do
		v=$(med idle_copy $c 5)
		echo "| $c | $v | $(ratio "$v" "$plain") | $(med idle_copy $c 6) | $(med idle_copy $c 7) |"
	done
	echo
	echo "## A destination that stays thin"
	echo
	echo "The 1 GiB source 10% written (1 MiB in every 10, the rest never"
	echo "written), copied onto a dm-thin volume over the destination leg"
	echo "(64 KiB blocks) by dd and by dm-migrate, which sends a chunk of zeros"
	echo "as a discard (dm-thin has no write-zeroes), read back."
	echo
	echo "| contender | MiB/s | of the plain copy | pool blocks | of the plain copy's |"
	echo "|---|---|---|---|---|"
	for c in plain migrate; do
		v=$(med thin $c 5)
		b=$(med thin $c 6)
		echo "| $c | $v | $(ratio "$v" "$(med thin plain 5)") | $b | $(ratio "$b" "$(med thin plain 6)") |"
	done
	echo
	echo "## A source mostly discarded"
	echo
	echo "The copier paused, the last 7/8 of the 1 GiB volume discarded through it"
	echo "(blkdiscard), then resumed: whole-region discards leave their regions in"
	echo "sync uncopied (Documentation/dm-migrate.rst), so the copy should take"
	echo "1/8 of the whole volume's idle copy."
	echo
	echo "| contender | seconds to sync | of the idle copy of the whole volume | source read per volume byte |"
	echo "|---|---|---|---|"
	v=$(med discarded_copy migrate 5 || true)
	whole=$(awk -v r="$(med idle_copy migrate 5 || true)" 'BEGIN { if (r + 0 > 0) printf "%.1f", 1024 / r }')
	echo "| migrate | $v | $(ratio "$v" "$whole") | $(med discarded_copy migrate 6 || true) |"
	echo
	echo "## Foreground I/O during the copy"
	echo
	echo "fio, 4 KiB random, libaio queue depth 8, 10 s windows from the start of"
	echo "the copy of the 1 GiB volume (mixed: 70% reads). The copy's speed in the"
	echo "same window is beside it: a contender that copies slower flatters its"
	echo "foreground figures. dm-migrate's copier gives way while the volume is"
	echo "busy (one region at a time, each copy followed by a rest that keeps it"
	echo "to two thirds of the legs' time and of its own unpaced rate) and reads"
	echo "of regions in sync go to either leg, as dm-raid1 balances reads over"
	echo "legs in sync (Documentation/dm-migrate.rst)."
	echo
	echo "| workload | contender | IOPS | of dm-linear | p99 us | copy MiB/s | of its idle copy |"
	echo "|---|---|---|---|---|---|---|"
	for rw in randread randwrite randrw; do
		for c in migrate raid1 linear; do
			echo "| $rw $(window_row "fg_$rw" $c)"
		done
	done
	echo
	echo "## Post-copy"
	echo
	echo "dm-migrate in post-copy (\`post_copy\`, region 512 KiB, metadata on an"
	echo "unthrottled disk) beside dm-clone (built from linux-source-6.12, as"
	echo "Debian's kernels lack it; same region size and metadata disk, its"
	echo "defaults: one region hydrating at a time): the destination is the volume"
	echo "from the start and the source only read for regions not copied yet."
	[ -n "$clone_ko" ] || echo "dm-clone is built for 6.12 only: no clone rows here."
	echo
	echo "The copy of the idle 1 GiB volume, beside the plain copy (\`dd\`); the"
	echo "goal is 0.98 of it or more."
	echo
	echo "| contender | MiB/s | of the plain copy | source read per volume byte | destination written per volume byte |"
	echo "|---|---|---|---|---|"
	plain=$(med post_copy_idle plain 5)
	for c in plain postcopy ${clone_ko:+clone}; do
		v=$(med post_copy_idle $c 5)
		echo "| $c | $v | $(ratio "$v" "$plain") | $(med post_copy_idle $c 6) | $(med post_copy_idle $c 7) |"
	done
	echo
	echo "The foreground windows of the copy (above) from the start of the"
	echo "copy, beside dm-linear on the destination: a read of a region not"
	echo "copied goes to the source, a write to part of one copies the region"
	echo "first. dm-clone holds its background copy while user I/O is in flight."
	echo
	echo "| workload | contender | IOPS | of dm-linear | p99 us | copy MiB/s | of its idle copy |"
	echo "|---|---|---|---|---|---|---|"
	for rw in randread randwrite randrw; do
		for c in postcopy ${clone_ko:+clone} linear; do
			echo "| $rw $(window_row "post_copy_$rw" $c post_copy_idle)"
		done
	done
	echo
	echo "The cost of a write to a region not copied: the background copy held"
	echo "(postcopy \`paused\`, clone \`no_hydration\`), 10 s of 4 KiB writes"
	echo "(libaio, queue depth 8), each to a region not written before, at a"
	echo "random place in it; bytes read from the source and written to the"
	echo "destination per byte the user wrote (/sys/block/*/stat): a region's"
	echo "copy for each write reads 128 and writes 128 or 129."
	echo
	echo "| contender | source read | destination written |"
	echo "|---|---|---|"
	for c in postcopy ${clone_ko:+clone}; do
		echo "| $c | $(med post_copy_copy_first $c 5) | $(med post_copy_copy_first $c 6) |"
	done
	echo
	echo "## Online verify"
	echo
	echo "A verify of the 1 GiB volume in sync (\`dmsetup message bench 0 verify\`"
	echo "until its end event), beside a plain read of both legs side by side"
	echo "(two \`dd\`, 1 MiB direct reads): MiB/s of volume compared, and sectors"
	echo "read from each leg per sector of volume."
	echo
	echo "| contender | MiB/s | of the plain read | source read per volume byte | destination read per volume byte |"
	echo "|---|---|---|---|---|"
	plain=$(med verify_idle plain 5 || true)
	for c in plain verify; do
		v=$(med verify_idle $c 5 || true)
		echo "| $c | $v | $(ratio "$v" "$plain") | $(med verify_idle $c 6 || true) | $(med verify_idle $c 7 || true) |"
	done
	echo
	echo "The foreground windows of the copy (above) during a second verify, the"
	echo "verify's speed beside them; dm-linear runs the same windows with no verify."
	echo
	echo "| workload | contender | IOPS | of dm-linear | p99 us | verify MiB/s | of its idle verify |"
	echo "|---|---|---|---|---|---|---|"
	for rw in randread randwrite randrw; do
		for c in verify linear; do
			echo "| $rw $(window_row "vfg_$rw" $c verify_idle)"
		done
	done
	echo
	echo "## Random reads once half the volume is copied"
	echo
	echo "The same 10 s of 4 KiB random reads, begun when half the 1 GiB volume is"
	echo "copied (dm-linear: at once): reads of regions in sync may go to either leg."
	echo
	echo "| contender | IOPS | of dm-linear | p99 us | copy MiB/s | of its idle copy |"
	echo "|---|---|---|---|---|---|"
	for c in migrate raid1 linear; do
		echo "$(window_row half_randread $c)"
	done
	echo
	echo "## Counted work per user write"
	echo
	echo "Random 64 KiB writes for 10 s to a 128 MiB volume in sync: bytes written"
	echo "to each leg per byte the user wrote (/sys/block/*/stat)."
	echo
	echo "| contender | source | destination |"
	echo "|---|---|---|"
	for c in migrate raid1; do
		echo "| $c | $(med write_cost $c 5) | $(med write_cost $c 6) |"
	done
	echo
	echo "## Convergence under a sustained write load"
	echo
	echo "dm-migrate copying a 128 MiB volume while fio writes random 64 KiB"
	echo "blocks to it at a fixed rate, a share of one leg's 20 MiB/s."
	echo
	echo "| write load | seconds to sync | of the idle copy |"
	echo "|---|---|---|"
	idle=$(med converge load0 5)
	for l in 0 50 90; do
		v=$(med converge load$l 5)
		echo "| $l% | $v | $(ratio "$v" "$idle") |"
	done
	echo
	echo "## The cutover pause"
	echo
	echo "fio 4 KiB writes at queue depth 1 on a 32 MiB volume in sync while its"
	echo "table is swapped; the stall is fio's longest completion latency"
	echo "(it includes one normal write, about 2 ms at 500 IOPS). confirm is"
	echo "\`dmmigrate confirm\` (confirm_md: of a migration with a metadata"
	echo "device, on an unthrottled disk), swap1 a one-process swap (the new table loaded"
	echo "before the suspend), swap3 three \`dmsetup\` commands, none no swap at all"
	echo "(the throttled legs' own worst latency); interpose and collapse are"
	echo "\`dmmigrate create --interpose\` and \`remove --collapse\` under a two-layer"
	echo "stack (fio on a linear device over a linear device over the leg, as an"
	echo "LV on a crypt device), which suspend two devices and reload one. Suspended is the"
	echo "time the swapping process measured itself, from the suspend ioctl's"
	echo "start to the resume ioctl's end; the resume ioctl destroys the old"
	echo "table after I/O has resumed, so for confirm (a migrate table's"
	echo "workqueue, dm-io client and dm's bio slab cache it held torn down) it"
	echo "overstates the pause, which the stall column measures."
	echo "$((4 * rounds)) swaps each."
	echo
	echo "| swap | median stall ms | worst ms | of swap1 | suspended ms (median) |"
	echo "|---|---|---|---|---|"
	one=$(med cutover swap1 5)
	for how in confirm confirm_md interpose collapse swap1 swap3 none; do
		v=$(med cutover $how 5)
		echo "| $how | $v | $(maxof cutover $how 5) | $(ratio "$v" "$one") | $(med cutover $how 6) |"
	done
	echo
	echo "## In-core memory per TiB"
	echo
	echo "A paused 1 TiB volume on dm-zero legs, region 512 KiB (2097152"
	echo "regions): growth of the kernel's slab and vmalloc use when it is created."
	echo
	echo "| target | kB | bytes per region |"
	echo "|---|---|---|"
	for c in migrate mirror; do
		echo "| $c | $(med memory $c 5) | $(med memory $c 6) |"
	done
	echo
	groups_section
	echo
	echo "## Write IOPS with and without a metadata device"
	echo
	echo "4 KiB random writes (libaio, iodepth 8, 20 s) to a 1 GiB volume whose"
	echo "regions are all in sync (so every write is mirrored), region size"
	echo "512 KiB, spread over a share of the volume; the metadata device is"
	echo "throttled like the legs. IOPS with metadata as a share of without, at"
	echo "write-intent windows of 256, 1024 and 4096 regions (128 MiB, 512 MiB"
	echo "and 2 GiB: the default), and the metadata device's writes a second."
	echo
	echo "| writes over | IOPS, no metadata | window 256 | window 1024 | window 4096 | metadata writes/s at 256, 1024, 4096 |"
	echo "|---|---|---|---|---|---|"
	for spread in 10 50 100; do
		a=$(res "none-$spread" 4)
		row="| $spread% | $a"
		wr=
		for w in 256 1024 4096; do
			row="$row | $(res "w$w-$spread" 4) ($(ratio "$(res "w$w-$spread" 4)" "$a"))"
			wr="$wr${wr:+, }$(awk -v n="$(res "w$w-$spread" 5)" 'BEGIN { printf "%.0f", n / 20 }')"
		done
		echo "$row | $wr |"
	done
	echo
	echo "A hot set within the window costs one metadata commit per region"
	echo "entering it; writes spread over more regions than the window evict"
	echo "and commit all along (each commit flushes both legs, writes a bitmap"
	echo "block and the superblock, then flushes the metadata device)."
	echo
	echo "${notes:-$marker}"
} > "$report.new"
mv "$report.new" "$report"
cat "$report"
