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
 * Post-copy: a bit says the destination holds the region, and reads of it
 * go there. The superblock records post-copy, and that the way back is
 * lost, before the destination's first write is sent; a user's flush or
 * FUA write is acknowledged only after a commit has made the regions the
 * destination holds durable as such (migrate_commit_flushes()), as
 * dm-clone commits its hydration bitmap. The write-intent window plays no
 * part: no write goes to both legs.
 *
 * __migrate_intent_enter(), migrate_intent_done(), migrate_wait_commit()
 * and __migrate_record_pending() run in the map path and bio completion
 * and never sleep; the others sleep.
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

/*
 * On disk a region is in sync only outside the write-intent window; once
 * the superblock says post-copy, wherever the destination holds it (a
 * mirrored write still in flight from before the switch is not
 * acknowledged, and the destination is the volume now).
 */
static void fill_bits(void *context, migrate_region_t first,
		      migrate_region_t count, unsigned long *bits)
{
	struct migrate_c *mc = context;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	migrate_sync_get_bits(mc->sync, first, count, bits);
	if (!(mc->flags_recorded & MIGRATE_META_POST_COPY))
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

/* What the superblock must say (MIGRATE_META_*). */
static unsigned int __sb_flags(struct migrate_c *mc)
{
	return (test_bit(MC_SOURCE_FAILED, &mc->flags) ? MIGRATE_META_SOURCE_FAILED : 0) |
	       (test_bit(MC_DEST_FAILED, &mc->flags) ? MIGRATE_META_DEST_FAILED : 0) |
	       (test_bit(MC_POST_COPY, &mc->flags) ? MIGRATE_META_POST_COPY : 0) |
	       (test_bit(MC_ROLLBACK_LOST, &mc->flags) ? MIGRATE_META_ROLLBACK_LOST : 0);
}

/*
 * A leg failed, or post-copy began or wrote the destination, and the
 * superblock does not say so yet. Without metadata there is nothing to
 * record; with a failed metadata device nothing can be.
 */
bool __migrate_record_pending(struct migrate_c *mc)
{
	lockdep_assert_held(&mc->lock);
	return mc->meta && !test_bit(MC_METADATA_FAILED, &mc->flags) &&
	       __sb_flags(mc) != mc->flags_recorded;
}

/* Once the flags are recorded: acknowledge what waited, send the rest. */
void migrate_release_failure_waits(struct migrate_c *mc)
{
	struct bio_list acks = BIO_EMPTY_LIST, writes = BIO_EMPTY_LIST;
	unsigned long flags;
	struct bio *bio;

	spin_lock_irqsave(&mc->lock, flags);
	if (!__migrate_record_pending(mc)) {
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
static void record_failed(struct migrate_c *mc, unsigned int sb_flags)
{
	unsigned long flags;
	int r;

	r = migrate_meta_record_flags(mc->meta, sb_flags);
	if (r)
		DMERR("%s: cannot record the failed leg in the metadata (%d)",
		      mc_name(mc), r);
	spin_lock_irqsave(&mc->lock, flags);
	if (r)
		__set_bit(MC_METADATA_FAILED, &mc->flags);
	mc->flags_recorded = sb_flags;
	spin_unlock_irqrestore(&mc->lock, flags);
}

/*
 * Commit the region state when a write waits for it, once a period when
 * something changed, at once when a leg failed or post-copy changed what
 * the superblock must say, and for post-copy's flushes. The caller
 * dispatches again the writes waiting for the window and for the record.
 */
void migrate_commit(struct migrate_c *mc)
{
	bool flush_legs, flush_dest, record, write_meta, flush_wanted;
	unsigned int sb_flags, was;
	unsigned long flags;
	u64 seq;
	int r = 0;

	mutex_lock(&mc->commit_lock);
	spin_lock_irqsave(&mc->lock, flags);
	if (test_bit(MC_METADATA_FAILED, &mc->flags)) {
		spin_unlock_irqrestore(&mc->lock, flags);
		goto out;
	}
	sb_flags = __sb_flags(mc);
	was = mc->flags_recorded;
	record = sb_flags != was;
	if (sb_flags & MIGRATE_META_DEST_FAILED) {
		/* It misses writes: no region may be set in sync on disk again. */
		spin_unlock_irqrestore(&mc->lock, flags);
		if (record)
			record_failed(mc, sb_flags);
		goto out;
	}
	flush_wanted = mc->flush_wanted;
	write_meta = mc->window.commit_wanted || record ||
		     ((mc->commit_due || flush_wanted) && migrate_meta_dirty(mc->meta));
	if (!write_meta && !flush_wanted) {
		spin_unlock_irqrestore(&mc->lock, flags);
		goto out;
	}
	mc->flush_wanted = false;
	mc->commit_due = false;
	flush_legs = false;
	seq = write_meta ? migrate_window_commit_begin(&mc->window, &flush_legs) : 0;
	flush_dest = mc->need_dest_flush || flush_legs || flush_wanted;
	mc->need_dest_flush = false;
	spin_unlock_irqrestore(&mc->lock, flags);

	/* A failed source is recorded; in post-copy it takes no writes. */
	if (flush_legs && !(sb_flags & (MIGRATE_META_SOURCE_FAILED |
					MIGRATE_META_POST_COPY)))
		flush_leg(mc, LEG_SOURCE);
	if (flush_dest)
		r = flush_leg(mc, LEG_DEST);
	if (r || !write_meta)
		goto out;	/* a failed destination: its worker wake records it */
	r = migrate_meta_commit(mc->meta, sb_flags, fill_bits, mc);
	spin_lock_irqsave(&mc->lock, flags);
	if (!r) {
		migrate_window_commit_end(&mc->window, seq);
		mc->flags_recorded = sb_flags;
		/*
		 * Post-copy is recorded: the window's regions, left clear by
		 * this commit, are set where the destination holds them by the
		 * next, which writes every block for that. Until then a write
		 * to one is on the destination unflushed, so not owed.
		 */
		if ((sb_flags & ~was) & MIGRATE_META_POST_COPY) {
			migrate_meta_all_changed(mc->meta);
			mc->commit_due = true;
		}
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
	if (!(__sb_flags(mc) & (MIGRATE_META_SOURCE_FAILED | MIGRATE_META_DEST_FAILED)))
		migrate_window_leave_all(&mc->window);
	spin_unlock_irqrestore(&mc->lock, flags);
	migrate_commit(mc);
}

/*
 * At the first resume, not in the constructor: a table loaded to replace a
 * live one reads what that one committed up to its suspend. Legs recorded
 * failed stay failed: the migration stays halted. A migration recorded in
 * post-copy goes on in post-copy, whatever the table says: the
 * destination may hold writes the source lacks.
 */
int migrate_load_metadata(struct migrate_c *mc)
{
	unsigned int sb_flags;
	unsigned long flags;
	int r;

	if (mc->meta_loaded)
		return 0;
	r = migrate_meta_load(mc->meta, mc->sync, &sb_flags);
	if (r) {
		DMERR("%s: cannot read or format the metadata device (%d)",
		      mc_name(mc), r);
		return r;
	}
	if (sb_flags & MIGRATE_META_POST_COPY && !test_bit(MC_POST_COPY, &mc->flags)) {
		DMWARN("%s: the metadata records post-copy: the migration goes on in post-copy",
		       mc_name(mc));
		r = migrate_enter_post_copy(mc);
		if (r)
			return r;
	}
	mc->meta_loaded = true;

	spin_lock_irqsave(&mc->lock, flags);
	if (sb_flags & MIGRATE_META_SOURCE_FAILED)
		__set_bit(MC_SOURCE_FAILED, &mc->flags);
	if (sb_flags & MIGRATE_META_DEST_FAILED)
		__set_bit(MC_DEST_FAILED, &mc->flags);
	if (sb_flags & MIGRATE_META_ROLLBACK_LOST)
		__set_bit(MC_ROLLBACK_LOST, &mc->flags);
	mc->flags_recorded = sb_flags;
	spin_unlock_irqrestore(&mc->lock, flags);
	if (sb_flags & (MIGRATE_META_SOURCE_FAILED | MIGRATE_META_DEST_FAILED))
		DMWARN("%s: the metadata records a failed %s: the migration stays halted",
		       mc_name(mc), sb_flags & MIGRATE_META_DEST_FAILED ?
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

/*
 * Post-copy: @bio, an empty flush, or a FUA write the destination has
 * done, is acknowledged by migrate_commit_flushes(). Any context.
 */
void migrate_wait_commit(struct migrate_c *mc, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	bio_list_add(&mc->commit_wait, bio);
	spin_unlock_irqrestore(&mc->lock, flags);
	wake_worker(mc);
}

/*
 * Post-copy: what waits in commit_wait completes once a commit has flushed
 * the destination and recorded every region it holds, else a crash could
 * read a region the flush covered from the source again. The list is taken
 * before the commit begins, so the commit covers every write completed
 * before those bios were sent. A commit that cannot be made fails them.
 * Sleeps.
 */
void migrate_commit_flushes(struct migrate_c *mc)
{
	struct bio_list bios;
	blk_status_t status;
	unsigned long flags;
	struct bio *bio;

	spin_lock_irqsave(&mc->lock, flags);
	bios = mc->commit_wait;
	bio_list_init(&mc->commit_wait);
	if (!bio_list_empty(&bios))
		mc->flush_wanted = true;
	spin_unlock_irqrestore(&mc->lock, flags);
	if (bio_list_empty(&bios))
		return;
	migrate_commit(mc);
	status = migrate_leg_is_failed(mc, LEG_DEST) ||
		 test_bit(MC_METADATA_FAILED, &mc->flags) ? BLK_STS_IOERR : BLK_STS_OK;
	while ((bio = bio_list_pop(&bios))) {
		if (!bio->bi_status)
			bio->bi_status = status;
		bio_endio(bio);
	}
}

void migrate_commit_init(struct migrate_c *mc)
{
	bio_list_init(&mc->commit_wait);
	bio_list_init(&mc->intent_wait);
	bio_list_init(&mc->failure_wait);
	bio_list_init(&mc->ack_wait);
	mutex_init(&mc->commit_lock);
	INIT_DELAYED_WORK(&mc->commit_tick, migrate_commit_tick);
}
