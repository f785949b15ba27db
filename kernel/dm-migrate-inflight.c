// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writes in flight, by region, in a hash under mc->lock:
 *
 *   source-only writes to a region not yet copied, which a copy of the
 *   region waits for before it reads (else it could read the old data and
 *   the region be marked in sync without the write);
 *   mirrored writes to a region in sync, which an overlapping write waits
 *   for (else each leg could complete the two in a different order).
 *
 * A region in sync holds no source-only write: it took none since its copy.
 * None of these sleeps; migrate_untrack() runs in bio completion.
 */
#include <linux/hash.h>

#include "dm-migrate.h"

static struct hlist_head *bucket(struct migrate_c *mc, migrate_region_t region)
{
	return &mc->inflight[hash_64(region, MIGRATE_INFLIGHT_BITS)];
}

void __migrate_track(struct migrate_c *mc, struct migrate_io *io)
{
	lockdep_assert_held(&mc->lock);
	io->flags |= IO_TRACKED;
	mc->nr_tracked++;
	hlist_add_head(&io->inflight, bucket(mc, io->region));
}

/* The write has completed: copies and overlapping writes waiting may go. */
void migrate_untrack(struct migrate_c *mc, struct migrate_io *io)
{
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	hlist_del(&io->inflight);
	io->flags &= ~IO_TRACKED;
	mc->nr_tracked--;
	if (mc->nr_waiting || !bio_list_empty(&mc->overlap_wait))
		wake_worker(mc);
	spin_unlock_irqrestore(&mc->lock, flags);
}

bool __migrate_region_has_inflight(struct migrate_c *mc, migrate_region_t region)
{
	struct migrate_io *io;

	lockdep_assert_held(&mc->lock);
	hlist_for_each_entry(io, bucket(mc, region), inflight)
		if (io->region == region)
			return true;
	return false;
}

bool __migrate_overlaps_inflight(struct migrate_c *mc, struct migrate_io *io)
{
	sector_t start = io->saved_iter.bi_sector;
	sector_t end = start + (io->saved_iter.bi_size >> SECTOR_SHIFT);
	struct migrate_io *other;

	lockdep_assert_held(&mc->lock);
	hlist_for_each_entry(other, bucket(mc, io->region), inflight) {
		sector_t o_start = other->saved_iter.bi_sector;
		sector_t o_end = o_start +
				 (other->saved_iter.bi_size >> SECTOR_SHIFT);

		if (other->region == io->region && start < o_end && o_start < end)
			return true;
	}
	return false;
}
