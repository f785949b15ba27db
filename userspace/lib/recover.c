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
 * /run is empty and the record alone drives the activation (activate.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

#define STATE_DIR	"/run/dmmigrate"

#define STATE_PATH_LEN	(sizeof(STATE_DIR) + DMM_NAME_MAX + 16)

/* STATE_DIR/NAME.EXT: the per-volume files, as described at each. */
static void state_path(const char *name, const char *ext, char *buf,
		       size_t len)
{
	snprintf(buf, len, STATE_DIR "/%s.%s", name, ext);
}

static void state_clear(const char *name, const char *ext)
{
	char path[STATE_PATH_LEN];

	state_path(name, ext, path, sizeof(path));
	unlink(path);
}

/* Best effort: the files the next command only profits from. */
__attribute__((format(printf, 3, 4)))
static void state_note(const char *name, const char *ext, const char *fmt,
		       ...)
{
	char path[STATE_PATH_LEN];
	va_list ap;
	FILE *f;

	mkdir(STATE_DIR, 0700);
	state_path(name, ext, path, sizeof(path));
	f = fopen(path, "we");
	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* The first word of NAME.EXT into @buf, or false. */
static bool state_word(const char *name, const char *ext, char *buf,
		       size_t len)
{
	char path[STATE_PATH_LEN], fmt[16];
	bool found;
	FILE *f;

	state_path(name, ext, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return false;
	snprintf(fmt, sizeof(fmt), "%%%zus", len - 1);
	found = fscanf(f, fmt, buf) == 1;
	fclose(f);
	return found;
}

/*
 * Replace STATE_DIR/NAME.EXT with @text as a whole (a new file renamed
 * over it): a kill leaves the old file or the new one, never half of one.
 */
int dmm__state_write(struct dmm_ctx *ctx, const char *name, const char *ext,
		     const char *text)
{
	char path[STATE_PATH_LEN], tmp[sizeof(path) + 4];
	FILE *f;
	int r;

	mkdir(STATE_DIR, 0700);
	state_path(name, ext, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "we");
	if (!f)
		return dmm__err(ctx, dmm__errno_code(errno),
				"cannot write %s: %s; run as root", tmp,
				strerror(errno));
	r = fputs(text, f) < 0 || fflush(f) ? errno : 0;
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

FILE *dmm__state_open(const char *name, const char *ext)
{
	char path[STATE_PATH_LEN];

	state_path(name, ext, path, sizeof(path));
	return fopen(path, "re");
}

void dmm__state_clear(const char *name, const char *ext)
{
	state_clear(name, ext);
}

/* Call @fn for each volume that has a NAME.@ext; the first error is kept. */
int dmm__state_each(struct dmm_ctx *ctx, const char *ext,
		    int (*fn)(struct dmm_ctx *ctx, const char *name))
{
	char name[DMM_NAME_MAX + 1];
	size_t n, elen = strlen(ext);
	struct dirent *de;
	int r = DMM_OK;
	DIR *d;

	d = opendir(STATE_DIR);
	if (!d)
		return DMM_OK;
	while ((de = readdir(d))) {
		n = strlen(de->d_name);
		if (n <= elen + 1 || n - elen - 1 > DMM_NAME_MAX ||
		    de->d_name[n - elen - 1] != '.' ||
		    strcmp(de->d_name + n - elen, ext))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - elen - 1),
			 de->d_name);
		if (fn(ctx, name) && !r)
			r = DMM_EBUSY;
	}
	closedir(d);
	return r;
}

/* One line: "<step> <source> <dest> <metadata | ->". */
int dmm__step_write(struct dmm_ctx *ctx, const char *name,
		    const struct dmm__step *step)
{
	char line[16 + 3 * 32 + 8];

	snprintf(line, sizeof(line), "%s %s %s %s\n", step->step,
		 step->source, step->dest,
		 step->metadata[0] ? step->metadata : "-");
	return dmm__state_write(ctx, name, "state", line);
}

static int step_read(const char *name, struct dmm__step *step)
{
	char path[STATE_PATH_LEN];
	int n;
	FILE *f;

	state_path(name, "state", path, sizeof(path));
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

/*
 * NAME.home, "<major>:<minor>", names the metadata device whose record
 * brings @name back after a reboot: written by start and by activate, so
 * that the next start or remove can clear that record without a scan.
 * Best effort: without it they scan for the record.
 */
void dmm__home_write(const char *name, dev_t meta)
{
	state_note(name, "home", "%u:%u\n", major(meta), minor(meta));
}

bool dmm__home_read(const char *name, dev_t *meta)
{
	char devno[32];

	return state_word(name, "home", devno, sizeof(devno)) &&
	       !dmm__parse_dev(devno, meta);
}

void dmm__home_clear(const char *name)
{
	state_clear(name, "home");
}

/*
 * A finished confirm or abort leaves "<step> <leg it left the volume on>"
 * in NAME.done, so that running it again after status settled it, or after
 * activate finished it at boot, says it is done instead of "not migrating".
 * Best effort: without it a re-run only reports the state. A new start and
 * remove drop it.
 */
void dmm__done_write(const char *name, const char *step, const char *leg)
{
	state_note(name, "done", "%s %s\n", step, leg);
}

void dmm__done_clear(const char *name)
{
	state_clear(name, "done");
	state_clear(name, "wipe");
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
	char path[STATE_PATH_LEN];
	FILE *f;

	mkdir(STATE_DIR, 0700);
	state_path(name, "wipe", path, sizeof(path));
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
	return state_word(name, "wipe", source, len);
}

void dmm__wipe_owed_clear(const char *name)
{
	state_clear(name, "wipe");
}

/* The confirm or abort that left the idle volume @name on @leg, or NULL. */
static const char *done_read(const char *name, const char *leg)
{
	char path[STATE_PATH_LEN], step[16], on[32];
	FILE *f;
	int n;

	state_path(name, "done", path, sizeof(path));
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
	state_clear(name, "state");
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
		dmm__done_write(name, step->step, !strcmp(step->step, "confirm") ?
			   step->dest : step->source);
	if (step->metadata[0]) {
		if (!strcmp(step->step, "start"))
			state = *done ? DMM_REC_MIGRATING : DMM_REC_ON_SOURCE;
		else if (!*done)
			state = DMM_REC_MIGRATING;
		else
			state = !strcmp(step->step, "confirm") ?
				DMM_REC_ON_DEST : DMM_REC_ON_SOURCE;
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
	/* A move of the stack over the volume first: it may remove it. */
	r = dmm__stack_repair(ctx, name) ?: dmm__dm_info(ctx, name, &dev);
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
