// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the migrate target's region geometry and in-sync map.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>

#include "../dm-migrate-region.h"

struct geometry_case {
	const char *name;
	sector_t dev_sectors;
	unsigned int shift;
	migrate_region_t nr_regions;
	sector_t last_len;
};

static const struct geometry_case geometry_cases[] = {
	{ "exact", 1024, 3, 128, 8 },
	{ "partial last region", 1027, 3, 129, 3 },
	{ "one partial region", 5, 3, 1, 5 },
	{ "one whole region", 2048, 11, 1, 2048 },
	{ "large", 1ULL << 40, 21, 1ULL << 19, 1ULL << 21 },
};

static void geometry_case_desc(const struct geometry_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(geometry, geometry_cases, geometry_case_desc);

static void region_geometry_test(struct kunit *test)
{
	const struct geometry_case *c = test->param_value;
	struct migrate_geometry g;
	migrate_region_t last;

	migrate_geometry_init(&g, c->dev_sectors, c->shift);
	KUNIT_EXPECT_EQ(test, g.nr_regions, c->nr_regions);

	last = g.nr_regions - 1;
	KUNIT_EXPECT_EQ(test, migrate_region_len(&g, last), c->last_len);
	KUNIT_EXPECT_EQ(test, migrate_region_len(&g, g.nr_regions), 0);
	KUNIT_EXPECT_EQ(test, migrate_region_of(&g, c->dev_sectors - 1), last);
	KUNIT_EXPECT_EQ(test, migrate_region_of(&g, 0), 0);
	KUNIT_EXPECT_EQ(test, migrate_region_start(&g, last) + migrate_region_len(&g, last),
			c->dev_sectors);
	KUNIT_EXPECT_EQ(test, migrate_sectors_left(&g, 0),
			migrate_region_len(&g, 0));
	KUNIT_EXPECT_EQ(test, migrate_sectors_left(&g, c->dev_sectors - 1), 1);
}

static void sync_map_test_mark(struct kunit *test)
{
	struct migrate_sync_map *map = migrate_sync_create(100);

	KUNIT_ASSERT_NOT_NULL(test, map);
	KUNIT_EXPECT_EQ(test, migrate_nr_regions(map), 100);
	KUNIT_EXPECT_EQ(test, migrate_nr_in_sync(map), 0);
	KUNIT_EXPECT_FALSE(test, migrate_in_sync(map, 0));

	KUNIT_EXPECT_TRUE(test, migrate_mark_in_sync(map, 0));
	KUNIT_EXPECT_FALSE(test, migrate_mark_in_sync(map, 0));
	KUNIT_EXPECT_TRUE(test, migrate_mark_in_sync(map, 99));
	KUNIT_EXPECT_TRUE(test, migrate_in_sync(map, 0));
	KUNIT_EXPECT_TRUE(test, migrate_in_sync(map, 99));
	KUNIT_EXPECT_FALSE(test, migrate_in_sync(map, 98));
	KUNIT_EXPECT_EQ(test, migrate_nr_in_sync(map), 2);
	KUNIT_EXPECT_FALSE(test, migrate_all_in_sync(map));
	migrate_sync_destroy(map);
}

static void sync_map_test_next_to_copy(struct kunit *test)
{
	struct migrate_sync_map *map = migrate_sync_create(70);
	migrate_region_t r;

	KUNIT_ASSERT_NOT_NULL(test, map);
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, NULL, 0), 0);
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, NULL, 69), 69);
	/* Past the end wraps to the start. */
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, NULL, 70), 0);

	for (r = 0; r < 70; r++)
		if (r != 5 && r != 66)
			migrate_mark_in_sync(map, r);
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, NULL, 0), 5);
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, NULL, 6), 66);
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, NULL, 67), 5);

	migrate_mark_in_sync(map, 5);
	migrate_mark_in_sync(map, 66);
	KUNIT_EXPECT_TRUE(test, migrate_all_in_sync(map));
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, NULL, 0), 70);
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, NULL, 33), 70);
	migrate_sync_destroy(map);
}

/* Lost regions are skipped, with the wrap, until none is left to copy. */
static void sync_map_test_next_to_copy_skip(struct kunit *test)
{
	struct migrate_sync_map *map = migrate_sync_create(70);
	struct migrate_sync_map *lost = migrate_sync_create(70);
	migrate_region_t r;

	KUNIT_ASSERT_NOT_NULL(test, map);
	KUNIT_ASSERT_NOT_NULL(test, lost);
	for (r = 0; r < 70; r++)
		if (r != 3 && r != 40 && r != 64)
			migrate_mark_in_sync(map, r);
	migrate_mark_in_sync(lost, 40);
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, lost, 4), 64);
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, lost, 65), 3);
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, lost, 40), 64);
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, NULL, 4), 40);
	migrate_mark_in_sync(lost, 3);
	migrate_mark_in_sync(lost, 64);
	/* Only lost regions left: none to copy, wherever the cursor is. */
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, lost, 0), 70);
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, lost, 41), 70);
	KUNIT_EXPECT_EQ(test, migrate_next_to_copy(map, lost, 69), 70);
	KUNIT_EXPECT_FALSE(test, migrate_all_in_sync(map));
	migrate_sync_destroy(lost);
	migrate_sync_destroy(map);
}

struct route_case {
	struct migrate_region_view v;
	enum migrate_post_copy_route want;
	const char *desc;
};

static const struct route_case route_cases[] = {
	{ { .in_sync = true }, MIGRATE_PC_DEST, "copied: destination" },
	{ { .in_sync = true, .whole = true }, MIGRATE_PC_DEST,
	  "copied, whole: destination" },
	{ { .in_sync = true, .has_job = true }, MIGRATE_PC_DEST,
	  "copied, its whole write ending: destination" },
	{ { .has_job = true }, MIGRATE_PC_HOLD, "being copied: held" },
	{ { .has_job = true, .whole = true }, MIGRATE_PC_HOLD,
	  "being copied, whole: held" },
	{ { .has_job = true, .lost = true }, MIGRATE_PC_HOLD,
	  "lost, a whole write on it: held" },
	{ { .whole = true }, MIGRATE_PC_WHOLE, "not copied, whole: no copy" },
	{ { .whole = true, .lost = true }, MIGRATE_PC_WHOLE,
	  "lost, whole: written, no copy" },
	{ { .lost = true }, MIGRATE_PC_FAIL, "lost, part: fails" },
	{ { }, MIGRATE_PC_COPY_FIRST, "not copied, part: copy first" },
};

static void route_case_desc(const struct route_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(route, route_cases, route_case_desc);

static void post_copy_route_test(struct kunit *test)
{
	const struct route_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, migrate_post_copy_route(&c->v), c->want);
}

static void sync_map_test_next_in_sync(struct kunit *test)
{
	struct migrate_sync_map *map = migrate_sync_create(70);

	KUNIT_ASSERT_NOT_NULL(test, map);
	KUNIT_EXPECT_EQ(test, migrate_next_in_sync(map, 0), 70);
	migrate_mark_in_sync(map, 3);
	migrate_mark_in_sync(map, 69);
	KUNIT_EXPECT_EQ(test, migrate_next_in_sync(map, 0), 3);
	KUNIT_EXPECT_EQ(test, migrate_next_in_sync(map, 3), 3);
	KUNIT_EXPECT_EQ(test, migrate_next_in_sync(map, 4), 69);
	/* No wrap: a verify passes over the volume once. */
	KUNIT_EXPECT_EQ(test, migrate_next_in_sync(map, 70), 70);
	KUNIT_EXPECT_EQ(test, migrate_next_in_sync(map, 1000), 70);
	migrate_sync_destroy(map);
}

static void sync_map_test_get_bits(struct kunit *test)
{
	struct migrate_sync_map *map = migrate_sync_create(200);
	DECLARE_BITMAP(bits, 128);

	KUNIT_ASSERT_NOT_NULL(test, map);
	migrate_mark_in_sync(map, 63);
	migrate_mark_in_sync(map, 64);
	migrate_mark_in_sync(map, 130);
	migrate_mark_in_sync(map, 199);

	bitmap_zero(bits, 128);
	migrate_sync_get_bits(map, 64, 128, bits);
	KUNIT_EXPECT_EQ(test, bitmap_weight(bits, 128), 2);
	KUNIT_EXPECT_TRUE(test, test_bit(0, bits));
	KUNIT_EXPECT_TRUE(test, test_bit(66, bits));

	/* The last, partial block: nothing past the last region. */
	bitmap_zero(bits, 128);
	migrate_sync_get_bits(map, 192, 128, bits);
	KUNIT_EXPECT_EQ(test, bitmap_weight(bits, 128), 1);
	KUNIT_EXPECT_TRUE(test, test_bit(7, bits));
	migrate_sync_destroy(map);
}

static void sync_map_test_bad_sizes(struct kunit *test)
{
	KUNIT_EXPECT_NULL(test, migrate_sync_create(0));
	KUNIT_EXPECT_NULL(test, migrate_sync_create((migrate_region_t)UINT_MAX + 1));
}

static struct kunit_case region_test_cases[] = {
	KUNIT_CASE_PARAM(region_geometry_test, geometry_gen_params),
	KUNIT_CASE(sync_map_test_mark),
	KUNIT_CASE(sync_map_test_next_to_copy),
	KUNIT_CASE(sync_map_test_next_to_copy_skip),
	KUNIT_CASE_PARAM(post_copy_route_test, route_gen_params),
	KUNIT_CASE(sync_map_test_next_in_sync),
	KUNIT_CASE(sync_map_test_get_bits),
	KUNIT_CASE(sync_map_test_bad_sizes),
	{}
};

static struct kunit_suite region_test_suite = {
	.name = "dm-migrate-region",
	.test_cases = region_test_cases,
};

kunit_test_suite(region_test_suite);
