/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The metadata device of a migration: a superblock and the in-sync bitmap,
 * so that a migration resumes after a crash copying only what may differ.
 * The format is in Documentation/dm-migrate-metadata.rst.
 *
 * All functions may sleep (they do I/O) except migrate_meta_region_changed()
 * and migrate_meta_dirty().
 */
#ifndef DM_MIGRATE_METADATA_H
#define DM_MIGRATE_METADATA_H

#include <linux/blkdev.h>

#include "dm-migrate-region.h"

#define MIGRATE_META_BLOCK_SIZE		4096
#define MIGRATE_META_PAIR_ID_LEN		64
#define MIGRATE_META_REGIONS_PER_BLOCK	((MIGRATE_META_BLOCK_SIZE - 16) * 8)

/*
 * The superblock's flags, each set for good: a leg that failed; the
 * migration in post-copy, where the bitmap says which regions the
 * destination holds and reads of them go there; the destination's first
 * write in post-copy, after which the source cannot take the volume back.
 */
#define MIGRATE_META_SOURCE_FAILED	0x1
#define MIGRATE_META_DEST_FAILED	0x2
#define MIGRATE_META_POST_COPY		0x4
#define MIGRATE_META_ROLLBACK_LOST	0x8
#define MIGRATE_META_FLAGS		0xf

struct migrate_metadata;

struct migrate_meta_params {
	struct block_device *bdev;
	const struct migrate_geometry *geo;
	const char *pair_id;		/* "" if none */
	unsigned int window;		/* write-intent window, in regions */
	bool fresh;			/* format whatever the device holds */
};

/*
 * Open the metadata device in the constructor: refuse, with *error set, one
 * that holds anything but this migration, a blank device or @fresh. Nothing
 * is read into the region map yet: a table loaded to replace a live one
 * must see what the live one commits until it is suspended.
 */
struct migrate_metadata *migrate_meta_open(const struct migrate_meta_params *p,
					   char **error);

/*
 * At the first resume: format the device (blank or @fresh), or load the
 * migration's regions in sync into @map and its superblock flags into
 * *@flags (MIGRATE_META_*). The map is the caller's alone meanwhile.
 */
int migrate_meta_load(struct migrate_metadata *meta, struct migrate_sync_map *map,
		      unsigned int *flags);
void migrate_meta_close(struct migrate_metadata *meta);

/*
 * Record in the superblock, durably, the flags in @flags (they only grow)
 * without touching the bitmap. Later commits keep the flags.
 */
int migrate_meta_record_flags(struct migrate_metadata *meta, unsigned int flags);

/* The bitmap block of @region must be written at the next commit. Never sleeps. */
void migrate_meta_region_changed(struct migrate_metadata *meta, migrate_region_t region);

/* Every bitmap block must be written at the next commit. Never sleeps. */
void migrate_meta_all_changed(struct migrate_metadata *meta);

/*
 * Fills @bits (MIGRATE_META_REGIONS_PER_BLOCK bits, the tail past the last
 * region zeroed by the caller) with the on-disk state of @count regions from
 * @first: in sync and outside the write-intent window (in post-copy: on
 * the destination).
 */
typedef void (*migrate_meta_fill_fn)(void *context, migrate_region_t first,
				   migrate_region_t count, unsigned long *bits);

/*
 * Write the changed bitmap blocks, as @fill says, then the superblock with
 * the flags in @flags recorded too, and make them durable. The caller
 * flushes the legs first when bits are set. Returns 0 or a negative errno.
 */
int migrate_meta_commit(struct migrate_metadata *meta, unsigned int flags,
			migrate_meta_fill_fn fill, void *context);

/* Whether any bitmap block waits for a commit. Never sleeps. */
bool migrate_meta_dirty(struct migrate_metadata *meta);

#endif
