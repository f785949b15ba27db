// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dmmigrate - move a live block volume to another device.
 *
 * A thin command table over libdmmigrate: parse, call, print. The exit
 * code is the library's error code (see dmmigrate(8)).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "libdmmigrate.h"
#include "json.h"
#include "batch.h"
#include "output.h"
#include "plan.h"
#include "totals.h"

/* Room for a volume's name (at most 100 bytes) and a message. */
#define NAME_LEN	128
#define MESSAGE_LEN	512

enum {
	OPT_JSON	= 1 << 0,
	OPT_WATCH	= 1 << 1,
	OPT_FORCE	= 1 << 2,
	OPT_PAUSED	= 1 << 3,
	OPT_WAIT	= 1 << 4,
	OPT_WIPE	= 1 << 5,
	OPT_METADATA	= 1 << 6,
	OPT_REGION	= 1 << 7,
	OPT_RATE	= 1 << 8,
	OPT_TIMEOUT	= 1 << 9,
	OPT_EXPORT	= 1 << 10,
	OPT_FRESH	= 1 << 11,
	OPT_REPAIR	= 1 << 12,
	OPT_VERIFY	= 1 << 13,
	OPT_BACKGROUND	= 1 << 14,
	OPT_STOP	= 1 << 15,
	OPT_VERBOSE	= 1 << 16,
	OPT_QUIET	= 1 << 17,
	OPT_HELP	= 1 << 18,
	OPT_WINDOW	= 1 << 19,
	OPT_POST_COPY	= 1 << 20,
	OPT_INTERPOSE	= 1 << 21,
	OPT_COLLAPSE	= 1 << 22,
	OPT_KEY_FILE	= 1 << 23,
	OPT_GROUP	= 1 << 24,
	OPT_WEIGHT	= 1 << 25,
	OPT_MAX_ACTIVE	= 1 << 26,
	OPT_CONFIRM_AT_END = 1 << 27,
	OPT_KEEP_GOING	= 1 << 28,
	/* Every command takes these, before or after its name. */
	OPT_GLOBAL	= OPT_JSON | OPT_VERBOSE | OPT_QUIET | OPT_HELP,
};

static const struct option long_options[] = {
	{ "json",		no_argument,		NULL, OPT_JSON },
	{ "watch",		no_argument,		NULL, OPT_WATCH },
	{ "force",		no_argument,		NULL, OPT_FORCE },
	{ "paused",		no_argument,		NULL, OPT_PAUSED },
	{ "wait",		no_argument,		NULL, OPT_WAIT },
	{ "wipe-source",	no_argument,		NULL, OPT_WIPE },
	{ "metadata",		required_argument,	NULL, OPT_METADATA },
	{ "region-size",	required_argument,	NULL, OPT_REGION },
	{ "rate",		required_argument,	NULL, OPT_RATE },
	{ "timeout",		required_argument,	NULL, OPT_TIMEOUT },
	{ "export",		no_argument,		NULL, OPT_EXPORT },
	{ "fresh-metadata",	no_argument,		NULL, OPT_FRESH },
	{ "repair",		no_argument,		NULL, OPT_REPAIR },
	{ "verify",		no_argument,		NULL, OPT_VERIFY },
	{ "background",		no_argument,		NULL, OPT_BACKGROUND },
	{ "stop",		no_argument,		NULL, OPT_STOP },
	{ "verbose",		no_argument,		NULL, OPT_VERBOSE },
	{ "quiet",		no_argument,		NULL, OPT_QUIET },
	{ "help",		no_argument,		NULL, OPT_HELP },
	{ "window",		required_argument,	NULL, OPT_WINDOW },
	{ "post-copy",		no_argument,		NULL, OPT_POST_COPY },
	{ "interpose",		no_argument,		NULL, OPT_INTERPOSE },
	{ "collapse",		no_argument,		NULL, OPT_COLLAPSE },
	{ "key-file",		required_argument,	NULL, OPT_KEY_FILE },
	{ "group",		required_argument,	NULL, OPT_GROUP },
	{ "weight",		required_argument,	NULL, OPT_WEIGHT },
	{ "max-active",		required_argument,	NULL, OPT_MAX_ACTIVE },
	{ "confirm-at-end",	no_argument,		NULL, OPT_CONFIRM_AT_END },
	{ "keep-going",		no_argument,		NULL, OPT_KEEP_GOING },
	{ NULL, 0, NULL, 0 }
};

struct options {
	unsigned int set;		/* OPT_* given */
	const char *metadata;
	const char *key_file;		/* a LUKS passphrase, for a stack move */
	const char *group;		/* a rate group */
	unsigned int weight;
	unsigned int max_active;
	uint64_t region_bytes;
	uint64_t rate;
	uint64_t window_bytes;		/* 0: the target's default */
	unsigned long timeout;		/* seconds */
};

struct command {
	const char *name;
	int (*run)(struct dmm_ctx *ctx, char **args, const struct options *o);
	int min_args;
	int max_args;
	unsigned int options;		/* OPT_* accepted */
	const char *usage;
	const char *help;
};

struct waiter {
	bool watch;
	bool tty;
	void (*print)(const struct dmm_status *st, FILE *out, unsigned int width);
};

/* Called by the library's waits at each event and every second. */
static int on_progress(const struct dmm_status *st, void *data)
{
	struct waiter *w = data;
	struct winsize ws = { .ws_col = 80 };

	if (!w->watch)
		return 0;
	/* A serial console is a tty of 0 columns: keep the default. */
	if (w->tty && (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_col))
		ws.ws_col = 80;
	fputs(w->tty ? "\r" : "", stdout);
	w->print(st, stdout, ws.ws_col);
	fputs(w->tty ? "\033[K" : "\n", stdout);
	fflush(stdout);
	return 0;
}

/* "[###...]  45.0% 12.0 MiB/s verifying": the verify's progress line. */
static void print_verify_progress(const struct dmm_status *st, FILE *out,
				  unsigned int width)
{
	double percent = dmm_status_verify_percent(st);
	unsigned int i, done;
	char rate[32];

	width = width > 50 ? width - 40 : 10;
	done = percent * width / 100;
	fputc('[', out);
	for (i = 0; i < width; i++)
		fputc(i < done ? '#' : '.', out);
	snprintf(rate, sizeof(rate), "%.1f MiB/s",
		 dmm_status_verify_bytes_per_second(st) / 1048576.0);
	fprintf(out, "] %5.1f%% %s %llds left %s, %llu differ", percent, rate,
		(long long)dmm_status_verify_seconds_remaining(st),
		dmm_verify_state_name(dmm_status_verify_state(st)),
		(unsigned long long)dmm_status_verify_differ(st));
}

/*
 * Block in @wait (dmm_wait or dmm_verify_wait) on @name; a @timeout of 0
 * waits for ever. With @watch, a progress line drawn by @print.
 */
static int wait_for(struct dmm_ctx *ctx, const char *name,
		    int (*wait)(struct dmm_ctx *, const char *, unsigned int,
				dmm_progress_fn, void *),
		    unsigned long timeout, bool watch,
		    void (*print)(const struct dmm_status *, FILE *, unsigned int))
{
	struct waiter w = {
		.watch = watch,
		.tty = isatty(STDOUT_FILENO),
		.print = print,
	};
	int r;

	r = wait(ctx, name, timeout * 1000, on_progress, &w);
	if (watch && w.tty)
		fputc('\n', stdout);
	return r;
}

/* Block until @name is in sync; @watch: with a progress line. */
static int wait_volume(struct dmm_ctx *ctx, const char *name,
		       unsigned long timeout, bool watch)
{
	return wait_for(ctx, name, dmm_wait, timeout, watch,
			dmm_status_print_progress);
}

/* Progress while waiting, unasked: for a person at a terminal. */
static bool on_terminal(void)
{
	return isatty(STDOUT_FILENO) && !json && !quiet;
}

/* A command's answer about one volume: its name and what was done. */
static void answer_done(const char *name, const char *result)
{
	if (json) {
		dmm_json_str(answer(), "name", name);
		dmm_json_str(answer(), "result", result);
	}
}

/*
 * The kernel's list of differing regions ("3-5 9 ...") as "ranges":
 * [[3,5],[9,9]] and "ranges_truncated" when it ends in "...".
 */
static void answer_ranges(struct dmm_json *j, char *ranges)
{
	unsigned long long first, last;
	bool truncated = false;
	char *tok, *save;

	dmm_json_open(j, "ranges", '[');
	for (tok = strtok_r(ranges, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		if (!strcmp(tok, "...")) {
			truncated = true;
			continue;
		}
		if (sscanf(tok, "%llu-%llu", &first, &last) != 2)
			last = first = strtoull(tok, NULL, 10);
		dmm_json_open(j, NULL, '[');
		dmm_json_u64(j, NULL, first);
		dmm_json_u64(j, NULL, last);
		dmm_json_close(j, ']');
	}
	dmm_json_close(j, ']');
	dmm_json_bool(j, "ranges_truncated", truncated);
}

/*
 * Run a verify of @name to its end, progress on a terminal, and say what
 * it found: the ranges that differ, in regions and bytes.
 */
static int run_verify(struct dmm_ctx *ctx, const char *name, unsigned int flags,
		      const struct options *o)
{
	struct dmm_status *st;
	struct dmm_json *j;
	char ranges[4096];
	int r;

	r = dmm_verify_start(ctx, name, flags, o->rate);
	if (r || (o->set & OPT_BACKGROUND))
		return r;
	r = wait_for(ctx, name, dmm_verify_wait, o->timeout,
		     on_terminal(), print_verify_progress);
	if (r == DMM_ETIMEDOUT)
		fprintf(stderr, "%s: the verify of %s goes on; stop it with '%s verify %s --stop'\n",
			prog, name, prog, name);
	if ((r && r != DMM_EDIFFER) || dmm_status_get(ctx, name, &st))
		return r;
	say("%s: verify %s: %llu regions compared, %llu differ, %llu repaired\n",
	    name, dmm_verify_state_name(dmm_status_verify_state(st)),
	    (unsigned long long)dmm_status_verify_compared(st),
	    (unsigned long long)dmm_status_verify_differ(st),
	    (unsigned long long)dmm_status_verify_repaired(st));
	if (dmm_verify_ranges(ctx, name, ranges, sizeof(ranges)))
		ranges[0] = '\0';
	if (r == DMM_EDIFFER)
		say("%s: regions that differ: %s\n", name, ranges);
	if (json) {
		j = answer();
		dmm_json_open(j, "verify", '{');
		dmm_json_str(j, "state",
			     dmm_verify_state_name(dmm_status_verify_state(st)));
		dmm_json_u64(j, "regions_compared", dmm_status_verify_compared(st));
		dmm_json_u64(j, "regions_differ", dmm_status_verify_differ(st));
		dmm_json_u64(j, "regions_repaired", dmm_status_verify_repaired(st));
		answer_ranges(j, ranges);
		dmm_json_close(j, '}');
	}
	dmm_status_free(st);
	/* Calls that succeed leave the wait's message for fail() to print. */
	return r;
}

static void answer_swap(struct dmm_ctx *ctx, const char *name,
			const char *done, unsigned int pause_ms)
{
	bool already = dmm_already_done(ctx);

	answer_done(name, already ? "already" : done);
	if (json && already)
		dmm_json_null(answer(), "pause_ms");
	else if (json)
		dmm_json_u64(answer(), "pause_ms", pause_ms);
}

static int cmd_create(struct dmm_ctx *ctx, char **args,
		      const struct options *o)
{
	unsigned int pause_ms = 0;
	int r;

	if ((o->set & OPT_KEY_FILE) && !(o->set & OPT_INTERPOSE))
		return usage_error("--key-file is for create --interpose");
	if (!(o->set & OPT_INTERPOSE)) {
		r = dmm_create(ctx, args[0], args[1]);
		if (r)
			return fail(ctx, r);
		if (dmm_already_done(ctx))
			say("%s: already created over %s\n", args[0], args[1]);
		answer_done(args[0], dmm_already_done(ctx) ? "already" : "created");
		return 0;
	}
	r = dmm_interpose(ctx, args[0], args[1], o->key_file, &pause_ms);
	if (r)
		return fail(ctx, r);
	if (dmm_already_done(ctx))
		say("%s: already under the stack over %s\n", args[0], args[1]);
	else
		say("%s: under the stack over %s (I/O paused %u ms)\n", args[0],
		    args[1], pause_ms);
	answer_swap(ctx, args[0], "interposed", pause_ms);
	return 0;
}

static int cmd_start(struct dmm_ctx *ctx, char **args,
		     const struct options *o)
{
	unsigned int flags = 0;
	bool already;
	int r;

	if ((o->set & OPT_FRESH) && !o->metadata)
		return usage_error("--fresh-metadata needs --metadata DEV");
	if (o->set & OPT_FORCE)
		flags |= DMM_START_FORCE;
	if (o->set & OPT_PAUSED)
		flags |= DMM_START_PAUSED;
	if (o->set & OPT_FRESH)
		flags |= DMM_START_FRESH_METADATA;
	if (o->set & OPT_POST_COPY)
		flags |= DMM_START_POST_COPY;
	if ((o->set & OPT_WEIGHT) && !o->group)
		return usage_error("--weight is for a start in a rate group: give --group G");
	r = dmm_start_group(ctx, args[0], args[1], o->metadata,
			    o->region_bytes, o->rate, o->window_bytes, flags,
			    o->group, o->weight);
	if (r)
		return fail(ctx, r);
	already = dmm_already_done(ctx);
	if (already)
		say("%s: already migrating to %s\n", args[0], args[1]);
	answer_done(args[0], already ? "already" : "started");
	return 0;
}

struct status_walk {
	const struct options *o;
	bool all;	/* a volume removed meanwhile is no error */
	bool opened;	/* the answer's "volumes" array */
	const char *group;	/* only its members, counted in @totals */
	struct totals totals;
};

static int print_volume(struct dmm_ctx *ctx, const char *name, void *data)
{
	struct status_walk *walk = data;
	struct dmm_status *st;
	int r;

	/* udev's export repairs nothing: it runs amid a command's swap. */
	if (walk->o->set & OPT_EXPORT)
		r = dmm_status_read(ctx, name, &st);
	else
		r = dmm_status_get(ctx, name, &st);
	if (r)
		return walk->all && r == DMM_ENODEV ? 0 : r;
	if (walk->group && (dmm_status_state(st) == DMM_STATE_IDLE ||
			    strcmp(dmm_status_group(st), walk->group))) {
		dmm_status_free(st);
		return 0;
	}
	if (walk->group)
		totals_add(&walk->totals, st, 0);
	if (json) {
		if (!walk->opened)
			dmm_json_open(answer(), "volumes", '[');
		walk->opened = true;
		dmm_json_key(answer(), NULL);
		dmm_status_print_json(st, stdout);
	} else if (walk->o->set & OPT_EXPORT) {
		dmm_status_print_export(st, stdout);
	} else {
		dmm_status_print(st, stdout);
	}
	dmm_status_free(st);
	return 0;
}

/*
 * Every volume, or @name alone: in JSON always {"volumes": [...]}, the
 * array written only once a volume was read, so that a failure is an
 * "error", never an empty list.
 */
static int show_volumes(struct dmm_ctx *ctx, const char *name,
			const struct options *o)
{
	struct status_walk walk = { .o = o, .all = !name };
	int r;

	if (name)
		r = print_volume(ctx, name, &walk);
	else
		r = dmm_for_each_volume(ctx, print_volume, &walk);
	if (json && !r && !walk.opened)
		dmm_json_open(answer(), "volumes", '[');
	if (json && (walk.opened || !r))
		dmm_json_close(answer(), ']');
	return fail(ctx, r);
}

/* The members of group @o->group, then the group's totals. */
static int show_group(struct dmm_ctx *ctx, const struct options *o)
{
	struct status_walk walk = { .o = o, .all = true, .group = o->group };
	unsigned int max_active;
	struct dmm_json *j;
	char what[64];
	uint64_t rate;
	int r;

	r = dmm_group_get(ctx, o->group, &rate, &max_active) ?:
	    dmm_for_each_volume(ctx, print_volume, &walk);
	if (r)
		return fail(ctx, r);
	if (!json) {
		snprintf(what, sizeof(what), "group %s", o->group);
		totals_print(&walk.totals, what, stdout);
		printf(" (budget %.1f MiB/s, %u at once)\n", rate / 1048576.0,
		       max_active);
		return 0;
	}
	j = answer();
	if (!walk.opened)
		dmm_json_open(j, "volumes", '[');
	dmm_json_close(j, ']');
	dmm_json_open(j, "group", '{');
	dmm_json_str(j, "name", o->group);
	dmm_json_u64(j, "rate", rate);
	dmm_json_u64(j, "max_active", max_active);
	totals_json(&walk.totals, j);
	dmm_json_close(j, '}');
	return 0;
}

static int cmd_status(struct dmm_ctx *ctx, char **args,
		      const struct options *o)
{
	unsigned int set = o->set & ~(OPT_VERBOSE | OPT_QUIET);

	if (set & OPT_GROUP) {
		if (args[0] || (set & ~(OPT_GROUP | OPT_JSON)))
			return usage_error("--group G takes no NAME and no other option");
		return show_group(ctx, o);
	}

	if ((set & OPT_EXPORT) && (!args[0] || set != OPT_EXPORT))
		return usage_error("--export needs a NAME and no other option");
	if (set & OPT_WATCH) {
		if (!args[0] || json)
			return usage_error("--watch needs a NAME and no --json");
		return fail(ctx, wait_volume(ctx, args[0], 0, true));
	}
	return show_volumes(ctx, args[0], o);
}

static int cmd_wait(struct dmm_ctx *ctx, char **args,
		    const struct options *o)
{
	int r = wait_volume(ctx, args[0], o->timeout, on_terminal());

	if (!r)
		answer_done(args[0], "synced");
	return fail(ctx, r);
}

/* "confirmed"/"aborted" or "already", and how long I/O was paused. */
static int cmd_confirm(struct dmm_ctx *ctx, char **args,
		       const struct options *o)
{
	unsigned int flags = 0, pause_ms = 0;
	int r = 0;

	if (o->set & OPT_WIPE)
		flags |= DMM_CONFIRM_WIPE_SOURCE;
	if ((o->set & OPT_TIMEOUT) && !(o->set & (OPT_WAIT | OPT_VERIFY)))
		return usage_error("--timeout is for confirm --wait or --verify");
	if (o->set & OPT_WAIT)
		r = wait_volume(ctx, args[0], o->timeout, on_terminal());
	/* Proven equal first: a verify that finds a difference refuses. */
	if (!r && (o->set & OPT_VERIFY))
		r = run_verify(ctx, args[0], 0, o);
	if (!r)
		r = dmm_confirm(ctx, args[0], flags, &pause_ms);
	if (r)
		return fail(ctx, r);
	if (dmm_already_done(ctx))
		say("%s: already confirmed, now on the destination%s\n", args[0],
		    o->set & OPT_WIPE ? "; the old source is wiped" : "");
	else
		say("%s: confirmed, now on the destination (I/O paused %u ms)\n",
		    args[0], pause_ms);
	answer_swap(ctx, args[0], "confirmed", pause_ms);
	return 0;
}

static int cmd_abort(struct dmm_ctx *ctx, char **args,
		     const struct options *o)
{
	unsigned int pause_ms = 0;
	int r;

	(void)o;
	r = dmm_abort(ctx, args[0], &pause_ms);
	if (r)
		return fail(ctx, r);
	if (dmm_already_done(ctx))
		say("%s: already aborted, back on the source\n", args[0]);
	else
		say("%s: aborted, back on the source (I/O paused %u ms)\n",
		    args[0], pause_ms);
	answer_swap(ctx, args[0], "aborted", pause_ms);
	return 0;
}

/* A command whose only answer is that it was done. */
static int simple(struct dmm_ctx *ctx, const char *name, int r,
		  const char *done)
{
	if (!r)
		answer_done(name, done);
	return fail(ctx, r);
}

static int cmd_pause(struct dmm_ctx *ctx, char **args,
		     const struct options *o)
{
	(void)o;
	return simple(ctx, args[0], dmm_pause(ctx, args[0]), "paused");
}

/*
 * A command that may be repeated: @r its result; done before, it says
 * "already @already" and answers "already", else @done.
 */
static int repeatable(struct dmm_ctx *ctx, const char *name, int r,
		      const char *already, const char *done)
{
	if (r)
		return fail(ctx, r);
	if (dmm_already_done(ctx))
		say("%s: already %s\n", name, already);
	answer_done(name, dmm_already_done(ctx) ? "already" : done);
	return 0;
}

static int cmd_post_copy(struct dmm_ctx *ctx, char **args,
			 const struct options *o)
{
	(void)o;
	return repeatable(ctx, args[0], dmm_post_copy(ctx, args[0]),
			  "in post-copy", "post-copy");
}

static int cmd_resume(struct dmm_ctx *ctx, char **args,
		      const struct options *o)
{
	(void)o;
	return simple(ctx, args[0], dmm_resume(ctx, args[0]), "resumed");
}

#define RATE_ERROR	"invalid rate '%s': give bytes per second like 10M, 10MiB or 10MiB/s, 0 for unlimited"

static int cmd_rate(struct dmm_ctx *ctx, char **args,
		    const struct options *o)
{
	uint64_t rate;
	int r;

	(void)o;
	if (parse_rate(args[1], &rate))
		return usage_error(RATE_ERROR, args[1]);
	r = simple(ctx, args[0], dmm_set_rate(ctx, args[0], rate), "rate-set");
	if (!r && json)
		dmm_json_u64(answer(), "rate_limit", rate);
	return r;
}

static int cmd_verify(struct dmm_ctx *ctx, char **args,
		      const struct options *o)
{
	unsigned int set = o->set & ~(OPT_VERBOSE | OPT_QUIET | OPT_JSON);
	int r;

	if (set & OPT_STOP) {
		if (set != OPT_STOP)
			return usage_error("--stop takes no other option");
		return simple(ctx, args[0], dmm_verify_stop(ctx, args[0]),
			      "stopped");
	}
	if ((set & OPT_BACKGROUND) && (set & OPT_TIMEOUT))
		return usage_error("--timeout is for a verify waited for, not --background");
	r = run_verify(ctx, args[0], o->set & OPT_REPAIR ? DMM_VERIFY_REPAIR : 0,
		       o);
	if (!r)
		answer_done(args[0], o->set & OPT_BACKGROUND ? "started" : "equal");
	return fail(ctx, r);
}

/*
 * group G [--rate R] [--max-active N] [NAME...]: set the group, then move
 * the NAMEs into it; group - NAME...: take them out of their group.
 */
static int cmd_group(struct dmm_ctx *ctx, char **args,
		     const struct options *o)
{
	bool leave = !strcmp(args[0], "-");
	unsigned int max_active = o->max_active, keep = 0;
	uint64_t rate = o->rate;
	int i, r = 0;

	if (leave && (o->set & (OPT_RATE | OPT_MAX_ACTIVE)))
		return usage_error("group - takes volumes out of their group: no --rate or --max-active");
	if (!args[1] && !(o->set & (OPT_RATE | OPT_MAX_ACTIVE)))
		return usage_error("give --rate, --max-active, or volumes to move into group %s",
				   args[0]);
	if (o->set & (OPT_RATE | OPT_MAX_ACTIVE)) {
		if (!(o->set & OPT_RATE))
			keep |= DMM_GROUP_KEEP_RATE;
		if (!(o->set & OPT_MAX_ACTIVE))
			keep |= DMM_GROUP_KEEP_MAX_ACTIVE;
		r = dmm_group_set(ctx, args[0], rate, max_active, keep) ?:
		    dmm_group_get(ctx, args[0], &rate, &max_active);
		if (r)
			return fail(ctx, r);
		say("group %s: budget %.1f MiB/s, %u at once\n", args[0],
		    rate / 1048576.0, max_active);
	}
	for (i = 1; args[i] && !r; i++) {
		r = dmm_group_join(ctx, args[i], leave ? NULL : args[0]);
		if (!r)
			say("%s: %s %s\n", args[i], leave ? "out of its group" :
			    "in group", leave ? "" : args[0]);
	}
	if (json && !r) {
		dmm_json_str(answer(), "group", leave ? NULL : args[0]);
		if (o->set & (OPT_RATE | OPT_MAX_ACTIVE)) {
			dmm_json_u64(answer(), "rate", rate);
			dmm_json_u64(answer(), "max_active", max_active);
		}
		dmm_json_str(answer(), "result", leave ? "left" : "set");
	}
	return fail(ctx, r);
}

static int cmd_batch(struct dmm_ctx *ctx, char **args,
		     const struct options *o)
{
	struct batch_options bo = {
		.group = o->group,
		.rate_set = o->set & OPT_RATE,
		.rate = o->rate,
		.max_active_set = o->set & OPT_MAX_ACTIVE,
		.max_active = o->max_active,
		.confirm_at_end = o->set & OPT_CONFIRM_AT_END,
		.keep_going = o->set & OPT_KEEP_GOING,
		.timeout = o->timeout,
	};

	return batch_run(ctx, args[0], &bo);
}

static int list_volume(struct dmm_ctx *ctx, const char *name, void *data)
{
	struct dmm_status *st;
	int r;

	(void)data;
	r = dmm_status_get(ctx, name, &st);
	if (r)
		return r == DMM_ENODEV ? 0 : r;	/* removed meanwhile */
	printf("%-24s %-8s %5.1f%%\n", name,
	       dmm_state_name(dmm_status_state(st)), dmm_status_percent(st));
	dmm_status_free(st);
	return 0;
}

/* In JSON, list answers as status does: one shape for both. */
static int cmd_list(struct dmm_ctx *ctx, char **args,
		    const struct options *o)
{
	(void)args;
	if (json)
		return show_volumes(ctx, NULL, o);
	return fail(ctx, dmm_for_each_volume(ctx, list_volume, NULL));
}

static int cmd_remove(struct dmm_ctx *ctx, char **args,
		      const struct options *o)
{
	unsigned int pause_ms = 0;
	int r;

	if ((o->set & OPT_KEY_FILE) && !(o->set & OPT_COLLAPSE))
		return usage_error("--key-file is for remove --collapse");
	if (!(o->set & OPT_COLLAPSE))
		return repeatable(ctx, args[0], dmm_remove(ctx, args[0]),
				  "removed", "removed");
	r = dmm_collapse(ctx, args[0], o->key_file, &pause_ms);
	if (r)
		return fail(ctx, r);
	if (dmm_already_done(ctx))
		say("%s: already removed\n", args[0]);
	else
		say("%s: removed, its holders on its device (I/O paused %u ms)\n",
		    args[0], pause_ms);
	answer_swap(ctx, args[0], "collapsed", pause_ms);
	return 0;
}

/* What monitor last told of a volume. */
struct watched {
	char *name;
	bool present;			/* found in this round */
	enum dmm_state state;
	enum dmm_health health[3];	/* by enum dmm_leg */
	enum dmm_verify_state verify;
	uint64_t step;			/* hundredths of the regions in sync */
};

struct monitor {
	struct watched *vols;
	unsigned int count;
	const char *only;		/* NAME, or NULL for every volume */
	bool started;			/* a first round has been made */
};

static volatile sig_atomic_t monitor_stop;

static void on_stop(int sig)
{
	(void)sig;
	monitor_stop = 1;
}

/* One line: the volume now, and @event, what changed. */
static void monitor_line(const char *name, const struct dmm_status *st,
			 const char *event)
{
	time_t now = time(NULL);
	char when[32];
	struct dmm_json *j;
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	if (!json) {
		if (!st) {
			printf("%s %s removed\n", when, name);
		} else {
			printf("%s %s %s: %s %.1f%%, source %s, destination %s", when,
			       name, event, dmm_state_name(dmm_status_state(st)),
			       dmm_status_percent(st),
			       dmm_health_name(dmm_status_leg_health(st, DMM_LEG_SOURCE)),
			       dmm_health_name(dmm_status_leg_health(st, DMM_LEG_DESTINATION)));
			if (dmm_status_verify_state(st) != DMM_VERIFY_NONE)
				printf(", verify %s",
				       dmm_verify_state_name(dmm_status_verify_state(st)));
			putchar('\n');
		}
		fflush(stdout);
		return;
	}
	/* Each line is a whole answer of its own (JSON lines). */
	answer_opened = false;
	j = answer();
	dmm_json_str(j, "event", event);
	dmm_json_str(j, "time", when);
	dmm_json_str(j, "name", name);
	dmm_json_key(j, "volume");
	if (st)
		dmm_status_print_json(st, stdout);
	else
		fputs("null", stdout);
	dmm_json_close(j, '}');
	fputc('\n', stdout);
	fflush(stdout);
	answer_opened = false;
}

/* The most telling change from @w to @st, or NULL if none. */
static const char *monitor_change(const struct watched *w,
				  const struct dmm_status *st, uint64_t step)
{
	enum dmm_leg leg;

	if (w->state != dmm_status_state(st))
		return "state";
	for (leg = DMM_LEG_SOURCE; leg <= DMM_LEG_METADATA; leg++)
		if (w->health[leg] != dmm_status_leg_health(st, leg))
			return "leg";
	if (w->verify != dmm_status_verify_state(st))
		return "verify";
	return w->step != step ? "progress" : NULL;
}

static int monitor_volume(struct dmm_ctx *ctx, const char *name, void *data)
{
	struct monitor *m = data;
	struct watched *w = NULL, *grown;
	const char *event = "present";
	struct dmm_status *st;
	enum dmm_leg leg;
	uint64_t total, step;
	unsigned int i;
	int r;

	r = dmm_status_get(ctx, name, &st);
	/* Gone: the round says so; NAME not there at the start: an error. */
	if (r)
		return r == DMM_ENODEV && (m->started || !m->only) ? 0 : r;
	for (i = 0; i < m->count && !w; i++)
		if (!strcmp(m->vols[i].name, name))
			w = &m->vols[i];
	if (!w) {
		grown = realloc(m->vols, (m->count + 1) * sizeof(*grown));
		if (!grown || !(grown[m->count].name = strdup(name))) {
			m->vols = grown ? grown : m->vols;
			dmm_status_free(st);
			return -ENOMEM;
		}
		m->vols = grown;
		w = &m->vols[m->count++];
	} else {
		event = NULL;
	}
	total = dmm_status_regions_total(st);
	step = total ? dmm_status_regions_in_sync(st) * 100 / total : 0;
	if (!event)
		event = monitor_change(w, st, step);
	if (event)
		monitor_line(name, st, event);
	w->present = true;
	w->state = dmm_status_state(st);
	for (leg = DMM_LEG_SOURCE; leg <= DMM_LEG_METADATA; leg++)
		w->health[leg] = dmm_status_leg_health(st, leg);
	w->verify = dmm_status_verify_state(st);
	w->step = step;
	dmm_status_free(st);
	return 0;
}

/* Say which volumes went since the last round, and forget them. */
static void monitor_removed(struct monitor *m)
{
	unsigned int i = 0;

	while (i < m->count) {
		if (m->vols[i].present) {
			m->vols[i++].present = false;
			continue;
		}
		monitor_line(m->vols[i].name, NULL, "removed");
		free(m->vols[i].name);
		m->vols[i] = m->vols[--m->count];
	}
}

/*
 * A line per volume at the start, then one per change: a state, a leg's
 * health, the verify, or a hundredth more (or less) in sync. Driven by
 * dm events (the target raises one at each of those), never by a timer.
 * Ends on SIGINT or SIGTERM, at --timeout, or when NAME is removed.
 */
static int cmd_monitor(struct dmm_ctx *ctx, char **args,
		       const struct options *o)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct monitor m = { .only = args[0] };
	time_t deadline = time(NULL) + o->timeout;
	struct pollfd p = { .events = POLLIN };
	int r, wait_ms;

	/* No SA_RESTART: the signal ends the poll, and the loop. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r = dmm_event_fd(ctx, &p.fd);
	while (!r) {
		/* Armed before the statuses are read: no event is missed. */
		r = dmm_event_arm(ctx);
		if (r)
			break;
		if (m.only)
			r = monitor_volume(ctx, m.only, &m);
		else
			r = dmm_for_each_volume(ctx, monitor_volume, &m);
		if (r)
			break;
		m.started = true;
		monitor_removed(&m);
		if (m.only && !m.count)
			break;
		wait_ms = o->timeout ? (int)(deadline - time(NULL)) * 1000 : -1;
		if (monitor_stop || (o->timeout && wait_ms <= 0))
			break;
		if (poll(&p, 1, wait_ms) < 0 && errno != EINTR)
			r = -errno;
	}
	while (m.count)
		free(m.vols[--m.count].name);
	free(m.vols);
	answer_streamed = m.started;
	if (r == -ENOMEM)
		return report(DMM_ENOMEM, "out of memory; free some memory and retry");
	if (r < 0)
		return report(DMM_EDM, "cannot wait for device-mapper events; retry");
	return fail(ctx, r);
}

static void print_activated(const char *name, int result, const char *what,
			    void *data)
{
	unsigned int *count = data;
	struct dmm_json *j;

	if (json) {
		j = answer();
		if (!*count)
			dmm_json_open(j, "volumes", '[');
		dmm_json_open(j, NULL, '{');
		dmm_json_str(j, "name", name);
		dmm_json_str(j, "result", result ? "failed" : "activated");
		dmm_json_str(j, "message", what);
		dmm_json_close(j, '}');
	} else if (result) {
		printf("%s: not activated: %s\n", name, what);
	} else {
		say("%s: %s\n", name, what);
	}
	(*count)++;
}

/* The outcome of one activation, printed once the retries are over. */
struct activated {
	char name[NAME_LEN];
	int result;
	char what[MESSAGE_LEN];
};

static void note_activated(const char *name, int result, const char *what,
			   void *data)
{
	struct activated *a = data;

	snprintf(a->name, sizeof(a->name), "%s", name);
	a->result = result;
	snprintf(a->what, sizeof(a->what), "%s", what);
}

/*
 * The volume recorded on @device, its legs waited for up to @timeout
 * seconds: at boot udev may announce the metadata device before a leg.
 */
static int activate_device(struct dmm_ctx *ctx, const char *device,
			   unsigned long timeout, unsigned int *count)
{
	const struct timespec pause = { 0, 250 * 1000 * 1000 };
	struct timespec start, now;
	struct activated a = { .name = "" };
	int r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		r = dmm_activate_metadata(ctx, device, note_activated, &a);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (r != DMM_ENODEV || !a.name[0] ||
		    (unsigned long)(now.tv_sec - start.tv_sec) >= timeout)
			break;
		nanosleep(&pause, NULL);
	}
	if (a.name[0])
		print_activated(a.name, a.result, a.what, count);
	return r;
}

static int cmd_activate(struct dmm_ctx *ctx, char **args,
			const struct options *o)
{
	unsigned int count = 0;
	int r;

	if (o->metadata && args[0])
		return usage_error("activate takes a NAME or --metadata DEVICE, not both");
	if ((o->set & OPT_TIMEOUT) && !o->metadata)
		return usage_error("--timeout needs --metadata");
	if (o->metadata)
		r = activate_device(ctx, o->metadata, o->timeout, &count);
	else
		r = dmm_activate(ctx, args[0], print_activated, &count);
	if (json && !count)
		dmm_json_open(answer(), "volumes", '[');
	if (json)
		dmm_json_close(answer(), ']');
	if (!r && !count)
		say("no migration to activate\n");
	return fail(ctx, r);
}

/*
 * For udev rules: KEY=value lines naming the volume whose record @device
 * holds, nothing if none; reads two blocks, writes nothing.
 */
static int cmd_probe(struct dmm_ctx *ctx, char **args,
		     const struct options *o)
{
	char name[NAME_LEN];
	const char *state;
	int r;

	if (!(o->set & OPT_EXPORT) || json)
		return usage_error("probe needs --export (and no --json)");
	r = dmm_metadata_probe(ctx, args[0], name, sizeof(name), &state);
	if (!r && name[0])
		printf("DM_MIGRATE_METADATA_VOLUME=%s\nDM_MIGRATE_METADATA_STATE=%s\n",
		       name, state);
	return fail(ctx, r);
}

static const struct command commands[] = {
	{ "create", cmd_create, 2, 2, OPT_INTERPOSE | OPT_KEY_FILE,
	  "NAME DEVICE [--interpose [--key-file FILE]]",
	  "wrap DEVICE as /dev/mapper/NAME, ready to migrate; --interpose: under the dm stack that holds it" },
	{ "start", cmd_start, 2, 2,
	  OPT_METADATA | OPT_FRESH | OPT_REGION | OPT_RATE | OPT_FORCE |
	  OPT_PAUSED | OPT_WINDOW | OPT_POST_COPY | OPT_GROUP | OPT_WEIGHT,
	  "NAME DEST [--metadata DEV [--fresh-metadata] [--window SIZE] [--post-copy]] [--region-size SIZE] [--rate RATE] [--group G [--weight W]] [--force] [--paused]",
	  "start copying volume NAME to DEST" },
	{ "status", cmd_status, 0, 1, OPT_WATCH | OPT_EXPORT | OPT_GROUP,
	  "[NAME] [--watch] [--export] | --group G",
	  "show progress and leg health (--export: udev KEY=value; --group: a rate group's members and totals)" },
	{ "group", cmd_group, 1, 64, OPT_RATE | OPT_MAX_ACTIVE,
	  "G [--rate RATE] [--max-active N] [NAME...] | - NAME...",
	  "set rate group G's copy budget and how many of it copy at once; move running migrations into it (-: out)" },
	{ "batch", cmd_batch, 1, 1,
	  OPT_GROUP | OPT_RATE | OPT_MAX_ACTIVE | OPT_CONFIRM_AT_END |
	  OPT_KEEP_GOING | OPT_TIMEOUT,
	  "PLAN [--group G] [--rate RATE] [--max-active N] [--confirm-at-end] [--keep-going] [--timeout SECONDS]",
	  "migrate and confirm every volume of PLAN under one rate group; run again to pick up" },
	{ "wait", cmd_wait, 1, 1, OPT_TIMEOUT, "NAME [--timeout SECONDS]",
	  "until in sync (0) or a failure (non-zero)" },
	{ "confirm", cmd_confirm, 1, 1,
	  OPT_WAIT | OPT_WIPE | OPT_VERIFY | OPT_TIMEOUT,
	  "NAME [--wait [--timeout SECONDS]] [--verify] [--wipe-source]",
	  "cut over to the destination (--verify: only if a verify finds it equal)" },
	{ "verify", cmd_verify, 1, 1,
	  OPT_REPAIR | OPT_RATE | OPT_TIMEOUT | OPT_BACKGROUND | OPT_STOP,
	  "NAME [--repair] [--rate RATE] [--timeout SECONDS] [--background] | NAME --stop",
	  "compare the regions in sync on both legs: 0 equal, 10 differ" },
	{ "abort", cmd_abort, 1, 1, 0, "NAME",
	  "roll back to the source (post-copy: until the destination's first write)" },
	{ "post-copy", cmd_post_copy, 1, 1, 0, "NAME",
	  "switch to post-copy for good: the destination serves, the source is only read" },
	{ "pause", cmd_pause, 1, 1, 0, "NAME", "pause the copy" },
	{ "resume", cmd_resume, 1, 1, 0, "NAME", "resume the copy" },
	{ "rate", cmd_rate, 2, 2, 0, "NAME RATE",
	  "change the copy rate (bytes/s, 0 = unlimited)" },
	{ "monitor", cmd_monitor, 0, 1, OPT_TIMEOUT, "[NAME] [--timeout SECONDS]",
	  "a line per change of state, leg health, verify or progress, from dm events" },
	{ "list", cmd_list, 0, 0, 0, "", "list volumes and their state" },
	{ "remove", cmd_remove, 1, 1, OPT_COLLAPSE | OPT_KEY_FILE,
	  "NAME [--collapse [--key-file FILE]]",
	  "remove an idle volume; --collapse: its holders onto its device first" },
	{ "activate", cmd_activate, 0, 1, OPT_METADATA | OPT_TIMEOUT,
	  "[NAME] | --metadata DEVICE [--timeout SECONDS]",
	  "after a reboot: bring back the volumes recorded on metadata devices" },
	{ "probe", cmd_probe, 1, 1, OPT_EXPORT, "DEVICE --export",
	  "for udev: the volume recorded on DEVICE, as KEY=value" },
};

#define NR_COMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void print_help(void)
{
	unsigned int i;

	printf("Usage: %s [-v|-q] [--json] COMMAND [ARGS]\n\n", prog);
	for (i = 0; i < NR_COMMANDS; i++)
		printf("  %s %s\n      %s\n", commands[i].name,
		       commands[i].usage, commands[i].help);
	printf("\nEvery command takes, before or after its name: -v (--verbose), -q\n"
	       "(--quiet: no message on success), --json (one JSON object on stdout,\n"
	       "errors included) and -h (--help: that command's usage).\n"
	       "Sizes and rates take K, M, G, T or KiB, MiB, GiB, TiB (powers of\n"
	       "1024); rates may end in /s.\n"
	       "Exit codes: 0 ok, 1 usage, 2 permission, 3 memory, 4 no device,\n"
	       "5 busy/exists, 6 refused by state, 7 leg failed, 8 timeout,\n"
	       "9 kernel target or device-mapper failure, 10 verify found a\n"
	       "difference. See dmmigrate(8).\n");
}

static void print_command_help(const struct command *cmd)
{
	printf("Usage: %s %s %s\n  %s\n\nSee '%s --help' for the options of every command and\n"
	       "dmmigrate(8) for the details.\n", prog, cmd->name, cmd->usage,
	       cmd->help, prog);
}

static int parse_value(int opt, const char *arg, struct options *o)
{
	char *end;

	switch (opt) {
	case OPT_METADATA:
		o->metadata = arg;
		return 0;
	case OPT_KEY_FILE:
		/* Refused before anything is changed, not when first needed. */
		if (strcmp(arg, "-") && access(arg, R_OK))
			return usage_error("cannot read the key file %s: %s", arg,
					   strerror(errno));
		o->key_file = arg;
		return 0;
	case OPT_REGION:
		if (dmm_parse_size(arg, &o->region_bytes))
			return usage_error("invalid region size '%s': give a power of two like 512K",
					   arg);
		return 0;
	case OPT_RATE:
		if (parse_rate(arg, &o->rate))
			return usage_error(RATE_ERROR, arg);
		return 0;
	case OPT_WINDOW:
		if (dmm_parse_size(arg, &o->window_bytes) || !o->window_bytes)
			return usage_error("invalid window '%s': give a size like 2G",
					   arg);
		return 0;
	case OPT_GROUP:
		o->group = arg;
		return 0;
	case OPT_WEIGHT:
		if (parse_count(arg, 1, DMM_WEIGHT_MAX, &o->weight))
			return usage_error("invalid weight '%s': give 1 to %u", arg,
					   DMM_WEIGHT_MAX);
		return 0;
	case OPT_MAX_ACTIVE:
		if (parse_count(arg, 0, DMM_GROUP_MAX_ACTIVE, &o->max_active))
			return usage_error("invalid max-active '%s': give 0 to %u",
					   arg, DMM_GROUP_MAX_ACTIVE);
		return 0;
	case OPT_TIMEOUT:
		errno = 0;
		o->timeout = strtoul(arg, &end, 10);
		if (errno || *end || !*arg || *arg == '-' || !o->timeout ||
		    o->timeout > UINT_MAX / 1000)
			return usage_error("invalid timeout '%s': give a whole number of seconds, at most 49 days",
					   arg);
		return 0;
	}
	return 0;
}

/* getopt's answer for a short option as the OPT_* it stands for. */
static int short_option(int opt)
{
	switch (opt) {
	case 'v':
		return OPT_VERBOSE;
	case 'q':
		return OPT_QUIET;
	case 'h':
		return OPT_HELP;
	}
	return opt;
}

static int run_command(struct dmm_ctx *ctx, const struct command *cmd,
		       int argc, char **argv)
{
	struct options o = { .region_bytes = DMM_DEFAULT_REGION_BYTES };
	int opt, nargs, r;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":vqh", long_options, NULL)) != -1) {
		opt = short_option(opt);
		if (opt == '?')
			return usage_error("unknown option '%s' for %s",
					   argv[optind - 1], cmd->name);
		if (opt == ':')
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]);
		if (!((cmd->options | OPT_GLOBAL) & opt))
			return usage_error("option '%s' is not valid for %s",
					   argv[optind - 1], cmd->name);
		o.set |= opt;
		r = parse_value(opt, optarg, &o);
		if (r)
			return r;
	}
	verbose |= o.set & OPT_VERBOSE;
	quiet |= o.set & OPT_QUIET;
	if (verbose && quiet)
		return usage_error("-v and -q do not go together");
	if (o.set & OPT_HELP) {
		json = false;	/* help is for people */
		print_command_help(cmd);
		return 0;
	}

	nargs = argc - optind;
	if (nargs < cmd->min_args || nargs > cmd->max_args)
		return usage_error("wrong number of arguments: usage: %s %s %s",
				   prog, cmd->name, cmd->usage);
	/* argv is NULL terminated, so an optional missing arg reads NULL. */
	return cmd->run(ctx, argv + optind, &o);
}

int main(int argc, char **argv)
{
	struct dmm_ctx *ctx;
	unsigned int i;
	int r, first = 1;

	/* Known before any message, so that every error is in the answer. */
	for (i = 1; i < (unsigned int)argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			json = true;

	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "-v") ||
		    !strcmp(argv[first], "--verbose")) {
			verbose = true;
		} else if (!strcmp(argv[first], "-q") ||
			   !strcmp(argv[first], "--quiet")) {
			quiet = true;
		} else if (!strcmp(argv[first], "--json")) {
			continue;
		} else if (!strcmp(argv[first], "-h") ||
			   !strcmp(argv[first], "--help")) {
			print_help();
			return 0;
		} else if (!strcmp(argv[first], "--version")) {
			printf("%s %s\n", prog, dmm_version());
			return 0;
		} else {
			return finish(usage_error("unknown option '%s'", argv[first]));
		}
	}
	if (first == argc)
		return finish(usage_error("no command given"));

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(argv[first], commands[i].name))
			break;
	if (i == NR_COMMANDS)
		return finish(usage_error("unknown command '%s'", argv[first]));
	json_command = commands[i].name;

	if (dmm_ctx_new(&ctx))
		return finish(report(DMM_ENOMEM,
				     "out of memory; free some memory and retry"));
	dmm_set_log_fn(ctx, log_stderr, NULL);
	r = run_command(ctx, &commands[i], argc - first, argv + first);
	dmm_ctx_free(ctx);
	return finish(r);
}
