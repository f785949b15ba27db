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
 * A leg's failure is recorded in the superblock before any write that only
 * the other leg holds is acknowledged, so that a reboot cannot take the
 * failed leg for a copy of the volume (a path that came back): the table
 * loaded again stays halted with the leg reported failed. Once the
 * destination has failed no bit is set on disk again.
 *
 * __migrate_intent_enter(), migrate_intent_done() and
 * __migrate_failure_unrecorded() run in the map path and bio completion and
 * never sleep; the others sleep.
 */
#include <linux/blkdev.h>

#include "dm-migrate.h"

/* A copy or a discard put @region in sync: its bit changes at the next commit. */
void __migrate_region_synced(struct migrate_c *mc, migrate_region_t region)
{
	lockdep_assert_held(&mc->lock);
	mc->need_dest_flush = true;
	if (mc->meta)
		migrate_meta_region_changed(mc->meta, region);
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
 * At every suspend, with or without metadata: what the copier or a verify's
 * repair wrote to the destination since its last flush is flushed, so that
 * none of it sits in the destination's volatile cache when a confirm swaps
 * the table (those writes carry no flush). User writes need nothing here:
 * a user's flush reaches both legs, so each leg holds what was flushed, and
 * after the swap the next one reaches the leg kept. Cleared before the
 * flush is sent: a copy written after that sets it again.
 */
void migrate_flush_copies(struct migrate_c *mc)
{
	unsigned long flags;
	bool flush;

	spin_lock_irqsave(&mc->lock, flags);
	flush = mc->need_dest_flush && !test_bit(MC_DEST_FAILED, &mc->flags);
	mc->need_dest_flush = false;
	spin_unlock_irqrestore(&mc->lock, flags);
	if (flush)
		flush_leg(mc, LEG_DEST);
}

static unsigned int __failed_legs(struct migrate_c *mc)
{
	return (test_bit(MC_SOURCE_FAILED, &mc->flags) ? MIGRATE_META_SOURCE_FAILED : 0) |
	       (test_bit(MC_DEST_FAILED, &mc->flags) ? MIGRATE_META_DEST_FAILED : 0);
}

/*
 * A leg failed and the superblock does not say so yet. Without metadata
 * there is nothing to record; with a failed metadata device nothing can be.
 */
bool __migrate_failure_unrecorded(struct migrate_c *mc)
{
	lockdep_assert_held(&mc->lock);
	return mc->meta && !test_bit(MC_METADATA_FAILED, &mc->flags) &&
	       __failed_legs(mc) != mc->failed_recorded;
}

/* Once the failure is recorded: acknowledge what waited, send the rest. */
void migrate_release_failure_waits(struct migrate_c *mc)
{
	struct bio_list acks = BIO_EMPTY_LIST, writes = BIO_EMPTY_LIST;
	unsigned long flags;
	struct bio *bio;

	spin_lock_irqsave(&mc->lock, flags);
	if (!__migrate_failure_unrecorded(mc)) {
		bio_list_merge(&acks, &mc->ack_wait);
		bio_list_init(&mc->ack_wait);
		bio_list_merge(&writes, &mc->failure_wait);
		bio_list_init(&mc->failure_wait);
	}
	spin_unlock_irqrestore(&mc->lock, flags);

	while ((bio = bio_list_pop(&acks)))
		bio_endio(bio);
	migrate_redispatch(mc, &writes);
}

/* The superblock alone: the bitmap keeps what it said before the failure. */
static void record_failed(struct migrate_c *mc, unsigned int failed)
{
	unsigned long flags;
	int r;

	r = migrate_meta_record_failed(mc->meta, failed);
	if (r)
		DMERR("%s: cannot record the failed leg in the metadata (%d)",
		      mc_name(mc), r);
	spin_lock_irqsave(&mc->lock, flags);
	if (r)
		__set_bit(MC_METADATA_FAILED, &mc->flags);
	mc->failed_recorded = failed;
	spin_unlock_irqrestore(&mc->lock, flags);
}

/*
 * Commit the region state when a write waits for it, once a period when
 * something changed, and at once when a leg failed. The caller dispatches
 * again the writes waiting for the window and for the record of a failure.
 */
void migrate_commit(struct migrate_c *mc)
{
	bool flush_legs, flush_dest, record;
	unsigned int failed;
	unsigned long flags;
	u64 seq;
	int r = 0;

	mutex_lock(&mc->commit_lock);
	spin_lock_irqsave(&mc->lock, flags);
	if (test_bit(MC_METADATA_FAILED, &mc->flags)) {
		spin_unlock_irqrestore(&mc->lock, flags);
		goto out;
	}
	failed = __failed_legs(mc);
	record = failed != mc->failed_recorded;
	if (failed & MIGRATE_META_DEST_FAILED) {
		/* It misses writes: no region may be set in sync on disk again. */
		spin_unlock_irqrestore(&mc->lock, flags);
		if (record)
			record_failed(mc, failed);
		goto out;
	}
	if (!mc->window.commit_wanted && !record &&
	    !(mc->commit_due && migrate_meta_dirty(mc->meta))) {
		spin_unlock_irqrestore(&mc->lock, flags);
		goto out;
	}
	mc->commit_due = false;
	seq = migrate_window_commit_begin(&mc->window, &flush_legs);
	flush_dest = mc->need_dest_flush || flush_legs;
	mc->need_dest_flush = false;
	spin_unlock_irqrestore(&mc->lock, flags);

	/* A failed source is recorded; only the destination must hold. */
	if (flush_legs && !(failed & MIGRATE_META_SOURCE_FAILED))
		flush_leg(mc, LEG_SOURCE);
	if (flush_dest)
		r = flush_leg(mc, LEG_DEST);
	if (r)
		goto out;	/* the destination failed: its worker wake records it */
	r = migrate_meta_commit(mc->meta, failed, fill_bits, mc);
	spin_lock_irqsave(&mc->lock, flags);
	if (!r) {
		migrate_window_commit_end(&mc->window, seq);
		mc->failed_recorded = failed;
	} else {
		/* Nothing can be recorded: end the migration on the source. */
		__set_bit(MC_METADATA_FAILED, &mc->flags);
	}
	spin_unlock_irqrestore(&mc->lock, flags);
	if (r) {
		DMERR("%s: metadata commit failed (%d): migration halted",
		      mc_name(mc), r);
		migrate_leg_failed(mc, LEG_DEST);
	}
out:
	mutex_unlock(&mc->commit_lock);
}

/*
 * Leave a clean record: with no I/O in flight every region leaves the
 * write-intent window, and a commit (after flushing both legs) sets its bit.
 * Never once a leg has failed: then the commit only records the failure.
 */
void migrate_commit_clean(struct migrate_c *mc)
{
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	if (!__failed_legs(mc))
		migrate_window_leave_all(&mc->window);
	spin_unlock_irqrestore(&mc->lock, flags);
	migrate_commit(mc);
}

/*
 * At the first resume, not in the constructor: a table loaded to replace a
 * live one reads what that one committed up to its suspend. Legs recorded
 * failed stay failed: the migration stays halted.
 */
int migrate_load_metadata(struct migrate_c *mc)
{
	unsigned int failed;
	unsigned long flags;
	int r;

	if (mc->meta_loaded)
		return 0;
	r = migrate_meta_load(mc->meta, mc->sync, &failed);
	if (r) {
		DMERR("%s: cannot read or format the metadata device (%d)",
		      mc_name(mc), r);
		return r;
	}
	mc->meta_loaded = true;
	if (!failed)
		return 0;

	spin_lock_irqsave(&mc->lock, flags);
	if (failed & MIGRATE_META_SOURCE_FAILED)
		__set_bit(MC_SOURCE_FAILED, &mc->flags);
	if (failed & MIGRATE_META_DEST_FAILED)
		__set_bit(MC_DEST_FAILED, &mc->flags);
	mc->failed_recorded = failed;
	spin_unlock_irqrestore(&mc->lock, flags);
	DMWARN("%s: the metadata records a failed %s: the migration stays halted",
	       mc_name(mc), failed & MIGRATE_META_DEST_FAILED ?
	       "destination" : "source");
	return 0;
}

void migrate_start_commit_tick(struct migrate_c *mc)
{
	queue_delayed_work(mc->wq, &mc->commit_tick,
			   msecs_to_jiffies(mc->commit_period_ms));
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
		migrate_start_commit_tick(mc);
}

static void window_changed(void *context, migrate_region_t region)
{
	struct migrate_c *mc = context;

	migrate_meta_region_changed(mc->meta, region);
}

/* With a metadata device: a window of @size regions. Sleeps. */
int migrate_commit_window(struct migrate_c *mc, unsigned int size)
{
	return migrate_window_init(&mc->window, size, window_changed, mc);
}

void migrate_commit_init(struct migrate_c *mc)
{
	bio_list_init(&mc->intent_wait);
	bio_list_init(&mc->failure_wait);
	bio_list_init(&mc->ack_wait);
	mutex_init(&mc->commit_lock);
	INIT_DELAYED_WORK(&mc->commit_tick, migrate_commit_tick);
}
