/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Parsing of the migrate target's table arguments and messages, and the
 * state the target reports. Pure functions: no device is touched, nothing
 * sleeps, and on failure nothing is changed and *error says why.
 */
#ifndef DM_MIGRATE_ARGS_H
#define DM_MIGRATE_ARGS_H

#include <linux/device-mapper.h>
#include <linux/types.h>

#define MIGRATE_MIN_REGION_SHIFT 3	/* 4 KiB: no leg's logical block is larger */
#define MIGRATE_MAX_REGION_SHIFT 21	/* 1 GiB */

#define MIGRATE_PAIR_ID_MAX 63

/* Bounds of the tuning features; 0 in migrate_features: the default. */
#define MIGRATE_MAX_COPY_JOBS		16
#define MIGRATE_MIN_COMMIT_PERIOD_MS	10
#define MIGRATE_MAX_COMMIT_PERIOD_MS	60000

/* A rate group's name: letters, digits, '.', '_' and '-', not "-" alone. */
#define MIGRATE_GROUP_NAME_MAX		32
#define MIGRATE_GROUP_MAX_ACTIVE	65535

struct migrate_features {
	bool paused;
	bool fresh;		/* format the metadata device */
	bool post_copy;		/* the destination serves from the start */
	u64 rate;		/* bytes per second, 0 = unlimited */
	const char *pair_id;	/* points into the table line; NULL if none */
	unsigned int window;	/* write-intent window, regions */
	unsigned int copy_jobs;	/* regions copied at once */
	unsigned int commit_period_ms;
	unsigned int weight;	/* in the rate group, 0: the default, 1 */
	struct migrate_group_args {
		const char *name;	/* points into the table line; NULL if none */
		u64 rate;		/* the group's budget, bytes/s, 0 = unlimited */
		unsigned int max_active; /* members copying at once, 0 = any */
	} group;
};

enum migrate_msg_type {
	MIGRATE_MSG_PAUSE,
	MIGRATE_MSG_RESUME,
	MIGRATE_MSG_RATE,
	MIGRATE_MSG_VERIFY,		/* verify [repair] [rate <bytes/s>] */
	MIGRATE_MSG_VERIFY_STOP,	/* verify stop */
	MIGRATE_MSG_VERIFY_REPORT,	/* verify report: the ranges that differ */
	MIGRATE_MSG_CUTOVER,		/* the next suspend is a confirm's or an abort's */
	MIGRATE_MSG_POST_COPY,		/* switch to post-copy, for good */
	MIGRATE_MSG_GROUP,		/* group <name> <rate> <max_active> | group - */
};

struct migrate_msg {
	enum migrate_msg_type type;
	u64 rate;		/* rate, and verify's own (0 = unlimited) */
	bool repair;		/* verify: copy differing regions again */
	struct migrate_group_args group;	/* group: name NULL to leave */
};

int migrate_parse_region_size(const char *arg, unsigned int *shift,
			      char **error);
int migrate_parse_features(struct dm_arg_set *as, struct migrate_features *f,
			   char **error);
int migrate_parse_message(unsigned int argc, char **argv,
			  struct migrate_msg *msg, char **error);

/* What the copy is doing, in the order status reports take precedence. */
enum migrate_state {
	MIGRATE_COPYING,
	MIGRATE_PAUSED,
	MIGRATE_SYNCED,
	MIGRATE_HALTED,
	MIGRATE_QUEUED,		/* in a rate group, waiting for a member to finish */
};

struct migrate_health {
	bool all_in_sync;
	bool paused;
	bool source_failed;
	bool dest_failed;
	bool only_lost_left;	/* post-copy: every region left is lost */
	bool queued;		/* no copy slot of its rate group */
};

enum migrate_state migrate_state_of(const struct migrate_health *h);
const char *migrate_state_name(enum migrate_state state);

#endif
