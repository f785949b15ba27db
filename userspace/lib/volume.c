// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The life of a volume: create, start, confirm or abort, remove. Every
 * command that changes a volume takes its lock and then reads its state
 * afresh, so of two racing commands the second sees what the first did.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "internal.h"

#define TABLE_LEN	256

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

static int volume_read(struct dmm_ctx *ctx, const char *name,
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

/* Lock @name and read its state; on success the caller must unlock. */
static int volume_lock(struct dmm_ctx *ctx, const char *name,
		       struct dmm_status *st, int *lock)
{
	int r;

	r = dmm__check_name(ctx, name) ?: dmm__lock(ctx, name, lock);
	if (r)
		return r;
	r = volume_read(ctx, name, st);
	if (r)
		dmm__unlock(*lock);
	return r;
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

int dmm_create(struct dmm_ctx *ctx, const char *name, const char *device)
{
	struct dmm__dm_dev info;
	char params[TABLE_LEN];
	unsigned int lbs;
	uint64_t bytes;
	int r, lock;
	dev_t dev;

	r = dmm__check_name(ctx, name) ?: dmm__blkdev(ctx, device, &dev);
	if (r)
		return r;
	r = dmm__lock(ctx, name, &lock);
	if (r)
		return r;
	r = dmm__dm_info(ctx, name, &info);
	if (r)
		goto out;
	if (info.exists) {
		r = dmm__err(ctx, DMM_EBUSY,
			     "%s already exists; pick another name or remove it first",
			     name);
		goto out;
	}
	r = dmm__check_unused(ctx, device, dev) ?:
	    dmm__dev_size(ctx, device, &bytes, &lbs);
	if (r)
		goto out;
	if (bytes >> SECTOR_SHIFT == 0) {
		r = dmm__err(ctx, DMM_EUSAGE, "%s is empty; give a device with data",
			     device);
		goto out;
	}
	snprintf(params, sizeof(params), "%u:%u 0", major(dev), minor(dev));
	r = dmm__dm_create(ctx, name, bytes >> SECTOR_SHIFT, "linear", params);
out:
	dmm__unlock(lock);
	return r;
}

int dmm_remove(struct dmm_ctx *ctx, const char *name)
{
	struct dmm_status st;
	int r, lock;

	r = volume_lock(ctx, name, &st, &lock);
	if (r)
		return r;
	if (st.state != DMM_STATE_IDLE)
		r = dmm__err(ctx, DMM_ESTATE,
			     "volume %s is migrating; confirm or abort it first",
			     name);
	else
		r = dmm__dm_remove(ctx, name);
	dmm__unlock(lock);
	return r;
}

/* The metadata device must be free and apart from both legs. */
static int check_metadata(struct dmm_ctx *ctx, const char *metadata,
			  const char *dest, dev_t *dev)
{
	dev_t ddev;
	int r;

	r = dmm__blkdev(ctx, metadata, dev) ?: dmm__blkdev(ctx, dest, &ddev);
	if (r)
		return r;
	if (*dev == ddev)
		return dmm__err(ctx, DMM_EUSAGE,
				"the metadata device %s is the destination; give a separate small device",
				metadata);
	return dmm__check_unused(ctx, metadata, *dev);
}

int dmm_start(struct dmm_ctx *ctx, const char *name, const char *dest,
	      const char *metadata, uint64_t region_bytes, uint64_t rate,
	      unsigned int flags)
{
	char vol[sizeof("/dev/mapper/") + DMM_NAME_MAX], meta[32] = "-";
	char params[TABLE_LEN], features[64] = "";
	struct dmm_status st;
	dev_t ddev, mdev, sdev;
	int r, lock;

	r = dmm__check_region(ctx, region_bytes) ?:
	    volume_lock(ctx, name, &st, &lock);
	if (r)
		return r;
	if (st.state != DMM_STATE_IDLE) {
		r = dmm__err(ctx, DMM_ESTATE,
			     "volume %s is already migrating (%s); wait, confirm or abort it first",
			     name, dmm_state_name(st.state));
		goto out;
	}

	/* Validation walks the volume's stack; name its own leg plainly. */
	r = dmm__blkdev(ctx, dest, &ddev);
	if (!r && !dmm__parse_dev(st.source, &sdev) && sdev == ddev)
		r = dmm__err(ctx, DMM_EUSAGE,
			     "%s is the source of volume %s; give a different destination",
			     dest, name);
	snprintf(vol, sizeof(vol), "/dev/mapper/%s", name);
	if (!r)
		r = dmm__dm_check_target(ctx) ?:
		    dmm_validate_destination(ctx, vol, dest, region_bytes,
					     flags);
	if (!r && metadata)
		r = check_metadata(ctx, metadata, dest, &mdev);
	if (!r && metadata)
		snprintf(meta, sizeof(meta), "%u:%u", major(mdev), minor(mdev));
	if (r)
		goto out;

	if ((flags & DMM_START_PAUSED) && rate)
		snprintf(features, sizeof(features), " 3 paused rate %llu",
			 (unsigned long long)rate);
	else if (flags & DMM_START_PAUSED)
		snprintf(features, sizeof(features), " 1 paused");
	else if (rate)
		snprintf(features, sizeof(features), " 2 rate %llu",
			 (unsigned long long)rate);
	snprintf(params, sizeof(params), "%s %u:%u %s %llu%s", st.source,
		 major(ddev), minor(ddev), meta,
		 (unsigned long long)region_bytes >> SECTOR_SHIFT, features);
	dmm__log(ctx, DMM_LOG_INFO, "%s: 0 %llu %s %s", name,
		 (unsigned long long)st.len_sectors, DMM_TARGET, params);
	r = dmm__dm_swap(ctx, name, st.len_sectors, DMM_TARGET, params, NULL);
out:
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

int dmm_confirm(struct dmm_ctx *ctx, const char *name, unsigned int flags,
		unsigned int *pause_ms)
{
	char source[256];
	struct dmm_status st;
	int r, lock;

	r = volume_lock(ctx, name, &st, &lock);
	if (r)
		return r;
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
		r = leg_path(ctx, st.source, source, sizeof(source));
	if (!r)
		r = swap_to_linear(ctx, &st, st.dest, pause_ms);
	/* Now on the destination alone: the old source is free to wipe. */
	if (!r && (flags & DMM_CONFIRM_WIPE_SOURCE))
		r = dmm_wipe_signatures(ctx, source, NULL);
	dmm__unlock(lock);
	return r;
}

int dmm_abort(struct dmm_ctx *ctx, const char *name, unsigned int *pause_ms)
{
	struct dmm_status st;
	int r, lock;

	r = volume_lock(ctx, name, &st, &lock);
	if (r)
		return r;
	if (st.state == DMM_STATE_IDLE)
		r = not_migrating(ctx, name, "abort");
	else
		r = swap_to_linear(ctx, &st, st.source, pause_ms);
	dmm__unlock(lock);
	return r;
}

static int send_message(struct dmm_ctx *ctx, const char *name, const char *msg,
		const char *what)
{
	struct dmm_status st;
	int r, lock;

	r = volume_lock(ctx, name, &st, &lock);
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
	return send_message(ctx, name, "pause", "pause");
}

int dmm_resume(struct dmm_ctx *ctx, const char *name)
{
	return send_message(ctx, name, "resume", "resume");
}

int dmm_set_rate(struct dmm_ctx *ctx, const char *name, uint64_t rate)
{
	char msg[32];

	snprintf(msg, sizeof(msg), "rate %llu", (unsigned long long)rate);
	return send_message(ctx, name, msg, "rate-limit");
}

int dmm_status_get(struct dmm_ctx *ctx, const char *name,
		   struct dmm_status **st)
{
	int r;

	*st = malloc(sizeof(**st));
	if (!*st)
		return dmm__enomem(ctx);
	r = volume_read(ctx, name, *st);
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

int dmm_wait(struct dmm_ctx *ctx, const char *name, dmm_progress_fn fn,
	     void *data)
{
	struct dmm_status st;
	int r;

	for (;;) {
		/* The event number is read first, so no event is missed. */
		r = volume_read(ctx, name, &st);
		if (r)
			return r;
		r = wait_result(ctx, &st);
		if (fn && fn(&st, data) && r == -EAGAIN)
			return dmm__err(ctx, DMM_ETIMEDOUT,
					"timed out waiting for %s (%.1f%% in sync, %s); wait longer or see 'dmmigrate status %s'",
					name, dmm_status_percent(&st),
					dmm_state_name(st.state), name);
		if (r != -EAGAIN)
			return r;
		r = dmm__dm_wait_event(ctx, name, st.event_nr);
		if (r && r != DMM_ETIMEDOUT)
			return r;
	}
}
