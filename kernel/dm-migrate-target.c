// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-migrate: move a live volume from a source device to a destination
 * device. Reads are served from the source while a background copier copies
 * each region with dm-kcopyd; writes to regions already copied go to both
 * legs, so every region once in sync stays in sync and the copy converges
 * however hard the workload writes.
 *
 * Write paths, by the state of the write's region (every bio is confined to
 * one region by max_io_len, or by dm_accept_partial_bio for discards):
 *
 *   in sync        cloned to both legs; completed when both have it. A
 *                  write overlapping one still in flight waits for it, since
 *                  each leg may complete the two in either order
 *   being copied   held on the copy job, re-dispatched once the copy is done
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
 * With a metadata device, a write to a region in sync first puts the region
 * in the write-intent window (its bit cleared on disk by a commit), so that
 * a crash with the write on one leg only is repaired by copying it again.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/dm-kcopyd.h>
#include <linux/hash.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "dm-migrate-args.h"
#include "dm-migrate-metadata.h"
#include "dm-migrate-region.h"

#define DM_MSG_PREFIX "migrate"

#define MIGRATE_COPY_JOBS	8	/* regions copied at once */
#define MIGRATE_INFLIGHT_BITS	8
#define MIGRATE_MIN_IOS		256
#define MIGRATE_WINDOW		256	/* write-intent window, in regions */
#define MIGRATE_WINDOW_BITS	7
#define MIGRATE_COMMIT_PERIOD	HZ

/*
 * The volume is busy while user I/O is in flight or was mapped within the
 * last MIGRATE_BUSY_SPAN. Then the copier gives way, as md's resync does:
 * one region at a time, each copy followed by a rest 1/MIGRATE_BUSY_REST_DIV
 * as long as it took, so that it holds the legs at most two thirds of the
 * time whatever their speed; and at least long enough that copies run at
 * no more than two thirds of the rate measured over MIGRATE_RATE_SPAN of
 * copying without rests (see __rest_after).
 */
#define MIGRATE_BUSY_SPAN	(HZ / 10)
#define MIGRATE_BUSY_REST_DIV	2
#define MIGRATE_RATE_SPAN	NSEC_PER_SEC

enum migrate_leg_id { LEG_SOURCE, LEG_DEST, NR_LEGS };

static const char * const leg_name[NR_LEGS] = { "source", "destination" };

/* Bits of migrate_c.flags. */
enum {
	MC_SOURCE_FAILED,	/* == LEG_SOURCE */
	MC_DEST_FAILED,		/* == LEG_DEST */
	MC_PAUSED,
	MC_SUSPENDED,		/* no new copies: presuspend until resume */
	MC_METADATA_FAILED,
};

struct copy_job {
	struct migrate_c *mc;
	struct list_head done_entry;
	struct bio_list held;	/* writes to the region, waiting for the copy */
	region_t region;
	bool active;		/* slot in use */
	ktime_t claimed;	/* for the rest after it, when paced */
	bool paced;		/* claimed while busy: a rest follows */
	bool waiting;		/* claimed, waiting for source writes to drain */
	struct bio *discard;	/* a discard of the whole region, not a copy */
	bool failed;		/* the discard: not done on both legs */
	int read_err;
	unsigned long write_err;
};

/*
 * A region of the write-intent window: its bit is clear on disk, so writes
 * to it may leave the legs different after a crash. Usable once the commit
 * @ready_seq that cleared the bit is durable.
 */
struct window_entry {
	struct hlist_node hash;
	struct list_head lru;	/* window_lru, least recently written first */
	region_t region;
	unsigned int inflight;	/* mirrored writes not completed */
	u64 ready_seq;
	bool leaving;		/* the bit is set again at the next commit ... */
	bool flushed;		/* ... which has begun, with a flush of the legs */
};

struct migrate_c {
	struct dm_target *ti;
	struct dm_dev *leg[NR_LEGS];
	struct dm_dev *meta_dev;
	struct migrate_metadata *md;
	char pair_id[MIGRATE_PAIR_ID_MAX + 1];
	struct region_geometry geo;

	/*
	 * Protects the region map, the job slots and their held lists, the
	 * discards waiting for a slot, the in-flight hash and the writes
	 * waiting for an overlapping one to complete, the copy cursor,
	 * the done list, the throttle and the copier clock. Taken from bio
	 * completion (irq) context, so always with irqsave. Never held
	 * across I/O submission.
	 */
	spinlock_t lock;
	struct region_map *map;
	struct copy_job jobs[MIGRATE_COPY_JOBS];
	unsigned int nr_jobs;
	unsigned int nr_waiting;
	region_t cursor;
	/* Source-only writes, and mirrored writes, in flight, by region. */
	struct hlist_head inflight[1 << MIGRATE_INFLIGHT_BITS];
	struct bio_list overlap_wait;	/* mirrored writes: see dispatch_write */
	struct list_head done_jobs;
	struct bio_list discard_wait;	/* whole-region discards: no job free */
	struct bio_list retry_reads;
	u64 rate;
	ktime_t throttle_next;
	ktime_t rest_until;	/* busy: no copy starts before */
	/*
	 * Bytes per second copied without rests, 0 until measured over a
	 * window of MIGRATE_RATE_SPAN that starts at rate_since (0: none).
	 */
	u64 unpaced_rate;
	ktime_t rate_since;
	u64 rate_bytes;
	unsigned int nr_tracked;	/* writes in mc->inflight */
	u64 bytes_copied;
	bool copier_running;
	ktime_t copier_since;
	u64 copier_ns;

	/* The write-intent window, also under mc->lock. */
	struct window_entry window[MIGRATE_WINDOW];
	struct hlist_head window_hash[1 << MIGRATE_WINDOW_BITS];
	struct list_head window_lru;
	struct list_head window_free;
	struct bio_list intent_wait;	/* writes waiting for their region */
	u64 commit_seq;			/* the last commit begun */
	u64 committed_seq;		/* the last commit durable */
	bool commit_wanted;		/* a write waits for a commit */
	bool commit_due;		/* the commit period has passed */
	bool need_dest_flush;		/* regions newly in sync */
	struct mutex commit_lock;	/* one commit at a time */
	struct delayed_work commit_tick;

	unsigned long flags;
	atomic64_t errors[NR_LEGS];
	/* jiffies of the last user read or write, read without a lock. */
	unsigned long last_user_io;
	/* User reads in flight to each leg, to spread reads of regions in sync. */
	atomic_t reads_inflight[NR_LEGS];

	wait_queue_head_t jobs_drained;
	struct workqueue_struct *wq;
	struct work_struct worker;
	struct delayed_work waker;	/* ends a rate-limit pause */
	struct work_struct event_work;

	struct dm_kcopyd_client *kc;
	struct bio_set bs;
};

/* Per-bio data. */
struct migrate_io {
	struct migrate_c *mc;
	struct window_entry *intent;	/* counted in this window entry */
	struct copy_job *job;		/* the discard this job is */
	struct hlist_node inflight;
	/* Where the bio starts: to re-issue a failed read, to find overlaps. */
	struct bvec_iter saved_iter;
	region_t region;
	atomic_t pending;		/* mirrored write: legs outstanding */
	blk_status_t status[NR_LEGS];
	u8 leg;
	u8 flags;
};

#define IO_TRACKED	0x01	/* in mc->inflight */
#define IO_MIRRORED	0x02	/* cloned to both legs */
#define IO_FLUSH	0x04
#define IO_READ		0x08	/* counted in reads_inflight */
#define IO_RETRIED	0x10	/* a read re-issued to the other leg */
#define IO_JOB		0x20	/* a discard done as a copy job */

static const char *mc_name(struct migrate_c *mc)
{
	return dm_device_name(dm_table_get_md(mc->ti->table));
}

static struct migrate_io *bio_io(struct bio *bio)
{
	return dm_per_bio_data(bio, sizeof(struct migrate_io));
}

static struct bio *io_bio(struct migrate_io *io)
{
	return dm_bio_from_per_bio_data(io, sizeof(struct migrate_io));
}

static void wake_worker(struct migrate_c *mc)
{
	queue_work(mc->wq, &mc->worker);
}

static void raise_event(struct migrate_c *mc)
{
	/* dm_table_event() takes a mutex: never call it from bio completion. */
	schedule_work(&mc->event_work);
}

/* Caller holds mc->lock. */
static enum migrate_state __state(struct migrate_c *mc)
{
	struct migrate_health h = {
		.all_in_sync = region_map_all_in_sync(mc->map),
		.paused = test_bit(MC_PAUSED, &mc->flags),
		.source_failed = test_bit(MC_SOURCE_FAILED, &mc->flags),
		.dest_failed = test_bit(MC_DEST_FAILED, &mc->flags),
	};

	return migrate_state_of(&h);
}

/*
 * Every state change: a dm event (dmsetup wait, dmmigrate wait) and a change
 * uevent carrying the new state, which udev rules can act on; the state is
 * read here, so a burst of changes reports the latest.
 */
static void event_work_fn(struct work_struct *ws)
{
	struct migrate_c *mc = container_of(ws, struct migrate_c, event_work);
	struct gendisk *disk = dm_disk(dm_table_get_md(mc->ti->table));
	char state[32], *envp[] = { state, NULL };
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	snprintf(state, sizeof(state), "DM_MIGRATE_STATE=%s",
		 migrate_state_name(__state(mc)));
	spin_unlock_irqrestore(&mc->lock, flags);

	dm_table_event(mc->ti->table);
	kobject_uevent_env(&disk_to_dev(disk)->kobj, KOBJ_CHANGE, envp);
}

/*
 * The copier clock counts the time spent copying, so that bytes copied over
 * it is the achieved copy rate. Called after every change that may start or
 * stop the copier. Caller holds mc->lock.
 */
static void __update_copier_clock(struct migrate_c *mc)
{
	bool running = !test_bit(MC_SUSPENDED, &mc->flags) &&
		       __state(mc) == MIGRATE_COPYING;
	ktime_t now = ktime_get();

	if (running && !mc->copier_running) {
		mc->copier_since = now;
	} else if (!running && mc->copier_running) {
		mc->copier_ns += ktime_to_ns(ktime_sub(now, mc->copier_since));
		/* A stop is no part of the copy's rate. */
		mc->rate_since = 0;
	}
	mc->copier_running = running;
}

static bool io_error_is_leg_failure(blk_status_t status)
{
	/* An unsupported operation or a nowait refusal says nothing of the leg. */
	return status && status != BLK_STS_NOTSUPP && status != BLK_STS_AGAIN;
}

/* May be called from bio completion. */
static void leg_failed(struct migrate_c *mc, enum migrate_leg_id leg)
{
	unsigned long flags;

	atomic64_inc(&mc->errors[leg]);
	if (test_bit(leg, &mc->flags))
		return;

	spin_lock_irqsave(&mc->lock, flags);
	if (__test_and_set_bit(leg, &mc->flags)) {
		spin_unlock_irqrestore(&mc->lock, flags);
		return;
	}
	__update_copier_clock(mc);
	spin_unlock_irqrestore(&mc->lock, flags);

	DMERR_LIMIT("%s: %s leg failed", mc_name(mc), leg_name[leg]);
	raise_event(mc);
	/* Held writes of a failed copy are released by the worker. */
	wake_worker(mc);
}

static unsigned int inflight_slot(region_t region)
{
	return hash_64(region, MIGRATE_INFLIGHT_BITS);
}

/* Source-only writes still in flight to @region. Caller holds mc->lock. */
static bool __region_has_inflight(struct migrate_c *mc, region_t region)
{
	struct migrate_io *io;

	hlist_for_each_entry(io, &mc->inflight[inflight_slot(region)], inflight)
		if (io->region == region)
			return true;
	return false;
}

/*
 * A mirrored write in flight that @io overlaps. Only mirrored writes are in
 * the hash for a region in sync: it took none source-only since its copy.
 * Caller holds mc->lock.
 */
static bool __overlaps_inflight(struct migrate_c *mc, struct migrate_io *io)
{
	sector_t start = io->saved_iter.bi_sector;
	sector_t end = start + (io->saved_iter.bi_size >> SECTOR_SHIFT);
	struct migrate_io *other;

	hlist_for_each_entry(other, &mc->inflight[inflight_slot(io->region)],
			     inflight) {
		sector_t o_start = other->saved_iter.bi_sector;
		sector_t o_end = o_start +
				 (other->saved_iter.bi_size >> SECTOR_SHIFT);

		if (other->region == io->region && start < o_end && o_start < end)
			return true;
	}
	return false;
}

/* Caller holds mc->lock. */
static void __track(struct migrate_c *mc, struct migrate_io *io)
{
	io->flags |= IO_TRACKED;
	mc->nr_tracked++;
	hlist_add_head(&io->inflight, &mc->inflight[inflight_slot(io->region)]);
}

/* A job's copy or discard has ended: the worker records it. */
static void job_done(struct copy_job *job)
{
	struct migrate_c *mc = job->mc;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	list_add_tail(&job->done_entry, &mc->done_jobs);
	spin_unlock_irqrestore(&mc->lock, flags);
	wake_worker(mc);
}

/* Caller holds mc->lock. */
static struct copy_job *__job_of_region(struct migrate_c *mc, region_t region)
{
	unsigned int i;

	for (i = 0; i < MIGRATE_COPY_JOBS; i++)
		if (mc->jobs[i].active && mc->jobs[i].region == region)
			return &mc->jobs[i];
	return NULL;
}

static void remap_to_leg(struct migrate_c *mc, struct bio *bio,
			 enum migrate_leg_id leg)
{
	bio_io(bio)->leg = leg;
	bio_set_dev(bio, mc->leg[leg]->bdev);
}

static struct window_entry *__window_lookup(struct migrate_c *mc,
					    region_t region)
{
	struct window_entry *ent;

	hlist_for_each_entry(ent, &mc->window_hash[hash_64(region, MIGRATE_WINDOW_BITS)],
			     hash)
		if (ent->region == region)
			return ent;
	return NULL;
}

/*
 * Make room in a full window: the least recently written entry with no
 * write in flight leaves at the next commit. Caller holds mc->lock.
 */
static void __window_make_room(struct migrate_c *mc)
{
	struct window_entry *ent;

	list_for_each_entry(ent, &mc->window_lru, lru) {
		if (!ent->leaving && !ent->inflight) {
			ent->leaving = true;
			mc->commit_wanted = true;
			return;
		}
	}
}

/* Caller holds mc->lock. */
static void __window_request(struct migrate_c *mc, region_t region)
{
	struct window_entry *ent;

	if (list_empty(&mc->window_free)) {
		__window_make_room(mc);
		return;
	}
	ent = list_first_entry(&mc->window_free, struct window_entry, lru);
	list_move_tail(&ent->lru, &mc->window_lru);
	ent->region = region;
	ent->inflight = 0;
	ent->leaving = false;
	ent->flushed = false;
	/* The commit that clears its bit is the next one to begin. */
	ent->ready_seq = mc->commit_seq + 1;
	hlist_add_head(&ent->hash,
		       &mc->window_hash[hash_64(region, MIGRATE_WINDOW_BITS)]);
	migrate_md_region_changed(mc->md, region);
	mc->commit_wanted = true;
}

/*
 * Count a write to a region in sync in the window. False when the write
 * must wait for a commit (the region is not yet durably in the window).
 * Caller holds mc->lock.
 */
static bool __window_enter(struct migrate_c *mc, struct migrate_io *io)
{
	struct window_entry *ent = __window_lookup(mc, io->region);

	if (ent && ent->leaving) {
		/* Once its commit has begun the bit may already be set. */
		if (ent->flushed)
			return false;
		ent->leaving = false;
	}
	if (!ent) {
		__window_request(mc, io->region);
		return false;
	}
	if (ent->ready_seq > mc->committed_seq)
		return false;
	ent->inflight++;
	io->intent = ent;
	list_move_tail(&ent->lru, &mc->window_lru);
	return true;
}

/* May be called from bio completion. */
static void window_write_done(struct migrate_c *mc, struct window_entry *ent)
{
	unsigned long flags;
	bool wake;

	spin_lock_irqsave(&mc->lock, flags);
	/* Writes waiting for room in a full window may go on now. */
	wake = !--ent->inflight && !bio_list_empty(&mc->intent_wait) &&
	       list_empty(&mc->window_free);
	if (wake)
		__window_make_room(mc);
	spin_unlock_irqrestore(&mc->lock, flags);
	if (wake)
		wake_worker(mc);
}

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
		window_write_done(mc, io->intent);

	src = io->status[LEG_SOURCE];
	dst = io->status[LEG_DEST];
	if (io_error_is_leg_failure(src))
		leg_failed(mc, LEG_SOURCE);
	if (io_error_is_leg_failure(dst))
		leg_failed(mc, LEG_DEST);
	/* A region discarded on one leg only stays to be copied. */
	if (io->flags & IO_JOB) {
		io->job->failed = src || dst;
		job_done(io->job);
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
static bool mirror_write(struct migrate_c *mc, struct bio *bio)
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

static void copy_done(int read_err, unsigned long write_err, void *context)
{
	struct copy_job *job = context;

	job->read_err = read_err;
	job->write_err = write_err;
	job_done(job);
}

static void start_copy(struct copy_job *job)
{
	struct migrate_c *mc = job->mc;
	struct dm_io_region from = {
		.bdev = mc->leg[LEG_SOURCE]->bdev,
		.sector = region_start(&mc->geo, job->region),
		.count = region_len(&mc->geo, job->region),
	};
	struct dm_io_region to = from;

	to.bdev = mc->leg[LEG_DEST]->bdev;
	dm_kcopyd_copy(mc->kc, &from, 1, &to, 0, copy_done, job);
}

/* A job starts once no source write to its region is in flight. */
static void start_job(struct copy_job *job)
{
	if (!job->discard)
		start_copy(job);
	else if (!mirror_write(job->mc, job->discard))
		job_done(job);	/* failed, so the region stays to be copied */
}

/*
 * Take a free job slot for @region: a copy, or @discard when that covers
 * the region. Caller holds mc->lock and has seen a slot free.
 */
static struct copy_job *__claim_job(struct migrate_c *mc, region_t region,
				    struct bio *discard)
{
	struct copy_job *job = NULL;
	unsigned int i;

	for (i = 0; i < MIGRATE_COPY_JOBS; i++)
		if (!mc->jobs[i].active)
			job = &mc->jobs[i];
	job->region = region;
	job->active = true;
	job->claimed = ktime_get();
	job->paced = false;
	job->discard = discard;
	job->failed = !!discard;	/* until both legs did it */
	job->read_err = 0;
	job->write_err = 0;
	bio_list_init(&job->held);
	mc->nr_jobs++;

	/* Writes issued before the claim may still be on their way. */
	job->waiting = __region_has_inflight(mc, region);
	if (job->waiting)
		mc->nr_waiting++;
	return job;
}

/*
 * A write-zeroes of a whole region sent to both legs leaves them alike
 * without a copy; so does a discard, after which the region's data is
 * undefined, as on any device.
 */
static bool unmaps_whole_region(struct migrate_c *mc, struct bio *bio,
				region_t region)
{
	return (bio_op(bio) == REQ_OP_DISCARD ||
		bio_op(bio) == REQ_OP_WRITE_ZEROES) &&
	       bio->bi_iter.bi_sector == region_start(&mc->geo, region) &&
	       bio_sectors(bio) == region_len(&mc->geo, region);
}

/*
 * Route a write, discard or write-zeroes confined to one region. Returns
 * DM_MAPIO_REMAPPED when the caller must submit @bio (remapped to the
 * source), DM_MAPIO_SUBMITTED when it was taken over. Never sleeps but for
 * the mempool-backed clone allocation.
 */
static int dispatch_write(struct migrate_c *mc, struct bio *bio)
{
	struct migrate_io *io = bio_io(bio);
	struct copy_job *job;
	unsigned long flags;

	io->region = region_of_sector(&mc->geo, bio->bi_iter.bi_sector);
	io->saved_iter = bio->bi_iter;
	io->flags &= ~(IO_TRACKED | IO_MIRRORED | IO_JOB);
	io->intent = NULL;

	spin_lock_irqsave(&mc->lock, flags);
	if (test_bit(MC_DEST_FAILED, &mc->flags)) {
		/* No copy will run again: the source alone is the volume. */
		spin_unlock_irqrestore(&mc->lock, flags);
		remap_to_leg(mc, bio, LEG_SOURCE);
		return DM_MAPIO_REMAPPED;
	}
	if (region_map_in_sync(mc->map, io->region)) {
		/*
		 * Two overlapping writes in flight at once could end in one
		 * order on one leg and in the other on the other: the later
		 * waits until the earlier completed on both. Released by
		 * migrate_end_io's wake, dispatched again by the worker.
		 */
		if (__overlaps_inflight(mc, io)) {
			bio_list_add(&mc->overlap_wait, bio);
			spin_unlock_irqrestore(&mc->lock, flags);
			return DM_MAPIO_SUBMITTED;
		}
		if (mc->md && !__window_enter(mc, io)) {
			bool wake = mc->commit_wanted;

			bio_list_add(&mc->intent_wait, bio);
			spin_unlock_irqrestore(&mc->lock, flags);
			if (wake)
				wake_worker(mc);
			return DM_MAPIO_SUBMITTED;
		}
		__track(mc, io);
		spin_unlock_irqrestore(&mc->lock, flags);
		mirror_write(mc, bio);
		return DM_MAPIO_SUBMITTED;
	}
	job = __job_of_region(mc, io->region);
	if (job) {
		bio_list_add(&job->held, bio);
		spin_unlock_irqrestore(&mc->lock, flags);
		return DM_MAPIO_SUBMITTED;
	}
	/* Suspending waits for the jobs: none is claimed meanwhile. */
	if (unmaps_whole_region(mc, bio, io->region) &&
	    !(mc->flags & (BIT(MC_SOURCE_FAILED) | BIT(MC_SUSPENDED)))) {
		if (mc->nr_jobs == MIGRATE_COPY_JOBS) {
			/* The next job to end dispatches it again. */
			bio_list_add(&mc->discard_wait, bio);
			spin_unlock_irqrestore(&mc->lock, flags);
			return DM_MAPIO_SUBMITTED;
		}
		job = __claim_job(mc, io->region, bio);
		io->flags |= IO_JOB;
		io->job = job;
		spin_unlock_irqrestore(&mc->lock, flags);
		if (!job->waiting)
			start_job(job);
		return DM_MAPIO_SUBMITTED;
	}
	__track(mc, io);
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
 * any device.
 */
static enum migrate_leg_id read_leg(struct migrate_c *mc, region_t region)
{
	int src, dst;

	if (test_bit(MC_DEST_FAILED, &mc->flags) ||
	    !region_map_in_sync(mc->map, region))
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

static int migrate_map(struct dm_target *ti, struct bio *bio)
{
	struct migrate_c *mc = ti->private;
	struct migrate_io *io = bio_io(bio);
	sector_t left;

	io->mc = mc;
	io->flags = 0;

	if (bio->bi_opf & REQ_PREFLUSH) {
		/*
		 * dm sends num_flush_bios (2) empty flushes: one per leg. With
		 * the destination failed both go to the source.
		 */
		io->flags = IO_FLUSH;
		if (dm_bio_get_target_bio_nr(bio) == LEG_DEST &&
		    !test_bit(MC_DEST_FAILED, &mc->flags))
			remap_to_leg(mc, bio, LEG_DEST);
		else
			remap_to_leg(mc, bio, LEG_SOURCE);
		return DM_MAPIO_REMAPPED;
	}

	bio->bi_iter.bi_sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	WRITE_ONCE(mc->last_user_io, jiffies);

	if (bio_data_dir(bio) == READ) {
		io->region = region_of_sector(&mc->geo, bio->bi_iter.bi_sector);
		io->saved_iter = bio->bi_iter;
		io->flags = IO_READ;
		submit_read(mc, bio, read_leg(mc, io->region));
		return DM_MAPIO_REMAPPED;
	}

	/* Discards are not split at max_io_len by every kernel: trim here. */
	left = region_sectors_left(&mc->geo, bio->bi_iter.bi_sector);
	if (bio_sectors(bio) > left)
		dm_accept_partial_bio(bio, left);

	return dispatch_write(mc, bio);
}

/* Every region in sync on a healthy destination. Called from bio completion. */
static bool dest_holds_everything(struct migrate_c *mc)
{
	unsigned long flags;
	bool all;

	spin_lock_irqsave(&mc->lock, flags);
	all = region_map_all_in_sync(mc->map) &&
	      !test_bit(MC_DEST_FAILED, &mc->flags);
	spin_unlock_irqrestore(&mc->lock, flags);
	return all;
}

static int migrate_end_io(struct dm_target *ti, struct bio *bio,
			  blk_status_t *error)
{
	struct migrate_c *mc = ti->private;
	struct migrate_io *io = bio_io(bio);
	unsigned long flags;

	if (io->flags & IO_TRACKED) {
		spin_lock_irqsave(&mc->lock, flags);
		hlist_del(&io->inflight);
		io->flags &= ~IO_TRACKED;
		mc->nr_tracked--;
		if (mc->nr_waiting || !bio_list_empty(&mc->overlap_wait))
			wake_worker(mc);
		spin_unlock_irqrestore(&mc->lock, flags);
	}

	if (io->flags & IO_READ)
		atomic_dec(&mc->reads_inflight[io->leg]);

	if (io->flags & IO_MIRRORED || !io_error_is_leg_failure(*error))
		return DM_ENDIO_DONE;

	leg_failed(mc, io->leg);

	/*
	 * A flush fails only if no healthy leg holds every acknowledged
	 * write: the source does when the destination fails (the volume
	 * keeps running on it); the destination does once every region is in
	 * sync, and the other flush of this pair, its own, makes that durable.
	 */
	if (io->flags & IO_FLUSH &&
	    (io->leg == LEG_DEST || dest_holds_everything(mc))) {
		*error = BLK_STS_OK;
		return DM_ENDIO_DONE;
	}

	/*
	 * A failed read of a region in sync is read again from the other
	 * leg, once: the source, or the destination while it is healthy.
	 */
	if (io->flags & IO_READ && !(io->flags & IO_RETRIED) &&
	    (io->leg == LEG_DEST ||
	     (!test_bit(MC_DEST_FAILED, &mc->flags) &&
	      region_map_in_sync(mc->map, io->region)))) {
		io->flags |= IO_RETRIED;
		spin_lock_irqsave(&mc->lock, flags);
		bio_list_add(&mc->retry_reads, bio);
		spin_unlock_irqrestore(&mc->lock, flags);
		wake_worker(mc);
		return DM_ENDIO_INCOMPLETE;
	}
	return DM_ENDIO_DONE;
}

static void retry_reads(struct migrate_c *mc)
{
	struct bio_list bios;
	unsigned long flags;
	struct bio *bio;

	spin_lock_irqsave(&mc->lock, flags);
	bios = mc->retry_reads;
	bio_list_init(&mc->retry_reads);
	spin_unlock_irqrestore(&mc->lock, flags);

	while ((bio = bio_list_pop(&bios))) {
		bio->bi_iter = bio_io(bio)->saved_iter;
		bio->bi_status = BLK_STS_OK;
		submit_read(mc, bio, bio_io(bio)->leg == LEG_SOURCE ?
				     LEG_DEST : LEG_SOURCE);
		submit_bio_noacct(bio);
	}
}

static void redispatch(struct migrate_c *mc, struct bio_list *bios)
{
	struct bio *bio;

	while ((bio = bio_list_pop(bios)))
		if (dispatch_write(mc, bio) == DM_MAPIO_REMAPPED)
			submit_bio_noacct(bio);
}

/* Writes waiting on @list (under mc->lock) try again. */
static void redispatch_waiting(struct migrate_c *mc, struct bio_list *list)
{
	struct bio_list bios;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	bios = *list;
	bio_list_init(list);
	spin_unlock_irqrestore(&mc->lock, flags);
	redispatch(mc, &bios);
}

/*
 * In flight counts too: user I/O queued behind copies at a slow leg can
 * take longer than the span to complete, and with the copier back at full
 * speed would wait longer still. Caller holds mc->lock.
 */
static bool __volume_busy(struct migrate_c *mc)
{
	return mc->nr_tracked ||
	       atomic_read(&mc->reads_inflight[LEG_SOURCE]) ||
	       atomic_read(&mc->reads_inflight[LEG_DEST]) ||
	       time_before(jiffies,
			   READ_ONCE(mc->last_user_io) + MIGRATE_BUSY_SPAN);
}

/*
 * A copy claimed without rest has ended: the rate of such copies, measured
 * from one's end to the end of the first after MIGRATE_RATE_SPAN, so that
 * with copies always in flight it is what the legs give the copier.
 * Caller holds mc->lock.
 */
static void __measure_rate(struct migrate_c *mc, u64 bytes)
{
	ktime_t now = ktime_get();
	u64 ns;

	if (!mc->rate_since) {
		mc->rate_since = now;
		mc->rate_bytes = 0;
		return;
	}
	mc->rate_bytes += bytes;
	ns = ktime_to_ns(ktime_sub(now, mc->rate_since));
	if (ns < MIGRATE_RATE_SPAN)
		return;
	mc->unpaced_rate = mul_u64_u64_div_u64(mc->rate_bytes, NSEC_PER_SEC,
					       ns);
	mc->rate_since = now;
	mc->rate_bytes = 0;
}

/*
 * A paced copy of @bytes has ended: it earns a rest of half its time, and
 * at least as much as keeps copies to two thirds of the unpaced rate. A leg
 * behind a token bucket (qemu's throttle, many cloud volumes) takes a copy
 * at once and charges it to the I/O after it, so the copy's own time
 * understates its cost there; on other legs both give about the same rest.
 * Caller holds mc->lock.
 */
static void __rest_after(struct migrate_c *mc, struct copy_job *job,
			 u64 bytes)
{
	ktime_t now = ktime_get();
	u64 took = ktime_to_ns(ktime_sub(now, job->claimed));
	u64 rest = div_u64(took, MIGRATE_BUSY_REST_DIV);
	u64 cycle = mul_u64_u64_div_u64(bytes,
					NSEC_PER_SEC * (MIGRATE_BUSY_REST_DIV + 1),
					mc->unpaced_rate * MIGRATE_BUSY_REST_DIV);

	if (cycle > took + rest)
		rest = cycle - took;
	mc->rest_until = ktime_add_ns(now, rest);
}

/* Record finished copies and release the writes they held. */
static void finish_copies(struct migrate_c *mc)
{
	struct copy_job *job, *tmp;
	struct bio_list held;
	bool synced = false;
	unsigned long flags;
	LIST_HEAD(done);

	spin_lock_irqsave(&mc->lock, flags);
	list_splice_init(&mc->done_jobs, &done);
	spin_unlock_irqrestore(&mc->lock, flags);

	list_for_each_entry_safe(job, tmp, &done, done_entry) {
		list_del(&job->done_entry);
		if (job->read_err)
			leg_failed(mc, LEG_SOURCE);
		if (job->write_err)
			leg_failed(mc, LEG_DEST);

		bio_list_init(&held);
		spin_lock_irqsave(&mc->lock, flags);
		if (!job->read_err && !job->write_err && !job->failed) {
			region_map_mark_in_sync(mc->map, job->region);
			if (mc->md) {
				migrate_md_region_changed(mc->md, job->region);
				mc->need_dest_flush = true;
			}
			if (!job->discard) {
				u64 bytes = to_bytes(region_len(&mc->geo,
								job->region));

				mc->bytes_copied += bytes;
				if (job->paced)
					__rest_after(mc, job, bytes);
				else
					__measure_rate(mc, bytes);
			}
			synced = region_map_all_in_sync(mc->map);
		}
		/*
		 * From here writes to the region see it in sync (mirrored) or,
		 * after a failed copy, not copied (source only); the held ones
		 * take the same path. The slot is free for a waiting discard.
		 */
		bio_list_merge(&held, &job->held);
		bio_list_init(&job->held);
		bio_list_merge(&held, &mc->discard_wait);
		bio_list_init(&mc->discard_wait);
		job->active = false;
		mc->nr_jobs--;
		__update_copier_clock(mc);
		spin_unlock_irqrestore(&mc->lock, flags);

		redispatch(mc, &held);
	}

	if (synced) {
		DMINFO("%s: every region is in sync", mc_name(mc));
		raise_event(mc);
	}
	wake_up_all(&mc->jobs_drained);
}

/* Start claimed copies whose region no longer has source writes in flight. */
static void start_waiting_copies(struct migrate_c *mc)
{
	struct copy_job *ready[MIGRATE_COPY_JOBS];
	unsigned int i, n = 0;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	for (i = 0; i < MIGRATE_COPY_JOBS && mc->nr_waiting; i++) {
		struct copy_job *job = &mc->jobs[i];

		if (job->active && job->waiting &&
		    !__region_has_inflight(mc, job->region)) {
			job->waiting = false;
			mc->nr_waiting--;
			ready[n++] = job;
		}
	}
	spin_unlock_irqrestore(&mc->lock, flags);

	for (i = 0; i < n; i++)
		start_job(ready[i]);
}

/*
 * Rate limit: each copy moves the next allowed start by its length at the
 * configured rate. Returns the delay in jiffies before the next copy may
 * start, 0 if it may start now. Caller holds mc->lock.
 */
static unsigned long __throttle(struct migrate_c *mc, sector_t sectors)
{
	ktime_t now = ktime_get();
	u64 ns;

	if (!mc->rate)
		return 0;
	if (ktime_before(now, mc->throttle_next)) {
		ns = ktime_to_ns(ktime_sub(mc->throttle_next, now));
		return max(1UL, nsecs_to_jiffies(ns));
	}
	ns = div64_u64(to_bytes(sectors) * NSEC_PER_SEC, mc->rate);
	mc->throttle_next = ktime_add_ns(now, ns);
	return 0;
}

/* Caller holds mc->lock. */
static struct copy_job *__claim_next_region(struct migrate_c *mc,
					    unsigned long *delay)
{
	/* Until the unpaced rate is known, copies run without rests. */
	bool paced = mc->unpaced_rate && __volume_busy(mc);
	ktime_t now = ktime_get();
	struct copy_job *job;
	region_t r;

	if (mc->flags & (BIT(MC_PAUSED) | BIT(MC_SUSPENDED) |
			 BIT(MC_SOURCE_FAILED) | BIT(MC_DEST_FAILED)) ||
	    mc->nr_jobs == MIGRATE_COPY_JOBS ||
	    (paced && mc->nr_jobs))
		return NULL;

	r = region_map_next_unsynced(mc->map, mc->cursor);
	if (r == mc->geo.nr_regions || __job_of_region(mc, r))
		return NULL;

	if (paced && ktime_before(now, mc->rest_until)) {
		u64 rest = ktime_to_ns(ktime_sub(mc->rest_until, now));

		*delay = max(1UL, nsecs_to_jiffies(rest));
		return NULL;
	}
	*delay = __throttle(mc, region_len(&mc->geo, r));
	if (*delay)
		return NULL;

	mc->cursor = r + 1;
	job = __claim_job(mc, r, NULL);
	job->paced = paced;
	if (paced)
		mc->rate_since = 0;	/* rests are no part of the rate */
	return job;
}

static void claim_copies(struct migrate_c *mc)
{
	unsigned long flags, delay = 0;
	struct copy_job *job;

	for (;;) {
		spin_lock_irqsave(&mc->lock, flags);
		job = __claim_next_region(mc, &delay);
		spin_unlock_irqrestore(&mc->lock, flags);
		if (!job)
			break;
		if (!job->waiting)
			start_job(job);
	}
	if (delay)
		mod_delayed_work(mc->wq, &mc->waker, delay);
}

/* On disk a region is in sync only outside the write-intent window. */
static void window_fill(void *context, region_t first, region_t count,
			unsigned long *bits)
{
	struct migrate_c *mc = context;
	struct window_entry *ent;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	region_map_get_bits(mc->map, first, count, bits);
	list_for_each_entry(ent, &mc->window_lru, lru)
		if (ent->region >= first && ent->region < first + count &&
		    !(ent->leaving && ent->flushed))
			__clear_bit(ent->region - first, bits);
	spin_unlock_irqrestore(&mc->lock, flags);
}

static int flush_leg(struct migrate_c *mc, enum migrate_leg_id leg)
{
	int r = blkdev_issue_flush(mc->leg[leg]->bdev);

	if (r)
		leg_failed(mc, leg);
	return r;
}

/*
 * Commit the region state when a write waits for it, or once a period
 * when something changed. Bits are set on disk only after the legs hold
 * what they stand for: the destination's copies, and both legs' writes to
 * regions leaving the window, are flushed first. Then the writes waiting
 * for the window are dispatched again. May sleep; serialised by commit_lock.
 */
static void commit_metadata(struct migrate_c *mc)
{
	struct window_entry *ent, *tmp;
	bool flush_legs = false, flush_dest;
	unsigned long flags;
	u64 seq;
	int r = 0;

	mutex_lock(&mc->commit_lock);
	spin_lock_irqsave(&mc->lock, flags);
	if (!mc->commit_wanted &&
	    !(mc->commit_due && migrate_md_dirty(mc->md))) {
		spin_unlock_irqrestore(&mc->lock, flags);
		goto out;
	}
	mc->commit_wanted = false;
	mc->commit_due = false;
	seq = ++mc->commit_seq;
	list_for_each_entry(ent, &mc->window_lru, lru) {
		if (ent->leaving) {
			ent->flushed = true;
			flush_legs = true;
			migrate_md_region_changed(mc->md, ent->region);
		}
	}
	flush_dest = mc->need_dest_flush || flush_legs;
	mc->need_dest_flush = false;
	spin_unlock_irqrestore(&mc->lock, flags);

	/* A failed source is reported; only the destination must hold. */
	if (flush_legs)
		flush_leg(mc, LEG_SOURCE);
	if (flush_dest)
		r = flush_leg(mc, LEG_DEST);
	if (!r) {
		r = migrate_md_commit(mc->md, window_fill, mc);
		if (r) {
			/* Nothing can be recorded: end the migration on the source. */
			DMERR("%s: metadata commit failed (%d): migration halted",
			      mc_name(mc), r);
			spin_lock_irqsave(&mc->lock, flags);
			__set_bit(MC_METADATA_FAILED, &mc->flags);
			spin_unlock_irqrestore(&mc->lock, flags);
			leg_failed(mc, LEG_DEST);
		}
	}

	spin_lock_irqsave(&mc->lock, flags);
	if (!r) {
		mc->committed_seq = seq;
		list_for_each_entry_safe(ent, tmp, &mc->window_lru, lru) {
			if (ent->leaving && ent->flushed) {
				hlist_del(&ent->hash);
				list_move(&ent->lru, &mc->window_free);
			}
		}
	}
	spin_unlock_irqrestore(&mc->lock, flags);
out:
	mutex_unlock(&mc->commit_lock);
	/* Waiting writes try again: dispatched, or waiting for the next commit. */
	redispatch_waiting(mc, &mc->intent_wait);
}

static void worker_fn(struct work_struct *ws)
{
	struct migrate_c *mc = container_of(ws, struct migrate_c, worker);

	retry_reads(mc);
	finish_copies(mc);
	redispatch_waiting(mc, &mc->overlap_wait);
	if (mc->md)
		commit_metadata(mc);
	start_waiting_copies(mc);
	claim_copies(mc);
}

static void commit_tick_fn(struct work_struct *ws)
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

static void waker_fn(struct work_struct *ws)
{
	struct migrate_c *mc = container_of(to_delayed_work(ws),
					    struct migrate_c, waker);

	wake_worker(mc);
}

static void migrate_free(struct migrate_c *mc)
{
	if (mc->wq)
		destroy_workqueue(mc->wq);
	if (!IS_ERR_OR_NULL(mc->kc))
		dm_kcopyd_client_destroy(mc->kc);
	bioset_exit(&mc->bs);
	if (!IS_ERR_OR_NULL(mc->md))
		migrate_md_close(mc->md);
	region_map_destroy(mc->map);
	if (mc->meta_dev)
		dm_put_device(mc->ti, mc->meta_dev);
	if (mc->leg[LEG_DEST])
		dm_put_device(mc->ti, mc->leg[LEG_DEST]);
	if (mc->leg[LEG_SOURCE])
		dm_put_device(mc->ti, mc->leg[LEG_SOURCE]);
	kfree(mc);
}

static int open_metadata(struct migrate_c *mc, bool fresh)
{
	struct migrate_md_params p = {
		.bdev = mc->meta_dev->bdev,
		.geo = &mc->geo,
		.pair_id = mc->pair_id,
		.window = MIGRATE_WINDOW,
		.fresh = fresh,
	};
	unsigned int i;

	for (i = 0; i < MIGRATE_WINDOW; i++)
		list_add_tail(&mc->window[i].lru, &mc->window_free);
	mc->md = migrate_md_open(&p, mc->map, &mc->ti->error);
	return PTR_ERR_OR_ZERO(mc->md);
}

/*
 * <source> <destination> <metadata | -> <region sectors>
 *	[<#feature args> [paused] [rate <bytes/s>] [fresh] [pair_id <id>]]
 */
static int migrate_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	struct migrate_features features;
	struct migrate_c *mc;
	unsigned int shift;
	const char *arg;
	int leg, r;

	if (argc < 4) {
		ti->error = "Invalid argument count: <source> <dest> <metadata|-> <region size>";
		return -EINVAL;
	}

	mc = kzalloc(sizeof(*mc), GFP_KERNEL);
	if (!mc) {
		ti->error = "Cannot allocate target context";
		return -ENOMEM;
	}
	mc->ti = ti;
	spin_lock_init(&mc->lock);
	INIT_LIST_HEAD(&mc->done_jobs);
	bio_list_init(&mc->retry_reads);
	bio_list_init(&mc->discard_wait);
	bio_list_init(&mc->overlap_wait);
	init_waitqueue_head(&mc->jobs_drained);
	INIT_WORK(&mc->worker, worker_fn);
	INIT_DELAYED_WORK(&mc->waker, waker_fn);
	INIT_WORK(&mc->event_work, event_work_fn);
	INIT_DELAYED_WORK(&mc->commit_tick, commit_tick_fn);
	INIT_LIST_HEAD(&mc->window_lru);
	INIT_LIST_HEAD(&mc->window_free);
	bio_list_init(&mc->intent_wait);
	mutex_init(&mc->commit_lock);
	for (leg = 0; leg < NR_LEGS; leg++)
		atomic64_set(&mc->errors[leg], 0);
	for (r = 0; r < MIGRATE_COPY_JOBS; r++)
		mc->jobs[r].mc = mc;

	for (leg = 0; leg < NR_LEGS; leg++) {
		r = dm_get_device(ti, dm_shift_arg(&as),
				  dm_table_get_mode(ti->table), &mc->leg[leg]);
		if (r) {
			ti->error = leg == LEG_SOURCE ?
				"Cannot open source device" :
				"Cannot open destination device";
			goto bad;
		}
	}
	r = -EINVAL;
	if (mc->leg[LEG_SOURCE]->bdev->bd_dev == mc->leg[LEG_DEST]->bdev->bd_dev) {
		ti->error = "Source and destination are the same device";
		goto bad;
	}
	arg = dm_shift_arg(&as);
	if (strcmp(arg, "-")) {
		r = dm_get_device(ti, arg, dm_table_get_mode(ti->table),
				  &mc->meta_dev);
		if (r) {
			ti->error = "Cannot open metadata device";
			goto bad;
		}
		r = -EINVAL;
		if (mc->meta_dev->bdev->bd_dev == mc->leg[LEG_SOURCE]->bdev->bd_dev ||
		    mc->meta_dev->bdev->bd_dev == mc->leg[LEG_DEST]->bdev->bd_dev) {
			ti->error = "The metadata device is one of the legs";
			goto bad;
		}
	}
	r = migrate_parse_region_size(dm_shift_arg(&as), &shift, &ti->error);
	if (r)
		goto bad;
	r = migrate_parse_features(&as, &features, &ti->error);
	if (r)
		goto bad;
	r = -EINVAL;
	if (!mc->meta_dev && (features.fresh || features.pair_id)) {
		ti->error = "fresh and pair_id need a metadata device";
		goto bad;
	}
	if (features.pair_id)
		strscpy(mc->pair_id, features.pair_id, sizeof(mc->pair_id));

	r = -EINVAL;
	if (bdev_nr_sectors(mc->leg[LEG_SOURCE]->bdev) < ti->len) {
		ti->error = "Source device is smaller than the target";
		goto bad;
	}
	if (bdev_nr_sectors(mc->leg[LEG_DEST]->bdev) < ti->len) {
		ti->error = "Destination device is smaller than the source";
		goto bad;
	}

	region_geometry_init(&mc->geo, ti->len, shift);
	r = -ENOMEM;
	mc->map = region_map_create(mc->geo.nr_regions);
	if (!mc->map) {
		ti->error = "Cannot allocate region map";
		goto bad;
	}
	if (mc->meta_dev) {
		r = open_metadata(mc, features.fresh);
		if (r)
			goto bad;
	}
	r = bioset_init(&mc->bs, MIGRATE_MIN_IOS, 0, 0);
	if (r) {
		ti->error = "Cannot allocate bio set";
		goto bad;
	}
	mc->kc = dm_kcopyd_client_create(NULL);
	if (IS_ERR(mc->kc)) {
		r = PTR_ERR(mc->kc);
		ti->error = "Cannot create kcopyd client";
		goto bad;
	}
	r = -ENOMEM;
	mc->wq = alloc_workqueue("dm-migrate", WQ_MEM_RECLAIM, 0);
	if (!mc->wq) {
		ti->error = "Cannot create workqueue";
		goto bad;
	}

	if (features.paused)
		__set_bit(MC_PAUSED, &mc->flags);
	mc->rate = features.rate;
	mc->last_user_io = jiffies - MIGRATE_BUSY_SPAN;
	/* Nothing is copied until the first resume. */
	__set_bit(MC_SUSPENDED, &mc->flags);

	r = dm_set_target_max_io_len(ti, 1U << shift);
	if (r)
		goto bad;
	ti->num_flush_bios = NR_LEGS;
	ti->num_discard_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct migrate_io);
	ti->private = mc;
	return 0;

bad:
	migrate_free(mc);
	return r;
}

static bool copies_drained(struct migrate_c *mc)
{
	unsigned long flags;
	bool drained;

	spin_lock_irqsave(&mc->lock, flags);
	drained = !mc->nr_jobs;
	spin_unlock_irqrestore(&mc->lock, flags);
	return drained;
}

/*
 * Claimed copies always run to their end: writes they hold depend on them.
 * Called with MC_SUSPENDED set, so no new copy is claimed and the waker is
 * not armed again once the workqueue is flushed.
 */
static void wait_for_copies(struct migrate_c *mc)
{
	wait_event(mc->jobs_drained, copies_drained(mc));
	flush_workqueue(mc->wq);
	cancel_delayed_work_sync(&mc->waker);
	cancel_delayed_work_sync(&mc->commit_tick);
}

static void migrate_dtr(struct dm_target *ti)
{
	struct migrate_c *mc = ti->private;

	wait_for_copies(mc);
	cancel_work_sync(&mc->event_work);
	migrate_free(mc);
}

static void set_suspended(struct migrate_c *mc, bool suspended)
{
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	if (suspended)
		__set_bit(MC_SUSPENDED, &mc->flags);
	else
		__clear_bit(MC_SUSPENDED, &mc->flags);
	__update_copier_clock(mc);
	spin_unlock_irqrestore(&mc->lock, flags);
}

static void migrate_presuspend(struct dm_target *ti)
{
	struct migrate_c *mc = ti->private;

	/* Stop claiming; copies already claimed run on, see wait_for_copies. */
	set_suspended(mc, true);
}

static void migrate_presuspend_undo(struct dm_target *ti)
{
	struct migrate_c *mc = ti->private;

	set_suspended(mc, false);
	wake_worker(mc);
}

/*
 * Leave a clean record: with no I/O in flight every region leaves the
 * write-intent window, and a commit (after flushing both legs) sets its bit.
 */
static void commit_clean(struct migrate_c *mc)
{
	struct window_entry *ent;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	list_for_each_entry(ent, &mc->window_lru, lru)
		ent->leaving = true;
	mc->commit_wanted = true;
	spin_unlock_irqrestore(&mc->lock, flags);
	commit_metadata(mc);
}

static void migrate_postsuspend(struct dm_target *ti)
{
	struct migrate_c *mc = ti->private;

	wait_for_copies(mc);
	if (mc->md && !test_bit(MC_METADATA_FAILED, &mc->flags))
		commit_clean(mc);
}

static void migrate_resume(struct dm_target *ti)
{
	struct migrate_c *mc = ti->private;

	set_suspended(mc, false);
	if (mc->md)
		queue_delayed_work(mc->wq, &mc->commit_tick,
				   MIGRATE_COMMIT_PERIOD);
	wake_worker(mc);
}

static void emit_table(struct migrate_c *mc, char *result, unsigned int maxlen,
		       unsigned int *out)
{
	unsigned int sz = *out;
	bool paused = test_bit(MC_PAUSED, &mc->flags);
	u64 rate = READ_ONCE(mc->rate);
	unsigned int nr = (paused ? 1 : 0) + (rate ? 2 : 0) +
			  (mc->pair_id[0] ? 2 : 0);

	DMEMIT("%s %s %s %u", mc->leg[LEG_SOURCE]->name, mc->leg[LEG_DEST]->name,
	       mc->meta_dev ? mc->meta_dev->name : "-", 1U << mc->geo.shift);
	if (nr)
		DMEMIT(" %u", nr);
	if (paused)
		DMEMIT(" paused");
	if (rate)
		DMEMIT(" rate %llu", rate);
	if (mc->pair_id[0])
		DMEMIT(" pair_id %s", mc->pair_id);
	*out = sz;
}

static const char *leg_health(struct migrate_c *mc, enum migrate_leg_id leg)
{
	return test_bit(leg, &mc->flags) ? "failed" : "ok";
}

static void migrate_status(struct dm_target *ti, status_type_t type,
			   unsigned int status_flags, char *result,
			   unsigned int maxlen)
{
	struct migrate_c *mc = ti->private;
	region_t in_sync, total;
	enum migrate_state state;
	unsigned int sz = 0, copying;
	u64 bytes, copier_ns;
	unsigned long flags;

	switch (type) {
	case STATUSTYPE_INFO:
		spin_lock_irqsave(&mc->lock, flags);
		state = __state(mc);
		in_sync = region_map_nr_in_sync(mc->map);
		total = region_map_nr_regions(mc->map);
		copying = mc->nr_jobs;
		bytes = mc->bytes_copied;
		copier_ns = mc->copier_ns;
		if (mc->copier_running)
			copier_ns += ktime_to_ns(ktime_sub(ktime_get(),
							   mc->copier_since));
		spin_unlock_irqrestore(&mc->lock, flags);

		DMEMIT("%s %llu/%llu %u %llu %llu %llu %u %s %s %lld %lld %s",
		       migrate_state_name(state), in_sync, total,
		       1U << mc->geo.shift, READ_ONCE(mc->rate), bytes,
		       div_u64(copier_ns, NSEC_PER_MSEC), copying,
		       leg_health(mc, LEG_SOURCE), leg_health(mc, LEG_DEST),
		       (s64)atomic64_read(&mc->errors[LEG_SOURCE]),
		       (s64)atomic64_read(&mc->errors[LEG_DEST]),
		       !mc->md ? "-" :
		       test_bit(MC_METADATA_FAILED, &mc->flags) ? "failed" : "ok");
		break;
	case STATUSTYPE_TABLE:
		emit_table(mc, result, maxlen, &sz);
		break;
	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",source=%s,destination=%s,region_size=%u",
		       mc->leg[LEG_SOURCE]->name, mc->leg[LEG_DEST]->name,
		       1U << mc->geo.shift);
		DMEMIT(",source_health=%s,destination_health=%s;",
		       leg_health(mc, LEG_SOURCE), leg_health(mc, LEG_DEST));
		break;
	}
}

static int migrate_message(struct dm_target *ti, unsigned int argc,
			   char **argv, char *result, unsigned int maxlen)
{
	struct migrate_c *mc = ti->private;
	struct migrate_msg msg;
	unsigned long flags;
	char *error;
	int r;

	r = migrate_parse_message(argc, argv, &msg, &error);
	if (r) {
		DMERR("%s: %s", mc_name(mc), error);
		return r;
	}

	spin_lock_irqsave(&mc->lock, flags);
	switch (msg.type) {
	case MIGRATE_MSG_PAUSE:
		__set_bit(MC_PAUSED, &mc->flags);
		break;
	case MIGRATE_MSG_RESUME:
		__clear_bit(MC_PAUSED, &mc->flags);
		break;
	case MIGRATE_MSG_RATE:
		WRITE_ONCE(mc->rate, msg.rate);
		/* The next copy is paced by the new rate, not the old one. */
		mc->throttle_next = 0;
		break;
	}
	__update_copier_clock(mc);
	spin_unlock_irqrestore(&mc->lock, flags);

	if (msg.type != MIGRATE_MSG_RATE)
		raise_event(mc);
	wake_worker(mc);
	return 0;
}

/* The metadata device takes no part in the volume's I/O limits. */
static int migrate_iterate_devices(struct dm_target *ti,
				   iterate_devices_callout_fn fn, void *data)
{
	struct migrate_c *mc = ti->private;

	return fn(ti, mc->leg[LEG_SOURCE], 0, ti->len, data) ?:
	       fn(ti, mc->leg[LEG_DEST], 0, ti->len, data);
}

static struct target_type migrate_target = {
	.name = "migrate",
	.version = {1, 0, 0},
	.module = THIS_MODULE,
	.ctr = migrate_ctr,
	.dtr = migrate_dtr,
	.map = migrate_map,
	.end_io = migrate_end_io,
	.presuspend = migrate_presuspend,
	.presuspend_undo = migrate_presuspend_undo,
	.postsuspend = migrate_postsuspend,
	.resume = migrate_resume,
	.status = migrate_status,
	.message = migrate_message,
	.iterate_devices = migrate_iterate_devices,
};

static int __init dm_migrate_init(void)
{
	return dm_register_target(&migrate_target);
}

static void __exit dm_migrate_exit(void)
{
	dm_unregister_target(&migrate_target);
}

module_init(dm_migrate_init);
module_exit(dm_migrate_exit);

MODULE_DESCRIPTION(DM_NAME " target to migrate a live volume to another device");
MODULE_AUTHOR("dm-migrate developers");
MODULE_LICENSE("GPL");
