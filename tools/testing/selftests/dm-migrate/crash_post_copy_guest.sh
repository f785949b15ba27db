#!/bin/bash
# Guest half of host_crash_03_post_copy.sh.
# "load": a post-copy migration of a read-only source at 2 MiB/s, under a
# fio write load, while a writer writes tagged blocks, each once, 4 KiB
# ones and 128 KiB ones covering regions, in [64M, 96M), which the copier
# reaches only after 30 s: each write's region is copied for it (or taken
# whole) and its acknowledgement, by O_DSYNC (a FUA write) or by an fsync (a
# flush), waits for the commit that records that. Each acknowledgement is
# reported ("# ack N BLOCK COUNT") only after it returned, until the host
# kills the VM.
# "resume": the host gives back the acknowledgements on the disk "acks";
# the migration comes back from its metadata: every acknowledged block
# reads back through the volume, the source is unchanged, the hydration
# completes, and the destination alone holds every acknowledged block.
. "$(dirname "$0")/lib.sh"

src=$(disk src) && dst=$(disk dst) && meta=$(disk meta) || exit 1
len=$(sectors "$src")
modprobe dm-migrate || exit 1
blockdev --setro "$src"

# tagged N BLOCK COUNT: COUNT 4 KiB blocks from BLOCK, each 64 lines naming
# the write and the block.
tagged() {
	local b line k
	for ((b = $2; b < $2 + $3; b++)); do
		printf -v line '%-63s' "ack $1 block $b"
		for ((k = 0; k < 64; k++)); do
			printf '%s\n' "$line"
		done
	done
}

case $1 in
load)
	dd if=/dev/urandom of=/tmp/fill bs=1M count=32 2> /dev/null
	blockdev --setrw "$src"
	dd if=/tmp/fill of="$src" bs=1M oflag=direct 2> /dev/null
	blockdev --setro "$src"
	echo "# srcsum $(sum "$src")"
	echo "0 $len migrate $src $dst $meta 256 4 fresh rate 2097152 post_copy" |
		dmsetup create mig || exit 1
	# Noise away from the tagged blocks: 4 KiB writes in [32M, 48M).
	fio --name=noise --filename=/dev/mapper/mig --direct=1 --ioengine=psync \
		--rw=randwrite --bs=4k --numjobs=2 --offset=32M --size=16M \
		--time_based --runtime=600 --eta=never > /dev/null 2>&1 &
	echo "# crash window open"
	# Blocks of [64M, 80M) in an order that never repeats one (2711 is
	# prime to 4096); regions 640-767 ([80M, 96M)) likewise (37 prime to
	# 128).
	for ((n = 1; ; n++)); do
		if ((n % 4)); then
			block=$((16384 + n * 2711 % 4096))
			count=1
		else
			block=$(((640 + n / 4 * 37 % 128) * 32))
			count=32
		fi
		if ((n % 2)); then
			sync_flag=oflag=direct,dsync
		else
			sync_flag=conv=fsync
		fi
		tagged "$n" "$block" "$count" |
			dd of=/dev/mapper/mig bs=4k seek="$block" count="$count" \
				iflag=fullblock "$sync_flag" 2> /dev/null || continue
		echo "# ack $n $block $count"
	done
	;;
resume)
	ktap_plan 6
	tr -d '\0' < "$(disk acks)" > /tmp/acks
	acked=$(grep -c '^ack ' /tmp/acks)
	echo "0 $len migrate $src $dst $meta 256 2 paused post_copy" |
		dmsetup create mig || die "cannot bring the migration back"
	ktap_expect "the migration comes back in post-copy, its way back lost" \
		"mstatus mig && [ \"\${MST[22]} \${MST[23]}\" = 'post-copy lost' ]"
	# check_acks DEV: every acknowledged block of DEV holds its write.
	check_acks() {
		local n block count bad=0
		while read -r _ n block count; do
			cmp -s <(tagged "$n" "$block" "$count") \
				<(dd if="$1" bs=4k skip="$block" count="$count" iflag=direct 2> /dev/null) ||
				{ bad=$((bad + 1)); [ $bad -le 3 ] && diag "write $n at block $block lost"; }
		done < <(grep '^ack ' /tmp/acks)
		diag "$acked acknowledged writes checked on $1, $bad lost"
		[ "$acked" -gt 0 ] && [ $bad -eq 0 ]
	}
	ktap_check "every acknowledged write reads back through the volume" check_acks /dev/mapper/mig
	ktap_expect "the source is unchanged" \
		"[ \"\$(sum $src)\" = \"\$(sed -n 's/^srcsum //p' /tmp/acks)\" ]"
	dmsetup message mig 0 resume
	ktap_check "the hydration completes" wait_synced mig
	dmsetup remove mig
	ktap_check "the destination alone holds every acknowledged write" check_acks "$dst"
	ktap_check "no problem in the kernel log" no_problems_in_dmesg
	ktap_finish
	;;
esac
