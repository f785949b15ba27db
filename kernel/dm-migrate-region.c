// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-sync region map of the migrate target: one bit per region, set once the
 * region's copy is on the destination and every later write to it is
 * mirrored. Bits are only ever set, so a migration always converges.
 */
#include <linux/bitmap.h>
#include <linux/slab.h>

#include "dm-migrate-region.h"

struct migrate_sync_map {
	migrate_region_t nr_regions;
	migrate_region_t nr_in_sync;
	unsigned long *bits;
};

void migrate_geometry_init(struct migrate_geometry *g, sector_t dev_sectors,
			   unsigned int shift)
{
	g->dev_sectors = dev_sectors;
	g->shift = shift;
	g->nr_regions = (dev_sectors + (1ULL << shift) - 1) >> shift;
}

sector_t migrate_region_len(const struct migrate_geometry *g, migrate_region_t region)
{
	sector_t start = migrate_region_start(g, region);

	if (start >= g->dev_sectors)
		return 0;
	return min_t(sector_t, 1ULL << g->shift, g->dev_sectors - start);
}

sector_t migrate_sectors_left(const struct migrate_geometry *g, sector_t sector)
{
	migrate_region_t region = migrate_region_of(g, sector);

	return migrate_region_start(g, region) + migrate_region_len(g, region) - sector;
}

struct migrate_sync_map *migrate_sync_create(migrate_region_t nr_regions)
{
	struct migrate_sync_map *map;

	if (!nr_regions || nr_regions > MIGRATE_MAX_REGIONS)
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

void migrate_sync_destroy(struct migrate_sync_map *map)
{
	if (!map)
		return;
	kvfree(map->bits);
	kfree(map);
}

bool migrate_in_sync(const struct migrate_sync_map *map, migrate_region_t region)
{
	return test_bit(region, map->bits);
}

bool migrate_mark_in_sync(struct migrate_sync_map *map, migrate_region_t region)
{
	if (__test_and_set_bit(region, map->bits))
		return false;
	map->nr_in_sync++;
	return true;
}

/* In [@from, @end): the first region neither in @map nor in @skip. */
static migrate_region_t next_to_copy_in(const struct migrate_sync_map *map,
					const struct migrate_sync_map *skip,
					migrate_region_t from, migrate_region_t end)
{
	migrate_region_t r = find_next_zero_bit(map->bits, end, from);

	while (r < end && skip && test_bit(r, skip->bits))
		r = find_next_zero_bit(map->bits, end, r + 1);
	return r;
}

migrate_region_t migrate_next_to_copy(const struct migrate_sync_map *map,
				      const struct migrate_sync_map *skip,
				      migrate_region_t from)
{
	migrate_region_t r;

	if (from >= map->nr_regions)
		from = 0;
	r = next_to_copy_in(map, skip, from, map->nr_regions);
	if (r < map->nr_regions)
		return r;
	r = next_to_copy_in(map, skip, 0, from);
	return r < from ? r : map->nr_regions;
}

migrate_region_t migrate_next_in_sync(const struct migrate_sync_map *map,
				      migrate_region_t from)
{
	if (from >= map->nr_regions)
		return map->nr_regions;
	return find_next_bit(map->bits, map->nr_regions, from);
}

void migrate_sync_get_bits(const struct migrate_sync_map *map, migrate_region_t first,
			   migrate_region_t count, unsigned long *bits)
{
	migrate_region_t end = min(first + count, map->nr_regions), r;

	for (r = find_next_bit(map->bits, end, first); r < end;
	     r = find_next_bit(map->bits, end, r + 1))
		__set_bit(r - first, bits);
}

migrate_region_t migrate_nr_in_sync(const struct migrate_sync_map *map)
{
	return map->nr_in_sync;
}

migrate_region_t migrate_nr_regions(const struct migrate_sync_map *map)
{
	return map->nr_regions;
}

/*
 * A region once on the destination stays there, so its writes need nothing
 * else; a job that has the region decides for what waits on it; a write
 * covering the region replaces its copy, and so even brings back a region
 * lost to the source; a part of a region the source cannot give has
 * nothing to be merged with.
 */
enum migrate_post_copy_route
migrate_post_copy_route(const struct migrate_region_view *v)
{
	if (v->in_sync)
		return MIGRATE_PC_DEST;
	if (v->has_job)
		return MIGRATE_PC_HOLD;
	if (v->whole)
		return MIGRATE_PC_WHOLE;
	if (v->lost)
		return MIGRATE_PC_FAIL;
	return MIGRATE_PC_COPY_FIRST;
}
