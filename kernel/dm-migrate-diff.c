// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bookkeeping of an online verify; see dm-migrate-diff.h.
 */
#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dm-migrate-diff.h"

#define RANGES_MORE " ..."

int migrate_diff_init(struct migrate_diff *d, migrate_region_t nr_regions)
{
	memset(d, 0, sizeof(*d));
	d->bits = kvcalloc(BITS_TO_LONGS(nr_regions), sizeof(unsigned long),
			   GFP_KERNEL);
	if (!d->bits)
		return -ENOMEM;
	d->nr_regions = nr_regions;
	return 0;
}

void migrate_diff_exit(struct migrate_diff *d)
{
	kvfree(d->bits);
	d->bits = NULL;
}

void migrate_diff_reset(struct migrate_diff *d)
{
	bitmap_zero(d->bits, d->nr_regions);
	d->done = 0;
	d->compared = 0;
	d->differ = 0;
	d->repaired = 0;
	d->bytes = 0;
}

void migrate_diff_skip(struct migrate_diff *d, migrate_region_t count)
{
	d->done += count;
}

void migrate_diff_record(struct migrate_diff *d, migrate_region_t region,
			 u64 bytes, bool differs, bool repaired)
{
	d->done++;
	d->compared++;
	d->bytes += bytes;
	if (!differs)
		return;
	/* A region is compared once per run: reset clears the map. */
	if (!__test_and_set_bit(region, d->bits))
		d->differ++;
	if (repaired)
		d->repaired++;
}

unsigned int migrate_diff_ranges(const struct migrate_diff *d, char *buf,
				 unsigned int len)
{
	unsigned int more = sizeof(RANGES_MORE), n = 0, w;
	migrate_region_t first, last;
	char range[48];

	if (!len)
		return 0;
	buf[0] = '\0';
	first = find_first_bit(d->bits, d->nr_regions);
	while (first < d->nr_regions) {
		last = find_next_zero_bit(d->bits, d->nr_regions, first) - 1;
		if (first == last)
			w = scnprintf(range, sizeof(range), "%s%llu", n ? " " : "",
				      first);
		else
			w = scnprintf(range, sizeof(range), "%s%llu-%llu",
				      n ? " " : "", first, last);
		first = find_next_bit(d->bits, d->nr_regions, last + 1);
		/* The last range needs no room for the marker after it. */
		if (n + w + (first < d->nr_regions ? more : 1) > len) {
			if (n + more <= len)
				n += scnprintf(buf + n, len - n, "%s", RANGES_MORE);
			break;
		}
		memcpy(buf + n, range, w + 1);
		n += w;
	}
	return n;
}

const char *migrate_verify_state_name(enum migrate_verify_state state)
{
	static const char * const names[] = {
		[MIGRATE_VERIFY_NONE] = "-",
		[MIGRATE_VERIFY_RUNNING] = "verifying",
		[MIGRATE_VERIFY_EQUAL] = "equal",
		[MIGRATE_VERIFY_DIFFER] = "differ",
		[MIGRATE_VERIFY_STOPPED] = "stopped",
		[MIGRATE_VERIFY_FAILED] = "failed",
	};

	return names[state];
}
