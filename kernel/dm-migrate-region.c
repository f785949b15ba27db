// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-sync region map of the migrate target: one bit per region, set once the
 * region's copy is on the destination and every later write to it is
 * mirrored. Bits are only ever set, so a migration always converges.
 */
#include <linux/bitmap.h>
#include <linux/slab.h>

#include "dm-migrate-region.h"

struct region_map {
	region_t nr_regions;
	region_t nr_in_sync;
	unsigned long *bits;
};

void region_geometry_init(struct region_geometry *g, sector_t dev_sectors,
			  unsigned int shift)
{
	g->dev_sectors = dev_sectors;
	g->shift = shift;
	g->nr_regions = (dev_sectors + (1ULL << shift) - 1) >> shift;
}

sector_t region_len(const struct region_geometry *g, region_t region)
{
	sector_t start = region_start(g, region);

	if (start >= g->dev_sectors)
		return 0;
	return min_t(sector_t, 1ULL << g->shift, g->dev_sectors - start);
}

sector_t region_sectors_left(const struct region_geometry *g, sector_t sector)
{
	region_t region = region_of_sector(g, sector);

	return region_start(g, region) + region_len(g, region) - sector;
}

struct region_map *region_map_create(region_t nr_regions)
{
	struct region_map *map;

	/* The bitmap API takes unsigned int sizes in places. */
	if (!nr_regions || nr_regions > UINT_MAX)
		return NULL;

	map = kzalloc(sizeof(*map), GFP_KERNEL);
	if (!map)
		return NULL;

	map->bits = kvcalloc(BITS_TO_LONGS(nr_regions), sizeof(unsigned long),
			     GFP_KERNEL);
	if (!map->bits) {
		kfree(map);
		return NULL;
	}
	map->nr_regions = nr_regions;
	return map;
}

void region_map_destroy(struct region_map *map)
{
	if (!map)
		return;
	kvfree(map->bits);
	kfree(map);
}

bool region_map_in_sync(const struct region_map *map, region_t region)
{
	return test_bit(region, map->bits);
}

bool region_map_mark_in_sync(struct region_map *map, region_t region)
{
	if (__test_and_set_bit(region, map->bits))
		return false;
	map->nr_in_sync++;
	return true;
}

region_t region_map_next_unsynced(const struct region_map *map, region_t from)
{
	region_t r;

	if (from >= map->nr_regions)
		from = 0;
	r = find_next_zero_bit(map->bits, map->nr_regions, from);
	if (r < map->nr_regions)
		return r;
	r = find_first_zero_bit(map->bits, from);
	return r < from ? r : map->nr_regions;
}

void region_map_get_bits(const struct region_map *map, region_t first,
			 region_t count, unsigned long *bits)
{
	region_t end = min(first + count, map->nr_regions), r;

	for (r = find_next_bit(map->bits, end, first); r < end;
	     r = find_next_bit(map->bits, end, r + 1))
		__set_bit(r - first, bits);
}

region_t region_map_nr_in_sync(const struct region_map *map)
{
	return map->nr_in_sync;
}

region_t region_map_nr_regions(const struct region_map *map)
{
	return map->nr_regions;
}
