/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-migrate's private header: the target's state, shared by its files.
 *
 *   dm-migrate-target.c    the target: constructor and destructor, suspend
 *                          and resume, the map and end_io entry points, the
 *                          worker, status and messages
 *   dm-migrate-io.c        the user I/O paths: write routing by region
 *                          state in pre-copy and in post-copy, read
 *                          balancing and retry
 *   dm-migrate-verify.c    the online verify: regions in sync compared
 *                          between the legs, in the copier's job slots
 *   dm-migrate-copier.c    the copier: job slots, chunked copies that
 *                          keep zeros unallocated, pacing
 *   dm-migrate-mirror.c    a write cloned to both legs, and its completion
 *   dm-migrate-commit.c    the write-intent window's admission of writes
 *                          and the metadata commit
 *   dm-migrate-inflight.c  writes in flight, by region
 *   dm-migrate-state.c     leg health, the state reported, events
 *   dm-migrate-claim.c     the devices live migrate tables use: one
 *                          migration per device
 *   dm-migrate-keep.c      dm's bio slab cache of the table, held until
 *                          the destructor so that no swap destroys it
 *   dm-migrate-group.c     rate groups: one copy budget, shared by weight,
 *                          and slots for the members copying at once
 *   dm-migrate-{region,pace,window,args,diff}.c
 *                          pure logic, unit-tested under KUnit: geometry and
 *                          in-sync map, pacing arithmetic, window and commit
 *                          sequencing, table and message parsing, a
 *                          verify's bookkeeping
 *   dm-migrate-metadata.c  the on-disk superblock and bitmap
 *
 * Calls go down that list, never up, but for the worker's wake-up and a
 * job's own start and end (copy_job.start, copy_job.record).
 *
 * Locks, outermost first:
 *
 *   commit_lock (mutex)    one metadata commit at a time; held across its
 *                          flushes and I/O, so only in process context
 *   lock (spinlock)        everything the I/O paths and the copier share:
 *                          see struct migrate_c. Taken in bio completion
 *                          (hard irq) context, so always irqsave; never held
 *                          across I/O submission, an allocation or a wake of
 *                          anything but the workqueue
 *   a rate group's lock    inside mc->lock (dm-migrate-group.c)
 *   the metadata's lock    innermost (migrate_meta_region_changed(),
 *                          migrate_meta_dirty())
 *
 * groups_lock (dm-migrate-group.c, a mutex) is taken outside mc->lock, in
 * the constructor, the destructor and the group message.
 * claims_lock (dm-migrate-claim.c, a mutex) is taken alone, in the
 * constructor and destructor; kept_lock (dm-migrate-keep.c, a mutex) alone,
 * in the worker and the destructor.
 *
 * Functions named __migrate_*() expect mc->lock held (lockdep checks it);
 * the others take it themselves. Which may sleep is said at each.
 */
#ifndef DM_MIGRATE_H
#define DM_MIGRATE_H

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/dm-io.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "dm-migrate-args.h"
#include "dm-migrate-diff.h"
#include "dm-migrate-metadata.h"
#include "dm-migrate-pace.h"
#include "dm-migrate-region.h"
#include "dm-migrate-window.h"

#define DM_MSG_PREFIX "migrate"

/* Defaults of the table's tuning features (dm-migrate-args.h). */
#define MIGRATE_COPY_JOBS	8	/* job slots: regions copied or compared at once */
#define MIGRATE_COMMIT_PERIOD_MS 1000
#define MIGRATE_VERIFY_JOBS	2	/* of the slots, regions compared at once */
#define MIGRATE_CHUNK		1024	/* sectors a job reads or writes at a time */
#define MIGRATE_INFLIGHT_BITS	8
#define MIGRATE_MIN_IOS		256

/* A table's mode: blk_mode_t from 6.5, fmode_t before. */
#ifdef BLK_OPEN_WRITE
#define MIGRATE_MODE_WRITE	BLK_OPEN_WRITE
#else
#define MIGRATE_MODE_WRITE	FMODE_WRITE
#endif

/*
 * The volume is busy while user I/O is in flight or was mapped within the
 * last MIGRATE_BUSY_SPAN; then the copier rests (dm-migrate-pace.h).
 */
#define MIGRATE_BUSY_SPAN	(HZ / 10)

enum migrate_leg_id { LEG_SOURCE, LEG_DEST, NR_LEGS };

/* Bits of migrate_c.event_flags. */
enum {
	MC_EVENT_UEVENT,
};

/* Bits of migrate_c.flags. */
enum {
	MC_SOURCE_FAILED,
	MC_DEST_FAILED,
	MC_PAUSED,
	MC_SUSPENDED,		/* no new copies: presuspend until resume */
	MC_METADATA_FAILED,
	MC_CUTOVER,		/* "cutover" message: no clean commit at the next suspend */
	/*
	 * Post-copy: regions in sync are on the destination alone, which
	 * serves their reads and takes every write (dm-migrate-io.c). Set at
	 * the constructor, by the post_copy message or at the first resume
	 * from the superblock, and never cleared.
	 */
	MC_POST_COPY,
	MC_ROLLBACK_LOST,	/* post-copy: the destination took a write */
};

/* The flag saying @leg failed: named, not computed from the leg's number. */
static inline unsigned int mc_leg_failed_bit(enum migrate_leg_id leg)
{
	return leg == LEG_SOURCE ? MC_SOURCE_FAILED : MC_DEST_FAILED;
}

/* What a copy job's last chunk I/O was (dm-migrate-copier.c). */
enum migrate_copy_step {
	COPY_READ,	/* the source's chunk into the buffer */
	COPY_WRITE,	/* the buffer to the destination */
	COPY_ZEROES,	/* a chunk of zeros: write-zeroes */
	COPY_DISCARD,	/* a chunk of zeros: discard, then ... */
	COPY_CHECK,	/* ... read back */
};

struct copy_job {
	struct migrate_c *mc;
	struct list_head done_entry;
	struct bio_list held;	/* writes to the region, waiting for the copy */
	migrate_region_t region;
	bool active;		/* slot in use */
	ktime_t claimed;	/* for the rest after it, when paced */
	bool paced;		/* claimed while busy: a rest follows */
	bool waiting;		/* claimed, waiting for source writes to drain */
	struct bio *discard;	/* a discard of the whole region, not a copy */
	bool failed;		/* the discard: not done on both legs */
	/* Another kind of job than a copy or discard (the verify's): */
	void (*start)(struct copy_job *job);
	void (*record)(struct copy_job *job);	/* ended, under mc->lock */
	struct verify_slot *verify;
	int read_err;		/* the source's: copy read, compare read */
	unsigned long write_err; /* the destination's: copy write, compare I/O */
	/* A copy, a chunk at a time through the slot's buffer: */
	void *buf;		/* MIGRATE_CHUNK, vmalloc'ed; NULL when no copy is due */
	sector_t offset;	/* of the chunk in the region */
	enum migrate_copy_step step;
	unsigned long io_error;	/* dm-io's error bits of the step */
	u64 zeroed;		/* bytes left unwritten as zeros */
	struct work_struct copy_work;
};

/* A region being compared: a chunk of it from each leg. */
struct verify_read {
	struct verify_slot *slot;
	unsigned long error;	/* dm_io's error bits */
};

struct verify_slot {
	struct copy_job *job;	/* NULL when free */
	unsigned int run;	/* the verify run it compares for */
	bool repair;
	void *buf[NR_LEGS];	/* vmalloc'ed, for DM_IO_VMA */
	struct verify_read read[NR_LEGS];
	atomic_t pending;	/* reads outstanding */
	sector_t offset;	/* of the chunk in the region */
	bool differs;
	bool repaired;
	struct work_struct compare;
};

/*
 * An online verify, allocated by the first verify message and kept for the
 * table's life; every field but the slots' buffers and work is under
 * mc->lock.
 */
struct migrate_verify {
	enum migrate_verify_state state;
	bool repair;
	unsigned int run;		/* counts starts, to tell compares apart */
	unsigned int nr_jobs;
	unsigned int restarts;		/* started over after a suspend */
	migrate_region_t cursor;	/* next region to compare */
	struct migrate_pace pace;
	ktime_t started;
	ktime_t ended;
	struct migrate_diff diff;
	struct dm_io_client *io;
	struct verify_slot slot[MIGRATE_VERIFY_JOBS];
};

/*
 * A migration's place in its rate group (dm-migrate-group.c): the group
 * and weight under mc->lock, the rest under the group's lock.
 */
struct migrate_member {
	struct migrate_group *group;	/* NULL: in none */
	unsigned int weight;
	struct list_head entry;		/* in the group's members */
	bool slot;			/* holds a slot: may copy */
	bool wants_slot;		/* asked for one and still would */
	u64 vtime;			/* spent of the budget, over the weight */
	ktime_t asked;			/* last asked for a copy, 0: not lately */
	u64 ask_span;			/* ns after which that ask lapses */
	/*
	 * The budget and limit the table's line gave, until its first resume
	 * sets them: a table loaded and never resumed changes nothing live.
	 */
	bool pending;
	u64 pending_rate;
	unsigned int pending_max_active;
};

struct migrate_c {
	struct dm_target *ti;
	struct dm_dev *leg[NR_LEGS];
	struct dm_dev *meta_dev;
	struct migrate_metadata *meta;
	char pair_id[MIGRATE_PAIR_ID_MAX + 1];
	struct migrate_geometry geo;
	struct list_head claim;		/* in dm-migrate-claim.c's list */

	/*
	 * Protects the in-sync map, the job slots and their held lists, the
	 * writes waiting for a slot, the in-flight hash and the writes
	 * waiting for an overlapping one to complete, the copy cursor, the
	 * done list, the pacing and the copier clock, the write-intent window
	 * and the writes waiting for it, the commit's flags and the bios
	 * waiting for a commit, and post-copy's lost regions.
	 */
	spinlock_t lock;
	struct migrate_sync_map *sync;
	struct copy_job jobs[MIGRATE_MAX_COPY_JOBS];
	unsigned int max_jobs;		/* slots in use: the copy_jobs feature */
	unsigned int nr_jobs;
	unsigned int nr_waiting;
	migrate_region_t cursor;
	/* Source-only writes, and mirrored writes, in flight, by region. */
	struct hlist_head inflight[1 << MIGRATE_INFLIGHT_BITS];
	unsigned int nr_tracked;	/* writes in mc->inflight */
	struct bio_list overlap_wait;	/* mirrored writes: see migrate_dispatch_write */
	struct list_head done_jobs;
	/* Whole-region discards, and post-copy writes, waiting for a job slot. */
	struct bio_list slot_wait;
	struct bio_list retry_reads;
	/*
	 * Post-copy: the regions a source read error lost (NULL before
	 * post-copy); nr_lost of them are not in sync yet (a write covering
	 * one brings it back). Allocated before MC_POST_COPY is set, so that
	 * whoever sees the flag under the lock finds it.
	 */
	struct migrate_sync_map *lost;
	migrate_region_t nr_lost;
	/* Post-copy: the region a read last asked of the source, read without a lock. */
	migrate_region_t read_hint;
	/* Mirrored write-zeroes one leg refused: zeroed there by the worker. */
	struct bio_list zero_wait;
	struct migrate_pace pace;
	struct migrate_member member;
	struct migrate_verify *verify;	/* NULL until the first verify */
	u64 bytes_copied;
	u64 bytes_zeroed;		/* of those, left unwritten as zeros */
	bool copy_buffers;		/* every slot's buffer allocated */
	bool copier_running;
	ktime_t copier_since;
	u64 copier_ns;

	struct migrate_window window;
	struct bio_list intent_wait;	/* writes waiting for their region */
	bool commit_due;		/* the commit period has passed */
	/* Post-copy: user flushes and FUA writes that wait for a commit. */
	struct bio_list commit_wait;
	bool flush_wanted;		/* the next commit flushes the destination */
	/* The copier or a repair wrote to the destination since its last flush. */
	bool need_dest_flush;
	struct mutex commit_lock;	/* one commit at a time */
	struct delayed_work commit_tick;
	unsigned int commit_period_ms;
	bool meta_loaded;		/* at the first resume */
	/*
	 * The flags the superblock records (MIGRATE_META_*). Until it records
	 * every leg failed and the post-copy state in flags, writes wait on
	 * failure_wait before they are sent, and writes one leg holds wait on
	 * ack_wait before they are acknowledged.
	 */
	unsigned int flags_recorded;
	struct bio_list failure_wait;
	struct bio_list ack_wait;

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
	/*
	 * MC_EVENT_UEVENT: a state change is also a uevent (udev rules act on
	 * states), a progress step a dm event alone. Set before event_work is
	 * queued, taken by it; a word of its own, since flags is changed with
	 * non-atomic bit operations under lock.
	 */
	unsigned long event_flags;
	/* Hundredths of the regions in sync at the last progress event. */
	u64 progress_step;

	struct dm_io_client *copy_io;
	/* dm-migrate-keep.c: the pad of dm's bio set, -1 until a bio is seen. */
	atomic_t dm_bioset_pad;
	struct migrate_kept_slab *kept_slab;
	/*
	 * A mirrored write takes one clone from each: from one pool, writes
	 * each holding one clone could wait for a second one forever.
	 */
	struct bio_set bs[NR_LEGS];
};

/* Per-bio data. */
struct migrate_io {
	struct migrate_c *mc;
	struct migrate_window_entry *intent;	/* counted in this window entry */
	struct copy_job *job;		/* the discard this job is */
	struct hlist_node inflight;
	/* Where the bio starts: to re-issue a failed read, to find overlaps. */
	struct bvec_iter saved_iter;
	unsigned short saved_flags;	/* bi_flags, to re-issue a failed read */
	migrate_region_t region;
	atomic_t pending;		/* mirrored write: legs outstanding */
	blk_status_t status[NR_LEGS];
	u8 leg;
	u8 flags;
};

#define IO_TRACKED	0x01	/* in mc->inflight */
#define IO_MIRRORED	0x02	/* cloned to both legs */
#define IO_FLUSH	0x04	/* an empty flush, sent to both legs */
#define IO_READ		0x08	/* counted in reads_inflight */
#define IO_RETRIED	0x10	/* a read re-issued to the other leg */
#define IO_JOB		0x20	/* a discard done as a copy job */
/* Post-copy: refused, or acknowledged after a commit: end_io has done all. */
#define IO_ENDED	0x40

static inline struct migrate_io *bio_io(struct bio *bio)
{
	return dm_per_bio_data(bio, sizeof(struct migrate_io));
}

static inline struct bio *io_bio(struct migrate_io *io)
{
	return dm_bio_from_per_bio_data(io, sizeof(struct migrate_io));
}

static inline const char *mc_name(struct migrate_c *mc)
{
	return dm_device_name(dm_table_get_md(mc->ti->table));
}

/* The worker (migrate_worker()) runs what may not run in the map path. */
static inline void wake_worker(struct migrate_c *mc)
{
	queue_work(mc->wq, &mc->worker);
}

static inline void remap_to_leg(struct migrate_c *mc, struct bio *bio,
				enum migrate_leg_id leg)
{
	bio_io(bio)->leg = leg;
	bio_set_dev(bio, mc->leg[leg]->bdev);
}

/* An unsupported operation or a nowait refusal says nothing of the leg. */
static inline bool io_error_is_leg_failure(blk_status_t status)
{
	return status && status != BLK_STS_NOTSUPP && status != BLK_STS_AGAIN;
}

/* Job slots in use by copies and discards, not by the verify. */
static inline unsigned int __migrate_nr_copies(struct migrate_c *mc)
{
	lockdep_assert_held(&mc->lock);
	return mc->nr_jobs - (mc->verify ? mc->verify->nr_jobs : 0);
}

/* A job's copy, discard or compare has ended: the worker records it. Any context. */
static inline void migrate_job_done(struct copy_job *job)
{
	struct migrate_c *mc = job->mc;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	list_add_tail(&job->done_entry, &mc->done_jobs);
	spin_unlock_irqrestore(&mc->lock, flags);
	wake_worker(mc);
}

/* dm-migrate-state.c */
enum migrate_state __migrate_state(struct migrate_c *mc);
void __migrate_update_copier_clock(struct migrate_c *mc);
bool migrate_leg_is_failed(struct migrate_c *mc, enum migrate_leg_id leg);
void migrate_leg_failed(struct migrate_c *mc, enum migrate_leg_id leg);
void migrate_region_lost(struct migrate_c *mc, migrate_region_t region);
int migrate_enter_post_copy(struct migrate_c *mc);
void migrate_raise_event(struct migrate_c *mc);
void migrate_raise_progress(struct migrate_c *mc);
void migrate_event_work(struct work_struct *ws);

/* dm-migrate-claim.c */
int migrate_claim_devices(struct migrate_c *mc, char **error);
void migrate_release_devices(struct migrate_c *mc);

/* dm-migrate-keep.c */
void migrate_note_dm_bioset(struct migrate_c *mc, struct bio *bio);
void migrate_keep_dm_slab(struct migrate_c *mc);
void migrate_release_dm_slab(struct migrate_c *mc);

/* dm-migrate-group.c */
int migrate_group_set(struct migrate_c *mc, const struct migrate_group_args *args,
		      bool now);
void migrate_group_resumed(struct migrate_c *mc);
void migrate_group_leave(struct migrate_c *mc);
bool __migrate_group_slot(struct migrate_c *mc, bool *taken);
bool __migrate_group_admits(struct migrate_c *mc, u64 bytes, bool paced,
			    unsigned long *delay);
void __migrate_group_stop(struct migrate_c *mc, bool for_good);
bool __migrate_group_queued(struct migrate_c *mc);
void __migrate_group_emit(struct migrate_c *mc, bool status, char *result,
			  unsigned int maxlen, unsigned int *out);

/* dm-migrate-inflight.c */
void __migrate_track(struct migrate_c *mc, struct migrate_io *io);
void migrate_untrack(struct migrate_c *mc, struct migrate_io *io);
bool __migrate_region_has_inflight(struct migrate_c *mc, migrate_region_t region);
bool __migrate_overlaps_inflight(struct migrate_c *mc, struct migrate_io *io);

/* dm-migrate-commit.c */
void migrate_commit_init(struct migrate_c *mc);
int migrate_commit_window(struct migrate_c *mc, unsigned int size);
bool __migrate_intent_enter(struct migrate_c *mc, struct migrate_io *io);
void migrate_intent_done(struct migrate_c *mc, struct migrate_window_entry *ent);
void __migrate_region_synced(struct migrate_c *mc, migrate_region_t region);
bool __migrate_record_pending(struct migrate_c *mc);
void migrate_release_failure_waits(struct migrate_c *mc);
void migrate_commit(struct migrate_c *mc);
void migrate_wait_commit(struct migrate_c *mc, struct bio *bio);
void migrate_commit_flushes(struct migrate_c *mc);
void migrate_commit_clean(struct migrate_c *mc);
void migrate_flush_copies(struct migrate_c *mc);
int migrate_load_metadata(struct migrate_c *mc);
void migrate_start_commit_tick(struct migrate_c *mc);

/* dm-migrate-mirror.c */
bool migrate_mirror_write(struct migrate_c *mc, struct bio *bio);
void migrate_finish_zeroes(struct migrate_c *mc);

/* dm-migrate-copier.c */
struct copy_job *__migrate_job_of_region(struct migrate_c *mc,
					 migrate_region_t region);
struct copy_job *__migrate_claim_job(struct migrate_c *mc, migrate_region_t region,
				     struct bio *discard);
void migrate_start_job(struct copy_job *job);
void __migrate_region_copied(struct migrate_c *mc, migrate_region_t region);
bool __migrate_pace_admits(struct migrate_c *mc, struct migrate_pace *p,
			   unsigned int active, u64 bytes, bool *paced,
			   unsigned long *delay);
void __migrate_pace_done(struct migrate_c *mc, struct migrate_pace *p,
			 struct copy_job *job, u64 bytes);
void migrate_finish_copies(struct migrate_c *mc, struct bio_list *held);
void migrate_start_waiting_copies(struct migrate_c *mc);
unsigned long migrate_claim_jobs(struct migrate_c *mc,
				 struct copy_job *(*claim)(struct migrate_c *mc,
							   unsigned long *delay));
unsigned long migrate_claim_copies(struct migrate_c *mc);
void migrate_arm_waker(struct migrate_c *mc, unsigned long copy_delay,
		       unsigned long verify_delay);
void migrate_wait_for_copies(struct migrate_c *mc);
void migrate_copy_buffers(struct migrate_c *mc);
void migrate_free_copy_buffers(struct migrate_c *mc);
void migrate_copier_init(struct migrate_c *mc);

/* dm-migrate-verify.c */
int migrate_verify_message(struct migrate_c *mc, const struct migrate_msg *msg,
			   char *result, unsigned int maxlen);
unsigned long migrate_claim_verifies(struct migrate_c *mc);
void migrate_verify_resumed(struct migrate_c *mc);
void migrate_verify_status(struct migrate_c *mc, char *result,
			   unsigned int maxlen, unsigned int *out);
void migrate_verify_free(struct migrate_c *mc);

/* dm-migrate-io.c */
int migrate_map_read(struct migrate_c *mc, struct bio *bio);
int migrate_dispatch_write(struct migrate_c *mc, struct bio *bio);
int migrate_io_end(struct migrate_c *mc, struct bio *bio, blk_status_t *error);
void migrate_retry_reads(struct migrate_c *mc);
void migrate_redispatch(struct migrate_c *mc, struct bio_list *bios);
void migrate_take_bios(struct migrate_c *mc, struct bio_list *list,
		       struct bio_list *bios);
void migrate_redispatch_waiting(struct migrate_c *mc, struct bio_list *list);

#endif
