// SPDX-License-Identifier: GPL-2.0-only
/*
 * A write to a region in sync, an empty flush, or a whole-region discard
 * done as a copy job, cloned to both legs and completed once both have
 * answered, by the acknowledgment rule:
 *
 *   the source must hold the write, until every region is in sync on a
 *   healthy destination: until then it is the only complete copy, the one
 *   an abort goes back to, so a write it failed fails;
 *
 *   every healthy leg must hold a write to a region in sync: a leg that
 *   failed it is recorded failed in the metadata (dm-migrate-commit.c)
 *   before the write is acknowledged, so that no reboot takes it for a
 *   copy of the volume.
 *
 * A write-zeroes one leg refuses as unsupported and the other did is
 * written there as zeroes by the worker, so that the legs never differ.
 *
 * migrate_mirror_write() runs in the map path or the worker and does not
 * sleep but in the mempool-backed clone allocation; the completion runs in
 * bio completion (irq) context; migrate_finish_zeroes() in the worker.
 */
#include <linux/blkdev.h>

#include "dm-migrate.h"

/* Every region in sync on a healthy destination. */
static bool dest_holds_everything(struct migrate_c *mc)
{
	unsigned long flags;
	bool all;

	spin_lock_irqsave(&mc->lock, flags);
	all = migrate_all_in_sync(mc->sync) &&
	      !test_bit(MC_DEST_FAILED, &mc->flags);
	spin_unlock_irqrestore(&mc->lock, flags);
	return all;
}

static blk_status_t ack_status(struct migrate_c *mc, blk_status_t src,
			       blk_status_t dst)
{
	if (!src || (!dst && dest_holds_everything(mc)))
		return BLK_STS_OK;
	return src;
}

static void mirror_end(struct migrate_io *io)
{
	struct migrate_c *mc = io->mc;
	blk_status_t src = io->status[LEG_SOURCE], dst = io->status[LEG_DEST];
	struct bio *bio = io_bio(io);
	unsigned long flags;
	bool held = false;

	/* A region discarded on one leg only stays to be copied. */
	if (io->flags & IO_JOB) {
		io->job->failed = src || dst;
		migrate_job_done(io->job);
	}

	bio->bi_status = ack_status(mc, src, dst);
	if (!bio->bi_status && (src || dst)) {
		spin_lock_irqsave(&mc->lock, flags);
		if (__migrate_record_pending(mc)) {
			/* Ended by migrate_release_failure_waits(). */
			bio_list_add(&mc->ack_wait, bio);
			held = true;
		}
		spin_unlock_irqrestore(&mc->lock, flags);
	}
	if (held)
		wake_worker(mc);
	else
		bio_endio(bio);
}

/* One leg did a write-zeroes to a region in sync, the other refused it. */
static bool zeroes_refused_by_one(struct migrate_io *io, blk_status_t src,
				  blk_status_t dst)
{
	return !(io->flags & IO_JOB) &&
	       bio_op(io_bio(io)) == REQ_OP_WRITE_ZEROES &&
	       ((src == BLK_STS_NOTSUPP && !dst) ||
		(dst == BLK_STS_NOTSUPP && !src));
}

static void mirror_done(struct migrate_io *io, enum migrate_leg_id leg,
			struct bio *clone)
{
	struct migrate_c *mc = io->mc;
	blk_status_t src, dst;
	unsigned long flags;

	io->status[leg] = clone->bi_status;
	bio_put(clone);
	/* atomic_dec_and_test() orders the other leg's status store before us. */
	if (!atomic_dec_and_test(&io->pending))
		return;

	if (io->intent)
		migrate_intent_done(mc, io->intent);

	src = io->status[LEG_SOURCE];
	dst = io->status[LEG_DEST];
	if (io_error_is_leg_failure(src))
		migrate_leg_failed(mc, LEG_SOURCE);
	if (io_error_is_leg_failure(dst))
		migrate_leg_failed(mc, LEG_DEST);

	if (zeroes_refused_by_one(io, src, dst)) {
		spin_lock_irqsave(&mc->lock, flags);
		bio_list_add(&mc->zero_wait, io_bio(io));
		spin_unlock_irqrestore(&mc->lock, flags);
		wake_worker(mc);
		return;
	}
	mirror_end(io);
}

/*
 * Zero, as plain writes where need be, what a leg refused to write-zeroes
 * (dm turns write-zeroes off on a device that refuses it, so the next one
 * is written as zeroes by the caller). Sleeps.
 */
void migrate_finish_zeroes(struct migrate_c *mc)
{
	struct bio_list bios;
	struct bio *bio;

	migrate_take_bios(mc, &mc->zero_wait, &bios);

	while ((bio = bio_list_pop(&bios))) {
		struct migrate_io *io = bio_io(bio);
		enum migrate_leg_id leg = io->status[LEG_SOURCE] ? LEG_SOURCE : LEG_DEST;
		int r;

		r = blkdev_issue_zeroout(mc->leg[leg]->bdev, io->saved_iter.bi_sector,
					 io->saved_iter.bi_size >> SECTOR_SHIFT, GFP_NOIO,
					 bio->bi_opf & REQ_NOUNMAP ? BLKDEV_ZERO_NOUNMAP : 0);
		io->status[leg] = errno_to_blk_status(r);
		if (io_error_is_leg_failure(io->status[leg]))
			migrate_leg_failed(mc, leg);
		mirror_end(io);
	}
}

static void mirror_source_endio(struct bio *clone)
{
	mirror_done(clone->bi_private, LEG_SOURCE, clone);
}

static void mirror_dest_endio(struct bio *clone)
{
	mirror_done(clone->bi_private, LEG_DEST, clone);
}

/* False when @bio was failed for want of clones. */
bool migrate_mirror_write(struct migrate_c *mc, struct bio *bio)
{
	static bio_end_io_t * const endio[NR_LEGS] = {
		mirror_source_endio, mirror_dest_endio
	};
	struct migrate_io *io = bio_io(bio);
	struct bio *clone[NR_LEGS];
	int leg;

	io->flags |= IO_MIRRORED;
	atomic_set(&io->pending, NR_LEGS);
	/*
	 * Both clones exist before either is sent, so neither completes early.
	 * Each comes from its leg's own mempool (see migrate_c.bs), so GFP_NOIO
	 * cannot fail but for integrity cloning.
	 */
	for (leg = 0; leg < NR_LEGS; leg++)
		clone[leg] = bio_alloc_clone(mc->leg[leg]->bdev, bio, GFP_NOIO,
					     &mc->bs[leg]);
	if (!clone[LEG_SOURCE] || !clone[LEG_DEST]) {
		for (leg = 0; leg < NR_LEGS; leg++)
			if (clone[leg])
				bio_put(clone[leg]);
		bio->bi_status = BLK_STS_RESOURCE;
		bio_endio(bio);
		return false;
	}
	for (leg = 0; leg < NR_LEGS; leg++) {
		clone[leg]->bi_end_io = endio[leg];
		clone[leg]->bi_private = io;
		submit_bio_noacct(clone[leg]);
	}
	return true;
}
