/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Region state of a migration: which regions are in sync, and where a
 * post-copy write to a region goes.
 *
 * All region state lives behind this interface so that persistence can be
 * added without touching the I/O paths. The map itself does no locking: the
 * target serialises every call under its own lock. None of these functions
 * sleep except migrate_sync_create() and migrate_sync_destroy().
 */
#ifndef DM_MIGRATE_REGION_H
#define DM_MIGRATE_REGION_H

#include <linux/limits.h>
#include <linux/types.h>

typedef u64 migrate_region_t;

/* The bitmap API takes unsigned int sizes in places. */
#define MIGRATE_MAX_REGIONS	UINT_MAX

struct migrate_sync_map;

/* Geometry: a device of @dev_sectors cut into regions of 2^@shift sectors. */
struct migrate_geometry {
	sector_t dev_sectors;
	unsigned int shift;
	migrate_region_t nr_regions;
};

void migrate_geometry_init(struct migrate_geometry *g, sector_t dev_sectors,
			   unsigned int shift);

static inline migrate_region_t migrate_region_of(const struct migrate_geometry *g,
						 sector_t sector)
{
	return sector >> g->shift;
}

static inline sector_t migrate_region_start(const struct migrate_geometry *g,
					    migrate_region_t region)
{
	return (sector_t)region << g->shift;
}

/* Sectors in @region: the last region may be partial. */
sector_t migrate_region_len(const struct migrate_geometry *g, migrate_region_t region);

/* Sectors from @sector to the end of its region. */
sector_t migrate_sectors_left(const struct migrate_geometry *g, sector_t sector);

/*
 * A map also serves as a plain set of regions, "in sync" read as "in the
 * set": a post-copy's regions lost to source read errors.
 *
 * May sleep (GFP_KERNEL). Returns NULL on allocation failure.
 */
struct migrate_sync_map *migrate_sync_create(migrate_region_t nr_regions);
void migrate_sync_destroy(struct migrate_sync_map *map);

bool migrate_in_sync(const struct migrate_sync_map *map, migrate_region_t region);

/* Returns true if @region was not in sync before. */
bool migrate_mark_in_sync(struct migrate_sync_map *map, migrate_region_t region);

/*
 * The first region at or after @from neither in sync nor in @skip (NULL:
 * none), wrapping once to the start; nr_regions when there is none.
 */
migrate_region_t migrate_next_to_copy(const struct migrate_sync_map *map,
				      const struct migrate_sync_map *skip,
				      migrate_region_t from);

/* The first region at or after @from in sync; nr_regions when none is. */
migrate_region_t migrate_next_in_sync(const struct migrate_sync_map *map,
				      migrate_region_t from);

/* Set in @bits (zeroed by the caller) the regions in sync of @count from @first. */
void migrate_sync_get_bits(const struct migrate_sync_map *map, migrate_region_t first,
			   migrate_region_t count, unsigned long *bits);

migrate_region_t migrate_nr_in_sync(const struct migrate_sync_map *map);
migrate_region_t migrate_nr_regions(const struct migrate_sync_map *map);

static inline bool migrate_all_in_sync(const struct migrate_sync_map *map)
{
	return migrate_nr_in_sync(map) == migrate_nr_regions(map);
}

/*
 * Post-copy: the destination alone takes writes, so a write to a region it
 * does not hold yet must wait for the region's copy, unless it covers the
 * region whole. What the caller knows of the region, under its lock:
 */
struct migrate_region_view {
	bool in_sync;		/* the destination holds the region */
	bool has_job;		/* a copy, or a whole-region write, has it */
	bool lost;		/* its copy failed to read the source */
	bool whole;		/* the write covers the region */
};

enum migrate_post_copy_route {
	MIGRATE_PC_DEST,	/* to the destination alone */
	MIGRATE_PC_HOLD,	/* held on the region's job until it ends */
	MIGRATE_PC_WHOLE,	/* a job of its own: no copy, it is the copy */
	MIGRATE_PC_COPY_FIRST,	/* a copy job for the region, holding it */
	MIGRATE_PC_FAIL,	/* the region cannot be read: the write fails */
};

enum migrate_post_copy_route
migrate_post_copy_route(const struct migrate_region_view *v);

#endif
