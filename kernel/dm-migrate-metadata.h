/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The metadata device of a migration: a superblock and the in-sync bitmap,
 * so that a migration resumes after a crash copying only what may differ.
 * The format is in Documentation/dm-migrate-metadata.rst.
 *
 * All functions may sleep (they do I/O) except migrate_meta_block_changed().
 */
#ifndef DM_MIGRATE_METADATA_H
#define DM_MIGRATE_METADATA_H

#include <linux/blkdev.h>

#include "dm-migrate-region.h"

#define MIGRATE_META_BLOCK_SIZE		4096
#define MIGRATE_META_PAIR_ID_LEN		64
#define MIGRATE_META_REGIONS_PER_BLOCK	((MIGRATE_META_BLOCK_SIZE - 16) * 8)

struct migrate_metadata;

struct migrate_meta_params {
	struct block_device *bdev;
	const struct migrate_geometry *geo;
	const char *pair_id;		/* "" if none */
	unsigned int window;		/* write-intent window, in regions */
	bool fresh;			/* format whatever the device holds */
};

/*
 * Open the metadata device: load a matching migration into @map, format a
 * blank device (or any with @fresh), refuse anything else with *error set.
 */
struct migrate_metadata *migrate_meta_open(const struct migrate_meta_params *p,
					   struct migrate_sync_map *map, char **error);
void migrate_meta_close(struct migrate_metadata *meta);

/* The bitmap block of @region must be written at the next commit. Never sleeps. */
void migrate_meta_region_changed(struct migrate_metadata *meta, migrate_region_t region);

/*
 * Fills @bits (MIGRATE_META_REGIONS_PER_BLOCK bits, the tail past the last
 * region zeroed by the caller) with the on-disk state of @count regions from
 * @first: in sync and outside the write-intent window.
 */
typedef void (*migrate_meta_fill_fn)(void *context, migrate_region_t first,
				   migrate_region_t count, unsigned long *bits);

/*
 * Write the changed bitmap blocks, as @fill says, then the superblock, and
 * make them durable. The caller flushes the legs first when bits are set.
 * Returns 0 or a negative errno.
 */
int migrate_meta_commit(struct migrate_metadata *meta, migrate_meta_fill_fn fill,
			void *context);

/* Whether any bitmap block waits for a commit. Never sleeps. */
bool migrate_meta_dirty(struct migrate_metadata *meta);

#endif
