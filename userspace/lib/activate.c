// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * After a reboot the tool records on metadata devices bring their volumes
 * back. With udev, 69-dm-migrate-metadata.rules asks dmm_metadata_probe()
 * about each block device as it appears and starts, for each one holding
 * a record, dmmigrate-activate@.service, which calls
 * dmm_activate_metadata() on that device alone: nothing opens every
 * device at boot. dmm_activate() scans every block device instead, for
 * hosts without udev and by hand.
 *
 * A record keeps its volume after the migration ends (on the source or on
 * the destination), so that fstab finds /dev/mapper/NAME at every boot,
 * until remove; start and remove clear a record that no longer speaks for
 * the volume (dmm__home_forget()), lest it bring the volume back on a leg
 * it left.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "internal.h"

/* A record found on a metadata device. */
struct found {
	struct dmm__record rec;
	dev_t meta;
};

struct scan {
	struct found *found;
	unsigned int count;
	unsigned int unreadable;
	char first_unreadable[DMM_ERR_LEN];
};

/* First line of the sysfs file @dir/@attr, "" if none. */
static void sysfs_line(const char *dir, const char *attr, char *buf,
		       size_t len)
{
	char path[PATH_MAX + 64];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(buf, len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* Is the dm device of @sysdir one of ours (uuid MIGRATE-...)? */
static bool dm_uuid_is(const char *sysdir, const char *prefix)
{
	char uuid[DMM_ID_LEN];

	sysfs_line(sysdir, "dm/uuid", uuid, sizeof(uuid));
	return !strncmp(uuid, prefix, strlen(prefix));
}

/* A path of a multipath map: its map is the device to read, not it. */
static bool is_multipath_path(const char *sysdir)
{
	char holders[PATH_MAX + 16], holder[PATH_MAX + 300];
	struct dirent *de;
	bool r = false;
	DIR *d;

	snprintf(holders, sizeof(holders), "%s/holders", sysdir);
	d = opendir(holders);
	if (!d)
		return false;
	while (!r && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(holder, sizeof(holder), "%s/%s", holders, de->d_name);
		r = dm_uuid_is(holder, "mpath-");
	}
	closedir(d);
	return r;
}

/*
 * The record on the block device @path, if it holds one (of volume @only,
 * if given) and is the device the record names: a device over or under it
 * shows the same blocks but is not the one. An unreadable device is an
 * error, DMM_ENODEV: no device that can be used.
 */
static int read_found(struct dmm_ctx *ctx, const char *path,
		      const char *only, struct found *f, bool *has)
{
	struct dmm__md_head head;
	char id[DMM_ID_LEN];
	struct dmm__blk b;
	int r;

	*has = false;
	r = dmm__blk_open(ctx, path, &b);
	if (r)
		return r;
	r = dmm__md_read(ctx, &b, &head) ? DMM_ENODEV : DMM_OK;
	if (!r && head.rec_kind == DMM__REC_VALID &&
	    head.rec.state != DMM_REC_NONE &&
	    (head.sb_magic || head.sb_zero) &&
	    (!only || !strcmp(head.rec.name, only)) &&
	    !dmm__identity(ctx, b.dev, path, id, sizeof(id)) &&
	    !strcmp(id, head.rec.metadata_id)) {
		f->rec = head.rec;
		f->meta = b.dev;
		*has = true;
		dmm__log(ctx, DMM_LOG_DEBUG, "%s: record of %s, %s", path,
			 head.rec.name, dmm__record_state_name(head.rec.state));
	}
	dmm__blk_close(&b);
	return r;
}

/* Is there a record on the device @entry of /sys/class/block? */
static int scan_one(struct dmm_ctx *ctx, const char *entry, const char *only,
		    struct scan *scan)
{
	char link[PATH_MAX], dir[PATH_MAX], path[PATH_MAX], line[32];
	struct found f, *grown;
	dev_t dev;
	bool has;

	snprintf(link, sizeof(link), "/sys/class/block/%s", entry);
	if (!realpath(link, dir))
		return DMM_OK;
	sysfs_line(dir, "size", line, sizeof(line));
	/*
	 * Skipped: our own volumes (they show their legs' blocks), devices
	 * too small for a record, a suspended dm device (the read would
	 * wait for its resume) and the paths of a multipath map.
	 */
	if (dm_uuid_is(dir, DMM_UUID_PREFIX) ||
	    strtoull(line, NULL, 10) < 2 * DMM_MD_BLOCK >> SECTOR_SHIFT)
		return DMM_OK;
	sysfs_line(dir, "dm/suspended", line, sizeof(line));
	if (!strcmp(line, "1") || is_multipath_path(dir))
		return DMM_OK;
	sysfs_line(dir, "dev", line, sizeof(line));
	if (dmm__parse_dev(line, &dev) || dmm__dev_path(dev, path, sizeof(path)))
		return DMM_OK;
	if (read_found(ctx, path, only, &f, &has)) {
		if (!scan->unreadable++)
			snprintf(scan->first_unreadable,
				 sizeof(scan->first_unreadable), "%s",
				 ctx->err);
		return DMM_OK;
	}
	if (!has)
		return DMM_OK;
	grown = realloc(scan->found, (scan->count + 1) * sizeof(*grown));
	if (!grown)
		return dmm__enomem(ctx);
	scan->found = grown;
	grown[scan->count++] = f;
	return DMM_OK;
}

static int scan_records(struct dmm_ctx *ctx, const char *only,
			struct scan *scan)
{
	struct dirent *de;
	int r = DMM_OK;
	DIR *d;

	d = dmm__open_block_class(ctx);
	if (!d)
		return DMM_ENODEV;
	while (!r && (de = readdir(d)))
		if (de->d_name[0] != '.')
			r = scan_one(ctx, de->d_name, only, scan);
	closedir(d);
	return r;
}

/* "major:minor" of the device with identity @id. */
static int find_leg(struct dmm_ctx *ctx, const char *id, char *buf,
		    size_t len)
{
	dev_t dev;
	int r;

	r = dmm__find_identity(ctx, id, &dev);
	if (!r)
		snprintf(buf, len, "%u:%u", major(dev), minor(dev));
	return r;
}

/* The legs of a record that its state needs, as major:minor ("" if not). */
struct legs {
	char source[32];
	char dest[32];
};

static bool needs_source(uint32_t state)
{
	return state != DMM_REC_CONFIRMING && state != DMM_REC_ON_DEST;
}

static bool needs_dest(uint32_t state)
{
	return state != DMM_REC_ABORTING && state != DMM_REC_ON_SOURCE;
}

static int find_legs(struct dmm_ctx *ctx, const struct dmm__record *rec,
		     struct legs *legs)
{
	int r = DMM_OK;

	memset(legs, 0, sizeof(*legs));
	if (needs_source(rec->state))
		r = find_leg(ctx, rec->source_id, legs->source,
			     sizeof(legs->source));
	if (!r && needs_dest(rec->state))
		r = find_leg(ctx, rec->dest_id, legs->dest, sizeof(legs->dest));
	return r;
}

/* What a record that the volume is wholly on one leg becomes. */
static uint32_t settled_state(uint32_t state)
{
	return needs_dest(state) ? DMM_REC_ON_DEST : DMM_REC_ON_SOURCE;
}

/* Bring back a volume that does not exist, from its record. */
static int activate_new(struct dmm_ctx *ctx, const struct found *f,
			const struct legs *legs, const char **what)
{
	const struct dmm__record *rec = &f->rec;
	char params[1024], pair[DMM_PAIR_ID_LEN], meta[PATH_MAX];
	const char *leg;
	int r;

	if (dmm__dev_path(f->meta, meta, sizeof(meta)))
		return dmm__err(ctx, DMM_ENODEV,
				"the metadata device %s of %s has gone; attach it again and retry",
				rec->metadata_id, rec->name);
	if (rec->state == DMM_REC_MIGRATING) {
		r = dmm__dm_check_target(ctx);
		if (r)
			return r;
		dmm__pair_id(rec, pair, sizeof(pair));
		snprintf(params, sizeof(params), "%s %s %u:%u %u", legs->source,
			 legs->dest, major(f->meta), minor(f->meta),
			 rec->region_sectors);
		dmm__start_features(params + strlen(params),
				    sizeof(params) - strlen(params),
				    rec->flags & DMM__REC_F_POST_COPY ?
				    DMM_START_POST_COPY : 0,
				    rec->rate, pair, false, rec->window,
				    &rec->group);
		dmm__log(ctx, DMM_LOG_INFO, "%s: 0 %llu %s %s", rec->name,
			 (unsigned long long)rec->target_sectors, DMM_TARGET,
			 params);
		*what = "migration resumed";
		return dmm__dm_create(ctx, rec->name, rec->target_sectors,
				      DMM_TARGET, params);
	}
	leg = needs_dest(rec->state) ? legs->dest : legs->source;
	snprintf(params, sizeof(params), "%s 0", leg);
	switch (rec->state) {
	case DMM_REC_CONFIRMING:
		*what = "confirm finished, now on the destination";
		break;
	case DMM_REC_ABORTING:
		*what = "abort finished, back on the source";
		break;
	case DMM_REC_ON_DEST:
		*what = "on the destination";
		break;
	default:
		*what = "on the source";
		break;
	}
	r = dmm__dm_create(ctx, rec->name, rec->target_sectors, "linear",
			   params);
	if (r || (rec->state != DMM_REC_CONFIRMING &&
		  rec->state != DMM_REC_ABORTING))
		return r;
	/* Only once the volume is wholly on one leg is the step over. */
	r = dmm__record_set_state(ctx, meta, rec->name,
				  settled_state(rec->state));
	if (!r)
		dmm__done_write(rec->name, rec->state == DMM_REC_CONFIRMING ?
				"confirm" : "abort", leg);
	return r;
}

/* The volume exists: repair it and settle a record the swap made true. */
static int activate_existing(struct dmm_ctx *ctx, const struct found *f,
			     const char **what)
{
	const struct dmm__record *rec = &f->rec;
	char leg[32], meta[PATH_MAX];
	struct dmm_status st;
	const char *id;
	int r;

	r = dmm__repair(ctx, rec->name, NULL) ?:
	    dmm__volume_read(ctx, rec->name, &st);
	if (r)
		return r;
	*what = "already active, left as it is";
	if ((rec->state != DMM_REC_CONFIRMING &&
	     rec->state != DMM_REC_ABORTING) || st.state != DMM_STATE_IDLE)
		return DMM_OK;
	/* Linear on the leg the record was switching to: the step is done. */
	id = rec->state == DMM_REC_CONFIRMING ? rec->dest_id : rec->source_id;
	if (find_leg(ctx, id, leg, sizeof(leg)) || strcmp(leg, st.source) ||
	    dmm__dev_path(f->meta, meta, sizeof(meta)))
		return DMM_OK;
	*what = rec->state == DMM_REC_CONFIRMING ?
		"already active; confirm finished" :
		"already active; abort finished";
	return dmm__record_set_state(ctx, meta, rec->name,
				     settled_state(rec->state));
}

static int activate_one(struct dmm_ctx *ctx, const struct found *f,
			const char **what)
{
	struct dmm__dm_dev dev;
	struct legs legs;
	int r, lock;

	r = dmm__check_name(ctx, f->rec.name) ?:
	    find_legs(ctx, &f->rec, &legs) ?:
	    dmm__lock(ctx, f->rec.name, &lock);
	if (r)
		return r;
	r = dmm__dm_info(ctx, f->rec.name, &dev);
	if (!r && dev.exists)
		r = activate_existing(ctx, f, what);
	else if (!r)
		r = activate_new(ctx, f, &legs, what);
	if (!r)
		dmm__home_write(f->rec.name, f->meta);
	dmm__unlock(lock);
	return r;
}

int dmm_activate(struct dmm_ctx *ctx, const char *name, dmm_activate_fn fn,
		 void *data)
{
	char first_err[DMM_ERR_LEN] = "";
	struct scan scan = { 0 };
	const char *what;
	unsigned int i;
	int r, ret = DMM_OK;

	if (name && dmm__check_name(ctx, name))
		return DMM_EUSAGE;
	/*
	 * Stacks a killed interpose or collapse left: never left suspended.
	 * One that cannot be settled is logged and does not keep the records'
	 * volumes from coming back.
	 */
	if (!name)
		dmm__stack_repair_all(ctx);
	r = scan_records(ctx, name, &scan);
	if (!r && name && !scan.count)
		r = dmm__err(ctx, DMM_ENODEV,
			     "no metadata device holds a migration of %s; attach its devices, or see 'dmmigrate status %s'%s%s%s",
			     name, name,
			     scan.unreadable ? " (could not read: " : "",
			     scan.first_unreadable,
			     scan.unreadable ? ")" : "");
	if (r) {
		free(scan.found);
		return r;
	}
	for (i = 0; i < scan.count; i++) {
		what = "";
		r = activate_one(ctx, &scan.found[i], &what);
		if (fn)
			fn(scan.found[i].rec.name, r, r ? ctx->err : what,
			   data);
		if (r && !ret) {
			ret = r;
			strcpy(first_err, ctx->err);
		}
	}
	free(scan.found);
	if (ret) {
		strcpy(ctx->err, first_err);
		return ret;
	}
	/* A record on a device that cannot be read would be left behind. */
	if (scan.unreadable)
		return dmm__err(ctx, DMM_ENODEV,
				"%u device%s could not be read (%s); a migration recorded there is not activated",
				scan.unreadable, scan.unreadable > 1 ? "s" : "",
				scan.first_unreadable);
	return DMM_OK;
}

int dmm_activate_metadata(struct dmm_ctx *ctx, const char *device,
			  dmm_activate_fn fn, void *data)
{
	const char *what = "";
	struct found f;
	bool has;
	int r;

	r = read_found(ctx, device, NULL, &f, &has);
	if (!r && !has)
		r = dmm__err(ctx, DMM_ENODEV,
			     "%s holds no record of a dm-migrate volume; give the metadata device of a migration",
			     device);
	if (r)
		return r;
	r = activate_one(ctx, &f, &what);
	if (fn)
		fn(f.rec.name, r, r ? ctx->err : what, data);
	return r;
}

int dmm_metadata_probe(struct dmm_ctx *ctx, const char *device, char *name,
		       size_t len, const char **state)
{
	struct found f;
	bool has;
	int r;

	if (len)
		name[0] = '\0';
	*state = NULL;
	r = read_found(ctx, device, NULL, &f, &has);
	if (r || !has)
		return r;
	if (strlen(f.rec.name) >= len)
		return dmm__err(ctx, DMM_EUSAGE,
				"the name of the volume recorded on %s does not fit in %zu bytes",
				device, len);
	strcpy(name, f.rec.name);
	*state = dmm__record_state_name(f.rec.state);
	return DMM_OK;
}

/* Clear the record of @name on @meta: the volume no longer lives there. */
static int forget_on(struct dmm_ctx *ctx, const char *name, dev_t meta)
{
	char path[PATH_MAX];

	if (dmm__dev_path(meta, path, sizeof(path))) {
		dmm__log(ctx, DMM_LOG_ERROR,
			 "warning: the metadata device %u:%u that recorded %s has gone; if it comes back, 'dmmigrate remove %s' after the boot clears it",
			 major(meta), minor(meta), name, name);
		return DMM_OK;
	}
	return dmm__record_set_state(ctx, path, name, DMM_REC_NONE);
}

int dmm__home_forget(struct dmm_ctx *ctx, const char *name, dev_t keep)
{
	struct scan scan = { 0 };
	unsigned int i;
	dev_t home;
	int r = DMM_OK;

	if (dmm__home_read(name, &home)) {
		if (home != keep)
			r = forget_on(ctx, name, home);
	} else {
		/* Not activated in this boot, or from before NAME.home. */
		r = scan_records(ctx, name, &scan);
		for (i = 0; !r && i < scan.count; i++)
			if (scan.found[i].meta != keep)
				r = forget_on(ctx, name, scan.found[i].meta);
		free(scan.found);
	}
	if (!r)
		dmm__home_clear(name);
	return r;
}
