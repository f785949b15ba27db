// SPDX-License-Identifier: GPL-2.0-only
/*
 * The online verify: every region in sync is read from both legs and
 * compared in the kernel, so that a cutover need not be taken on faith.
 *
 * A region is compared in one of the copier's job slots, so it is ordered
 * against the volume's writes exactly as a copy is: the job waits for the
 * writes to the region in flight (mirrored ones included) before it reads,
 * and writes to the region that come meanwhile are held on the job and
 * dispatched again when the compare ends (dm-migrate-io.c). Both legs are
 * therefore at rest under the compare, and a difference is a real one.
 * Regions not in sync are skipped: they hold nothing to compare yet.
 *
 * With repair, a chunk that differs is written again from the source's
 * copy just read, while the region's writes are still held: the region
 * stays in sync throughout, so the in-sync map's bits are still only ever
 * set and no crash can take the destination for holding a region it lacks.
 *
 * A verify is paced as the copier is (dm-migrate-pace.h) with a pace of its
 * own, stops on a pause and on a failed leg, and starts over after a
 * suspend: what was compared before it says nothing of what a suspended
 * volume's legs hold after (a leg's own table reloaded, a snapshot
 * restored). It lives in memory only, so it does not survive a reboot.
 *
 * The claim, the record of a compare and the messages run under mc->lock
 * or in the worker; reads complete in dm-io's (irq) context; the compare
 * and the repair write run in process context, on the target's workqueue.
 */
#include <linux/dm-io.h>
#include <linux/vmalloc.h>

#include "dm-migrate.h"

static sector_t chunk_len(struct copy_job *job)
{
	struct verify_slot *s = job->verify;

	return min_t(sector_t, MIGRATE_CHUNK,
		     migrate_region_len(&job->mc->geo, job->region) - s->offset);
}

static void read_done(unsigned long error, void *context)
{
	struct verify_read *rd = context;
	struct verify_slot *s = rd->slot;

	rd->error = error;
	/* atomic_dec_and_test() orders the other read's error before us. */
	if (atomic_dec_and_test(&s->pending))
		queue_work(s->job->mc->wq, &s->compare);
}

static void do_io(struct copy_job *job, enum migrate_leg_id leg, blk_opf_t opf,
		  void *buf, io_notify_fn fn, void *context,
		  unsigned long *sync_error)
{
	struct migrate_c *mc = job->mc;
	struct dm_io_region where = {
		.bdev = mc->leg[leg]->bdev,
		.sector = migrate_region_start(&mc->geo, job->region) +
			  job->verify->offset,
		.count = chunk_len(job),
	};
	struct dm_io_request req = {
		.bi_opf = opf,
		.mem.type = DM_IO_VMA,
		.mem.ptr.vma = buf,
		.notify.fn = fn,
		.notify.context = context,
		.client = mc->verify->io,
	};

	/* Fails only on a bad request; an asynchronous one is notified anyway. */
	if (dm_io(&req, 1, &where, sync_error, IOPRIO_DEFAULT) && sync_error)
		*sync_error = 1;
}

static void read_chunk(struct copy_job *job)
{
	struct verify_slot *s = job->verify;
	int leg;

	/* Both are counted before either is sent, so neither ends early. */
	atomic_set(&s->pending, NR_LEGS);
	for (leg = 0; leg < NR_LEGS; leg++)
		do_io(job, leg, REQ_OP_READ, s->buf[leg], read_done,
		      &s->read[leg], NULL);
}

/* The job's writes are still held: the legs are at rest. */
static void compare_fn(struct work_struct *ws)
{
	struct verify_slot *s = container_of(ws, struct verify_slot, compare);
	struct copy_job *job = s->job;
	size_t bytes = to_bytes(chunk_len(job));
	unsigned long error = 0;

	job->read_err = s->read[LEG_SOURCE].error ? -EIO : 0;
	job->write_err = s->read[LEG_DEST].error;
	if (job->read_err || job->write_err) {
		migrate_job_done(job);
		return;
	}
	/* dm-io invalidated the buffers' vmap range at the reads' end. */
	if (memcmp(s->buf[LEG_SOURCE], s->buf[LEG_DEST], bytes)) {
		s->differs = true;
		if (!s->repair) {
			migrate_job_done(job);	/* the rest of it cannot make it equal */
			return;
		}
		do_io(job, LEG_DEST, REQ_OP_WRITE, s->buf[LEG_SOURCE], NULL, NULL,
		      &error);
		job->write_err = error;
		s->repaired = !error;
	}
	s->offset += to_sector(bytes);
	if (!job->write_err && s->offset < migrate_region_len(&job->mc->geo, job->region))
		read_chunk(job);
	else
		migrate_job_done(job);
}

static void start_compare(struct copy_job *job)
{
	read_chunk(job);
}

static void __end_verify(struct migrate_c *mc, enum migrate_verify_state state)
{
	struct migrate_verify *v = mc->verify;

	lockdep_assert_held(&mc->lock);
	v->state = state;
	v->ended = ktime_get();
	DMINFO("%s: verify %s: %llu regions compared, %llu differ, %llu repaired",
	       mc_name(mc), migrate_verify_state_name(state), v->diff.compared,
	       v->diff.differ, v->diff.repaired);
	migrate_raise_event(mc);
}

/* A compare has ended (copy_job.record), under mc->lock. */
static void record_compare(struct copy_job *job)
{
	struct migrate_c *mc = job->mc;
	struct migrate_verify *v = mc->verify;
	struct verify_slot *s = job->verify;
	u64 bytes = to_bytes(migrate_region_len(&mc->geo, job->region));

	lockdep_assert_held(&mc->lock);
	/* A repair wrote to the destination: flushed before a cutover. */
	if (s->repaired)
		mc->need_dest_flush = true;
	/*
	 * A failed leg is recorded by the copier, and the verify ends at the
	 * next claim; a compare of a run stopped or started over counts for
	 * none.
	 */
	if (!job->read_err && !job->write_err && s->run == v->run &&
	    v->state == MIGRATE_VERIFY_RUNNING) {
		migrate_diff_record(&v->diff, job->region, bytes, s->differs,
				    s->repaired);
		__migrate_pace_done(mc, &v->pace, job, bytes);
	}
	s->job = NULL;
	v->nr_jobs--;
}

static struct verify_slot *__free_slot(struct migrate_verify *v)
{
	unsigned int i;

	for (i = 0; i < MIGRATE_VERIFY_JOBS; i++)
		if (!v->slot[i].job)
			return &v->slot[i];
	return NULL;
}

static struct copy_job *__claim_next_compare(struct migrate_c *mc,
					     unsigned long *delay)
{
	struct migrate_verify *v = mc->verify;
	struct verify_slot *s;
	struct copy_job *job;
	migrate_region_t r;
	bool paced;

	lockdep_assert_held(&mc->lock);
	if (!v || v->state != MIGRATE_VERIFY_RUNNING)
		return NULL;
	if (mc->flags & (BIT(MC_SOURCE_FAILED) | BIT(MC_DEST_FAILED))) {
		if (!v->nr_jobs)
			__end_verify(mc, MIGRATE_VERIFY_FAILED);
		return NULL;
	}
	if (mc->flags & (BIT(MC_PAUSED) | BIT(MC_SUSPENDED)) ||
	    mc->nr_jobs == mc->max_jobs || v->nr_jobs == MIGRATE_VERIFY_JOBS)
		return NULL;

	r = migrate_next_in_sync(mc->sync, v->cursor);
	migrate_diff_skip(&v->diff, r - v->cursor);
	v->cursor = r;
	if (r == mc->geo.nr_regions) {
		if (!v->nr_jobs)
			__end_verify(mc, v->diff.differ ? MIGRATE_VERIFY_DIFFER :
							  MIGRATE_VERIFY_EQUAL);
		return NULL;
	}
	/* A region in sync has no copy: a job on it is a discard's, ending. */
	if (__migrate_job_of_region(mc, r) ||
	    !__migrate_pace_admits(mc, &v->pace, v->nr_jobs,
				   to_bytes(migrate_region_len(&mc->geo, r)),
				   &paced, delay))
		return NULL;

	v->cursor = r + 1;
	s = __free_slot(v);
	s->run = v->run;
	s->repair = v->repair;
	s->offset = 0;
	s->differs = false;
	s->repaired = false;
	job = __migrate_claim_job(mc, r, NULL);
	job->paced = paced;
	job->start = start_compare;
	job->record = record_compare;
	job->verify = s;
	s->job = job;
	v->nr_jobs++;
	return job;
}

/* In the worker. Returns the jiffies until a compare may start, 0 if none is due. */
unsigned long migrate_claim_verifies(struct migrate_c *mc)
{
	return migrate_claim_jobs(mc, __claim_next_compare);
}

static void free_verify(struct migrate_verify *v)
{
	unsigned int i;
	int leg;

	if (!v)
		return;
	for (i = 0; i < MIGRATE_VERIFY_JOBS; i++)
		for (leg = 0; leg < NR_LEGS; leg++)
			vfree(v->slot[i].buf[leg]);
	if (!IS_ERR_OR_NULL(v->io))
		dm_io_client_destroy(v->io);
	migrate_diff_exit(&v->diff);
	kfree(v);
}

/* Sleeps. */
static struct migrate_verify *alloc_verify(struct migrate_c *mc)
{
	size_t bytes = to_bytes(min_t(sector_t, MIGRATE_CHUNK,
				      1ULL << mc->geo.shift));
	struct migrate_verify *v = kzalloc(sizeof(*v), GFP_KERNEL);
	unsigned int i;
	int leg;

	if (!v)
		return NULL;
	v->io = dm_io_client_create();
	if (IS_ERR(v->io) || migrate_diff_init(&v->diff, mc->geo.nr_regions))
		goto bad;
	for (i = 0; i < MIGRATE_VERIFY_JOBS; i++) {
		v->slot[i].read[LEG_SOURCE].slot = &v->slot[i];
		v->slot[i].read[LEG_DEST].slot = &v->slot[i];
		INIT_WORK(&v->slot[i].compare, compare_fn);
		/* DM_IO_VMA wants vmalloc memory, whatever the size. */
		for (leg = 0; leg < NR_LEGS; leg++) {
			v->slot[i].buf[leg] = vmalloc(bytes);
			if (!v->slot[i].buf[leg])
				goto bad;
		}
	}
	return v;
bad:
	free_verify(v);
	return NULL;
}

static void __start_verify(struct migrate_c *mc, bool repair, u64 rate)
{
	struct migrate_verify *v = mc->verify;

	lockdep_assert_held(&mc->lock);
	v->state = MIGRATE_VERIFY_RUNNING;
	v->run++;
	v->repair = repair;
	v->restarts = 0;
	v->cursor = 0;
	memset(&v->pace, 0, sizeof(v->pace));
	migrate_pace_set_rate(&v->pace, rate);
	migrate_diff_reset(&v->diff);
	v->started = ktime_get();
}

static int start_verify(struct migrate_c *mc, const struct migrate_msg *msg)
{
	struct migrate_verify *v = NULL;
	unsigned long flags;
	int r = 0;

	if (!READ_ONCE(mc->verify)) {
		v = alloc_verify(mc);
		if (!v) {
			DMERR("%s: cannot allocate a verify", mc_name(mc));
			return -ENOMEM;
		}
	}
	spin_lock_irqsave(&mc->lock, flags);
	if (!mc->verify) {
		mc->verify = v;
		v = NULL;
	}
	if (mc->flags & (BIT(MC_SOURCE_FAILED) | BIT(MC_DEST_FAILED))) {
		DMERR("%s: cannot verify: a leg has failed", mc_name(mc));
		r = -EIO;
	} else if (mc->verify->state == MIGRATE_VERIFY_RUNNING) {
		DMERR("%s: a verify is running already", mc_name(mc));
		r = -EBUSY;
	} else {
		__start_verify(mc, msg->repair, msg->rate);
	}
	spin_unlock_irqrestore(&mc->lock, flags);
	free_verify(v);	/* another message allocated one first */
	return r;
}

/* A verify message; returns 1 when @result holds an answer, as dm wants. */
int migrate_verify_message(struct migrate_c *mc, const struct migrate_msg *msg,
			   char *result, unsigned int maxlen)
{
	struct migrate_verify *v;
	unsigned long flags;
	int r = 0;

	if (msg->type == MIGRATE_MSG_VERIFY) {
		r = start_verify(mc, msg);
		if (!r) {
			migrate_raise_event(mc);
			wake_worker(mc);
		}
		return r;
	}

	spin_lock_irqsave(&mc->lock, flags);
	v = mc->verify;
	if (msg->type == MIGRATE_MSG_VERIFY_REPORT) {
		/* dm takes a full buffer for a truncated answer: leave a byte. */
		if (v && maxlen > 1)
			migrate_diff_ranges(&v->diff, result, maxlen - 1);
		r = 1;
	} else if (!v || v->state != MIGRATE_VERIFY_RUNNING) {
		DMERR("%s: no verify is running", mc_name(mc));
		r = -EINVAL;
	} else {
		/* Compares in flight end on their own; none is claimed after. */
		__end_verify(mc, MIGRATE_VERIFY_STOPPED);
	}
	spin_unlock_irqrestore(&mc->lock, flags);
	return r;
}

/* At resume: a verify running starts over. */
void migrate_verify_resumed(struct migrate_c *mc)
{
	struct migrate_verify *v;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	v = mc->verify;
	if (v && v->state == MIGRATE_VERIFY_RUNNING) {
		unsigned int restarts = v->restarts + 1;

		__start_verify(mc, v->repair, v->pace.rate);
		v->restarts = restarts;
		DMINFO("%s: verify starts over after a suspend", mc_name(mc));
	}
	spin_unlock_irqrestore(&mc->lock, flags);
}

/*
 * <state> <regions passed>/<regions> <compared> <differ> <repaired>
 * <bytes compared> <milliseconds> <restarts>
 */
void migrate_verify_status(struct migrate_c *mc, char *result,
			   unsigned int maxlen, unsigned int *out)
{
	struct migrate_verify *v = mc->verify;
	unsigned int sz = *out;
	ktime_t end;

	lockdep_assert_held(&mc->lock);
	if (!v) {
		DMEMIT(" - 0/%llu 0 0 0 0 0 0", mc->geo.nr_regions);
	} else {
		end = v->state == MIGRATE_VERIFY_RUNNING ? ktime_get() : v->ended;
		DMEMIT(" %s %llu/%llu %llu %llu %llu %llu %lld %u",
		       migrate_verify_state_name(v->state), v->diff.done,
		       mc->geo.nr_regions, v->diff.compared, v->diff.differ,
		       v->diff.repaired, v->diff.bytes,
		       ktime_ms_delta(end, v->started), v->restarts);
	}
	*out = sz;
}

/* At the destructor, with every job ended. Sleeps. */
void migrate_verify_free(struct migrate_c *mc)
{
	free_verify(mc->verify);
	mc->verify = NULL;
}
