// SPDX-License-Identifier: GPL-2.0-only
/*
 * Table line, feature arguments and messages of the migrate target, and the
 * state it reports. Kept apart from the I/O paths so KUnit can drive every
 * bad input through them.
 */
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/stringify.h>
#include <linux/string.h>

#include "dm-migrate-args.h"
#include "dm-migrate-pace.h"
#include "dm-migrate-window.h"

int migrate_parse_region_size(const char *arg, unsigned int *shift,
			      char **error)
{
	unsigned int sectors;

	if (kstrtouint(arg, 10, &sectors)) {
		*error = "Invalid region size";
		return -EINVAL;
	}
	if (!is_power_of_2(sectors)) {
		*error = "Region size is not a power of two";
		return -EINVAL;
	}
	if (sectors < (1U << MIGRATE_MIN_REGION_SHIFT) ||
	    sectors > (1U << MIGRATE_MAX_REGION_SHIFT)) {
		*error = "Region size out of range (8 to 2097152 sectors)";
		return -EINVAL;
	}
	*shift = ilog2(sectors);
	return 0;
}

static int parse_u64(const char *arg, u64 *val)
{
	return arg && !kstrtou64(arg, 10, val) ? 0 : -EINVAL;
}

static bool valid_group_name(const char *name)
{
	size_t len = strlen(name);

	if (!len || len > MIGRATE_GROUP_NAME_MAX || !strcmp(name, "-"))
		return false;
	for (; *name; name++)
		if (!isalnum(*name) && !strchr("._-", *name))
			return false;
	return true;
}

#define GROUP_ERROR "Invalid group: <name> <bytes per second> <members copying at once> " \
	"expected; a name of 1 to " __stringify(MIGRATE_GROUP_NAME_MAX) \
	" letters, digits, '.', '_' or '-', a count up to " \
	__stringify(MIGRATE_GROUP_MAX_ACTIVE)

#define GROUP_USAGE "usage: group <name> <bytes per second> <members copying at once> | group -"

/* <name> <rate> <max_active>, from @argv. */
static int parse_group(char **argv, struct migrate_group_args *g)
{
	if (!valid_group_name(argv[0]) || parse_u64(argv[1], &g->rate) ||
	    kstrtouint(argv[2], 10, &g->max_active) ||
	    g->max_active > MIGRATE_GROUP_MAX_ACTIVE)
		return -EINVAL;
	g->name = argv[0];
	return 0;
}

/* A tuning feature's value: once, a number from @min to @max. */
static int parse_tunable(struct dm_arg_set *as, unsigned int *argc,
			 unsigned int *val, unsigned int min, unsigned int max,
			 const char *bad, char **error)
{
	if (!*val && *argc && !kstrtouint(dm_shift_arg(as), 10, val) &&
	    *val >= min && *val <= max) {
		(*argc)--;
		return 0;
	}
	*error = (char *)bad;
	return -EINVAL;
}

int migrate_parse_features(struct dm_arg_set *as, struct migrate_features *f,
			   char **error)
{
	static const struct dm_arg args = {
		0, 19, "Invalid number of feature arguments"
	};
	bool have_rate = false;
	unsigned int argc;
	const char *arg;
	int r;

	memset(f, 0, sizeof(*f));
	if (!as->argc)
		return 0;

	r = dm_read_arg_group(&args, as, &argc, error);
	if (r)
		return r;

	while (argc) {
		arg = dm_shift_arg(as);
		argc--;

		if (!strcasecmp(arg, "paused") && !f->paused) {
			f->paused = true;
		} else if (!strcasecmp(arg, "fresh") && !f->fresh) {
			f->fresh = true;
		} else if (!strcasecmp(arg, "post_copy") && !f->post_copy) {
			f->post_copy = true;
		} else if (!strcasecmp(arg, "pair_id") && !f->pair_id) {
			f->pair_id = argc ? dm_shift_arg(as) : NULL;
			if (!f->pair_id || !*f->pair_id ||
			    strlen(f->pair_id) > MIGRATE_PAIR_ID_MAX) {
				*error = "Invalid pair_id: 1 to 63 characters expected";
				return -EINVAL;
			}
			argc--;
		} else if (!strcasecmp(arg, "window")) {
			r = parse_tunable(as, &argc, &f->window, MIGRATE_WINDOW_MIN,
					  MIGRATE_WINDOW_MAX,
					  "Invalid or repeated window: "
					  __stringify(MIGRATE_WINDOW_MIN) " to "
					  __stringify(MIGRATE_WINDOW_MAX) " regions expected",
					  error);
		} else if (!strcasecmp(arg, "copy_jobs")) {
			r = parse_tunable(as, &argc, &f->copy_jobs, 1,
					  MIGRATE_MAX_COPY_JOBS,
					  "Invalid or repeated copy_jobs: 1 to "
					  __stringify(MIGRATE_MAX_COPY_JOBS) " expected",
					  error);
		} else if (!strcasecmp(arg, "commit_period")) {
			r = parse_tunable(as, &argc, &f->commit_period_ms,
					  MIGRATE_MIN_COMMIT_PERIOD_MS,
					  MIGRATE_MAX_COMMIT_PERIOD_MS,
					  "Invalid or repeated commit_period: "
					  __stringify(MIGRATE_MIN_COMMIT_PERIOD_MS) " to "
					  __stringify(MIGRATE_MAX_COMMIT_PERIOD_MS)
					  " milliseconds expected", error);
		} else if (!strcasecmp(arg, "weight")) {
			r = parse_tunable(as, &argc, &f->weight, 1, MIGRATE_WEIGHT_MAX,
					  "Invalid or repeated weight: 1 to "
					  __stringify(MIGRATE_WEIGHT_MAX) " expected", error);
		} else if (!strcasecmp(arg, "group") && !f->group.name) {
			if (argc < 3 || parse_group(as->argv, &f->group)) {
				*error = GROUP_ERROR;
				return -EINVAL;
			}
			dm_consume_args(as, 3);
			argc -= 3;
		} else if (!strcasecmp(arg, "rate") && !have_rate) {
			if (!argc || parse_u64(dm_shift_arg(as), &f->rate)) {
				*error = "Invalid rate: bytes per second expected";
				return -EINVAL;
			}
			argc--;
			have_rate = true;
		} else {
			*error = "Unknown or repeated feature argument";
			return -EINVAL;
		}
		if (r)
			return r;
	}

	if (as->argc) {
		*error = "Unexpected arguments after the feature arguments";
		return -EINVAL;
	}
	return 0;
}

#define VERIFY_USAGE "usage: verify [repair] [rate <bytes per second>] | verify stop | verify report"

static int parse_verify(unsigned int argc, char **argv, struct migrate_msg *msg,
			char **error)
{
	bool have_rate = false;

	if (argc == 1 && !strcasecmp(argv[0], "stop")) {
		msg->type = MIGRATE_MSG_VERIFY_STOP;
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "report")) {
		msg->type = MIGRATE_MSG_VERIFY_REPORT;
		return 0;
	}
	msg->type = MIGRATE_MSG_VERIFY;
	msg->repair = false;
	msg->rate = 0;
	for (; argc; argc--, argv++) {
		if (!strcasecmp(argv[0], "repair") && !msg->repair) {
			msg->repair = true;
		} else if (!strcasecmp(argv[0], "rate") && !have_rate && argc > 1 &&
			   !parse_u64(argv[1], &msg->rate)) {
			have_rate = true;
			argc--;
			argv++;
		} else {
			*error = VERIFY_USAGE;
			return -EINVAL;
		}
	}
	return 0;
}

int migrate_parse_message(unsigned int argc, char **argv,
			  struct migrate_msg *msg, char **error)
{
	if (argc == 1 && !strcasecmp(argv[0], "pause")) {
		msg->type = MIGRATE_MSG_PAUSE;
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "resume")) {
		msg->type = MIGRATE_MSG_RESUME;
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "post_copy")) {
		msg->type = MIGRATE_MSG_POST_COPY;
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "cutover")) {
		msg->type = MIGRATE_MSG_CUTOVER;
		return 0;
	}
	if (argc >= 1 && !strcasecmp(argv[0], "rate")) {
		if (argc != 2 || parse_u64(argv[1], &msg->rate)) {
			*error = "usage: rate <bytes per second>";
			return -EINVAL;
		}
		msg->type = MIGRATE_MSG_RATE;
		return 0;
	}
	if (argc >= 1 && !strcasecmp(argv[0], "group")) {
		msg->type = MIGRATE_MSG_GROUP;
		memset(&msg->group, 0, sizeof(msg->group));
		if (argc == 2 && !strcmp(argv[1], "-"))
			return 0;
		if (argc != 4 || parse_group(argv + 1, &msg->group)) {
			*error = GROUP_USAGE;
			return -EINVAL;
		}
		return 0;
	}
	if (argc >= 1 && !strcasecmp(argv[0], "verify"))
		return parse_verify(argc - 1, argv + 1, msg, error);
	*error = "unknown message";
	return -EINVAL;
}

enum migrate_state migrate_state_of(const struct migrate_health *h)
{
	/*
	 * A failed destination stops the copy for good; a failed source only
	 * matters while some region still has to be read from it, because once
	 * every region is in sync the destination holds every write. With
	 * only regions lost to read errors left, the copy cannot go on either.
	 */
	if (h->dest_failed || (h->source_failed && !h->all_in_sync) ||
	    h->only_lost_left)
		return MIGRATE_HALTED;
	if (h->all_in_sync)
		return MIGRATE_SYNCED;
	if (h->paused)
		return MIGRATE_PAUSED;
	return h->queued ? MIGRATE_QUEUED : MIGRATE_COPYING;
}

const char *migrate_state_name(enum migrate_state state)
{
	static const char * const names[] = {
		[MIGRATE_COPYING] = "copying",
		[MIGRATE_PAUSED] = "paused",
		[MIGRATE_SYNCED] = "synced",
		[MIGRATE_HALTED] = "halted",
		[MIGRATE_QUEUED] = "queued",
	};

	return names[state];
}
