// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-migrate: move a live volume from a source device to a destination
 * device. Reads are served from the source while a background copier copies
 * each region (dm-migrate-copier.c); writes to regions already copied go to both
 * legs, so every region once in sync stays in sync and the copy converges
 * however hard the workload writes. dm-migrate.h maps the files and the
 * lock order.
 *
 * This file is the target: its constructor and destructor, suspend and
 * resume, the map and end_io entry points, the worker that runs in process
 * context what the map path and completions may not, status and messages.
 * The constructor, destructor and suspend hooks sleep; map and end_io never
 * do but for the clone allocation (dm-migrate-io.c).
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "dm-migrate.h"

static void migrate_worker(struct work_struct *ws)
{
	struct migrate_c *mc = container_of(ws, struct migrate_c, worker);
	struct bio_list held = BIO_EMPTY_LIST;

	migrate_keep_dm_slab(mc);
	migrate_copy_buffers(mc);
	/* Post-copy writes that found no slot or no buffers. */
	migrate_redispatch_waiting(mc, &mc->slot_wait);
	migrate_retry_reads(mc);
	migrate_finish_zeroes(mc);
	migrate_finish_copies(mc, &held);
	migrate_redispatch(mc, &held);
	migrate_redispatch_waiting(mc, &mc->overlap_wait);
	if (mc->meta) {
		migrate_commit_flushes(mc);
		migrate_commit(mc);
		migrate_release_failure_waits(mc);
		/* Dispatched, or waiting for the next commit. */
		migrate_redispatch_waiting(mc, &mc->intent_wait);
	}
	migrate_start_waiting_copies(mc);
	migrate_arm_waker(mc, migrate_claim_copies(mc), migrate_claim_verifies(mc));
}

static int migrate_map(struct dm_target *ti, struct bio *bio)
{
	struct migrate_c *mc = ti->private;
	struct migrate_io *io = bio_io(bio);
	sector_t left;

	io->mc = mc;
	io->flags = 0;
	io->intent = NULL;
	if (unlikely(atomic_read(&mc->dm_bioset_pad) < 0))
		migrate_note_dm_bioset(mc, bio);

	if (bio->bi_opf & REQ_PREFLUSH) {
		/*
		 * An empty flush goes to both legs as a mirrored write does, so
		 * that its completion follows the same rule (dm-migrate-mirror.c);
		 * with the destination failed, to the source alone.
		 */
		io->flags = IO_FLUSH;
		/* Post-copy: no write went to the source, the commit flushes. */
		if (test_bit(MC_POST_COPY, &mc->flags)) {
			io->flags |= IO_ENDED;
			migrate_wait_commit(mc, bio);
			return DM_MAPIO_SUBMITTED;
		}
		if (test_bit(MC_DEST_FAILED, &mc->flags)) {
			remap_to_leg(mc, bio, LEG_SOURCE);
			return DM_MAPIO_REMAPPED;
		}
		migrate_mirror_write(mc, bio);
		return DM_MAPIO_SUBMITTED;
	}

	bio->bi_iter.bi_sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	WRITE_ONCE(mc->last_user_io, jiffies);

	if (bio_data_dir(bio) == READ)
		return migrate_map_read(mc, bio);

	/* Discards are not split at max_io_len by every kernel: trim here. */
	left = migrate_sectors_left(&mc->geo, bio->bi_iter.bi_sector);
	if (bio_sectors(bio) > left)
		dm_accept_partial_bio(bio, left);

	return migrate_dispatch_write(mc, bio);
}

static int migrate_end_io(struct dm_target *ti, struct bio *bio,
			  blk_status_t *error)
{
	return migrate_io_end(ti->private, bio, error);
}

static void migrate_free(struct migrate_c *mc)
{
	int leg;

	migrate_group_leave(mc);	/* a constructor that failed after joining */
	migrate_release_devices(mc);
	if (mc->wq)
		destroy_workqueue(mc->wq);
	migrate_release_dm_slab(mc);
	migrate_verify_free(mc);
	migrate_free_copy_buffers(mc);
	if (!IS_ERR_OR_NULL(mc->copy_io))
		dm_io_client_destroy(mc->copy_io);
	for (leg = 0; leg < NR_LEGS; leg++)
		bioset_exit(&mc->bs[leg]);
	if (!IS_ERR_OR_NULL(mc->meta))
		migrate_meta_close(mc->meta);
	migrate_window_exit(&mc->window);
	migrate_sync_destroy(mc->lost);
	migrate_sync_destroy(mc->sync);
	if (mc->meta_dev)
		dm_put_device(mc->ti, mc->meta_dev);
	if (mc->leg[LEG_DEST])
		dm_put_device(mc->ti, mc->leg[LEG_DEST]);
	if (mc->leg[LEG_SOURCE])
		dm_put_device(mc->ti, mc->leg[LEG_SOURCE]);
	kvfree(mc);
}

static int open_metadata(struct migrate_c *mc, const struct migrate_features *f)
{
	unsigned int window = f->window ?: MIGRATE_WINDOW_DEFAULT;
	struct migrate_meta_params p = {
		.bdev = mc->meta_dev->bdev,
		.geo = &mc->geo,
		.pair_id = mc->pair_id,
		.window = window,
		.fresh = f->fresh,
	};

	if (migrate_commit_window(mc, window)) {
		mc->ti->error = "Cannot allocate the write-intent window";
		return -ENOMEM;
	}
	mc->meta = migrate_meta_open(&p, &mc->ti->error);
	return PTR_ERR_OR_ZERO(mc->meta);
}

/*
 * <source> <destination> <metadata | -> <region sectors>
 *	[<#feature args> [paused] [rate <bytes/s>] [fresh] [pair_id <id>]
 *	 [window <regions>] [copy_jobs <n>] [commit_period <ms>] [post_copy]
 *	 [group <name> <bytes/s> <max active>] [weight <n>]]
 */
static int migrate_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct migrate_features features;
	struct dm_arg_set as;
	struct migrate_c *mc;
	unsigned int shift;
	bool no_meta;
	int leg, r;

	if (argc < 4) {
		ti->error = "Invalid argument count: <source> <dest> <metadata|-> <region size>";
		return -EINVAL;
	}

	/* A read-only table would still copy onto its destination. */
	if (!(dm_table_get_mode(ti->table) & MIGRATE_MODE_WRITE)) {
		ti->error = "A migration writes to its destination: the table cannot be read-only";
		return -EINVAL;
	}

	/* Larger than a page can give in one piece (the in-flight hash). */
	mc = kvzalloc(sizeof(*mc), GFP_KERNEL);
	if (!mc) {
		ti->error = "Cannot allocate target context";
		return -ENOMEM;
	}
	mc->ti = ti;
	INIT_LIST_HEAD(&mc->claim);
	INIT_LIST_HEAD(&mc->member.entry);
	spin_lock_init(&mc->lock);
	bio_list_init(&mc->retry_reads);
	bio_list_init(&mc->zero_wait);
	bio_list_init(&mc->overlap_wait);
	INIT_WORK(&mc->worker, migrate_worker);
	INIT_WORK(&mc->event_work, migrate_event_work);
	migrate_copier_init(mc);
	migrate_commit_init(mc);
	for (leg = 0; leg < NR_LEGS; leg++)
		atomic64_set(&mc->errors[leg], 0);
	atomic_set(&mc->dm_bioset_pad, -1);

	/* The features decide how the source is opened: read them first. */
	as.argc = argc - 4;
	as.argv = argv + 4;
	r = migrate_parse_region_size(argv[3], &shift, &ti->error) ?:
	    migrate_parse_features(&as, &features, &ti->error);
	if (r)
		goto bad;
	r = -EINVAL;
	no_meta = !strcmp(argv[2], "-");
	if (no_meta && (features.fresh || features.pair_id ||
			features.window || features.commit_period_ms)) {
		ti->error = "fresh, pair_id, window and commit_period need a metadata device";
		goto bad;
	}
	if (no_meta && features.post_copy) {
		ti->error = "post_copy needs a metadata device";
		goto bad;
	}

	for (leg = 0; leg < NR_LEGS; leg++) {
		/* Post-copy never writes the source: it may be read-only. */
		r = dm_get_device(ti, argv[leg], leg == LEG_SOURCE && features.post_copy ?
				  dm_table_get_mode(ti->table) & ~MIGRATE_MODE_WRITE :
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
	if (!no_meta) {
		r = dm_get_device(ti, argv[2], dm_table_get_mode(ti->table),
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
	if (features.pair_id)
		strscpy(mc->pair_id, features.pair_id, sizeof(mc->pair_id));
	r = migrate_claim_devices(mc, &ti->error);
	if (r)
		goto bad;

	r = -EINVAL;
	if (bdev_nr_sectors(mc->leg[LEG_SOURCE]->bdev) < ti->len) {
		ti->error = "Source device is smaller than the target";
		goto bad;
	}
	if (bdev_nr_sectors(mc->leg[LEG_DEST]->bdev) < ti->len) {
		ti->error = "Destination device is smaller than the source";
		goto bad;
	}

	migrate_geometry_init(&mc->geo, ti->len, shift);
	if (mc->geo.nr_regions > MIGRATE_MAX_REGIONS) {
		ti->error = "Too many regions: give a larger region size";
		goto bad;
	}
	r = -ENOMEM;
	mc->sync = migrate_sync_create(mc->geo.nr_regions);
	if (!mc->sync) {
		ti->error = "Cannot allocate region map";
		goto bad;
	}
	mc->read_hint = mc->geo.nr_regions;
	if (mc->meta_dev) {
		r = open_metadata(mc, &features);
		if (r)
			goto bad;
	}
	if (features.post_copy) {
		r = migrate_enter_post_copy(mc);
		if (r) {
			ti->error = "Cannot allocate the set of lost regions";
			goto bad;
		}
	}
	for (leg = 0; leg < NR_LEGS; leg++) {
		r = bioset_init(&mc->bs[leg], MIGRATE_MIN_IOS, 0, 0);
		if (r) {
			ti->error = "Cannot allocate bio set";
			goto bad;
		}
	}
	mc->copy_io = dm_io_client_create();
	if (IS_ERR(mc->copy_io)) {
		r = PTR_ERR(mc->copy_io);
		ti->error = "Cannot create dm-io client";
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
	mc->pace.rate = features.rate;
	mc->max_jobs = features.copy_jobs ?: MIGRATE_COPY_JOBS;
	mc->commit_period_ms = features.commit_period_ms ?: MIGRATE_COMMIT_PERIOD_MS;
	mc->member.weight = features.weight ?: 1;
	if (features.group.name) {
		r = migrate_group_set(mc, &features.group, false);
		if (r) {
			ti->error = "Cannot allocate the rate group";
			goto bad;
		}
	}
	mc->last_user_io = jiffies - MIGRATE_BUSY_SPAN;
	/* Nothing is copied until the first resume. */
	__set_bit(MC_SUSPENDED, &mc->flags);

	r = dm_set_target_max_io_len(ti, 1U << shift);
	if (r)
		goto bad;
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct migrate_io);
	ti->private = mc;
	return 0;

bad:
	migrate_free(mc);
	return r;
}

static void migrate_dtr(struct dm_target *ti)
{
	struct migrate_c *mc = ti->private;

	/* First: a member that gives back its slot wakes the others' workers. */
	migrate_group_leave(mc);
	migrate_wait_for_copies(mc);
	cancel_work_sync(&mc->event_work);
	migrate_free(mc);
}

static void set_suspended(struct migrate_c *mc, bool suspended)
{
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	if (suspended) {
		__set_bit(MC_SUSPENDED, &mc->flags);
	} else {
		__clear_bit(MC_SUSPENDED, &mc->flags);
		/* The cutover did not happen: the table runs on. */
		__clear_bit(MC_CUTOVER, &mc->flags);
	}
	__migrate_update_copier_clock(mc);
	spin_unlock_irqrestore(&mc->lock, flags);
}

static void migrate_presuspend(struct dm_target *ti)
{
	struct migrate_c *mc = ti->private;

	/* Stop claiming; copies already claimed run on, see migrate_wait_for_copies. */
	set_suspended(mc, true);
}

/* The commit tick stopped itself on seeing the volume suspending. */
static void resume_work(struct migrate_c *mc)
{
	set_suspended(mc, false);
	migrate_group_resumed(mc);
	migrate_verify_resumed(mc);
	if (mc->meta)
		migrate_start_commit_tick(mc);
	wake_worker(mc);
}

static void migrate_presuspend_undo(struct dm_target *ti)
{
	resume_work(ti->private);
}

/*
 * Every user write has completed and is acknowledged, and the copies are
 * done. The volume's I/O is held from here to the resume, so only what a
 * swap needs is done: the destination flushed if the copier wrote to it,
 * and with metadata a clean record, which spares copying the window's
 * regions again when the table is loaded next; but not before a cutover
 * (the "cutover" message), after which the tool's record, written first,
 * says the migration is over and the bitmap is never read again.
 */
static void migrate_postsuspend(struct dm_target *ti)
{
	struct migrate_c *mc = ti->private;

	migrate_wait_for_copies(mc);
	if (mc->meta && !test_bit(MC_CUTOVER, &mc->flags))
		migrate_commit_clean(mc);
	migrate_flush_copies(mc);
}

static int migrate_preresume(struct dm_target *ti)
{
	struct migrate_c *mc = ti->private;

	return mc->meta ? migrate_load_metadata(mc) : 0;
}

static void migrate_resume(struct dm_target *ti)
{
	resume_work(ti->private);
}

static void emit_table(struct migrate_c *mc, char *result, unsigned int maxlen,
		       unsigned int *out)
{
	unsigned int sz = *out;
	bool paused = test_bit(MC_PAUSED, &mc->flags);
	u64 rate = READ_ONCE(mc->pace.rate);
	/* The tuning features, where not their defaults. */
	bool window = mc->meta && mc->window.size != MIGRATE_WINDOW_DEFAULT;
	bool jobs = mc->max_jobs != MIGRATE_COPY_JOBS;
	bool commit = mc->meta && mc->commit_period_ms != MIGRATE_COMMIT_PERIOD_MS;
	bool post_copy = test_bit(MC_POST_COPY, &mc->flags);
	bool weight = mc->member.weight != 1;
	unsigned int nr = (paused ? 1 : 0) + (rate ? 2 : 0) +
			  (mc->pair_id[0] ? 2 : 0) + (window ? 2 : 0) +
			  (jobs ? 2 : 0) + (commit ? 2 : 0) + (post_copy ? 1 : 0) +
			  (mc->member.group ? 4 : 0) + (weight ? 2 : 0);
	unsigned long flags;

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
	if (window)
		DMEMIT(" window %u", mc->window.size);
	if (jobs)
		DMEMIT(" copy_jobs %u", mc->max_jobs);
	if (commit)
		DMEMIT(" commit_period %u", mc->commit_period_ms);
	if (post_copy)
		DMEMIT(" post_copy");
	spin_lock_irqsave(&mc->lock, flags);
	if (mc->member.group) {
		DMEMIT(" group");
		__migrate_group_emit(mc, false, result, maxlen, &sz);
	}
	spin_unlock_irqrestore(&mc->lock, flags);
	if (weight)
		DMEMIT(" weight %u", mc->member.weight);
	*out = sz;
}

static const char *leg_health(struct migrate_c *mc, enum migrate_leg_id leg)
{
	return migrate_leg_is_failed(mc, leg) ? "failed" : "ok";
}

static void migrate_status(struct dm_target *ti, status_type_t type,
			   unsigned int status_flags, char *result,
			   unsigned int maxlen)
{
	struct migrate_c *mc = ti->private;
	migrate_region_t in_sync, total;
	enum migrate_state state;
	unsigned int sz = 0, copying;
	u64 bytes, copier_ns;
	unsigned long flags;

	switch (type) {
	case STATUSTYPE_INFO:
		spin_lock_irqsave(&mc->lock, flags);
		state = __migrate_state(mc);
		in_sync = migrate_nr_in_sync(mc->sync);
		total = migrate_nr_regions(mc->sync);
		copying = __migrate_nr_copies(mc);
		bytes = mc->bytes_copied;
		copier_ns = mc->copier_ns;
		if (mc->copier_running)
			copier_ns += ktime_to_ns(ktime_sub(ktime_get(),
							   mc->copier_since));
		spin_unlock_irqrestore(&mc->lock, flags);

		DMEMIT("%s %llu/%llu %u %llu %llu %llu %u %s %s %lld %lld %s",
		       migrate_state_name(state), in_sync, total,
		       1U << mc->geo.shift, READ_ONCE(mc->pace.rate), bytes,
		       div_u64(copier_ns, NSEC_PER_MSEC), copying,
		       leg_health(mc, LEG_SOURCE), leg_health(mc, LEG_DEST),
		       (s64)atomic64_read(&mc->errors[LEG_SOURCE]),
		       (s64)atomic64_read(&mc->errors[LEG_DEST]),
		       !mc->meta ? "-" :
		       test_bit(MC_METADATA_FAILED, &mc->flags) ? "failed" : "ok");
		spin_lock_irqsave(&mc->lock, flags);
		migrate_verify_status(mc, result, maxlen, &sz);
		/* From target version 1.2, after the verify's. */
		DMEMIT(" %llu", mc->bytes_zeroed);
		/* From 1.3: the mode, whether abort is possible, regions lost. */
		DMEMIT(" %s %s %llu",
		       test_bit(MC_POST_COPY, &mc->flags) ? "post-copy" : "pre-copy",
		       test_bit(MC_ROLLBACK_LOST, &mc->flags) ? "lost" : "possible",
		       (u64)mc->nr_lost);
		/* From 1.4: the rate group, its budget and limit; the weight. */
		__migrate_group_emit(mc, true, result, maxlen, &sz);
		DMEMIT(" %u", mc->member.weight);
		spin_unlock_irqrestore(&mc->lock, flags);
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

/*
 * Switch a pre-copy migration to post-copy, for good. Copies and writes in
 * flight end as they began; the first write sent to the destination alone
 * waits for the superblock to record post-copy (dm-migrate-io.c).
 */
static int post_copy_message(struct migrate_c *mc)
{
	const char *refused = NULL;
	unsigned long flags;
	int r;

	spin_lock_irqsave(&mc->lock, flags);
	if (!mc->meta)
		refused = "post_copy needs a metadata device";
	else if (mc->flags & (BIT(MC_SOURCE_FAILED) | BIT(MC_DEST_FAILED) |
			      BIT(MC_METADATA_FAILED)))
		refused = "post_copy refused: a leg or the metadata device has failed";
	else if (mc->verify && mc->verify->state == MIGRATE_VERIFY_RUNNING)
		refused = "post_copy refused while a verify runs: stop it first";
	spin_unlock_irqrestore(&mc->lock, flags);
	if (refused) {
		DMERR("%s: %s", mc_name(mc), refused);
		return -EINVAL;
	}
	if (test_bit(MC_POST_COPY, &mc->flags))
		return 0;
	r = migrate_enter_post_copy(mc);
	if (r)
		return r;
	DMINFO("%s: post-copy: the destination serves the regions it holds", mc_name(mc));
	migrate_raise_event(mc);
	wake_worker(mc);
	return 0;
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
	if (msg.type == MIGRATE_MSG_VERIFY && test_bit(MC_POST_COPY, &mc->flags)) {
		DMERR("%s: verify compares the legs, which post-copy lets differ",
		      mc_name(mc));
		return -EINVAL;
	}
	if (msg.type == MIGRATE_MSG_VERIFY || msg.type == MIGRATE_MSG_VERIFY_STOP ||
	    msg.type == MIGRATE_MSG_VERIFY_REPORT)
		return migrate_verify_message(mc, &msg, result, maxlen);
	if (msg.type == MIGRATE_MSG_POST_COPY)
		return post_copy_message(mc);
	if (msg.type == MIGRATE_MSG_GROUP) {
		r = migrate_group_set(mc, &msg.group, true);
		if (r)
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
		migrate_pace_set_rate(&mc->pace, msg.rate);
		break;
	case MIGRATE_MSG_CUTOVER:
		__set_bit(MC_CUTOVER, &mc->flags);
		break;
	default:	/* the verify's and the group's, above */
		break;
	}
	__migrate_update_copier_clock(mc);
	spin_unlock_irqrestore(&mc->lock, flags);

	if (msg.type != MIGRATE_MSG_RATE && msg.type != MIGRATE_MSG_CUTOVER)
		migrate_raise_event(mc);
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

/*
 * A discard covering whole regions leaves them in sync without a copy
 * (dm-migrate-io.c), a partial one saves nothing: discards in whole regions
 * make fstrim skip free ranges smaller than a region and send the rest
 * aligned. The map path trims discards at region ends itself on every
 * kernel, which is what max_discard_granularity would ask of dm from 6.5.
 * In pre-copy io_min and io_opt stay the legs': a write smaller than a
 * region costs nothing more than on the legs. In post-copy (a table loaded
 * with post_copy) a write to part of a region not copied first copies it:
 * the region is the size to write in, unless io_opt is a multiple of it.
 */
static void migrate_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct migrate_c *mc = ti->private;
	unsigned int region = to_bytes(1U << mc->geo.shift);

	if (limits->discard_granularity < region)
		limits->discard_granularity = region;
	if (test_bit(MC_POST_COPY, &mc->flags) &&
	    (limits->io_opt < region || limits->io_opt % region)) {
		limits->io_min = region;
		limits->io_opt = region;
	}
}

static struct target_type migrate_target = {
	.name = "migrate",
	.version = {1, 4, 1},
	.module = THIS_MODULE,
	.ctr = migrate_ctr,
	.dtr = migrate_dtr,
	.map = migrate_map,
	.end_io = migrate_end_io,
	.presuspend = migrate_presuspend,
	.presuspend_undo = migrate_presuspend_undo,
	.postsuspend = migrate_postsuspend,
	.preresume = migrate_preresume,
	.resume = migrate_resume,
	.status = migrate_status,
	.message = migrate_message,
	.iterate_devices = migrate_iterate_devices,
	.io_hints = migrate_io_hints,
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
MODULE_VERSION(DM_MIGRATE_VERSION);
