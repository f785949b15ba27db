// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the copier's pacing: the rate limit, the measure of the
 * unpaced rate and the rests while the volume is busy.
 */
#include <kunit/test.h>

#include "../dm-migrate-pace.h"

#define MS(n)	((u64)(n) * NSEC_PER_MSEC)
#define AT(ns)	ns_to_ktime(ns)
#define MIB	(1024 * 1024)

static void pace_test_unlimited(struct kunit *test)
{
	struct migrate_pace p = {};

	KUNIT_EXPECT_EQ(test, migrate_pace_throttle(&p, AT(MS(1)), 64 * MIB), 0);
	KUNIT_EXPECT_EQ(test, migrate_pace_throttle(&p, AT(MS(1)), 64 * MIB), 0);
}

static void pace_test_throttle(struct kunit *test)
{
	struct migrate_pace p = {};

	migrate_pace_set_rate(&p, 2 * MIB);
	/* A copy of 1 MiB at 2 MiB/s: the next may start 500 ms later. */
	KUNIT_EXPECT_EQ(test, migrate_pace_throttle(&p, AT(MS(1000)), MIB), 0);
	KUNIT_EXPECT_EQ(test, migrate_pace_throttle(&p, AT(MS(1100)), MIB), MS(400));
	KUNIT_EXPECT_EQ(test, migrate_pace_throttle(&p, AT(MS(1499)), MIB), MS(1));
	KUNIT_EXPECT_EQ(test, migrate_pace_throttle(&p, AT(MS(1500)), MIB), 0);
	KUNIT_EXPECT_EQ(test, migrate_pace_throttle(&p, AT(MS(1500)), MIB), MS(500));

	/* A new rate applies at once, not after the old one's wait. */
	migrate_pace_set_rate(&p, 4 * MIB);
	KUNIT_EXPECT_EQ(test, migrate_pace_throttle(&p, AT(MS(1500)), MIB), 0);
	KUNIT_EXPECT_EQ(test, migrate_pace_throttle(&p, AT(MS(1600)), MIB), MS(150));
	migrate_pace_set_rate(&p, 0);
	KUNIT_EXPECT_EQ(test, migrate_pace_throttle(&p, AT(MS(1600)), MIB), 0);
}

static void pace_test_throttle_large(struct kunit *test)
{
	struct migrate_pace p = {};

	/* A 1 GiB region at 1 byte/s must not overflow: 2^30 seconds. */
	migrate_pace_set_rate(&p, 1);
	KUNIT_EXPECT_EQ(test, migrate_pace_throttle(&p, AT(1), 1ULL << 30), 0);
	KUNIT_EXPECT_EQ(test, migrate_pace_throttle(&p, AT(1), 1), (1ULL << 30) * NSEC_PER_SEC);
}

static void pace_test_bucket(struct kunit *test)
{
	struct migrate_bucket b = {};

	KUNIT_EXPECT_EQ(test, migrate_bucket_take(&b, AT(MS(1)), 64 * MIB), 0);
	migrate_bucket_set_rate(&b, 4 * MIB);
	/* 1 MiB at 4 MiB/s: 250 ms each. */
	KUNIT_EXPECT_EQ(test, migrate_bucket_take(&b, AT(MS(1000)), MIB), 0);
	KUNIT_EXPECT_EQ(test, migrate_bucket_take(&b, AT(MS(1100)), MIB), MS(150));
	/* 10 ms late: the next start is 1500 ms, as scheduled, not 1510. */
	KUNIT_EXPECT_EQ(test, migrate_bucket_take(&b, AT(MS(1260)), MIB), 0);
	KUNIT_EXPECT_EQ(test, migrate_bucket_take(&b, AT(MS(1260)), MIB), MS(240));
	/* Late by more than the slack: no burst, the schedule restarts. */
	KUNIT_EXPECT_EQ(test, migrate_bucket_take(&b, AT(MS(2000)), MIB), 0);
	KUNIT_EXPECT_EQ(test, migrate_bucket_take(&b, AT(MS(2000)), MIB), MS(250));
	/*
	 * 128 KiB copies (31.25 ms each) 60 ms late: two start at once, and
	 * the schedule is back on time.
	 */
	KUNIT_EXPECT_EQ(test, migrate_bucket_take(&b, AT(MS(2310)), MIB / 8), 0);
	KUNIT_EXPECT_EQ(test, migrate_bucket_take(&b, AT(MS(2310)), MIB / 8), 0);
	KUNIT_EXPECT_EQ(test, migrate_bucket_take(&b, AT(MS(2310)), MIB / 8), MS(5) / 2);
	/* A new budget applies at once. */
	migrate_bucket_set_rate(&b, 8 * MIB);
	KUNIT_EXPECT_EQ(test, migrate_bucket_take(&b, AT(MS(3000)), MIB), 0);
	KUNIT_EXPECT_EQ(test, migrate_bucket_take(&b, AT(MS(3000)), MIB), MS(125));
}

static void pace_test_share_cost(struct kunit *test)
{
	/* Weight 2 pays half what weight 1 pays for the same copy. */
	KUNIT_EXPECT_EQ(test, migrate_share_cost(MIB, 1), 2 * migrate_share_cost(MIB, 2));
	/* A 1 GiB region at the least weight does not overflow. */
	KUNIT_EXPECT_EQ(test, migrate_share_cost(1ULL << 30, 1), (1ULL << 30) * MIGRATE_WEIGHT_MAX);
}

static void pace_test_measure(struct kunit *test)
{
	struct migrate_pace p = {};

	/* The first copy's end only starts the span. */
	migrate_pace_measure(&p, AT(MS(100)), 8 * MIB);
	KUNIT_EXPECT_EQ(test, p.unpaced_rate, 0);
	migrate_pace_measure(&p, AT(MS(600)), 4 * MIB);
	KUNIT_EXPECT_EQ(test, p.unpaced_rate, 0);
	/* 8 MiB copied from 100 ms to 1100 ms: 8 MiB/s. */
	migrate_pace_measure(&p, AT(MS(1100)), 4 * MIB);
	KUNIT_EXPECT_EQ(test, p.unpaced_rate, 8 * MIB);

	/* The next span starts where this one ended... */
	migrate_pace_measure(&p, AT(MS(3100)), 4 * MIB);
	KUNIT_EXPECT_EQ(test, p.unpaced_rate, 2 * MIB);

	/* ... unless the copier stopped or rested: then it starts afresh. */
	migrate_pace_interrupt(&p);
	migrate_pace_measure(&p, AT(MS(9000)), 64 * MIB);
	KUNIT_EXPECT_EQ(test, p.unpaced_rate, 2 * MIB);
	migrate_pace_measure(&p, AT(MS(10000)), MIB);
	KUNIT_EXPECT_EQ(test, p.unpaced_rate, MIB);
}

static void pace_test_rest(struct kunit *test)
{
	struct migrate_pace p = {};

	/* Rate unknown: half the copy's time. */
	migrate_pace_rest(&p, AT(MS(1000)), AT(MS(1200)), MIB);
	KUNIT_EXPECT_EQ(test, migrate_pace_rest_left(&p, AT(MS(1200))), MS(100));
	KUNIT_EXPECT_EQ(test, migrate_pace_rest_left(&p, AT(MS(1250))), MS(50));
	KUNIT_EXPECT_EQ(test, migrate_pace_rest_left(&p, AT(MS(1300))), 0);
	KUNIT_EXPECT_EQ(test, migrate_pace_rest_left(&p, AT(MS(5000))), 0);

	/*
	 * 1 MiB copied in 100 ms where the legs give 1 MiB/s unpaced (a token
	 * bucket took it at once): two thirds of 1 MiB/s means a cycle of
	 * 1.5 s, so the rest is 1.4 s, not 50 ms.
	 */
	p.unpaced_rate = MIB;
	migrate_pace_rest(&p, AT(MS(2000)), AT(MS(2100)), MIB);
	KUNIT_EXPECT_EQ(test, migrate_pace_rest_left(&p, AT(MS(2100))), MS(1400));

	/* A copy slower than that cycle rests half its time. */
	migrate_pace_rest(&p, AT(MS(4000)), AT(MS(6000)), MIB);
	KUNIT_EXPECT_EQ(test, migrate_pace_rest_left(&p, AT(MS(6000))), MS(1000));
}

static struct kunit_case pace_test_cases[] = {
	KUNIT_CASE(pace_test_unlimited),
	KUNIT_CASE(pace_test_throttle),
	KUNIT_CASE(pace_test_throttle_large),
	KUNIT_CASE(pace_test_bucket),
	KUNIT_CASE(pace_test_share_cost),
	KUNIT_CASE(pace_test_measure),
	KUNIT_CASE(pace_test_rest),
	{}
};

static struct kunit_suite pace_test_suite = {
	.name = "dm-migrate-pace",
	.test_cases = pace_test_cases,
};

kunit_test_suite(pace_test_suite);
