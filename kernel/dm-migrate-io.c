// SPDX-License-Identifier: GPL-2.0-only
/*
 * The user I/O paths. Every bio is confined to one region by max_io_len, or
 * by dm_accept_partial_bio for discards, and a write is routed by the state
 * of its region:
 *
 *   in sync        cloned to both legs; completed when both have it. A
 *                  write overlapping one still in flight waits for it, since
 *                  each leg may complete the two in either order
 *   being copied   held on the copy job, dispatched again once the copy is
 *                  done
 *   not yet copied sent to the source alone and counted in the in-flight
 *                  hash, so that the copier waits for it before reading the
 *                  region (else the copy could read the old data and the
 *                  region be marked in sync without the write)
 *
 * A discard or write-zeroes of a whole region not yet copied is a copy job
 * of its own instead: it waits, as a copy does, for the source writes in
 * flight, holds later writes, goes to both legs, and leaves the region in
 * sync without a byte copied, so that a volume mostly discarded copies in
 * proportion to its data.
 *
 * Reads of a region in sync are balanced over both legs, and a failed one
 * is read again from the other leg.
 *
 * In post-copy the destination alone takes writes and serves the regions
 * it holds (in sync), the source only the reads of the others:
 *
 *   in sync        a write goes to the destination alone
 *   being copied   held on the job, as in pre-copy
 *   not yet copied a write covering the region is a job of its own, sent
 *                  to the destination, and leaves the region in sync before
 *                  it is acknowledged; any other write first claims a copy
 *                  job for the region (copy-first), whatever the pacing, and
 *                  waits on it
 *   lost           the source failed to give it: a write not covering it
 *                  fails, since there is nothing to merge it with
 *
 * The first write sent to the destination waits for the superblock to
 * record that the source cannot take the volume back. A source read error
 * loses the region, not the leg; a destination error fails the volume's
 * writes, the destination holding the only copy of them.
 *
 * The map and end_io paths never sleep but for the mempool-backed clone
 * allocation; retries and dispatches again run in the worker.
 */
#include "dm-migrate.h"

/*
 * A write-zeroes of a whole region sent to both legs leaves them alike
 * without a copy; so does a discard, after which the region's data is
 * undefined, as on any device.
 */
static bool covers_region(struct migrate_c *mc, struct bio *bio,
			  migrate_region_t region)
{
	return bio->bi_iter.bi_sector == migrate_region_start(&mc->geo, region) &&
	       bio_sectors(bio) == migrate_region_len(&mc->geo, region);
}

static bool unmaps_whole_region(struct migrate_c *mc, struct bio *bio,
				migrate_region_t region)
{
	return (bio_op(bio) == REQ_OP_DISCARD ||
		bio_op(bio) == REQ_OP_WRITE_ZEROES) &&
	       covers_region(mc, bio, region);
}

/*
 * Post-copy: a write routed by migrate_post_copy_route(). Returns as
 * migrate_dispatch_write() does.
 */
static int post_copy_write(struct migrate_c *mc, struct bio *bio)
{
	struct migrate_io *io = bio_io(bio);
	enum migrate_post_copy_route route;
	struct migrate_region_view v;
	struct copy_job *job;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	job = __migrate_job_of_region(mc, io->region);
	v.in_sync = migrate_in_sync(mc->sync, io->region);
	v.has_job = job;
	v.lost = migrate_in_sync(mc->lost, io->region);
	v.whole = covers_region(mc, bio, io->region);
	route = migrate_post_copy_route(&v);
	if (route == MIGRATE_PC_HOLD) {
		bio_list_add(&job->held, bio);
		spin_unlock_irqrestore(&mc->lock, flags);
		return DM_MAPIO_SUBMITTED;
	}
	/* It would hold the only copy of the write. */
	if (route == MIGRATE_PC_FAIL || test_bit(MC_DEST_FAILED, &mc->flags)) {
		spin_unlock_irqrestore(&mc->lock, flags);
		io->flags |= IO_ENDED;
		bio_io_error(bio);
		return DM_MAPIO_SUBMITTED;
	}
	/*
	 * Every other route writes the destination alone: from here the
	 * source cannot take the volume back, and the superblock says so
	 * before the write is sent (migrate_release_failure_waits()).
	 */
	__set_bit(MC_ROLLBACK_LOST, &mc->flags);
	if (__migrate_record_pending(mc)) {
		bio_list_add(&mc->failure_wait, bio);
		spin_unlock_irqrestore(&mc->lock, flags);
		wake_worker(mc);
		return DM_MAPIO_SUBMITTED;
	}
	if (route == MIGRATE_PC_DEST) {
		spin_unlock_irqrestore(&mc->lock, flags);
		remap_to_leg(mc, bio, LEG_DEST);
		return DM_MAPIO_REMAPPED;
	}
	/*
	 * A slot, and for a copy its buffer (the worker allocates them at the
	 * first resume): else the next job to end, or the worker once the
	 * buffers are there, dispatches it again.
	 */
	if (mc->nr_jobs == mc->max_jobs ||
	    (route == MIGRATE_PC_COPY_FIRST && !mc->copy_buffers)) {
		bio_list_add(&mc->slot_wait, bio);
		spin_unlock_irqrestore(&mc->lock, flags);
		return DM_MAPIO_SUBMITTED;
	}
	if (route == MIGRATE_PC_WHOLE) {
		job = __migrate_claim_job(mc, io->region, bio);
		io->flags |= IO_JOB;
		io->job = job;
	} else {
		job = __migrate_claim_job(mc, io->region, NULL);
		bio_list_add(&job->held, bio);
	}
	spin_unlock_irqrestore(&mc->lock, flags);
	if (!job->waiting)
		migrate_start_job(job);
	return DM_MAPIO_SUBMITTED;
}

/*
 * Route a write, discard or write-zeroes confined to one region. Returns
 * DM_MAPIO_REMAPPED when the caller must submit @bio (remapped to the
 * source), DM_MAPIO_SUBMITTED when it was taken over.
 */
int migrate_dispatch_write(struct migrate_c *mc, struct bio *bio)
{
	struct migrate_io *io = bio_io(bio);
	struct copy_job *job;
	unsigned long flags;

	io->region = migrate_region_of(&mc->geo, bio->bi_iter.bi_sector);
	io->saved_iter = bio->bi_iter;
	io->flags &= ~(IO_TRACKED | IO_MIRRORED | IO_JOB);
	io->intent = NULL;

	if (test_bit(MC_POST_COPY, &mc->flags))
		return post_copy_write(mc, bio);

	spin_lock_irqsave(&mc->lock, flags);
	if (__migrate_record_pending(mc)) {
		/*
		 * A write one leg alone would hold waits until the metadata
		 * records the other's failure (dm-migrate-commit.c); the
		 * worker sends it once the record is durable.
		 */
		bio_list_add(&mc->failure_wait, bio);
		spin_unlock_irqrestore(&mc->lock, flags);
		wake_worker(mc);
		return DM_MAPIO_SUBMITTED;
	}
	if (test_bit(MC_DEST_FAILED, &mc->flags)) {
		/* No copy will run again: the source alone is the volume. */
		spin_unlock_irqrestore(&mc->lock, flags);
		remap_to_leg(mc, bio, LEG_SOURCE);
		return DM_MAPIO_REMAPPED;
	}
	if (migrate_in_sync(mc->sync, io->region)) {
		/*
		 * A region in sync has a job only while it is compared
		 * (dm-migrate-verify.c): its writes wait, as for a copy.
		 */
		job = __migrate_job_of_region(mc, io->region);
		if (job) {
			bio_list_add(&job->held, bio);
			spin_unlock_irqrestore(&mc->lock, flags);
			return DM_MAPIO_SUBMITTED;
		}
		/*
		 * Two overlapping writes in flight at once could end in one
		 * order on one leg and in the other on the other: the later
		 * waits until the earlier completed on both. Released by
		 * migrate_untrack()'s wake, dispatched again by the worker.
		 */
		if (__migrate_overlaps_inflight(mc, io)) {
			bio_list_add(&mc->overlap_wait, bio);
			spin_unlock_irqrestore(&mc->lock, flags);
			return DM_MAPIO_SUBMITTED;
		}
		/*
		 * The window lets a crash be repaired by copying from the
		 * source again: useless once the source has failed.
		 */
		if (mc->meta && !test_bit(MC_SOURCE_FAILED, &mc->flags) &&
		    !__migrate_intent_enter(mc, io)) {
			bool wake = mc->window.commit_wanted;

			bio_list_add(&mc->intent_wait, bio);
			spin_unlock_irqrestore(&mc->lock, flags);
			if (wake)
				wake_worker(mc);
			return DM_MAPIO_SUBMITTED;
		}
		__migrate_track(mc, io);
		spin_unlock_irqrestore(&mc->lock, flags);
		migrate_mirror_write(mc, bio);
		return DM_MAPIO_SUBMITTED;
	}
	job = __migrate_job_of_region(mc, io->region);
	if (job) {
		bio_list_add(&job->held, bio);
		spin_unlock_irqrestore(&mc->lock, flags);
		return DM_MAPIO_SUBMITTED;
	}
	/* Suspending waits for the jobs: none is claimed meanwhile. */
	if (unmaps_whole_region(mc, bio, io->region) &&
	    !(mc->flags & (BIT(MC_SOURCE_FAILED) | BIT(MC_SUSPENDED)))) {
		if (mc->nr_jobs == mc->max_jobs) {
			/* The next job to end dispatches it again. */
			bio_list_add(&mc->slot_wait, bio);
			spin_unlock_irqrestore(&mc->lock, flags);
			return DM_MAPIO_SUBMITTED;
		}
		job = __migrate_claim_job(mc, io->region, bio);
		io->flags |= IO_JOB;
		io->job = job;
		spin_unlock_irqrestore(&mc->lock, flags);
		if (!job->waiting)
			migrate_start_job(job);
		return DM_MAPIO_SUBMITTED;
	}
	__migrate_track(mc, io);
	spin_unlock_irqrestore(&mc->lock, flags);

	remap_to_leg(mc, bio, LEG_SOURCE);
	return DM_MAPIO_REMAPPED;
}

/*
 * Either leg holds every completed write to a region in sync (writes to it
 * are mirrored), so its reads go to the leg with fewer reads in flight, as
 * md's raid1 balances them: the workload gains the destination's bandwidth
 * while the copier uses part of each leg's. A read racing a mirrored write
 * may see either leg's data, as it could see the old or the new data of
 * any device. Lockless: a region once in sync stays so, and a leg once
 * failed stays failed.
 */
static enum migrate_leg_id read_leg(struct migrate_c *mc, migrate_region_t region)
{
	int src, dst;

	/*
	 * Post-copy: the destination holds the regions in sync, the source
	 * may be behind on them; a region not copied yet is read from the
	 * source and moves ahead of the copier's cursor.
	 */
	if (test_bit(MC_POST_COPY, &mc->flags)) {
		if (migrate_in_sync(mc->sync, region))
			return LEG_DEST;
		WRITE_ONCE(mc->read_hint, region);
		return LEG_SOURCE;
	}
	if (test_bit(MC_DEST_FAILED, &mc->flags) ||
	    !migrate_in_sync(mc->sync, region))
		return LEG_SOURCE;
	if (test_bit(MC_SOURCE_FAILED, &mc->flags))
		return LEG_DEST;
	src = atomic_read(&mc->reads_inflight[LEG_SOURCE]);
	dst = atomic_read(&mc->reads_inflight[LEG_DEST]);
	if (src != dst)
		return dst < src ? LEG_DEST : LEG_SOURCE;
	/* A reader one read at a time: alternate legs by region. */
	return region & 1 ? LEG_DEST : LEG_SOURCE;
}

static void submit_read(struct migrate_c *mc, struct bio *bio,
			enum migrate_leg_id leg)
{
	atomic_inc(&mc->reads_inflight[leg]);
	remap_to_leg(mc, bio, leg);
}

int migrate_map_read(struct migrate_c *mc, struct bio *bio)
{
	struct migrate_io *io = bio_io(bio);

	io->region = migrate_region_of(&mc->geo, bio->bi_iter.bi_sector);
	io->saved_iter = bio->bi_iter;
	io->saved_flags = bio->bi_flags;
	io->flags = IO_READ;
	submit_read(mc, bio, read_leg(mc, io->region));
	return DM_MAPIO_REMAPPED;
}

/*
 * Post-copy: a write covering a region not copied, done as its job. The
 * region is in sync before the write is acknowledged, so that a read after
 * it goes to the destination.
 */
static void whole_write_done(struct migrate_c *mc, struct migrate_io *io,
			     blk_status_t error)
{
	unsigned long flags;

	io->job->failed = error != BLK_STS_OK;
	if (!error) {
		spin_lock_irqsave(&mc->lock, flags);
		__migrate_region_copied(mc, io->region);
		spin_unlock_irqrestore(&mc->lock, flags);
	}
	migrate_job_done(io->job);
}

/* The end_io of a bio remapped to one leg (mirrored writes end in mirror.c). */
int migrate_io_end(struct migrate_c *mc, struct bio *bio, blk_status_t *error)
{
	struct migrate_io *io = bio_io(bio);
	unsigned long flags;

	/*
	 * Refused by post_copy_write(), with no leg's error; or ended again by
	 * migrate_commit_flushes(), and all was done the first time.
	 */
	if (io->flags & IO_ENDED)
		return DM_ENDIO_DONE;

	if (io->flags & IO_TRACKED)
		migrate_untrack(mc, io);

	if (io->flags & IO_READ)
		atomic_dec(&mc->reads_inflight[io->leg]);

	if ((io->flags & (IO_JOB | IO_MIRRORED)) == IO_JOB)
		whole_write_done(mc, io, *error);

	/*
	 * Post-copy: a FUA write is not durable until the commit that
	 * records its region as the destination's.
	 */
	if (!*error && !(io->flags & (IO_READ | IO_MIRRORED)) &&
	    io->leg == LEG_DEST && bio->bi_opf & REQ_FUA &&
	    test_bit(MC_POST_COPY, &mc->flags)) {
		io->flags |= IO_ENDED;
		migrate_wait_commit(mc, bio);
		return DM_ENDIO_INCOMPLETE;
	}

	if (io->flags & IO_MIRRORED || !io_error_is_leg_failure(*error))
		return DM_ENDIO_DONE;

	/*
	 * dm fails readahead at once on a suspended dm device (an LV as a leg
	 * while lvm changes it): nothing is wrong with the leg, and the page
	 * cache reads the page again when it is needed.
	 */
	if (bio->bi_opf & REQ_RAHEAD)
		return DM_ENDIO_DONE;

	/*
	 * Post-copy: a region not copied is lost, not the source; the
	 * destination's copy of a region is its only one, so no retry.
	 */
	if (test_bit(MC_POST_COPY, &mc->flags)) {
		if (io->flags & IO_READ && io->leg == LEG_SOURCE)
			migrate_region_lost(mc, io->region);
		else
			migrate_leg_failed(mc, io->leg);
		return DM_ENDIO_DONE;
	}

	migrate_leg_failed(mc, io->leg);

	/*
	 * A failed read of a region in sync is read again from the other
	 * leg, once: the source, or the destination while it is healthy.
	 */
	if (io->flags & IO_READ && !(io->flags & IO_RETRIED) &&
	    (io->leg == LEG_DEST ||
	     (!test_bit(MC_DEST_FAILED, &mc->flags) &&
	      migrate_in_sync(mc->sync, io->region)))) {
		io->flags |= IO_RETRIED;
		spin_lock_irqsave(&mc->lock, flags);
		bio_list_add(&mc->retry_reads, bio);
		spin_unlock_irqrestore(&mc->lock, flags);
		wake_worker(mc);
		return DM_ENDIO_INCOMPLETE;
	}
	return DM_ENDIO_DONE;
}

void migrate_retry_reads(struct migrate_c *mc)
{
	struct bio_list bios;
	struct bio *bio;

	migrate_take_bios(mc, &mc->retry_reads, &bios);

	while ((bio = bio_list_pop(&bios))) {
		/* As it was mapped (dm_bio_restore() is private to drivers/md). */
		bio->bi_iter = bio_io(bio)->saved_iter;
		bio->bi_flags = bio_io(bio)->saved_flags;
		bio->bi_status = BLK_STS_OK;
		submit_read(mc, bio, bio_io(bio)->leg == LEG_SOURCE ?
				     LEG_DEST : LEG_SOURCE);
		submit_bio_noacct(bio);
	}
}

void migrate_redispatch(struct migrate_c *mc, struct bio_list *bios)
{
	struct bio *bio;

	while ((bio = bio_list_pop(bios)))
		if (migrate_dispatch_write(mc, bio) == DM_MAPIO_REMAPPED)
			submit_bio_noacct(bio);
}

/* Writes waiting on @list (under mc->lock) try again. */
/* Empty @list, one of the target's lists under mc->lock, into @bios. */
void migrate_take_bios(struct migrate_c *mc, struct bio_list *list,
		       struct bio_list *bios)
{
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	*bios = *list;
	bio_list_init(list);
	spin_unlock_irqrestore(&mc->lock, flags);
}

void migrate_redispatch_waiting(struct migrate_c *mc, struct bio_list *list)
{
	struct bio_list bios;

	migrate_take_bios(mc, list, &bios);
	migrate_redispatch(mc, &bios);
}
