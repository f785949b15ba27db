/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A batch plan: the volumes to move under one rate group (plan.c). */
#ifndef DMMIGRATE_PLAN_H
#define DMMIGRATE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct plan_volume {
	char *name;
	char *dest;
	char *metadata;			/* NULL: none */
	uint64_t region_bytes;
	uint64_t rate;			/* the volume's own limit, 0: none */
	uint64_t window_bytes;		/* 0: the target's default */
	unsigned int weight;		/* 0: the default */
	unsigned int flags;		/* DMM_START_POST_COPY */
};

struct plan {
	char *group;			/* NULL: not in the plan */
	bool rate_set, max_active_set;
	uint64_t rate;
	unsigned int max_active;
	struct plan_volume *volumes;
	unsigned int count;
};

/* Rates as status prints them, maybe ending in "/s": 100MiB/s. */
int parse_rate(const char *arg, uint64_t *rate);
/* A whole number from @min to @max; 0 or DMM_EUSAGE. */
int parse_count(const char *arg, unsigned int min, unsigned int max,
		unsigned int *val);

/*
 * Read the plan in @path ("-": stdin): a JSON document, or lines of
 * "NAME DEST [options]" after an optional "group G [--rate R]
 * [--max-active N]". 0, or -1 with what is wrong (file and line) in @err.
 */
int plan_read(const char *path, struct plan *p, char *err, size_t len);
void plan_free(struct plan *p);

#endif
