#!/bin/bash
# make bench: the benchmarks, in one VM boot each, legs throttled well below
# what the emulated CPU can push (20 MiB/s and 500 IOPS per leg), so that
# ratios between contenders repeat. Writes Documentation/performance.md.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
kver=$("$top/scripts/vm/kver.sh" "${DMM_BENCH_KERNEL:-6.12}")
rounds=${DMM_BENCH_ROUNDS:-3}
out=$top/build/bench
mkdir -p "$out"
leg=20971520:500

"$top/scripts/vm/run.sh" -k "$kver" -w "$out" -t 1800 -l metadata \
	-d "src:256M:$leg" -d "dst:256M:$leg" -d meta:4M \
	-- /dmm/tools/testing/bench/metadata_iops.sh "$rounds" | tee "$out/metadata.log"
rm -f "$out"/*.img

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
res() { grep "^result $1 " "$out/metadata.log" | awk -v f="$2" '{ print $f }' | median; }

{
	echo "# Performance"
	echo
	echo "Measured with \`make bench\` (tools/testing/bench/run.sh): one qemu VM"
	echo "(TCG, 2 vCPUs) booting $kver, each leg a virtio disk throttled to"
	echo "20 MiB/s and 500 IOPS, medians of $rounds interleaved rounds of 20 s."
	echo "Absolute numbers are the emulator's; the ratios are the result."
	echo
	echo "## Write IOPS with and without a metadata device"
	echo
	echo "4 KiB random writes (libaio, iodepth 8) to a volume whose regions are"
	echo "all in sync (so every write is mirrored), region size 512 KiB."
	echo
	echo "| writes over | IOPS, no metadata | IOPS, metadata | ratio | metadata writes in 20 s |"
	echo "|---|---|---|---|---|"
	for size in 32M 256M; do
		a=$(res "no-metadata-$size" 4)
		b=$(res "metadata-$size" 4)
		c=$(res "metadata-$size" 5)
		echo "| $size | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a ? b / a : 0 }') | $c |"
	done
	echo
	echo "A hot set smaller than the write-intent window (256 regions = 128 MiB"
	echo "here) costs one metadata commit per region entering it; writes spread"
	echo "over more regions than the window evict and commit continually."
	echo
	echo "The metadata device itself is not throttled: the last column is what a"
	echo "real one must sustain (each commit writes a bitmap block and the"
	echo "superblock, then flushes), or the region size be raised so that the hot"
	echo "set fits the window. Reproduce with \`make bench\` (DMM_BENCH_ROUNDS sets"
	echo "the rounds)."
} > "$top/Documentation/performance.md"
cat "$top/Documentation/performance.md"
