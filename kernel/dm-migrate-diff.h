/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The bookkeeping of an online verify: how far it has gone, which regions
 * it found to differ between the legs, and those as ranges for userspace.
 * Pure: no device is touched, nothing locks (the target serialises every
 * call under its lock) and only migrate_diff_init() and migrate_diff_exit()
 * sleep.
 */
#ifndef DM_MIGRATE_DIFF_H
#define DM_MIGRATE_DIFF_H

#include <linux/types.h>

#include "dm-migrate-region.h"

/* What a verify is doing, or how its last run ended. */
enum migrate_verify_state {
	MIGRATE_VERIFY_NONE,		/* never started on this table */
	MIGRATE_VERIFY_RUNNING,
	MIGRATE_VERIFY_EQUAL,		/* ended: every region compared was equal */
	MIGRATE_VERIFY_DIFFER,		/* ended: some region differed */
	MIGRATE_VERIFY_STOPPED,		/* stopped by a message */
	MIGRATE_VERIFY_FAILED,		/* a leg failed: could not compare */
};

struct migrate_diff {
	migrate_region_t nr_regions;
	unsigned long *bits;		/* regions found to differ */
	migrate_region_t done;		/* regions passed: compared or skipped */
	migrate_region_t compared;	/* in sync, read from both legs */
	migrate_region_t differ;
	migrate_region_t repaired;	/* of those, written again from the source */
	u64 bytes;			/* compared, per leg */
};

/* May sleep. Returns 0 or -ENOMEM. */
int migrate_diff_init(struct migrate_diff *d, migrate_region_t nr_regions);
void migrate_diff_exit(struct migrate_diff *d);

/* A verify starts over: nothing compared, nothing found. */
void migrate_diff_reset(struct migrate_diff *d);

/* @count regions were passed: not in sync, so nothing to compare yet. */
void migrate_diff_skip(struct migrate_diff *d, migrate_region_t count);

/* @region of @bytes was compared; it @differs, and was @repaired. */
void migrate_diff_record(struct migrate_diff *d, migrate_region_t region,
			 u64 bytes, bool differs, bool repaired);

/*
 * Write the regions found to differ to @buf of @len bytes as ranges of
 * region numbers, "first-last" or "region", space separated, in order,
 * NUL-terminated. When they do not fit, as many as fit are followed by
 * " ..." (there is room for it). Returns the length written.
 */
unsigned int migrate_diff_ranges(const struct migrate_diff *d, char *buf,
				 unsigned int len);

const char *migrate_verify_state_name(enum migrate_verify_state state);

#endif
