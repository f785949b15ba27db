// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of a verify's bookkeeping: what it counts, which regions it
 * reports as differing, and the ranges userspace reads, whole or cut short.
 */
#include <kunit/test.h>

#include "../dm-migrate-diff.h"

static struct migrate_diff *diff_of(struct kunit *test, migrate_region_t nr)
{
	struct migrate_diff *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, d);
	KUNIT_ASSERT_EQ(test, migrate_diff_init(d, nr), 0);
	return d;
}

static void diff_test_counts(struct kunit *test)
{
	struct migrate_diff *d = diff_of(test, 100);

	migrate_diff_skip(d, 3);
	migrate_diff_record(d, 3, 4096, false, false);
	migrate_diff_record(d, 4, 4096, true, false);
	migrate_diff_record(d, 5, 4096, true, true);
	KUNIT_EXPECT_EQ(test, d->done, 6);
	KUNIT_EXPECT_EQ(test, d->compared, 3);
	KUNIT_EXPECT_EQ(test, d->differ, 2);
	KUNIT_EXPECT_EQ(test, d->repaired, 1);
	KUNIT_EXPECT_EQ(test, d->bytes, 3 * 4096);

	migrate_diff_reset(d);
	KUNIT_EXPECT_EQ(test, d->done, 0);
	KUNIT_EXPECT_EQ(test, d->compared, 0);
	KUNIT_EXPECT_EQ(test, d->differ, 0);
	KUNIT_EXPECT_EQ(test, d->repaired, 0);
	KUNIT_EXPECT_EQ(test, d->bytes, 0);
	KUNIT_EXPECT_EQ(test, find_first_bit(d->bits, 100), 100);
	migrate_diff_exit(d);
}

static void diff_test_ranges(struct kunit *test)
{
	struct migrate_diff *d = diff_of(test, 200);
	char buf[128];
	unsigned int n;

	n = migrate_diff_ranges(d, buf, sizeof(buf));
	KUNIT_EXPECT_EQ(test, n, 0);
	KUNIT_EXPECT_STREQ(test, buf, "");

	migrate_diff_record(d, 0, 1, true, false);
	migrate_diff_record(d, 1, 1, true, false);
	migrate_diff_record(d, 2, 1, true, false);
	migrate_diff_record(d, 7, 1, true, false);
	migrate_diff_record(d, 8, 1, false, false);
	migrate_diff_record(d, 198, 1, true, false);
	migrate_diff_record(d, 199, 1, true, false);
	n = migrate_diff_ranges(d, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "0-2 7 198-199");
	KUNIT_EXPECT_EQ(test, n, strlen(buf));
	migrate_diff_exit(d);
}

/* Cut short, the ranges that fit are followed by " ...", all within @len. */
static void diff_test_ranges_truncated(struct kunit *test)
{
	struct migrate_diff *d = diff_of(test, 1000);
	char buf[32];
	unsigned int len;
	migrate_region_t r;

	for (r = 100; r < 1000; r += 100)
		migrate_diff_record(d, r, 1, true, false);

	/* "100 200 300 400 500 600 700 800 900" is 35 characters. */
	migrate_diff_ranges(d, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "100 200 300 400 500 600 700 ...");

	/* Exactly room for the last range and its NUL: no marker. */
	migrate_diff_reset(d);
	migrate_diff_record(d, 123, 1, true, false);
	len = strlen("123") + 1;
	migrate_diff_ranges(d, buf, len);
	KUNIT_EXPECT_STREQ(test, buf, "123");

	/* No room for even one range. */
	migrate_diff_record(d, 456, 1, true, false);
	migrate_diff_ranges(d, buf, 6);
	KUNIT_EXPECT_STREQ(test, buf, " ...");
	migrate_diff_ranges(d, buf, 4);
	KUNIT_EXPECT_STREQ(test, buf, "");
	KUNIT_EXPECT_EQ(test, migrate_diff_ranges(d, buf, 0), 0);
	migrate_diff_exit(d);
}

/* A region found twice (a compare started over) is counted once. */
static void diff_test_differ_once(struct kunit *test)
{
	struct migrate_diff *d = diff_of(test, 10);

	migrate_diff_record(d, 4, 1, true, false);
	migrate_diff_record(d, 4, 1, true, false);
	KUNIT_EXPECT_EQ(test, d->differ, 1);
	migrate_diff_exit(d);
}

static void diff_test_state_names(struct kunit *test)
{
	KUNIT_EXPECT_STREQ(test, migrate_verify_state_name(MIGRATE_VERIFY_NONE), "-");
	KUNIT_EXPECT_STREQ(test, migrate_verify_state_name(MIGRATE_VERIFY_RUNNING),
			   "verifying");
	KUNIT_EXPECT_STREQ(test, migrate_verify_state_name(MIGRATE_VERIFY_EQUAL), "equal");
	KUNIT_EXPECT_STREQ(test, migrate_verify_state_name(MIGRATE_VERIFY_DIFFER), "differ");
	KUNIT_EXPECT_STREQ(test, migrate_verify_state_name(MIGRATE_VERIFY_STOPPED),
			   "stopped");
	KUNIT_EXPECT_STREQ(test, migrate_verify_state_name(MIGRATE_VERIFY_FAILED), "failed");
}

static struct kunit_case diff_test_cases[] = {
	KUNIT_CASE(diff_test_counts),
	KUNIT_CASE(diff_test_ranges),
	KUNIT_CASE(diff_test_ranges_truncated),
	KUNIT_CASE(diff_test_differ_once),
	KUNIT_CASE(diff_test_state_names),
	{}
};

static struct kunit_suite diff_test_suite = {
	.name = "dm-migrate-diff",
	.test_cases = diff_test_cases,
};

kunit_test_suite(diff_test_suite);
