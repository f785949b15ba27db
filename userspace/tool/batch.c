// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dmmigrate batch: every volume of a plan moved under one rate group.
 *
 * The batch keeps no state of its own: each volume's state says what is
 * left (idle on its destination: done; migrating there: started; idle
 * elsewhere: to start), so that a batch killed, or cut by a reboot that
 * activation recovers from, is picked up by running it again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "output.h"
#include "plan.h"
#include "totals.h"

/* How often the batch looks at its volumes, and tells a log of them. */
#define POLL_MS		500
#define LOG_EVERY_S	10

enum outcome { PENDING, CONFIRMED, FAILED };

struct entry {
	const struct plan_volume *v;
	dev_t dest;
	enum outcome outcome;
	bool already;		/* done before this run */
	bool in_sync;
	int code;		/* of a failure */
	char *error;
};

struct batch {
	struct dmm_ctx *ctx;
	const struct batch_options *o;
	const char *group;
	struct entry *e;
	unsigned int count;
	int first_error;
};

static bool same_dev(const char *majmin, dev_t dev)
{
	unsigned int ma, mi;

	return sscanf(majmin, "%u:%u", &ma, &mi) == 2 &&
	       makedev(ma, mi) == dev;
}

static int fail_entry(struct batch *b, struct entry *e, int code,
		      const char *msg)
{
	e->outcome = FAILED;
	e->code = code;
	free(e->error);
	e->error = strdup(msg);
	fprintf(stderr, "%s: %s: %s\n", prog, e->v->name, msg);
	if (!b->first_error)
		b->first_error = code;
	return code;
}

/*
 * Whether @e can be done as planned, changing nothing: its volume and
 * destination exist, and it is done, migrating to that destination, or
 * idle elsewhere with a destination fit to receive it.
 */
static int check_entry(struct batch *b, struct entry *e)
{
	const struct plan_volume *v = e->v;
	char src[256], msg[1024];
	struct dmm_status *st;
	struct stat sb;
	int r;

	if (stat(v->dest, &sb) || !S_ISBLK(sb.st_mode)) {
		snprintf(msg, sizeof(msg), "%s: destination %s is not a block device; nothing was started",
			 v->name, v->dest);
		return report(DMM_ENODEV, msg);
	}
	e->dest = sb.st_rdev;
	r = dmm_status_get(b->ctx, v->name, &st);
	if (r)
		return fail(b->ctx, r);
	if (dmm_status_state(st) == DMM_STATE_IDLE) {
		if (same_dev(dmm_status_leg_dev(st, DMM_LEG_SOURCE), e->dest)) {
			e->outcome = CONFIRMED;
			e->already = true;
		} else {
			r = dmm_validate_destination(b->ctx,
				dmm_status_leg_path(st, DMM_LEG_SOURCE, src, sizeof(src)),
				v->dest, v->region_bytes, v->flags);
			r = fail(b->ctx, r);
		}
	} else if (!same_dev(dmm_status_leg_dev(st, DMM_LEG_DESTINATION),
			     e->dest)) {
		snprintf(msg, sizeof(msg), "%s: migrating to %s, not to %s; let that migration end first; nothing was started",
			 v->name, dmm_status_leg_dev(st, DMM_LEG_DESTINATION),
			 v->dest);
		r = report(DMM_ESTATE, msg);
	}
	dmm_status_free(st);
	return r;
}

/* Start @e, or put its migration, started before, into the group. */
static int start_entry(struct batch *b, struct entry *e)
{
	const struct plan_volume *v = e->v;
	struct dmm_status *st;
	bool idle, member;
	int r;

	r = dmm_status_get(b->ctx, v->name, &st);
	if (r)
		return fail_entry(b, e, r, dmm_last_error(b->ctx));
	idle = dmm_status_state(st) == DMM_STATE_IDLE;
	member = !strcmp(dmm_status_group(st), b->group);
	dmm_status_free(st);
	if (idle)
		r = dmm_start_group(b->ctx, v->name, v->dest, v->metadata,
				    v->region_bytes, v->rate, v->window_bytes,
				    v->flags, b->group, v->weight);
	else if (!member)
		r = dmm_group_join(b->ctx, v->name, b->group);
	if (r)
		return fail_entry(b, e, r, dmm_last_error(b->ctx));
	if (idle)
		say("%s: started to %s\n", v->name, v->dest);
	return 0;
}

static int confirm_entry(struct batch *b, struct entry *e)
{
	unsigned int pause_ms = 0;
	int r = dmm_confirm(b->ctx, e->v->name, 0, &pause_ms);

	if (r)
		return fail_entry(b, e, r, dmm_last_error(b->ctx));
	e->outcome = CONFIRMED;
	say("%s: confirmed, now on %s (I/O paused %u ms)\n", e->v->name,
	    e->v->dest, pause_ms);
	return 0;
}

/* Look at @e once: count it in @t, and note a failure or its end. */
static void look(struct batch *b, struct entry *e, struct totals *t)
{
	struct dmm_status *st;
	enum dmm_state state;
	uint64_t size;
	int r;

	/*
	 * Read only, no lock: the batch looks at every volume twice a second,
	 * and what a killed command left was settled by check_entry()'s read.
	 */
	r = dmm_status_read(b->ctx, e->v->name, &st);
	if (r) {
		fail_entry(b, e, r, dmm_last_error(b->ctx));
		return;
	}
	state = dmm_status_state(st);
	size = dmm_status_size(st);
	if (e->outcome == CONFIRMED) {
		totals_add(t, NULL, size);
	} else if (state == DMM_STATE_IDLE) {
		/* Ended by another hand: confirmed, or aborted. */
		if (same_dev(dmm_status_leg_dev(st, DMM_LEG_SOURCE), e->dest))
			e->outcome = CONFIRMED;
		else
			fail_entry(b, e, DMM_ESTATE,
				   "the migration was aborted: the volume is back on its source");
		totals_add(t, NULL, e->outcome == CONFIRMED ? size : 0);
	} else {
		totals_add(t, st, 0);
		if (dmm_status_leg_health(st, DMM_LEG_DESTINATION) == DMM_HEALTH_FAILED ||
		    dmm_status_leg_health(st, DMM_LEG_SOURCE) == DMM_HEALTH_FAILED ||
		    state == DMM_STATE_HALTED)
			fail_entry(b, e, DMM_ELEG,
				   "a leg has failed; the migration is halted (dmmigrate abort rolls it back)");
		e->in_sync = state == DMM_STATE_SYNCED;
	}
	dmm_status_free(st);
}

static bool stopped(const struct batch *b)
{
	return b->first_error && !b->o->keep_going;
}

static void progress(const struct batch *b, const struct totals *t,
		     bool tty)
{
	char what[64];

	snprintf(what, sizeof(what), "batch %s", b->group);
	fputs(tty ? "\r" : "", stdout);
	totals_print(t, what, stdout);
	fputs(tty ? "\033[K" : "\n", stdout);
	fflush(stdout);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Until every volume is confirmed or failed, the timeout, or a stop. */
static int follow(struct batch *b)
{
	int64_t start = now_ms(), logged = 0;
	bool tty = isatty(STDOUT_FILENO), all_sync, pending;
	unsigned int i;
	struct totals t;

	for (;;) {
		memset(&t, 0, sizeof(t));
		all_sync = true;
		pending = false;
		for (i = 0; i < b->count && !stopped(b); i++) {
			struct entry *e = &b->e[i];

			if (e->outcome == FAILED)
				continue;
			look(b, e, &t);
			if (e->outcome != PENDING)
				continue;
			if (e->in_sync && !b->o->confirm_at_end)
				confirm_entry(b, e);
			all_sync &= e->in_sync;
			pending |= e->outcome == PENDING;
		}
		if (!json && !quiet &&
		    (tty || now_ms() - logged >= LOG_EVERY_S * 1000)) {
			progress(b, &t, tty);
			logged = now_ms();
		}
		if (stopped(b))
			break;
		/* At the end: every volume in sync before the first cut-over. */
		if (pending && all_sync && b->o->confirm_at_end) {
			for (i = 0; i < b->count && !stopped(b); i++)
				if (b->e[i].outcome == PENDING)
					confirm_entry(b, &b->e[i]);
			continue;
		}
		if (!pending)
			break;
		if (b->o->timeout && now_ms() - start >= (int64_t)b->o->timeout * 1000) {
			b->first_error = b->first_error ?: DMM_ETIMEDOUT;
			fprintf(stderr, "%s: the batch is not done after %lu s; run it again to go on\n",
				prog, b->o->timeout);
			break;
		}
		usleep(POLL_MS * 1000);
	}
	if (tty && !json && !quiet)
		fputc('\n', stdout);
	return b->first_error;
}

static const char *outcome_name(const struct entry *e)
{
	switch (e->outcome) {
	case CONFIRMED:
		return "confirmed";
	case FAILED:
		return "failed";
	default:
		return e->in_sync ? "in-sync" : "migrating";
	}
}

static void summary(const struct batch *b)
{
	unsigned int i, confirmed = 0, failed = 0;
	struct dmm_json *j;

	for (i = 0; i < b->count; i++) {
		confirmed += b->e[i].outcome == CONFIRMED;
		failed += b->e[i].outcome == FAILED;
	}
	if (!json) {
		for (i = 0; i < b->count; i++)
			say("%-24s %-10s %s%s\n", b->e[i].v->name,
			    outcome_name(&b->e[i]), b->e[i].v->dest,
			    b->e[i].already ? " (before this run)" : "");
		say("batch %s: %u confirmed, %u failed, %u left of %u\n",
		    b->group, confirmed, failed, b->count - confirmed - failed,
		    b->count);
		return;
	}
	j = answer();
	dmm_json_str(j, "group", b->group);
	dmm_json_open(j, "volumes", '[');
	for (i = 0; i < b->count; i++) {
		const struct entry *e = &b->e[i];

		dmm_json_open(j, NULL, '{');
		dmm_json_str(j, "name", e->v->name);
		dmm_json_str(j, "dest", e->v->dest);
		dmm_json_str(j, "result", outcome_name(e));
		dmm_json_bool(j, "before_this_run", e->already);
		dmm_json_u64(j, "exit", e->outcome == FAILED ? e->code : 0);
		dmm_json_str(j, "error", e->error);
		dmm_json_close(j, '}');
	}
	dmm_json_close(j, ']');
	dmm_json_u64(j, "confirmed", confirmed);
	dmm_json_u64(j, "failed", failed);
}

/* The group's budget and limit: the command line's, else the plan's, else kept. */
static int set_group(struct batch *b, const struct plan *p)
{
	const struct batch_options *o = b->o;
	unsigned int keep = 0;

	if (!o->rate_set && !p->rate_set)
		keep |= DMM_GROUP_KEEP_RATE;
	if (!o->max_active_set && !p->max_active_set)
		keep |= DMM_GROUP_KEEP_MAX_ACTIVE;
	return fail(b->ctx, dmm_group_set(b->ctx, b->group,
					  o->rate_set ? o->rate : p->rate,
					  o->max_active_set ? o->max_active :
					  p->max_active, keep));
}

int batch_run(struct dmm_ctx *ctx, const char *path,
	      const struct batch_options *o)
{
	struct batch b = { .ctx = ctx, .o = o };
	struct plan p;
	char err[512];
	unsigned int i;
	int r = 0;

	if (plan_read(path, &p, err, sizeof(err)))
		return usage_error("%s", err);
	b.group = o->group ?: p.group;
	if (!b.group) {
		plan_free(&p);
		return usage_error("the plan names no group: give --group G or a 'group G' line");
	}
	b.count = p.count;
	b.e = calloc(p.count, sizeof(*b.e));
	if (!b.e) {
		plan_free(&p);
		return report(DMM_ENOMEM, "out of memory");
	}
	for (i = 0; i < p.count; i++)
		b.e[i].v = &p.volumes[i];
	/* The whole plan is checked before anything changes. */
	for (i = 0; i < b.count && !r; i++)
		r = check_entry(&b, &b.e[i]);
	if (!r)
		r = set_group(&b, &p);
	for (i = 0; i < b.count && !r && !stopped(&b); i++)
		if (b.e[i].outcome == PENDING)
			start_entry(&b, &b.e[i]);
	if (!r)
		r = follow(&b);
	if (!r || b.first_error)
		summary(&b);
	for (i = 0; i < b.count; i++)
		free(b.e[i].error);
	free(b.e);
	plan_free(&p);
	return r;
}
