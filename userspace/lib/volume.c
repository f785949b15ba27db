// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The life of a volume: create, start, confirm or abort, remove. Every
 * command that changes a volume takes its lock and then reads its state
 * afresh, so of two racing commands the second sees what the first did.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

#define TABLE_LEN	512

/* Table of a volume that is not migrating: "<dev> 0", the whole device. */
static int parse_linear(const char *params, struct dmm_status *st)
{
	unsigned long long offset;
	dev_t dev;
	int n = 0;

	if (sscanf(params, "%31s %llu%n", st->source, &offset, &n) != 2 ||
	    params[n] || offset || dmm__parse_dev(st->source, &dev))
		return -EINVAL;
	return 0;
}

/* One read of STATUS then TABLE; -EAGAIN if the table changed between. */
static int read_tables(struct dmm_ctx *ctx, const char *name,
		       struct dmm_status *st)
{
	struct dmm__dm_target status, table;
	bool migrating;
	int r;

	r = dmm__dm_table(ctx, name, true, &status);
	if (r)
		return r;
	r = dmm__dm_table(ctx, name, false, &table);
	if (r)
		goto out_status;

	r = -EAGAIN;
	if (strcmp(status.type, table.type) || status.len != table.len)
		goto out;

	migrating = !strcmp(table.type, DMM_TARGET);
	if (!migrating && strcmp(table.type, "linear")) {
		r = dmm__err(ctx, DMM_EUSAGE,
			     "volume %s has a %s table; dmmigrate handles only linear and %s tables",
			     name, table.type, DMM_TARGET);
		goto out;
	}

	memset(st, 0, sizeof(*st));
	strcpy(st->name, name);
	st->len_sectors = table.len;
	st->event_nr = status.event_nr;
	if (migrating)
		r = dmm__parse_table(table.params, st) ?:
		    dmm__parse_status(status.params, st);
	else
		r = parse_linear(table.params, st);
	if (r)
		r = dmm__err(ctx, DMM_EDM,
			     "cannot understand the table of %s ('%s' / '%s'); install matching dm-migrate and dmmigrate versions",
			     name, table.params, status.params);
out:
	free(table.params);
out_status:
	free(status.params);
	return r;
}

int dmm__volume_read(struct dmm_ctx *ctx, const char *name,
		     struct dmm_status *st)
{
	struct dmm__dm_dev dev;
	int r, tries;

	r = dmm__check_name(ctx, name) ?: dmm__dm_info(ctx, name, &dev);
	if (r)
		return r;
	if (!dev.exists)
		return dmm__err(ctx, DMM_ENODEV,
				"volume %s does not exist; see 'dmmigrate list'",
				name);
	if (strncmp(dev.uuid, DMM_UUID_PREFIX, strlen(DMM_UUID_PREFIX)))
		return dmm__err(ctx, DMM_EUSAGE,
				"%s is not a dmmigrate volume (uuid '%s'); wrap devices with 'dmmigrate create' first",
				name, dev.uuid);

	for (tries = 0; tries < 3; tries++) {
		r = read_tables(ctx, name, st);
		if (r != -EAGAIN)
			return r;
	}
	return dmm__err(ctx, DMM_EBUSY,
			"volume %s changed while it was read; retry", name);
}

/*
 * Lock @name, finish what an interrupted dmmigrate left half done and read
 * its state; on success the caller must unlock. @finished (may be NULL):
 * see dmm__repair().
 */
static int volume_lock(struct dmm_ctx *ctx, const char *name,
		       struct dmm_status *st, int *lock, const char **finished)
{
	struct dmm__dm_dev dev;
	int r;

	ctx->already_done = false;
	/* A command refused for a volume that does not exist creates nothing. */
	r = dmm__check_name(ctx, name) ?: dmm__dm_info(ctx, name, &dev);
	if (!r && !dev.exists)
		r = dmm__volume_read(ctx, name, st);
	r = r ?: dmm__lock(ctx, name, lock);
	if (r)
		return r;
	r = dmm__repair(ctx, name, finished) ?:
	    dmm__volume_read(ctx, name, st);
	if (r)
		dmm__unlock(*lock);
	return r;
}

/*
 * Settle the step just taken (see dmm__step_finish()). If even that
 * fails the state file stays, and the next command on the volume
 * settles it.
 */
static void finish_step(struct dmm_ctx *ctx, const char *name,
			const struct dmm__step *step, bool *done)
{
	char err[DMM_ERR_LEN];

	strcpy(err, ctx->err);
	if (dmm__step_finish(ctx, name, step, done))
		dmm__log(ctx, DMM_LOG_ERROR,
			 "warning: %s; the next dmmigrate command on %s finishes it",
			 ctx->err, name);
	strcpy(ctx->err, err);
}

static int not_migrating(struct dmm_ctx *ctx, const char *name,
			 const char *what)
{
	return dmm__err(ctx, DMM_ESTATE,
			"volume %s is not migrating; nothing to %s (see 'dmmigrate status %s')",
			name, what, name);
}

/* "/dev/mapper/NAME"-like path of a "major:minor" leg. */
static int leg_path(struct dmm_ctx *ctx, const char *majmin, char *buf,
		    size_t len)
{
	dev_t dev;

	if (dmm__parse_dev(majmin, &dev) || dmm__dev_path(dev, buf, len))
		return dmm__err(ctx, DMM_ENODEV,
				"device %s has gone; check the devices with lsblk",
				majmin);
	return DMM_OK;
}

/*
 * Let go of @name's lock; when the command leaves no such volume (a
 * refused create, a remove), its lock file goes too.
 */
static void unlock_volume(struct dmm_ctx *ctx, const char *name, int lock)
{
	char err[DMM_ERR_LEN];
	struct dmm__dm_dev dev;

	strcpy(err, ctx->err);
	if (!dmm__dm_info(ctx, name, &dev) && !dev.exists)
		dmm__unlock_gone(lock, name);
	else
		dmm__unlock(lock);
	strcpy(ctx->err, err);
}

/*
 * @name exists: a create repeated (after a timeout, a kill) succeeds when
 * it made that volume over that device (its source, migrating or not).
 */
static int created_over(struct dmm_ctx *ctx, const char *name,
			const struct dmm__blk *b)
{
	char dev[32], path[PATH_MAX];
	struct dmm_status st;
	int r;

	r = dmm__volume_read(ctx, name, &st);
	if (r)
		return r;
	snprintf(dev, sizeof(dev), "%u:%u", major(b->dev), minor(b->dev));
	if (!strcmp(st.source, dev)) {
		ctx->already_done = true;
		return DMM_OK;
	}
	return dmm__err(ctx, DMM_EBUSY,
			"volume %s already exists over %s; pick another name or remove it first",
			name, leg_path(ctx, st.source, path, sizeof(path)) ?
			st.source : path);
}

void dmm__volume_unlock(struct dmm_ctx *ctx, const char *name, int lock)
{
	unlock_volume(ctx, name, lock);
}

/*
 * Remove the idle, unopened volume @name (locked by the caller) for good:
 * no record may bring it back at the next boot.
 */
int dmm__volume_remove(struct dmm_ctx *ctx, const char *name)
{
	int r;

	r = dmm__dm_remove(ctx, name) ?: dmm__home_forget(ctx, name, 0);
	if (!r)
		dmm__done_clear(name);
	return r;
}

/* What holds the volume @name open, for a remove that cannot be. */
static int held_volume(struct dmm_ctx *ctx, const char *name)
{
	struct dmm__dm_dev dev;
	char holder[64];

	if (dmm__dm_info(ctx, name, &dev) || !dev.open_count)
		return DMM_OK;
	if (dmm__held(makedev(dev.major, dev.minor), holder, sizeof(holder)))
		return dmm__err(ctx, DMM_EBUSY,
				"volume %s is held by %s; 'dmmigrate remove %s --collapse' moves its holders onto its device and removes it",
				name, holder, name);
	return DMM_OK;
}

int dmm__create_begin(struct dmm_ctx *ctx, const char *name,
		      const char *device, struct dmm__creating *c)
{
	int r;

	ctx->already_done = false;
	r = dmm__check_name(ctx, name) ?: dmm__blk_open(ctx, device, &c->b);
	if (r)
		return r;
	r = dmm__lock(ctx, name, &c->lock);
	if (r)
		goto out_blk;
	r = dmm__lock_device(ctx, &c->b, &c->dev_lock);
	if (r)
		goto out_lock;
	/* A create cut short before is removed first, then made again. */
	r = dmm__repair(ctx, name, NULL) ?: dmm__dm_info(ctx, name, &c->info);
	if (!r)
		return DMM_OK;
	dmm__unlock_device(c->dev_lock, &c->b);
out_lock:
	unlock_volume(ctx, name, c->lock);
out_blk:
	dmm__blk_close(&c->b);
	return r;
}

void dmm__create_end(struct dmm_ctx *ctx, const char *name,
		     struct dmm__creating *c)
{
	dmm__unlock_device(c->dev_lock, &c->b);
	unlock_volume(ctx, name, c->lock);
	dmm__blk_close(&c->b);
}

/* A linear volume @name over the whole of the unused device @b. */
static int create_linear(struct dmm_ctx *ctx, const char *name,
			 const struct dmm__blk *b)
{
	char params[TABLE_LEN];
	unsigned int lbs;
	uint64_t bytes;
	int r;

	r = dmm__check_unused(ctx, b) ?: dmm__dev_size(ctx, b, &bytes, &lbs);
	if (r)
		return r;
	if (bytes >> SECTOR_SHIFT == 0)
		return dmm__err(ctx, DMM_EUSAGE,
				"%s is empty; give a device with data", b->name);
	snprintf(params, sizeof(params), "%u:%u 0", major(b->dev), minor(b->dev));
	return dmm__dm_create(ctx, name, bytes >> SECTOR_SHIFT, "linear",
			      params);
}

int dmm_create(struct dmm_ctx *ctx, const char *name, const char *device)
{
	struct dmm__creating c;
	int r;

	r = dmm__create_begin(ctx, name, device, &c);
	if (r)
		return r;
	r = c.info.exists ? created_over(ctx, name, &c.b) :
	    create_linear(ctx, name, &c.b);
	dmm__create_end(ctx, name, &c);
	return r;
}

int dmm_remove(struct dmm_ctx *ctx, const char *name)
{
	struct dmm__dm_dev dev;
	struct dmm_status st;
	dev_t home;
	int r, lock;

	/*
	 * Gone already (a repeated remove): done, but for what a remove
	 * killed after the volume went left: the record that would bring it
	 * back at boot (while NAME.home names it), the done file, and its
	 * lock file, which taking the lock and letting go of it as of a
	 * volume gone removes (and makes none).
	 */
	r = dmm__check_name(ctx, name) ?: dmm__dm_info(ctx, name, &dev);
	if (r)
		return r;
	if (!dev.exists) {
		ctx->already_done = true;
		if (dmm__lock(ctx, name, &lock))
			return DMM_OK;
		r = dmm__stack_repair(ctx, name);
		if (!r && dmm__home_read(name, &home))
			r = dmm__home_forget(ctx, name, 0);
		if (!r)
			dmm__done_clear(name);
		unlock_volume(ctx, name, lock);
		return r;
	}
	r = volume_lock(ctx, name, &st, &lock, NULL);
	if (r)
		return r;
	if (st.state != DMM_STATE_IDLE)
		r = dmm__err(ctx, DMM_ESTATE,
			     "volume %s is migrating; confirm or abort it first",
			     name);
	else
		r = held_volume(ctx, name) ?: dmm__volume_remove(ctx, name);
	unlock_volume(ctx, name, lock);
	return r;
}

static void unlock_devices(const struct dmm__blk dev[2], int lock[2])
{
	int i;

	for (i = 0; i < 2; i++)
		if (lock[i] >= 0) {
			dmm__unlock_device(lock[i], &dev[i]);
			lock[i] = -1;
		}
}

/*
 * Check @metadata for a migration of volume @st to @dest and fill @rec,
 * the record to write: identities of the three devices, region, length,
 * rate. @fresh gets whether the target must format the device.
 */
static int prepare_metadata(struct dmm_ctx *ctx, const struct dmm_status *st,
			    const struct dmm__blk *vol,
			    const struct dmm__blk *dest,
			    const struct dmm__blk *meta,
			    uint64_t region_sectors, uint64_t rate,
			    uint32_t window, unsigned int flags,
			    const struct dmm__group *group,
			    struct dmm__record *rec, bool *fresh)
{
	const char *metadata = meta->name;
	struct dmm__md_head head;
	char pair[DMM_PAIR_ID_LEN];
	dev_t sdev;
	bool settled;
	int r;

	memset(rec, 0, sizeof(*rec));
	r = dmm__check_metadata(ctx, meta, vol, dest, st->len_sectors,
				region_sectors);
	if (r)
		return r;
	if (dmm__parse_dev(st->source, &sdev))
		return dmm__err(ctx, DMM_ENODEV,
				"the source %s of %s has gone; check the devices with lsblk",
				st->source, st->name);
	r = dmm__identity(ctx, sdev, st->source, rec->source_id,
			  sizeof(rec->source_id)) ?:
	    dmm__identity(ctx, dest->dev, dest->name, rec->dest_id,
			  sizeof(rec->dest_id)) ?:
	    dmm__identity(ctx, meta->dev, metadata, rec->metadata_id,
			  sizeof(rec->metadata_id)) ?:
	    dmm__md_read(ctx, meta, &head);
	if (r)
		return r;
	rec->state = DMM_REC_MIGRATING;
	rec->region_sectors = region_sectors;
	rec->target_sectors = st->len_sectors;
	rec->rate = rate;
	rec->window = window;
	rec->group = *group;
	if (flags & DMM_START_POST_COPY)
		rec->flags |= DMM__REC_F_POST_COPY;
	snprintf(rec->name, sizeof(rec->name), "%s", st->name);
	dmm__pair_id(rec, pair, sizeof(pair));

	*fresh = flags & DMM_START_FRESH_METADATA;
	if (*fresh)
		return DMM_OK;
	settled = head.rec.state == DMM_REC_NONE ||
		  head.rec.state == DMM_REC_ON_SOURCE ||
		  head.rec.state == DMM_REC_ON_DEST;
	if (head.rec_kind == DMM__REC_VALID && settled &&
	    head.rec.state != DMM_REC_NONE && strcmp(head.rec.name, rec->name))
		return dmm__err(ctx, DMM_EBUSY,
				"metadata device %s brings volume %s back at boot (%s); remove %s, give another device, or --fresh-metadata to overwrite it",
				metadata, head.rec.name,
				dmm__record_state_name(head.rec.state),
				head.rec.name);
	if (head.rec_kind == DMM__REC_VALID && !settled &&
	    (strcmp(head.rec.name, rec->name) ||
	     strcmp(head.rec.source_id, rec->source_id) ||
	     strcmp(head.rec.dest_id, rec->dest_id)))
		return dmm__err(ctx, DMM_EBUSY,
				"metadata device %s holds another migration (volume %s, %s, to %s); give another device, or --fresh-metadata to overwrite it",
				metadata, head.rec.name,
				dmm__record_state_name(head.rec.state),
				head.rec.dest_id);
	/* The record of a finished migration: the device is free again. */
	if (head.rec_kind == DMM__REC_VALID && settled) {
		*fresh = true;
		return DMM_OK;
	}
	if (head.sb_magic && strcmp(head.pair_id, pair))
		return dmm__err(ctx, DMM_EBUSY,
				"metadata device %s holds the metadata of another migration (pair %s); give another device, or --fresh-metadata to overwrite it",
				metadata, head.pair_id);
	if (!head.sb_magic && !head.sb_zero)
		return dmm__err(ctx, DMM_EBUSY,
				"metadata device %s holds other data; give a zeroed device, or --fresh-metadata to overwrite it",
				metadata);
	return DMM_OK;
}

/*
 * " N paused rate R pair_id P fresh window W post_copy group G R M weight W",
 * the feature args, into @buf: a start's, and activation's from the record
 * (@pair and @window are those of a metadata device, NULL and 0 without
 * one; @group may be NULL or have no name).
 */
void dmm__start_features(char *buf, size_t len, unsigned int flags,
			 uint64_t rate, const char *pair, bool fresh,
			 uint32_t window, const struct dmm__group *group)
{
	char args[320] = "";
	unsigned int n = 0;
	size_t l;

	if (flags & DMM_START_PAUSED) {
		strcat(args, " paused");
		n++;
	}
	if (rate) {
		l = strlen(args);
		snprintf(args + l, sizeof(args) - l, " rate %llu",
			 (unsigned long long)rate);
		n += 2;
	}
	if (pair) {
		l = strlen(args);
		snprintf(args + l, sizeof(args) - l, " pair_id %s", pair);
		n += 2;
	}
	if (fresh) {
		strcat(args, " fresh");
		n++;
	}
	if (window) {
		l = strlen(args);
		snprintf(args + l, sizeof(args) - l, " window %u", window);
		n += 2;
	}
	if (flags & DMM_START_POST_COPY) {
		strcat(args, " post_copy");
		n++;
	}
	if (group && group->name[0]) {
		l = strlen(args);
		snprintf(args + l, sizeof(args) - l, " group %s %llu %u",
			 group->name, (unsigned long long)group->rate,
			 group->max_active);
		n += 4;
	}
	if (group && group->weight) {
		l = strlen(args);
		snprintf(args + l, sizeof(args) - l, " weight %u",
			 group->weight);
		n += 2;
	}
	if (n)
		snprintf(buf, len, " %u%s", n, args);
	else
		buf[0] = '\0';
}

/*
 * @st migrates: a start repeated (after a timeout, a kill) with the same
 * destination, metadata device, region size, rate, mode, group and weight
 * succeeds, done
 * already; any other start is refused, naming what differs.
 */
static int started_as(struct dmm_ctx *ctx, const struct dmm_status *st,
		      const struct dmm__blk *dest, const struct dmm__blk *meta,
		      uint64_t region_bytes, uint64_t rate, bool post_copy,
		      const struct dmm__group *group)
{
	const char *what = NULL;
	char d[32], m[32] = "";

	snprintf(d, sizeof(d), "%u:%u", major(dest->dev), minor(dest->dev));
	if (meta)
		snprintf(m, sizeof(m), "%u:%u", major(meta->dev), minor(meta->dev));
	if (strcmp(st->dest, d))
		return dmm__err(ctx, DMM_ESTATE,
				"volume %s is already migrating (%s); wait, confirm or abort it first",
				st->name, dmm_state_name(st->state));
	if (strcmp(st->metadata, m))
		what = "metadata device";
	else if (st->region_sectors << SECTOR_SHIFT != region_bytes)
		what = "region size";
	else if (st->rate != rate)
		what = "rate";
	else if (st->post_copy != post_copy)
		what = "mode (pre-copy or post-copy)";
	else if (strcmp(st->group, group->name))
		what = "rate group";
	else if (group->name[0] && st->weight != (group->weight ?: 1))
		what = "weight";
	if (what)
		return dmm__err(ctx, DMM_ESTATE,
				"volume %s is already migrating to %s with another %s; repeat the start as it was given, or wait, confirm or abort it first",
				st->name, dest->name, what);
	ctx->already_done = true;
	return DMM_OK;
}

/*
 * The locks of the destination and of the metadata device (may have no
 * fd), lower device number first, so that two starts given the same two
 * devices the other way round do not wait for each other.
 */
static int lock_devices(struct dmm_ctx *ctx, const struct dmm__blk dev[2],
			int lock[2])
{
	int i, first = dev[1].fd >= 0 && dev[1].dev < dev[0].dev;
	int r;

	for (i = 0; i < 2; i++) {
		int n = i ^ first;

		if (dev[n].fd < 0 || (i && dev[n].dev == dev[!n].dev))
			continue;
		r = dmm__lock_device(ctx, &dev[n], &lock[n]);
		if (r) {
			unlock_devices(dev, lock);
			return r;
		}
	}
	return DMM_OK;
}

/*
 * The write-intent window of @window_bytes at @region_bytes, in regions:
 * 0 for the target's default when @window_bytes is 0.
 */
static int window_regions(struct dmm_ctx *ctx, uint64_t window_bytes,
			  uint64_t region_bytes, const char *metadata,
			  uint32_t *window)
{
	uint64_t n = window_bytes / region_bytes;

	*window = 0;
	if (!window_bytes)
		return DMM_OK;
	if (!metadata)
		return dmm__err(ctx, DMM_EUSAGE,
				"a write-intent window needs a metadata device; give --metadata DEV, or no window");
	if (n < DMM_WINDOW_MIN || n > DMM_WINDOW_MAX)
		return dmm__err(ctx, DMM_EUSAGE,
				"a window of %llu bytes is %llu regions of %llu bytes; give %u to %u regions (%llu to %llu bytes at this region size)",
				(unsigned long long)window_bytes,
				(unsigned long long)n,
				(unsigned long long)region_bytes, DMM_WINDOW_MIN,
				DMM_WINDOW_MAX,
				(unsigned long long)(DMM_WINDOW_MIN * region_bytes),
				(unsigned long long)(DMM_WINDOW_MAX * region_bytes));
	*window = n;
	return DMM_OK;
}

int dmm_start(struct dmm_ctx *ctx, const char *name, const char *dest,
	      const char *metadata, uint64_t region_bytes, uint64_t rate,
	      unsigned int flags)
{
	return dmm_start_window(ctx, name, dest, metadata, region_bytes, rate,
				0, flags);
}

int dmm_start_window(struct dmm_ctx *ctx, const char *name, const char *dest,
		     const char *metadata, uint64_t region_bytes,
		     uint64_t rate, uint64_t window_bytes, unsigned int flags)
{
	return dmm_start_group(ctx, name, dest, metadata, region_bytes, rate,
			       window_bytes, flags, NULL, 0);
}

int dmm_start_group(struct dmm_ctx *ctx, const char *name, const char *dest,
		    const char *metadata, uint64_t region_bytes,
		    uint64_t rate, uint64_t window_bytes, unsigned int flags,
		    const char *group, unsigned int weight)
{
	char path[sizeof("/dev/mapper/") + DMM_NAME_MAX], meta[32] = "-";
	char params[TABLE_LEN], features[384], pair[DMM_PAIR_ID_LEN];
	struct dmm__blk vol = { .fd = -1 }, dev[2] = { { .fd = -1 },
						       { .fd = -1 } };
	struct dmm__step step = { .step = "start" };
	const struct dmm__blk *d = &dev[0], *m = &dev[1];
	struct dmm__group g = { .weight = weight };
	struct dmm__record rec;
	struct dmm_status st;
	int r, lock, dev_lock[2] = { -1, -1 };
	bool fresh = false, done;
	uint32_t window;
	dev_t sdev;

	if ((flags & DMM_START_POST_COPY) && !metadata)
		return dmm__err(ctx, DMM_EUSAGE,
				"post-copy needs a metadata device: the destination alone holds new writes, and which regions it holds must survive a crash; give --metadata DEV");
	if (weight > DMM_WEIGHT_MAX || (weight && !group))
		return dmm__err(ctx, DMM_EUSAGE,
				"a weight is 1 to %u, and only for a migration in a rate group; give --group G",
				DMM_WEIGHT_MAX);
	r = dmm__check_region(ctx, region_bytes) ?:
	    window_regions(ctx, window_bytes, region_bytes, metadata, &window) ?:
	    (group ? dmm__group_find(ctx, group, &g) : 0) ?:
	    volume_lock(ctx, name, &st, &lock, NULL);
	if (r)
		return r;
	/* Each path is looked up once: what is checked is what is used. */
	r = dmm__blk_open(ctx, dest, &dev[0]);
	if (!r && metadata)
		r = dmm__blk_open(ctx, metadata, &dev[1]);
	if (r)
		goto out;
	/*
	 * A start repeated after a kill takes the device locks too: letting
	 * go of them removes the files the killed one left.
	 */
	r = lock_devices(ctx, dev, dev_lock);
	if (r)
		goto out;
	if (st.state != DMM_STATE_IDLE) {
		r = started_as(ctx, &st, d, metadata ? m : NULL, region_bytes, rate,
			       flags & DMM_START_POST_COPY, &g);
		goto out;
	}

	/* Validation walks the volume's stack; name its own leg plainly. */
	if (!dmm__parse_dev(st.source, &sdev) && sdev == d->dev)
		r = dmm__err(ctx, DMM_EUSAGE,
			     "%s is the source of volume %s; give a different destination",
			     dest, name);
	snprintf(path, sizeof(path), "/dev/mapper/%s", name);
	if (!r)
		r = dmm__dm_check_target(ctx) ?:
		    dmm__blk_open(ctx, path, &vol) ?:
		    dmm__validate_destination(ctx, &vol, d, region_bytes,
					      flags);
	if (!r && metadata)
		r = prepare_metadata(ctx, &st, &vol, d, m,
				     region_bytes >> SECTOR_SHIFT, rate, window,
				     flags, &g, &rec, &fresh);
	/* A record elsewhere would bring the volume back on a leg it left. */
	if (!r)
		r = dmm__home_forget(ctx, name, metadata ? m->dev : 0);
	if (r)
		goto out;
	if (metadata) {
		snprintf(meta, sizeof(meta), "%u:%u", major(m->dev),
			 minor(m->dev));
		dmm__pair_id(&rec, pair, sizeof(pair));
	}
	dmm__start_features(features, sizeof(features), flags, rate,
			    metadata ? pair : NULL, fresh, window, &g);
	snprintf(params, sizeof(params), "%s %u:%u %s %llu%s", st.source,
		 major(d->dev), minor(d->dev), meta,
		 (unsigned long long)region_bytes >> SECTOR_SHIFT, features);

/* From here on a crash or a kill is finished by the next command. */
	snprintf(step.source, sizeof(step.source), "%s", st.source);
	snprintf(step.dest, sizeof(step.dest), "%u:%u", major(d->dev),
		 minor(d->dev));
	snprintf(step.metadata, sizeof(step.metadata), "%s",
		 metadata ? meta : "");
	r = dmm__step_write(ctx, name, &step);
	if (!r)
		dmm__done_clear(name);
	/* Zeroed, the superblock is formatted even by a resume after a crash. */
	if (!r && fresh)
		r = dmm__md_zero_superblock(ctx, m);
	if (!r && metadata)
		r = dmm__record_write(ctx, m, &rec);
	if (r) {
		dmm__step_clear(name);
		goto out;
	}
	dmm__log(ctx, DMM_LOG_INFO, "%s: 0 %llu %s %s", name,
		 (unsigned long long)st.len_sectors, DMM_TARGET, params);
	r = dmm__dm_swap(ctx, name, st.len_sectors, DMM_TARGET, params, NULL);
	finish_step(ctx, name, &step, &done);
	if (metadata)
		dmm__home_write(name, m->dev);
out:
	unlock_devices(dev, dev_lock);
	dmm__blk_close(&vol);
	dmm__blk_close(&dev[1]);
	dmm__blk_close(&dev[0]);
	dmm__unlock(lock);
	return r;
}

static int swap_to_linear(struct dmm_ctx *ctx, const struct dmm_status *st,
			  const char *leg, unsigned int *pause_ms)
{
	char params[TABLE_LEN];

	snprintf(params, sizeof(params), "%s 0", leg);
	return dmm__dm_swap(ctx, st->name, st->len_sectors, "linear", params,
			    pause_ms);
}

/*
 * The record of the migration of @st, to be set to @state before its
 * confirm or abort: the one on its metadata device, or one made afresh.
 */
static int read_record(struct dmm_ctx *ctx, const struct dmm_status *st,
		       const struct dmm__blk *meta, struct dmm__record *rec)
{
	struct dmm__md_head head;
	dev_t sdev, ddev, mdev;
	int r;

	r = dmm__md_read(ctx, meta, &head);
	if (r)
		return r;
	if (head.rec_kind == DMM__REC_VALID && !strcmp(head.rec.name, st->name)) {
		*rec = head.rec;
		return DMM_OK;
	}
	memset(rec, 0, sizeof(*rec));
	snprintf(rec->name, sizeof(rec->name), "%s", st->name);
	rec->region_sectors = st->region_sectors;
	rec->target_sectors = st->len_sectors;
	rec->rate = st->rate;
	dmm__parse_dev(st->source, &sdev);
	dmm__parse_dev(st->dest, &ddev);
	dmm__parse_dev(st->metadata, &mdev);
	return dmm__identity(ctx, sdev, st->source, rec->source_id,
			     sizeof(rec->source_id)) ?:
	       dmm__identity(ctx, ddev, st->dest, rec->dest_id,
			     sizeof(rec->dest_id)) ?:
	       dmm__identity(ctx, mdev, st->metadata, rec->metadata_id,
			     sizeof(rec->metadata_id));
}

/* Make what the destination holds durable: its cache may hold copies. */
static int flush_dest(struct dmm_ctx *ctx, const struct dmm_status *st)
{
	char path[256];
	int fd, r;

	r = leg_path(ctx, st->dest, path, sizeof(path));
	if (r)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd)) {
		r = dmm__err(ctx, DMM_ELEG,
			     "cannot flush the destination %s of %s: %s; check it, or abort the migration with 'dmmigrate abort %s'",
			     path, st->name, strerror(errno), st->name);
		if (fd >= 0)
			close(fd);
		return r;
	}
	close(fd);
	return DMM_OK;
}

/*
 * Swap @st to a linear table on @leg (confirm: the destination, abort:
 * the source), recording the step first in the state file and in the
 * record, whose state becomes @state, so that a crash or a kill at any
 * moment is finished by the next dmmigrate. @must_record: fail if the
 * record cannot be written (confirm); abort goes on without it.
 */
static int cut_over(struct dmm_ctx *ctx, const struct dmm_status *st,
		    const char *what, const char *leg, uint32_t state,
		    bool must_record, unsigned int *pause_ms)
{
	struct dmm__step step = { .step = "" };
	struct dmm__blk mb = { .fd = -1 };
	struct dmm__record rec;
	char meta[256];
	bool done;
	int r;

	snprintf(step.step, sizeof(step.step), "%s", what);
	snprintf(step.source, sizeof(step.source), "%s", st->source);
	snprintf(step.dest, sizeof(step.dest), "%s", st->dest);
	snprintf(step.metadata, sizeof(step.metadata), "%s", st->metadata);
	if (st->metadata[0]) {
		r = leg_path(ctx, st->metadata, meta, sizeof(meta)) ?:
		    dmm__blk_open(ctx, meta, &mb) ?:
		    read_record(ctx, st, &mb, &rec);
		if (r && must_record)
			goto out;
		if (r) {
			dmm__log(ctx, DMM_LOG_ERROR,
				 "warning: %s; going on without the record: a crash now may resume the migration after the reboot",
				 ctx->err);
			dmm__blk_close(&mb);
			step.metadata[0] = '\0';
		}
	}
	r = dmm__step_write(ctx, st->name, &step);
	if (r)
		goto out;
	if (mb.fd >= 0) {
		rec.state = state;
		r = dmm__record_write(ctx, &mb, &rec);
		if (r && must_record) {
			dmm__step_clear(st->name);
			goto out;
		}
		if (r) {
			dmm__log(ctx, DMM_LOG_ERROR,
				 "warning: %s; going on without the record: a crash now may resume the migration after the reboot",
				 ctx->err);
			step.metadata[0] = '\0';
			r = dmm__step_write(ctx, st->name, &step);
			if (r)
				goto out;
		}
	}
	/*
	 * Recorded: the target need not leave a clean bitmap inside the
	 * suspend (target 1.2). A kernel without the message commits it.
	 */
	if (step.metadata[0] && dmm__dm_message(ctx, st->name, "cutover"))
		dmm__log(ctx, DMM_LOG_DEBUG, "%s: %s; the swap commits the bitmap",
			 st->name, ctx->err);
	r = swap_to_linear(ctx, st, leg, pause_ms);
	finish_step(ctx, st->name, &step, &done);
out:
	dmm__blk_close(&mb);
	return r;
}

/* Was @step what left the idle volume as it is? Then it is done already. */
static bool already_finished(struct dmm_ctx *ctx, const struct dmm_status *st,
			     const char *finished, const char *step,
			     unsigned int *pause_ms)
{
	if (st->state != DMM_STATE_IDLE || !finished || strcmp(finished, step))
		return false;
	ctx->already_done = true;
	if (pause_ms)
		*pause_ms = 0;
	return true;
}

/* The wipe a confirm --wipe-source of @name cut over but did not finish. */
static int wipe_owed(struct dmm_ctx *ctx, const char *name)
{
	char source[32], path[256];
	int r;

	if (!dmm__wipe_owed_read(name, source, sizeof(source)))
		return DMM_OK;
	r = leg_path(ctx, source, path, sizeof(path)) ?:
	    dmm_wipe_signatures(ctx, path, NULL);
	if (!r)
		dmm__wipe_owed_clear(name);
	return r;
}

int dmm_confirm(struct dmm_ctx *ctx, const char *name, unsigned int flags,
		unsigned int *pause_ms)
{
	const char *finished;
	char source[256];
	struct dmm_status st;
	int r, lock;

	r = volume_lock(ctx, name, &st, &lock, &finished);
	if (r)
		return r;
	if (already_finished(ctx, &st, finished, "confirm", pause_ms)) {
		if (flags & DMM_CONFIRM_WIPE_SOURCE)
			r = wipe_owed(ctx, name);
		goto out;
	}
	if (st.state == DMM_STATE_IDLE)
		r = not_migrating(ctx, name, "confirm");
	else if (st.dest_health != DMM_HEALTH_OK)
		r = dmm__err(ctx, DMM_ELEG,
			     "the destination of %s has failed; abort the migration with 'dmmigrate abort %s'",
			     name, name);
	else if (st.state != DMM_STATE_SYNCED)
		r = dmm__err(ctx, DMM_ESTATE,
			     "volume %s is not in sync (%s, %.1f%%); wait for it with 'dmmigrate wait %s' or use confirm --wait",
			     name, dmm_state_name(st.state),
			     dmm_status_percent(&st), name);
	else if (flags & DMM_CONFIRM_WIPE_SOURCE)
		r = leg_path(ctx, st.source, source, sizeof(source)) ?:
		    dmm__wipe_owed_write(ctx, name, st.source);
	/*
	 * After a crash the record alone decides: once it says confirming,
	 * the destination is used, so what it holds must be on its media.
	 */
	if (!r && st.metadata[0])
		r = flush_dest(ctx, &st);
	if (!r)
		r = cut_over(ctx, &st, "confirm", st.dest, DMM_REC_CONFIRMING,
			     true, pause_ms);
	/* Now on the destination alone: the old source is free to wipe. */
	if (!r && (flags & DMM_CONFIRM_WIPE_SOURCE))
		r = dmm_wipe_signatures(ctx, source, NULL);
	if (!r && (flags & DMM_CONFIRM_WIPE_SOURCE))
		dmm__wipe_owed_clear(name);
out:
	dmm__unlock(lock);
	return r;
}

/*
 * Post-copy: the source is the volume only until the destination's first
 * write. The volume is suspended first, so that no write can come between
 * the check and the swap; if one came before, it is resumed and the abort
 * refused, nothing recorded.
 */
static int post_copy_abort(struct dmm_ctx *ctx, const char *name,
			   struct dmm_status *st, unsigned int *pause_ms)
{
	char err[DMM_ERR_LEN];
	sigset_t old;
	int r;

	dmm__hold_signals(&old);
	r = dmm__dm_suspend(ctx, name, false) ?:
	    dmm__volume_read(ctx, name, st);
	if (!r && st->rollback_lost)
		r = dmm__err(ctx, DMM_ESTATE,
			     "volume %s is in post-copy and its destination has taken writes the source lacks: the way back is lost; wait for it with 'dmmigrate wait %s' and confirm",
			     name, name);
	if (!r)
		r = cut_over(ctx, st, "abort", st->source, DMM_REC_ABORTING,
			     false, pause_ms);
	/* Refused or failed before the swap's resume: running again. */
	if (r) {
		memcpy(err, ctx->err, sizeof(err));
		dmm__dm_resume(ctx, name);
		memcpy(ctx->err, err, sizeof(err));
	}
	dmm__release_signals(&old);
	return r;
}

int dmm_abort(struct dmm_ctx *ctx, const char *name, unsigned int *pause_ms)
{
	const char *finished;
	struct dmm_status st;
	int r, lock;

	r = volume_lock(ctx, name, &st, &lock, &finished);
	if (r)
		return r;
	if (already_finished(ctx, &st, finished, "abort", pause_ms))
		r = DMM_OK;
	else if (st.state == DMM_STATE_IDLE)
		r = not_migrating(ctx, name, "abort");
	else if (st.post_copy)
		r = post_copy_abort(ctx, name, &st, pause_ms);
	else
		r = cut_over(ctx, &st, "abort", st.source, DMM_REC_ABORTING,
			     false, pause_ms);
	dmm__unlock(lock);
	return r;
}

int dmm_post_copy(struct dmm_ctx *ctx, const char *name)
{
	struct dmm__blk mb = { .fd = -1 };
	struct dmm__record rec;
	struct dmm_status st;
	char meta[256];
	int r, rec_r, lock;

	r = volume_lock(ctx, name, &st, &lock, NULL);
	if (r)
		return r;
	if (st.state == DMM_STATE_IDLE) {
		r = not_migrating(ctx, name, "switch to post-copy");
		goto out;
	}
	if (st.post_copy) {
		ctx->already_done = true;
		goto out;
	}
	if (!st.metadata[0]) {
		r = dmm__err(ctx, DMM_EUSAGE,
			     "post-copy needs a metadata device and volume %s migrates without one; go on in pre-copy, or abort and start again with --metadata DEV --post-copy",
			     name);
		goto out;
	}
	if (st.source_health != DMM_HEALTH_OK || st.dest_health != DMM_HEALTH_OK) {
		r = dmm__err(ctx, DMM_ELEG,
			     "a leg of %s has failed; abort the migration with 'dmmigrate abort %s'",
			     name, name);
		goto out;
	}
	if (st.verify_state == DMM_VERIFY_RUNNING) {
		r = dmm__err(ctx, DMM_EBUSY,
			     "a verify of %s is running and post-copy lets the legs differ; stop it with 'dmmigrate verify %s --stop' first",
			     name, name);
		goto out;
	}
	/*
	 * The target first: from its next commit its superblock says
	 * post-copy, and a table loaded after a crash, from the record or not,
	 * goes on in post-copy. The record's flag then opens the source
	 * read-only at activation; without it the source, which pre-copy had
	 * open for writing, is opened so again, which post-copy allows.
	 */
	r = dmm__dm_message(ctx, name, "post_copy");
	if (r)
		goto out;
	rec_r = leg_path(ctx, st.metadata, meta, sizeof(meta)) ?:
		dmm__blk_open(ctx, meta, &mb) ?:
		read_record(ctx, &st, &mb, &rec);
	if (!rec_r) {
		rec.flags |= DMM__REC_F_POST_COPY;
		rec_r = dmm__record_write(ctx, &mb, &rec);
	}
	if (rec_r)
		dmm__log(ctx, DMM_LOG_ERROR,
			 "warning: %s; %s is in post-copy all the same (its metadata says so)",
			 ctx->err, name);
out:
	dmm__blk_close(&mb);
	dmm__unlock(lock);
	return r;
}

int dmm__send_message(struct dmm_ctx *ctx, const char *name, const char *msg,
		      const char *what)
{
	struct dmm_status st;
	int r, lock;

	r = volume_lock(ctx, name, &st, &lock, NULL);
	if (r)
		return r;
	if (st.state == DMM_STATE_IDLE)
		r = not_migrating(ctx, name, what);
	else
		r = dmm__dm_message(ctx, name, msg);
	dmm__unlock(lock);
	return r;
}

int dmm_pause(struct dmm_ctx *ctx, const char *name)
{
	return dmm__send_message(ctx, name, "pause", "pause");
}

int dmm_resume(struct dmm_ctx *ctx, const char *name)
{
	return dmm__send_message(ctx, name, "resume", "resume");
}

int dmm_set_rate(struct dmm_ctx *ctx, const char *name, uint64_t rate)
{
	char msg[32];

	snprintf(msg, sizeof(msg), "rate %llu", (unsigned long long)rate);
	return dmm__send_message(ctx, name, msg, "rate-limit");
}

int dmm_status_get(struct dmm_ctx *ctx, const char *name,
		   struct dmm_status **st)
{
	struct dmm__dm_dev dev;
	int r, lock;

	*st = malloc(sizeof(**st));
	if (!*st)
		return dmm__enomem(ctx);
	/*
	 * Repair what a killed dmmigrate left, unless one is at work on the
	 * volume (or it is udev, run from a swap that holds the lock). Only
	 * a volume that exists is locked: asking about a name creates
	 * nothing.
	 */
	r = dmm__check_name(ctx, name) ?: dmm__dm_info(ctx, name, &dev);
	if (!r && dev.exists && !dmm__trylock(ctx, name, &lock)) {
		r = dmm__repair(ctx, name, NULL);
		dmm__unlock(lock);
	}
	if (!r)
		r = dmm__volume_read(ctx, name, *st);
	if (r) {
		free(*st);
		*st = NULL;
	}
	return r;
}

int dmm_status_read(struct dmm_ctx *ctx, const char *name,
		    struct dmm_status **st)
{
	int r;

	*st = malloc(sizeof(**st));
	if (!*st)
		return dmm__enomem(ctx);
	r = dmm__volume_read(ctx, name, *st);
	if (r) {
		free(*st);
		*st = NULL;
	}
	return r;
}

int dmm_for_each_volume(struct dmm_ctx *ctx, dmm_volume_fn fn, void *data)
{
	struct dmm__dm_dev dev;
	unsigned int i, count;
	char **names;
	int r;

	r = dmm__dm_list(ctx, &names, &count);
	if (r)
		return r;
	for (i = 0; i < count; i++) {
		if (!r)
			r = dmm__dm_info(ctx, names[i], &dev);
		if (!r && dev.exists &&
		    !strncmp(dev.uuid, DMM_UUID_PREFIX,
			     strlen(DMM_UUID_PREFIX)))
			r = fn(ctx, names[i], data);
		free(names[i]);
	}
	free(names);
	return r;
}

/* What a wait ends with in state @st, or -EAGAIN to wait on. */
static int wait_result(struct dmm_ctx *ctx, const struct dmm_status *st)
{
	if (st->state == DMM_STATE_IDLE)
		return not_migrating(ctx, st->name, "wait for");
	if (st->state == DMM_STATE_SYNCED && st->dest_health == DMM_HEALTH_OK)
		return DMM_OK;
	if (st->state == DMM_STATE_HALTED ||
	    st->source_health != DMM_HEALTH_OK ||
	    st->dest_health != DMM_HEALTH_OK)
		return dmm__err(ctx, DMM_ELEG,
				"a leg of %s has failed (source %s, destination %s); abort the migration with 'dmmigrate abort %s'",
				st->name,
				st->source_health == DMM_HEALTH_OK ? "ok" : "failed",
				st->dest_health == DMM_HEALTH_OK ? "ok" : "failed",
				st->name);
	return -EAGAIN;
}

/* What a wait for the verify ends with in state @st, or -EAGAIN. */
static int verify_result(struct dmm_ctx *ctx, const struct dmm_status *st)
{
	switch (dmm_status_verify_state(st)) {
	case DMM_VERIFY_RUNNING:
		return -EAGAIN;
	case DMM_VERIFY_EQUAL:
		return DMM_OK;
	case DMM_VERIFY_DIFFER:
		return dmm__err(ctx, DMM_EDIFFER,
				"the verify of %s found %llu of %llu regions compared to differ%s",
				st->name, (unsigned long long)st->verify_differ,
				(unsigned long long)st->verify_compared,
				st->verify_repaired == st->verify_differ ?
				", now copied again from the source; verify again to prove it" :
				"; copy them again with 'dmmigrate verify --repair'");
	case DMM_VERIFY_FAILED:
		return dmm__err(ctx, DMM_ELEG,
				"the verify of %s could not compare: a leg has failed; see 'dmmigrate status %s'",
				st->name, st->name);
	case DMM_VERIFY_STOPPED:
		return dmm__err(ctx, DMM_ESTATE, "the verify of %s was stopped",
				st->name);
	default:
		if (st->state == DMM_STATE_IDLE)
			return not_migrating(ctx, st->name, "verify");
		return dmm__err(ctx, DMM_ESTATE,
				"no verify of %s has run; start one with 'dmmigrate verify %s'",
				st->name, st->name);
	}
}

/* Milliseconds on the monotonic clock. */
static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Block on dm events until @result says the wait is over, @timeout_ms
 * (0: none) passes or @fn asks to stop; @percent and @what for the
 * message of a timeout. @fn is called with every status read: at each
 * event, and at least once a second for a display to move.
 */
static int wait_events(struct dmm_ctx *ctx, const char *name,
		       unsigned int timeout_ms,
		       int (*result)(struct dmm_ctx *ctx, const struct dmm_status *st),
		       double (*percent)(const struct dmm_status *st),
		       const char *what, dmm_progress_fn fn, void *data)
{
	int64_t deadline = now_ms() + timeout_ms, left;
	struct dmm_status st;
	int r;

	for (;;) {
		/* Armed before the read: an event after it wakes the poll. */
		r = dmm_event_arm(ctx) ?: dmm__volume_read(ctx, name, &st);
		if (r)
			return r;
		r = result(ctx, &st);
		if (r != -EAGAIN)
			return r;
		left = timeout_ms ? deadline - now_ms() : 1000;
		if ((fn && fn(&st, data)) || left <= 0)
			return dmm__err(ctx, DMM_ETIMEDOUT,
					"timed out waiting for %s of %s (%.1f%%, %s); wait longer or see 'dmmigrate status %s'",
					what, name, percent(&st),
					dmm_state_name(st.state), name);
		r = dmm__event_poll(ctx, left < 1000 ? (int)left : 1000);
		if (r)
			return r;
	}
}

int dmm_wait(struct dmm_ctx *ctx, const char *name, unsigned int timeout_ms,
	     dmm_progress_fn fn, void *data)
{
	return wait_events(ctx, name, timeout_ms, wait_result, dmm_status_percent,
			   "the sync", fn, data);
}

int dmm_verify_wait(struct dmm_ctx *ctx, const char *name,
		    unsigned int timeout_ms, dmm_progress_fn fn, void *data)
{
	return wait_events(ctx, name, timeout_ms, verify_result,
			   dmm_status_verify_percent, "the verify", fn, data);
}

int dmm_verify_start(struct dmm_ctx *ctx, const char *name, unsigned int flags,
		     uint64_t rate)
{
	struct dmm_status st;
	char msg[64];
	int r, lock;

	if (flags & ~DMM_VERIFY_REPAIR)
		return dmm__err(ctx, DMM_EUSAGE, "unknown verify flags 0x%x", flags);
	r = volume_lock(ctx, name, &st, &lock, NULL);
	if (r)
		return r;
	if (st.state == DMM_STATE_IDLE)
		r = not_migrating(ctx, name, "verify");
	else if (st.source_health != DMM_HEALTH_OK || st.dest_health != DMM_HEALTH_OK)
		r = dmm__err(ctx, DMM_ELEG,
			     "cannot verify %s: a leg has failed (source %s, destination %s); see 'dmmigrate status %s'",
			     name,
			     st.source_health == DMM_HEALTH_OK ? "ok" : "failed",
			     st.dest_health == DMM_HEALTH_OK ? "ok" : "failed", name);
	else if (st.verify_state == DMM_VERIFY_RUNNING)
		r = dmm__err(ctx, DMM_EBUSY,
			     "a verify of %s is running (%.1f%% passed); see 'dmmigrate status %s' or stop it with 'dmmigrate verify %s --stop'",
			     name, dmm_status_verify_percent(&st), name, name);
	if (!r) {
		snprintf(msg, sizeof(msg), "verify%s rate %llu",
			 flags & DMM_VERIFY_REPAIR ? " repair" : "",
			 (unsigned long long)rate);
		r = dmm__dm_message(ctx, name, msg);
	}
	dmm__unlock(lock);
	return r;
}

int dmm_verify_stop(struct dmm_ctx *ctx, const char *name)
{
	struct dmm_status st;
	int r, lock;

	r = volume_lock(ctx, name, &st, &lock, NULL);
	if (r)
		return r;
	if (st.state == DMM_STATE_IDLE)
		r = not_migrating(ctx, name, "stop");
	else if (st.verify_state != DMM_VERIFY_RUNNING)
		r = dmm__err(ctx, DMM_ESTATE, "no verify of %s is running (%s)",
			     name, dmm_verify_state_name(st.verify_state));
	else
		r = dmm__dm_message(ctx, name, "verify stop");
	dmm__unlock(lock);
	return r;
}

int dmm_verify_ranges(struct dmm_ctx *ctx, const char *name, char *buf,
		      size_t len)
{
	struct dmm_status st;
	int r;

	if (!len)
		return dmm__err(ctx, DMM_EUSAGE, "no room for the verify's ranges");
	buf[0] = '\0';
	r = dmm__check_name(ctx, name) ?: dmm__volume_read(ctx, name, &st);
	if (!r && st.state == DMM_STATE_IDLE)
		r = not_migrating(ctx, name, "report");
	if (!r)
		r = dmm__dm_message_answer(ctx, name, "verify report", buf, len);
	return r;
}
