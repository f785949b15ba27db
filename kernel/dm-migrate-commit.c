// SPDX-License-Identifier: GPL-2.0-only
/*
 * The write-intent window's admission of writes, and the metadata commit
 * (dm-migrate-window.h has the window's rules).
 *
 * With a metadata device, a write to a region in sync first puts the region
 * in the window (its bit cleared on disk by a commit), so that a crash with
 * the write on one leg only is repaired by copying it again. Bits are set on
 * disk only after the legs hold what they stand for: the destination's
 * copies, and both legs' writes to regions leaving the window, are flushed
 * first.
 *
 * __migrate_intent_enter() and migrate_intent_done() run in the map path and
 * bio completion and never sleep; the commit functions sleep.
 */
#include <linux/blkdev.h>

#include "dm-migrate.h"

void __migrate_region_synced(struct migrate_c *mc, migrate_region_t region)
{
	lockdep_assert_held(&mc->lock);
	if (!mc->meta)
		return;
	migrate_meta_region_changed(mc->meta, region);
	mc->need_dest_flush = true;
}

bool __migrate_intent_enter(struct migrate_c *mc, struct migrate_io *io)
{
	lockdep_assert_held(&mc->lock);
	return migrate_window_enter(&mc->window, io->region, &io->intent);
}

void migrate_intent_done(struct migrate_c *mc, struct migrate_window_entry *ent)
{
	unsigned long flags;
	bool wake;

	spin_lock_irqsave(&mc->lock, flags);
	/* Writes waiting for room in a full window may go on now. */
	wake = migrate_window_write_done(&mc->window, ent,
					 !bio_list_empty(&mc->intent_wait));
	spin_unlock_irqrestore(&mc->lock, flags);
	if (wake)
		wake_worker(mc);
}

/* On disk a region is in sync only outside the write-intent window. */
static void fill_bits(void *context, migrate_region_t first,
		      migrate_region_t count, unsigned long *bits)
{
	struct migrate_c *mc = context;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	migrate_sync_get_bits(mc->sync, first, count, bits);
	migrate_window_fill(&mc->window, first, count, bits);
	spin_unlock_irqrestore(&mc->lock, flags);
}

static int flush_leg(struct migrate_c *mc, enum migrate_leg_id leg)
{
	int r = blkdev_issue_flush(mc->leg[leg]->bdev);

	if (r)
		migrate_leg_failed(mc, leg);
	return r;
}

/*
 * Commit the region state when a write waits for it, or once a period when
 * something changed. The caller dispatches again the writes waiting for the
 * window.
 */
void migrate_commit(struct migrate_c *mc)
{
	bool flush_legs, flush_dest;
	unsigned long flags;
	u64 seq;
	int r = 0;

	mutex_lock(&mc->commit_lock);
	spin_lock_irqsave(&mc->lock, flags);
	if (!mc->window.commit_wanted &&
	    !(mc->commit_due && migrate_meta_dirty(mc->meta))) {
		spin_unlock_irqrestore(&mc->lock, flags);
		goto out;
	}
	mc->commit_due = false;
	seq = migrate_window_commit_begin(&mc->window, &flush_legs);
	flush_dest = mc->need_dest_flush || flush_legs;
	mc->need_dest_flush = false;
	spin_unlock_irqrestore(&mc->lock, flags);

	/* A failed source is reported; only the destination must hold. */
	if (flush_legs)
		flush_leg(mc, LEG_SOURCE);
	if (flush_dest)
		r = flush_leg(mc, LEG_DEST);
	if (!r) {
		r = migrate_meta_commit(mc->meta, fill_bits, mc);
		if (r) {
			/* Nothing can be recorded: end the migration on the source. */
			DMERR("%s: metadata commit failed (%d): migration halted",
			      mc_name(mc), r);
			spin_lock_irqsave(&mc->lock, flags);
			__set_bit(MC_METADATA_FAILED, &mc->flags);
			spin_unlock_irqrestore(&mc->lock, flags);
			migrate_leg_failed(mc, LEG_DEST);
		}
	}

	if (!r) {
		spin_lock_irqsave(&mc->lock, flags);
		migrate_window_commit_end(&mc->window, seq);
		spin_unlock_irqrestore(&mc->lock, flags);
	}
out:
	mutex_unlock(&mc->commit_lock);
}

/*
 * Leave a clean record: with no I/O in flight every region leaves the
 * write-intent window, and a commit (after flushing both legs) sets its bit.
 */
void migrate_commit_clean(struct migrate_c *mc)
{
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	migrate_window_leave_all(&mc->window);
	spin_unlock_irqrestore(&mc->lock, flags);
	migrate_commit(mc);
}

static void migrate_commit_tick(struct work_struct *ws)
{
	struct migrate_c *mc = container_of(to_delayed_work(ws),
					    struct migrate_c, commit_tick);
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	mc->commit_due = true;
	spin_unlock_irqrestore(&mc->lock, flags);
	wake_worker(mc);
	if (!test_bit(MC_SUSPENDED, &mc->flags))
		queue_delayed_work(mc->wq, &mc->commit_tick,
				   MIGRATE_COMMIT_PERIOD);
}

static void window_changed(void *context, migrate_region_t region)
{
	struct migrate_c *mc = context;

	migrate_meta_region_changed(mc->meta, region);
}

void migrate_commit_init(struct migrate_c *mc)
{
	migrate_window_init(&mc->window, window_changed, mc);
	bio_list_init(&mc->intent_wait);
	mutex_init(&mc->commit_lock);
	INIT_DELAYED_WORK(&mc->commit_tick, migrate_commit_tick);
}
