// SPDX-License-Identifier: GPL-2.0-only
/*
 * A write to a region in sync, or a whole-region discard done as a copy
 * job, cloned to both legs and completed once both have answered.
 *
 * migrate_mirror_write() runs in the map path or the worker and does not
 * sleep but in the mempool-backed clone allocation; the completion runs in
 * bio completion (irq) context.
 */
#include "dm-migrate.h"

static void mirror_done(struct migrate_io *io, enum migrate_leg_id leg,
			struct bio *clone)
{
	struct migrate_c *mc = io->mc;
	blk_status_t src, dst;
	struct bio *bio;

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
	/* A region discarded on one leg only stays to be copied. */
	if (io->flags & IO_JOB) {
		io->job->failed = src || dst;
		migrate_job_done(io->job);
	}

	/*
	 * The region is in sync, so either leg alone holds every write to it:
	 * a write fails only if both legs failed it. A failed destination
	 * ends the migration on the source; a failed source leaves the
	 * destination as the only complete copy, which status reports.
	 */
	bio = io_bio(io);
	bio->bi_status = (src && dst) ? src : BLK_STS_OK;
	bio_endio(bio);
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
	 * The mempool means GFP_NOIO cannot fail but for integrity cloning.
	 */
	clone[LEG_SOURCE] = bio_alloc_clone(mc->leg[LEG_SOURCE]->bdev, bio,
					    GFP_NOIO, &mc->bs);
	clone[LEG_DEST] = bio_alloc_clone(mc->leg[LEG_DEST]->bdev, bio,
					  GFP_NOIO, &mc->bs);
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
