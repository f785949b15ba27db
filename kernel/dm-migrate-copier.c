// SPDX-License-Identifier: GPL-2.0-only
/*
 * The copier: copies each region not in sync from the source to the
 * destination with dm-kcopyd, MIGRATE_COPY_JOBS regions at a time, paced by
 * the rate limit and, while the volume is busy, by rests
 * (dm-migrate-pace.h).
 *
 * A job slot holds a region while it is copied; writes to that region are
 * held on the job and dispatched again once the copy has ended. A job
 * claimed while source-only writes to its region are in flight waits for
 * them before it reads. A whole-region discard or write-zeroes is a job of
 * its own (dm-migrate-io.c): it goes to both legs instead of a copy.
 *
 * The claim and finish functions run in the worker; copy completion runs in
 * kcopyd's context. Only migrate_wait_for_copies() sleeps.
 */
#include "dm-migrate.h"

static void copy_done(int read_err, unsigned long write_err, void *context)
{
	struct copy_job *job = context;

	job->read_err = read_err;
	job->write_err = write_err;
	migrate_job_done(job);
}

static void start_copy(struct copy_job *job)
{
	struct migrate_c *mc = job->mc;
	struct dm_io_region from = {
		.bdev = mc->leg[LEG_SOURCE]->bdev,
		.sector = migrate_region_start(&mc->geo, job->region),
		.count = migrate_region_len(&mc->geo, job->region),
	};
	struct dm_io_region to = from;

	to.bdev = mc->leg[LEG_DEST]->bdev;
	dm_kcopyd_copy(mc->kc, &from, 1, &to, 0, copy_done, job);
}

/* A job starts once no write to its region is in flight. */
void migrate_start_job(struct copy_job *job)
{
	if (job->start)
		job->start(job);
	else if (!job->discard)
		start_copy(job);
	else if (!migrate_mirror_write(job->mc, job->discard))
		migrate_job_done(job);	/* failed, so the region stays to be copied */
}

struct copy_job *__migrate_job_of_region(struct migrate_c *mc,
					 migrate_region_t region)
{
	unsigned int i;

	lockdep_assert_held(&mc->lock);
	for (i = 0; i < MIGRATE_COPY_JOBS; i++)
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
	migrate_mark_in_sync(mc->sync, job->region);
	__migrate_region_synced(mc, job->region);
	if (!job->discard) {
		bytes = to_bytes(migrate_region_len(&mc->geo, job->region));
		mc->bytes_copied += bytes;
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
 * Record finished copies. The writes they held, and the discards waiting
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
		if (job->read_err)
			migrate_leg_failed(mc, LEG_SOURCE);
		if (job->write_err)
			migrate_leg_failed(mc, LEG_DEST);

		spin_lock_irqsave(&mc->lock, flags);
		synced |= __record_job(mc, job);
		progressed |= __progress_step(mc);
		/*
		 * From here writes to the region see it in sync (mirrored) or,
		 * after a failed copy, not copied (source only); the held ones
		 * take the same path. The slot is free for a waiting discard.
		 */
		bio_list_merge(held, &job->held);
		bio_list_init(&job->held);
		bio_list_merge(held, &mc->discard_wait);
		bio_list_init(&mc->discard_wait);
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
	struct copy_job *ready[MIGRATE_COPY_JOBS];
	unsigned int i, n = 0;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	for (i = 0; i < MIGRATE_COPY_JOBS && mc->nr_waiting; i++) {
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

static struct copy_job *__claim_next_region(struct migrate_c *mc,
					    unsigned long *delay)
{
	struct copy_job *job;
	migrate_region_t r;
	bool paced;

	lockdep_assert_held(&mc->lock);
	if (mc->flags & (BIT(MC_PAUSED) | BIT(MC_SUSPENDED) |
			 BIT(MC_SOURCE_FAILED) | BIT(MC_DEST_FAILED)) ||
	    mc->nr_jobs == MIGRATE_COPY_JOBS)
		return NULL;

	r = migrate_next_unsynced(mc->sync, mc->cursor);
	if (r == mc->geo.nr_regions || __migrate_job_of_region(mc, r) ||
	    !__migrate_pace_admits(mc, &mc->pace, __migrate_nr_copies(mc),
				   to_bytes(migrate_region_len(&mc->geo, r)),
				   &paced, delay))
		return NULL;

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

void migrate_copier_init(struct migrate_c *mc)
{
	unsigned int i;

	INIT_LIST_HEAD(&mc->done_jobs);
	bio_list_init(&mc->discard_wait);
	init_waitqueue_head(&mc->jobs_drained);
	INIT_DELAYED_WORK(&mc->waker, waker_fn);
	for (i = 0; i < MIGRATE_COPY_JOBS; i++)
		mc->jobs[i].mc = mc;
}
