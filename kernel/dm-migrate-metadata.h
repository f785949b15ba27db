/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The metadata device of a migration: a superblock and the in-sync bitmap,
 * so that a migration resumes after a crash copying only what may differ.
 * The format is in Documentation/dm-migrate-metadata.rst.
 *
 * All functions may sleep (they do I/O) except migrate_md_block_changed().
 */
#ifndef DM_MIGRATE_METADATA_H
#define DM_MIGRATE_METADATA_H

#include <linux/blkdev.h>

#include "dm-migrate-region.h"

#define MIGRATE_MD_BLOCK_SIZE		4096
#define MIGRATE_MD_PAIR_ID_LEN		64
#define MIGRATE_MD_REGIONS_PER_BLOCK	((MIGRATE_MD_BLOCK_SIZE - 16) * 8)

struct migrate_metadata;

struct migrate_md_params {
	struct block_device *bdev;
	const struct region_geometry *geo;
	const char *pair_id;		/* "" if none */
	unsigned int window;		/* write-intent window, in regions */
	bool fresh;			/* format whatever the device holds */
};

/*
 * Open the metadata device: load a matching migration into @map, format a
 * blank device (or any with @fresh), refuse anything else with *error set.
 */
struct migrate_metadata *migrate_md_open(const struct migrate_md_params *p,
					 struct region_map *map, char **error);
void migrate_md_close(struct migrate_metadata *md);

/* The bitmap block of @region must be written at the next commit. Never sleeps. */
void migrate_md_region_changed(struct migrate_metadata *md, region_t region);

/*
 * Fills @bits (MIGRATE_MD_REGIONS_PER_BLOCK bits, the tail past the last
 * region zeroed by the caller) with the on-disk state of @count regions from
 * @first: in sync and outside the write-intent window.
 */
typedef void (*migrate_md_fill_fn)(void *context, region_t first,
				   region_t count, unsigned long *bits);

/*
 * Write the changed bitmap blocks, as @fill says, then the superblock, and
 * make them durable. The caller flushes the legs first when bits are set.
 * Returns 0 or a negative errno.
 */
int migrate_md_commit(struct migrate_metadata *md, migrate_md_fill_fn fill,
		      void *context);

/* Whether any bitmap block waits for a commit. Never sleeps. */
bool migrate_md_dirty(struct migrate_metadata *md);

#endif
