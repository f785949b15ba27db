/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Region state of a migration: which regions are in sync.
 *
 * All region state lives behind this interface so that persistence can be
 * added without touching the I/O paths. The map itself does no locking: the
 * target serialises every call under its own lock. None of these functions
 * sleep except region_map_create() and region_map_destroy().
 */
#ifndef DM_MIGRATE_REGION_H
#define DM_MIGRATE_REGION_H

#include <linux/types.h>

typedef u64 region_t;

struct region_map;

/* Geometry: a device of @dev_sectors cut into regions of 2^@shift sectors. */
struct region_geometry {
	sector_t dev_sectors;
	unsigned int shift;
	region_t nr_regions;
};

void region_geometry_init(struct region_geometry *g, sector_t dev_sectors,
			  unsigned int shift);

static inline region_t region_of_sector(const struct region_geometry *g,
					sector_t sector)
{
	return sector >> g->shift;
}

static inline sector_t region_start(const struct region_geometry *g,
				    region_t region)
{
	return (sector_t)region << g->shift;
}

/* Sectors in @region: the last region may be partial. */
sector_t region_len(const struct region_geometry *g, region_t region);

/* Sectors from @sector to the end of its region. */
sector_t region_sectors_left(const struct region_geometry *g, sector_t sector);

/* May sleep (GFP_KERNEL). Returns NULL on allocation failure. */
struct region_map *region_map_create(region_t nr_regions);
void region_map_destroy(struct region_map *map);

bool region_map_in_sync(const struct region_map *map, region_t region);

/* Returns true if @region was not in sync before. */
bool region_map_mark_in_sync(struct region_map *map, region_t region);

/*
 * The first region at or after @from that is not in sync, wrapping once to
 * the start; nr_regions when every region is in sync.
 */
region_t region_map_next_unsynced(const struct region_map *map, region_t from);

/* Set in @bits (zeroed by the caller) the regions in sync of @count from @first. */
void region_map_get_bits(const struct region_map *map, region_t first,
			 region_t count, unsigned long *bits);

region_t region_map_nr_in_sync(const struct region_map *map);
region_t region_map_nr_regions(const struct region_map *map);

static inline bool region_map_all_in_sync(const struct region_map *map)
{
	return region_map_nr_in_sync(map) == region_map_nr_regions(map);
}

#endif
