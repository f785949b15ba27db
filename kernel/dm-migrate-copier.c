// SPDX-License-Identifier: GPL-2.0-only
/*
 * The copier: copies each region not in sync from the source to the
 * destination, copy_jobs regions at a time, paced by the rate limit and,
 * while the volume is busy, by rests (dm-migrate-pace.h).
 *
 * A job slot holds a region while it is copied; writes to that region are
 * held on the job and dispatched again once the copy has ended. A job
 * claimed while source-only writes to its region are in flight waits for
 * them before it reads. A whole-region discard or write-zeroes is a job of
 * its own (dm-migrate-io.c): it goes to both legs instead of a copy.
 *
 * A region is copied a chunk at a time through the job's buffer, read from
 * the source and written to the destination with dm-io. A chunk that reads
 * as zeros is not written: the destination gets a write-zeroes (which may
 * unmap), or, where it has none, a discard that is read back and only if
 * it reads as zeros is taken for the write; a thin or sparse destination
 * stays thin where the source was never written.
 *
 * The claim and finish functions run in the worker; dm-io completes in irq
 * context and hands the next step to the job's work on the workqueue. Only
 * migrate_wait_for_copies() and the buffers' allocation sleep.
 */
#include <linux/sched/mm.h>
#include <linux/vmalloc.h>

#include "dm-migrate.h"

static sector_t copy_chunk_len(struct copy_job *job)
{
	return min_t(sector_t, MIGRATE_CHUNK,
		     migrate_region_len(&job->mc->geo, job->region) - job->offset);
}

static void chunk_io_done(unsigned long error, void *context)
{
	struct copy_job *job = context;

	job->io_error = error;
	queue_work(job->mc->wq, &job->copy_work);
}

/* The job's chunk, @op on @leg, through the job's buffer; then copy_step(). */
static void chunk_io(struct copy_job *job, enum migrate_leg_id leg,
		     enum migrate_copy_step step, blk_opf_t op)
{
	struct migrate_c *mc = job->mc;
	struct dm_io_region where = {
		.bdev = mc->leg[leg]->bdev,
		.sector = migrate_region_start(&mc->geo, job->region) + job->offset,
		.count = copy_chunk_len(job),
	};
	struct dm_io_request req = {
		.bi_opf = op,
		.mem.type = DM_IO_VMA,
		.mem.ptr.vma = job->buf,
		.notify.fn = chunk_io_done,
		.notify.context = job,
		.client = mc->copy_io,
	};

	job->step = step;
	/* Asynchronous: a bad request is notified as an error too. */
	dm_io(&req, 1, &where, NULL, IOPRIO_DEFAULT);
}

static void write_chunk(struct copy_job *job)
{
	chunk_io(job, LEG_DEST, COPY_WRITE, REQ_OP_WRITE);
}

/* A chunk of zeros: leave the destination unallocated if it can say zeros. */
static void zero_chunk(struct copy_job *job)
{
	struct block_device *dest = job->mc->leg[LEG_DEST]->bdev;

	if (bdev_write_zeroes_sectors(dest))
		chunk_io(job, LEG_DEST, COPY_ZEROES, REQ_OP_WRITE_ZEROES);
	else if (bdev_max_discard_sectors(dest))
		chunk_io(job, LEG_DEST, COPY_DISCARD, REQ_OP_DISCARD);
	else
		write_chunk(job);
}

static void read_chunk(struct copy_job *job)
{
	chunk_io(job, LEG_SOURCE, COPY_READ, REQ_OP_READ);
}

/* The chunk is on the destination: the next one, or the job's end. */
static void chunk_copied(struct copy_job *job, bool zeroed)
{
	sector_t len = copy_chunk_len(job);

	if (zeroed)
		job->zeroed += to_bytes(len);
	job->offset += len;
	if (job->offset < migrate_region_len(&job->mc->geo, job->region))
		read_chunk(job);
	else
		migrate_job_done(job);
}

/*
 * The step after each chunk I/O, in process context. dm-io reports only
 * that an I/O failed, not why: a write-zeroes or discard the destination
 * refused is done again as a plain write of the zeros, which fails only if
 * the destination does.
 */
static void copy_step(struct work_struct *ws)
{
	struct copy_job *job = container_of(ws, struct copy_job, copy_work);
	size_t bytes = to_bytes(copy_chunk_len(job));
	bool failed = job->io_error;

	switch (job->step) {
	case COPY_READ:
		if (failed) {
			job->read_err = -EIO;
			migrate_job_done(job);
		} else if (memchr_inv(job->buf, 0, bytes)) {
			write_chunk(job);
		} else {
			zero_chunk(job);
		}
		break;
	case COPY_WRITE:
		if (failed) {
			job->write_err = job->io_error;
			migrate_job_done(job);
		} else {
			chunk_copied(job, false);
		}
		break;
	case COPY_ZEROES:
		if (failed)
			write_chunk(job);	/* the buffer still holds the zeros */
		else
			chunk_copied(job, true);
		break;
	case COPY_DISCARD:
		/* Only what reads back as zeros counts as written. */
		if (failed)
			write_chunk(job);
		else
			chunk_io(job, LEG_DEST, COPY_CHECK, REQ_OP_READ);
		break;
	case COPY_CHECK:
		if (!failed && !memchr_inv(job->buf, 0, bytes)) {
			chunk_copied(job, true);
		} else {
			memset(job->buf, 0, bytes);
			write_chunk(job);
		}
		break;
	}
}

static void start_copy(struct copy_job *job)
{
	job->offset = 0;
	job->zeroed = 0;
	read_chunk(job);
}

/*
 * A job starts once no write to its region is in flight. In post-copy a
 * whole-region write goes to the destination alone and ends in
 * migrate_io_end().
 */
void migrate_start_job(struct copy_job *job)
{
	struct migrate_c *mc = job->mc;

	if (job->start) {
		job->start(job);
	} else if (!job->discard) {
		start_copy(job);
	} else if (test_bit(MC_POST_COPY, &mc->flags)) {
		remap_to_leg(mc, job->discard, LEG_DEST);
		submit_bio_noacct(job->discard);
	} else if (!migrate_mirror_write(mc, job->discard)) {
		migrate_job_done(job);	/* failed, so the region stays to be copied */
	}
}

/*
 * @region is on the destination: in sync, and no longer lost if it was
 * (a write covering it brought it back).
 */
void __migrate_region_copied(struct migrate_c *mc, migrate_region_t region)
{
	lockdep_assert_held(&mc->lock);
	if (!migrate_mark_in_sync(mc->sync, region))
		return;
	if (mc->lost && migrate_in_sync(mc->lost, region))
		mc->nr_lost--;
	__migrate_region_synced(mc, region);
}

struct copy_job *__migrate_job_of_region(struct migrate_c *mc,
					 migrate_region_t region)
{
	unsigned int i;

	lockdep_assert_held(&mc->lock);
	for (i = 0; i < mc->max_jobs; i++)
		if (mc->jobs[i].active && mc->jobs[i].region == region)
			return &mc->jobs[i];
	return NULL;
}

/*
 * Take a free job slot for @region: a copy, or @discard when that covers
 * the region. The caller has seen a slot free.
 */
struct copy_job *__migrate_claim_job(struct migrate_c *mc, migrate_region_t region,
				     struct bio *discard)
{
	struct copy_job *job = NULL;
	unsigned int i;

	lockdep_assert_held(&mc->lock);
	for (i = 0; i < mc->max_jobs; i++)
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
	job->start = NULL;
	job->record = NULL;
	job->verify = NULL;
	bio_list_init(&job->held);
	mc->nr_jobs++;

	/* Writes issued before the claim may still be on their way. */
	job->waiting = __migrate_region_has_inflight(mc, region);
	if (job->waiting)
		mc->nr_waiting++;
	return job;
}

/*
 * In flight counts too: user I/O queued behind copies at a slow leg can
 * take longer than the span to complete, and with the copier back at full
 * speed would wait longer still.
 */
static bool __volume_busy(struct migrate_c *mc)
{
	lockdep_assert_held(&mc->lock);
	return mc->nr_tracked ||
	       atomic_read(&mc->reads_inflight[LEG_SOURCE]) ||
	       atomic_read(&mc->reads_inflight[LEG_DEST]) ||
	       time_before(jiffies,
			   READ_ONCE(mc->last_user_io) + MIGRATE_BUSY_SPAN);
}

/* A job of @bytes paced by @p has ended: its rest, or the unpaced rate. */
void __migrate_pace_done(struct migrate_c *mc, struct migrate_pace *p,
			 struct copy_job *job, u64 bytes)
{
	lockdep_assert_held(&mc->lock);
	if (job->paced)
		migrate_pace_rest(p, job->claimed, ktime_get(), bytes);
	else
		migrate_pace_measure(p, ktime_get(), bytes);
}

/*
 * A job has ended: the region is in sync unless it failed. Returns true
 * when it was the last region to come in sync.
 */
static bool __record_job(struct migrate_c *mc, struct copy_job *job)
{
	u64 bytes;

	lockdep_assert_held(&mc->lock);
	if (job->record) {
		job->record(job);
		return false;
	}
	if (job->read_err || job->write_err || job->failed)
		return false;
	__migrate_region_copied(mc, job->region);
	if (!job->discard) {
		bytes = to_bytes(migrate_region_len(&mc->geo, job->region));
		mc->bytes_copied += bytes;
		mc->bytes_zeroed += job->zeroed;
		__migrate_pace_done(mc, &mc->pace, job, bytes);
	}
	return migrate_all_in_sync(mc->sync);
}

/*
 * True when the regions in sync have reached another hundredth of the
 * volume (or fallen back from one) since the last progress event.
 */
static bool __progress_step(struct migrate_c *mc)
{
	u64 step = div64_u64((u64)migrate_nr_in_sync(mc->sync) * 100,
			     migrate_nr_regions(mc->sync));

	lockdep_assert_held(&mc->lock);
	if (step == mc->progress_step)
		return false;
	mc->progress_step = step;
	return true;
}

/*
 * Record finished copies. The writes they held, and the writes waiting
 * for a slot, are added to @held for the caller to dispatch again.
 */
void migrate_finish_copies(struct migrate_c *mc, struct bio_list *held)
{
	struct copy_job *job, *tmp;
	bool synced = false, progressed = false;
	unsigned long flags;
	LIST_HEAD(done);

	spin_lock_irqsave(&mc->lock, flags);
	list_splice_init(&mc->done_jobs, &done);
	spin_unlock_irqrestore(&mc->lock, flags);

	list_for_each_entry_safe(job, tmp, &done, done_entry) {
		list_del(&job->done_entry);
		/* Post-copy: the region is lost, the rest still copies. */
		if (job->read_err && test_bit(MC_POST_COPY, &mc->flags) && !job->record)
			migrate_region_lost(mc, job->region);
		else if (job->read_err)
			migrate_leg_failed(mc, LEG_SOURCE);
		if (job->write_err)
			migrate_leg_failed(mc, LEG_DEST);

		spin_lock_irqsave(&mc->lock, flags);
		synced |= __record_job(mc, job);
		progressed |= __progress_step(mc);
		/*
		 * From here writes to the region see it in sync (mirrored) or,
		 * after a failed copy, not copied (source only); the held ones
		 * take the same path. The slot is free for a write waiting for one.
		 */
		bio_list_merge(held, &job->held);
		bio_list_init(&job->held);
		bio_list_merge(held, &mc->slot_wait);
		bio_list_init(&mc->slot_wait);
		job->active = false;
		mc->nr_jobs--;
		__migrate_update_copier_clock(mc);
		spin_unlock_irqrestore(&mc->lock, flags);
	}

	if (synced) {
		DMINFO("%s: every region is in sync", mc_name(mc));
		migrate_raise_event(mc);
	} else if (progressed) {
		migrate_raise_progress(mc);
	}
	wake_up_all(&mc->jobs_drained);
}

/* Start claimed copies whose region no longer has source writes in flight. */
void migrate_start_waiting_copies(struct migrate_c *mc)
{
	struct copy_job *ready[MIGRATE_MAX_COPY_JOBS];
	unsigned int i, n = 0;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	for (i = 0; i < mc->max_jobs && mc->nr_waiting; i++) {
		struct copy_job *job = &mc->jobs[i];

		if (job->active && job->waiting &&
		    !__migrate_region_has_inflight(mc, job->region)) {
			job->waiting = false;
			mc->nr_waiting--;
			ready[n++] = job;
		}
	}
	spin_unlock_irqrestore(&mc->lock, flags);

	for (i = 0; i < n; i++)
		migrate_start_job(ready[i]);
}

static unsigned long ns_to_delay(u64 ns)
{
	return ns ? max(1UL, nsecs_to_jiffies(ns)) : 0;
}

/*
 * May a job of @bytes paced by @p, with @active of its kind running, be
 * claimed now? If not, *delay is the jiffies until it may (0: until a job
 * ends). *paced says whether a rest follows it. Until the unpaced rate is
 * known, jobs run without rests; busy, one at a time.
 */
bool __migrate_pace_admits(struct migrate_c *mc, struct migrate_pace *p,
			   unsigned int active, u64 bytes, bool *paced,
			   unsigned long *delay)
{
	ktime_t now = ktime_get();

	lockdep_assert_held(&mc->lock);
	*paced = p->unpaced_rate && __volume_busy(mc);
	if (*paced) {
		if (active)
			return false;
		*delay = ns_to_delay(migrate_pace_rest_left(p, now));
		if (*delay)
			return false;
	}
	*delay = ns_to_delay(migrate_pace_throttle(p, now, bytes));
	if (*delay)
		return false;
	if (*paced)
		migrate_pace_interrupt(p);	/* rests are no part of the rate */
	return true;
}

/* No copy is claimed: paused, suspended, a leg failed. */
static bool __copier_stopped(struct migrate_c *mc)
{
	lockdep_assert_held(&mc->lock);
	return mc->flags & (BIT(MC_PAUSED) | BIT(MC_SUSPENDED) |
			    BIT(MC_SOURCE_FAILED) | BIT(MC_DEST_FAILED));
}

/*
 * The next region to copy: in post-copy the one a read last asked of the
 * source, if it is still to be copied; else the next from the cursor,
 * past the regions lost.
 */
static migrate_region_t next_region(struct migrate_c *mc)
{
	migrate_region_t hint = READ_ONCE(mc->read_hint);

	lockdep_assert_held(&mc->lock);
	if (mc->lost && hint < mc->geo.nr_regions && !migrate_in_sync(mc->sync, hint) &&
	    !migrate_in_sync(mc->lost, hint) && !__migrate_job_of_region(mc, hint))
		return hint;
	return migrate_next_to_copy(mc->sync, mc->lost, mc->cursor);
}

/*
 * In a rate group: whether the member may copy now, with what it says to
 * the group on the way. Paused, halted or done, it gives its slot back;
 * suspended, it keeps it; queued, it waits for one (the group wakes it).
 */
static bool __group_lets_copy(struct migrate_c *mc)
{
	enum migrate_state state = __migrate_state(mc);
	bool taken;

	lockdep_assert_held(&mc->lock);
	if (state != MIGRATE_COPYING && state != MIGRATE_QUEUED) {
		__migrate_group_stop(mc, true);
		return false;
	}
	if (__copier_stopped(mc)) {
		__migrate_group_stop(mc, false);
		return false;
	}
	if (!__migrate_group_slot(mc, &taken))
		return false;
	if (taken) {
		__migrate_update_copier_clock(mc);
		migrate_raise_event(mc);
		/* A member queued has no buffers yet: the worker allocates them. */
		if (!mc->copy_buffers)
			wake_worker(mc);
	}
	return true;
}

static struct copy_job *__claim_next_region(struct migrate_c *mc,
					    unsigned long *delay)
{
	struct copy_job *job;
	migrate_region_t r;
	ktime_t own_next;
	bool paced;
	u64 bytes;

	lockdep_assert_held(&mc->lock);
	if (!__group_lets_copy(mc) || !mc->copy_buffers ||
	    mc->nr_jobs == mc->max_jobs)
		return NULL;

	r = next_region(mc);
	if (r == mc->geo.nr_regions || __migrate_job_of_region(mc, r))
		return NULL;
	bytes = to_bytes(migrate_region_len(&mc->geo, r));
	/* Its own rate spends nothing on a copy its group then refuses. */
	own_next = mc->pace.throttle_next;
	if (!__migrate_pace_admits(mc, &mc->pace, __migrate_nr_copies(mc), bytes,
				   &paced, delay))
		return NULL;
	if (!__migrate_group_admits(mc, bytes, paced, delay)) {
		mc->pace.throttle_next = own_next;
		return NULL;
	}

	if (r == READ_ONCE(mc->read_hint))
		WRITE_ONCE(mc->read_hint, mc->geo.nr_regions);
	else
		mc->cursor = r + 1;
	job = __migrate_claim_job(mc, r, NULL);
	job->paced = paced;
	return job;
}

/*
 * Claim and start the jobs @claim gives, under mc->lock, until it gives
 * none. Returns the jiffies until it may give one, 0 if none is due.
 */
unsigned long migrate_claim_jobs(struct migrate_c *mc,
				 struct copy_job *(*claim)(struct migrate_c *mc,
							   unsigned long *delay))
{
	unsigned long flags, delay = 0;
	struct copy_job *job;

	for (;;) {
		spin_lock_irqsave(&mc->lock, flags);
		job = claim(mc, &delay);
		spin_unlock_irqrestore(&mc->lock, flags);
		if (!job)
			break;
		if (!job->waiting)
			migrate_start_job(job);
	}
	return delay;
}

unsigned long migrate_claim_copies(struct migrate_c *mc)
{
	return migrate_claim_jobs(mc, __claim_next_region);
}

/* The worker wakes again when the sooner of the copier and the verify is due. */
void migrate_arm_waker(struct migrate_c *mc, unsigned long copy_delay,
		       unsigned long verify_delay)
{
	unsigned long delay = copy_delay;

	if (!delay || (verify_delay && verify_delay < delay))
		delay = verify_delay;
	if (delay)
		mod_delayed_work(mc->wq, &mc->waker, delay);
}

static void waker_fn(struct work_struct *ws)
{
	struct migrate_c *mc = container_of(to_delayed_work(ws),
					    struct migrate_c, waker);

	wake_worker(mc);
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
 * Called with MC_SUSPENDED set, so no new copy is claimed, the waker is not
 * armed again and the commit tick does not queue itself again. They are
 * cancelled before the workqueue is flushed, so that neither queues a
 * worker run after the flush. Sleeps.
 */
void migrate_wait_for_copies(struct migrate_c *mc)
{
	wait_event(mc->jobs_drained, copies_drained(mc));
	cancel_delayed_work_sync(&mc->waker);
	cancel_delayed_work_sync(&mc->commit_tick);
	flush_workqueue(mc->wq);
}

/*
 * Every slot's buffer, allocated when copies are due and freed once every
 * region is in sync (regions in sync never fall out of it), so that a
 * migration paused from its start or done holds none. In the worker, before
 * the claims: no write is held on a copy yet, so the allocation may wait
 * for reclaim (in a GFP_NOIO scope: not for writeback through the volume).
 * A member queued in its rate group holds none until it has a slot.
 * Claims wait until all are there; a failed allocation is tried again when
 * the worker next runs. In post-copy a write's copy-first needs them
 * however the copier stands, paused or suspending.
 */
void migrate_copy_buffers(struct migrate_c *mc)
{
	size_t size = to_bytes(min_t(sector_t, MIGRATE_CHUNK, 1U << mc->geo.shift));
	unsigned int i, noio;
	unsigned long flags;
	bool due, synced;

	spin_lock_irqsave(&mc->lock, flags);
	synced = migrate_all_in_sync(mc->sync);
	due = !synced && !mc->copy_buffers &&
	      (test_bit(MC_POST_COPY, &mc->flags) ?
	       !test_bit(MC_DEST_FAILED, &mc->flags) :
	       !__copier_stopped(mc) && !__migrate_group_queued(mc));
	spin_unlock_irqrestore(&mc->lock, flags);
	if (synced) {
		migrate_free_copy_buffers(mc);
		return;
	}
	if (!due)
		return;
	noio = memalloc_noio_save();
	for (i = 0; i < mc->max_jobs; i++) {
		if (!mc->jobs[i].buf)
			mc->jobs[i].buf = vmalloc(size);
		if (!mc->jobs[i].buf)
			break;
	}
	memalloc_noio_restore(noio);
	spin_lock_irqsave(&mc->lock, flags);
	mc->copy_buffers = i == mc->max_jobs;
	spin_unlock_irqrestore(&mc->lock, flags);
}

/* With every region in sync, or in the destructor: no copy is running. */
void migrate_free_copy_buffers(struct migrate_c *mc)
{
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&mc->lock, flags);
	mc->copy_buffers = false;
	spin_unlock_irqrestore(&mc->lock, flags);
	for (i = 0; i < MIGRATE_MAX_COPY_JOBS; i++) {
		vfree(mc->jobs[i].buf);
		mc->jobs[i].buf = NULL;
	}
}

void migrate_copier_init(struct migrate_c *mc)
{
	unsigned int i;

	INIT_LIST_HEAD(&mc->done_jobs);
	bio_list_init(&mc->slot_wait);
	init_waitqueue_head(&mc->jobs_drained);
	INIT_DELAYED_WORK(&mc->waker, waker_fn);
	for (i = 0; i < MIGRATE_MAX_COPY_JOBS; i++) {
		mc->jobs[i].mc = mc;
		INIT_WORK(&mc->jobs[i].copy_work, copy_step);
	}
}
