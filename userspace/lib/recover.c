// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Finishing what a killed or crashed dmmigrate left half done.
 *
 * Before a table swap (start, confirm, abort) dmmigrate writes the step
 * to /run/dmmigrate/NAME.state and, with a metadata device, to the tool
 * record (block 1). A later command on the volume first repairs it:
 * a suspended volume is resumed (which completes a loaded swap), a table
 * loaded but not resumed is dropped, and the step is settled by looking
 * at the live table: done or not done, never between. After a reboot
 * /run is empty and the record alone drives dmm_activate().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

#define STATE_DIR	"/run/dmmigrate"

static void step_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, STATE_DIR "/%s.state", name);
}

/* One line: "<step> <source> <dest> <metadata | ->". */
int dmm__step_write(struct dmm_ctx *ctx, const char *name,
		    const struct dmm__step *step)
{
	char path[sizeof(STATE_DIR) + DMM_NAME_MAX + 16], tmp[sizeof(path) + 4];
	FILE *f;
	int r;

	step_path(name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "we");
	if (!f)
		return dmm__err(ctx, dmm__errno_code(errno),
				"cannot write %s: %s; run as root", tmp,
				strerror(errno));
	fprintf(f, "%s %s %s %s\n", step->step, step->source, step->dest,
		step->metadata[0] ? step->metadata : "-");
	r = fflush(f) ? errno : 0;
	if (fclose(f) && !r)
		r = errno;
	if (!r && rename(tmp, path))
		r = errno;
	if (r) {
		unlink(tmp);
		return dmm__err(ctx, dmm__errno_code(r),
				"cannot write %s: %s; free space in /run",
				path, strerror(r));
	}
	return DMM_OK;
}

static int step_read(const char *name, struct dmm__step *step)
{
	char path[sizeof(STATE_DIR) + DMM_NAME_MAX + 16];
	int n;
	FILE *f;

	step_path(name, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	memset(step, 0, sizeof(*step));
	n = fscanf(f, "%15s %31s %31s %31s", step->step, step->source,
		   step->dest, step->metadata);
	fclose(f);
	if (n != 4)
		return -EINVAL;
	if (!strcmp(step->metadata, "-"))
		step->metadata[0] = '\0';
	return 0;
}

static void done_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, STATE_DIR "/%s.done", name);
}

/* See dmm__wipe_owed_write(). */
static void wipe_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, STATE_DIR "/%s.wipe", name);
}

/*
 * A finished confirm or abort leaves "<step> <leg it left the volume on>"
 * in NAME.done, so that running it again after status settled it, or after
 * activate finished it at boot, says it is done instead of "not migrating".
 * Best effort: without it a re-run only reports the state. A new start and
 * remove drop it.
 */
static void done_write(const char *name, const char *step, const char *leg)
{
	char path[sizeof(STATE_DIR) + DMM_NAME_MAX + 16];
	FILE *f;

	mkdir(STATE_DIR, 0700);
	done_path(name, path, sizeof(path));
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%s %s\n", step, leg);
	fclose(f);
}

void dmm__done_clear(const char *name)
{
	char path[sizeof(STATE_DIR) + DMM_NAME_MAX + 16];

	done_path(name, path, sizeof(path));
	unlink(path);
	wipe_path(name, path, sizeof(path));
	unlink(path);
}

/*
 * A confirm --wipe-source writes NAME.wipe, "<source>", before its
 * cut-over and removes it once the wipe is done: a confirm killed or
 * failing between the two owes the wipe, and its re-run pays it. Dropped
 * with NAME.done.
 */
int dmm__wipe_owed_write(struct dmm_ctx *ctx, const char *name,
			 const char *source)
{
	char path[sizeof(STATE_DIR) + DMM_NAME_MAX + 16];
	FILE *f;

	mkdir(STATE_DIR, 0700);
	wipe_path(name, path, sizeof(path));
	f = fopen(path, "we");
	if (!f || fprintf(f, "%s\n", source) < 0 || fclose(f))
		return dmm__err(ctx, dmm__errno_code(errno),
				"cannot write %s: %s; run as root", path,
				strerror(errno));
	return DMM_OK;
}

/* The source a confirm of @name still has to wipe, or false. */
bool dmm__wipe_owed_read(const char *name, char *source, size_t len)
{
	char path[sizeof(STATE_DIR) + DMM_NAME_MAX + 16], fmt[16];
	bool owed;
	FILE *f;

	wipe_path(name, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return false;
	snprintf(fmt, sizeof(fmt), "%%%zus", len - 1);
	owed = fscanf(f, fmt, source) == 1;
	fclose(f);
	return owed;
}

void dmm__wipe_owed_clear(const char *name)
{
	char path[sizeof(STATE_DIR) + DMM_NAME_MAX + 16];

	wipe_path(name, path, sizeof(path));
	unlink(path);
}

/* The confirm or abort that left the idle volume @name on @leg, or NULL. */
static const char *done_read(const char *name, const char *leg)
{
	char path[sizeof(STATE_DIR) + DMM_NAME_MAX + 16], step[16], on[32];
	FILE *f;
	int n;

	done_path(name, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return NULL;
	n = fscanf(f, "%15s %31s", step, on);
	fclose(f);
	if (n != 2 || strcmp(on, leg))
		return NULL;
	if (!strcmp(step, "confirm"))
		return "confirm";
	return !strcmp(step, "abort") ? "abort" : NULL;
}

void dmm__step_clear(const char *name)
{
	char path[sizeof(STATE_DIR) + DMM_NAME_MAX + 16];

	step_path(name, path, sizeof(path));
	unlink(path);
}

/* Did @step take effect on the volume whose live state is @st? */
static bool step_done(const struct dmm__step *step,
		      const struct dmm_status *st)
{
	bool migrating = st->state != DMM_STATE_IDLE;

	if (!strcmp(step->step, "start"))
		return migrating && !strcmp(st->dest, step->dest);
	if (!strcmp(step->step, "confirm"))
		return !migrating && !strcmp(st->source, step->dest);
	if (!strcmp(step->step, "abort"))
		return !migrating && !strcmp(st->source, step->source);
	return false;
}

/*
 * Settle @step by the live table of @name: the record goes to what is now
 * true (migrating, or no migration) and the state file goes. @done gets
 * whether the step took effect.
 */
int dmm__step_finish(struct dmm_ctx *ctx, const char *name,
		     const struct dmm__step *step, bool *done)
{
	struct dmm_status st;
	char meta[PATH_MAX];
	uint32_t state;
	dev_t dev;
	int r;

	r = dmm__volume_read(ctx, name, &st);
	if (r == DMM_ENODEV) {
		dmm__step_clear(name);
		*done = false;
		return DMM_OK;
	}
	if (r)
		return r;
	*done = step_done(step, &st);
	if (*done && strcmp(step->step, "start"))
		done_write(name, step->step, !strcmp(step->step, "confirm") ?
			   step->dest : step->source);
	if (step->metadata[0]) {
		if (!strcmp(step->step, "start"))
			state = *done ? DMM_REC_MIGRATING : DMM_REC_NONE;
		else
			state = *done ? DMM_REC_NONE : DMM_REC_MIGRATING;
		/*
		 * A dead metadata device must not wedge the volume: the next
		 * confirm or abort writes the record again anyway.
		 */
		if (dmm__parse_dev(step->metadata, &dev) ||
		    dmm__dev_path(dev, meta, sizeof(meta)))
			dmm__log(ctx, DMM_LOG_ERROR,
				 "warning: the metadata device %s of %s has gone; its record is left as it was",
				 step->metadata, name);
		else if (dmm__record_set_state(ctx, meta, name, state))
			dmm__log(ctx, DMM_LOG_ERROR, "warning: %s", ctx->err);
	}
	dmm__log(ctx, DMM_LOG_INFO, "%s: an interrupted %s %s", name,
		 step->step, *done ? "had completed" : "had not happened");
	dmm__step_clear(name);
	return DMM_OK;
}

/*
 * Repair @name, locked by the caller. @finished (may be NULL) gets the
 * step ("start", "confirm", "abort") an interrupted dmmigrate had
 * completed, or NULL.
 */
int dmm__repair(struct dmm_ctx *ctx, const char *name, const char **finished)
{
	static const char *const steps[] = { "start", "confirm", "abort" };
	struct dmm__dm_dev dev;
	struct dmm__step step;
	unsigned int i;
	bool done;
	int r;

	if (finished)
		*finished = NULL;
	r = dmm__dm_info(ctx, name, &dev);
	if (r || !dev.exists ||
	    strncmp(dev.uuid, DMM_UUID_PREFIX, strlen(DMM_UUID_PREFIX)))
		return r;
	if (dev.suspended) {
		/* A swap was cut between suspend and resume: complete it. */
		dmm__log(ctx, DMM_LOG_INFO, "%s: resuming the suspended volume",
			 name);
		r = dmm__dm_resume(ctx, name);
	} else if (dev.inactive_table) {
		/* Loaded, never resumed: the swap did not happen. */
		dmm__log(ctx, DMM_LOG_INFO, "%s: dropping a loaded table", name);
		r = dmm__dm_clear(ctx, name);
	}
	if (r)
		return r;
	/*
	 * No table ever live: a create (or an activate) killed between
	 * libdm's create, load and resume. Nothing can have used it; it goes,
	 * and the command run again makes it.
	 */
	if (!dev.live_table && !dev.open_count) {
		dmm__log(ctx, DMM_LOG_INFO, "%s: removing a volume whose create was cut short",
			 name);
		return dmm__dm_remove(ctx, name);
	}
	if (step_read(name, &step)) {
		struct dmm_status st;

		/* Settled before: by status, or by activate at boot. */
		if (finished && !dmm__volume_read(ctx, name, &st) &&
		    st.state == DMM_STATE_IDLE)
			*finished = done_read(name, st.source);
		return DMM_OK;
	}
	r = dmm__step_finish(ctx, name, &step, &done);
	if (!r && done && finished)
		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
			if (!strcmp(step.step, steps[i]))
				*finished = steps[i];
	return r;
}

/* A record found on a metadata device by the scan. */
struct found {
	struct dmm__record rec;
	dev_t meta;
};

struct scan {
	struct found *found;
	unsigned int count;
};

/* Our own volumes map the legs: reading them would find records twice. */
static bool is_volume(const char *sysdir)
{
	char path[PATH_MAX + 16], uuid[8];
	FILE *f;
	bool r;

	snprintf(path, sizeof(path), "%s/dm/uuid", sysdir);
	f = fopen(path, "re");
	if (!f)
		return false;
	r = fgets(uuid, sizeof(uuid), f) &&
	    !strncmp(uuid, DMM_UUID_PREFIX, strlen(DMM_UUID_PREFIX) - 1);
	fclose(f);
	return r;
}

static unsigned long long sysfs_u64(const char *dir, const char *attr)
{
	char path[PATH_MAX + 16];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static int sysfs_dev(const char *dir, dev_t *dev)
{
	char path[PATH_MAX + 16], devno[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/dev", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(devno, sizeof(devno), f))
		devno[0] = '\0';
	fclose(f);
	devno[strcspn(devno, "\n")] = '\0';
	return dmm__parse_dev(devno, dev);
}

/* Is there a record of a migration on the device @entry of sysfs? */
static int scan_one(struct dmm_ctx *ctx, const char *entry, const char *only,
		    struct scan *scan)
{
	char link[PATH_MAX], dir[PATH_MAX], path[PATH_MAX], id[DMM_ID_LEN];
	struct dmm__md_head head;
	struct found *grown;
	struct dmm__blk b;
	dev_t dev;
	int r;

	snprintf(link, sizeof(link), "/sys/class/block/%s", entry);
	if (!realpath(link, dir) || is_volume(dir) ||
	    sysfs_u64(dir, "size") < 2 * DMM_MD_BLOCK >> SECTOR_SHIFT)
		return DMM_OK;
	if (sysfs_dev(dir, &dev))
		return DMM_OK;
	if (dmm__dev_path(dev, path, sizeof(path)) ||
	    dmm__blk_open(ctx, path, &b))
		return DMM_OK;
	r = dmm__md_read(ctx, &b, &head);
	dmm__blk_close(&b);
	if (r)
		return DMM_OK;	/* unreadable: not a device we can use */
	if (head.rec_kind != DMM__REC_VALID ||
	    head.rec.state == DMM_REC_NONE ||
	    (!head.sb_magic && !head.sb_zero) ||
	    (only && strcmp(head.rec.name, only)))
		return DMM_OK;
	/* A device over or under it shows the same blocks: not the one. */
	if (dmm__identity(ctx, dev, path, id, sizeof(id)) ||
	    strcmp(id, head.rec.metadata_id))
		return DMM_OK;
	dmm__log(ctx, DMM_LOG_DEBUG, "%s: record of %s, %s", path,
		 head.rec.name, dmm__record_state_name(head.rec.state));
	grown = realloc(scan->found, (scan->count + 1) * sizeof(*grown));
	if (!grown)
		return dmm__enomem(ctx);
	scan->found = grown;
	grown[scan->count].rec = head.rec;
	grown[scan->count].meta = dev;
	scan->count++;
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

static int find_legs(struct dmm_ctx *ctx, const struct dmm__record *rec,
		     struct legs *legs)
{
	int r = DMM_OK;

	memset(legs, 0, sizeof(*legs));
	if (rec->state != DMM_REC_CONFIRMING)
		r = find_leg(ctx, rec->source_id, legs->source,
			     sizeof(legs->source));
	if (!r && rec->state != DMM_REC_ABORTING)
		r = find_leg(ctx, rec->dest_id, legs->dest, sizeof(legs->dest));
	return r;
}

/* Bring back a volume that does not exist, from its record. */
static int activate_new(struct dmm_ctx *ctx, const struct found *f,
			const struct legs *legs, const char **what)
{
	const struct dmm__record *rec = &f->rec;
	char params[1024], pair[DMM_PAIR_ID_LEN], meta[PATH_MAX];
	int r;

	if (dmm__dev_path(f->meta, meta, sizeof(meta)))
		return dmm__err(ctx, DMM_ENODEV,
				"the metadata device %s of %s has gone; attach it again and retry",
				rec->metadata_id, rec->name);
	switch (rec->state) {
	case DMM_REC_MIGRATING:
		r = dmm__dm_check_target(ctx);
		if (r)
			return r;
		dmm__pair_id(rec, pair, sizeof(pair));
		if (rec->rate)
			snprintf(params, sizeof(params),
				 "%s %s %u:%u %u 4 rate %llu pair_id %s",
				 legs->source, legs->dest, major(f->meta),
				 minor(f->meta), rec->region_sectors,
				 (unsigned long long)rec->rate, pair);
		else
			snprintf(params, sizeof(params),
				 "%s %s %u:%u %u 2 pair_id %s", legs->source,
				 legs->dest, major(f->meta), minor(f->meta),
				 rec->region_sectors, pair);
		dmm__log(ctx, DMM_LOG_INFO, "%s: 0 %llu %s %s", rec->name,
			 (unsigned long long)rec->target_sectors, DMM_TARGET,
			 params);
		*what = "migration resumed";
		return dmm__dm_create(ctx, rec->name, rec->target_sectors,
				      DMM_TARGET, params);
	case DMM_REC_CONFIRMING:
		snprintf(params, sizeof(params), "%s 0", legs->dest);
		*what = "confirm finished, now on the destination";
		break;
	default:
		snprintf(params, sizeof(params), "%s 0", legs->source);
		*what = "abort finished, back on the source";
		break;
	}
	r = dmm__dm_create(ctx, rec->name, rec->target_sectors, "linear",
			   params);
	/* Only once the volume is wholly on one leg is the step over. */
	if (!r)
		r = dmm__record_set_state(ctx, meta, rec->name, DMM_REC_NONE);
	if (!r && rec->state == DMM_REC_CONFIRMING)
		done_write(rec->name, "confirm", legs->dest);
	else if (!r)
		done_write(rec->name, "abort", legs->source);
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
	if (rec->state == DMM_REC_MIGRATING || st.state != DMM_STATE_IDLE)
		return DMM_OK;
	/* Linear on the leg the record was switching to: the step is done. */
	id = rec->state == DMM_REC_CONFIRMING ? rec->dest_id : rec->source_id;
	if (find_leg(ctx, id, leg, sizeof(leg)) || strcmp(leg, st.source) ||
	    dmm__dev_path(f->meta, meta, sizeof(meta)))
		return DMM_OK;
	*what = rec->state == DMM_REC_CONFIRMING ?
		"already active; confirm finished" :
		"already active; abort finished";
	return dmm__record_set_state(ctx, meta, rec->name, DMM_REC_NONE);
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
	r = scan_records(ctx, name, &scan);
	if (!r && name && !scan.count)
		r = dmm__err(ctx, DMM_ENODEV,
			     "no metadata device holds a migration of %s; attach its devices, or see 'dmmigrate status %s'",
			     name, name);
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
	if (ret)
		strcpy(ctx->err, first_err);
	return ret;
}
