// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the write-intent window: when a write to a region in sync
 * may go, which region leaves a full window, and the commit sequence that
 * keeps every bit set on disk true of both legs.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>

#include "../dm-migrate-window.h"

/* Not a power of two: the hash must not need one. */
#define TEST_WINDOW	100

struct window_fixture {
	struct migrate_window w;
	/* Regions whose bit the next commit writes, as the window told. */
	DECLARE_BITMAP(changed, 2 * TEST_WINDOW);
};

static void record_changed(void *context, migrate_region_t region)
{
	struct window_fixture *f = context;

	__set_bit(region, f->changed);
}

static int window_test_init(struct kunit *test)
{
	struct window_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_ASSERT_EQ(test, migrate_window_init(&f->w, TEST_WINDOW,
						  record_changed, f), 0);
	test->priv = f;
	return 0;
}

static void window_test_exit(struct kunit *test)
{
	struct window_fixture *f = test->priv;

	migrate_window_exit(&f->w);
}

/* One whole commit: begin, then durable. Returns whether legs were flushed. */
static bool commit(struct migrate_window *w)
{
	bool flush_legs;
	u64 seq = migrate_window_commit_begin(w, &flush_legs);

	migrate_window_commit_end(w, seq);
	return flush_legs;
}

/* Admit a write to @region, committing as the window asks. */
static struct migrate_window_entry *admit(struct kunit *test,
					  struct migrate_window *w,
					  migrate_region_t region)
{
	struct migrate_window_entry *ent = NULL;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		if (migrate_window_enter(w, region, &ent))
			return ent;
		KUNIT_ASSERT_TRUE(test, w->commit_wanted);
		commit(w);
	}
	KUNIT_FAIL(test, "region %llu never admitted", region);
	return NULL;
}

static void window_test_admission(struct kunit *test)
{
	struct window_fixture *f = test->priv;
	struct migrate_window *w = &f->w;
	struct migrate_window_entry *ent = NULL;
	bool flush_legs;
	u64 seq;

	/* A region not in the window: its bit must be cleared first. */
	KUNIT_EXPECT_FALSE(test, migrate_window_enter(w, 5, &ent));
	KUNIT_EXPECT_TRUE(test, w->commit_wanted);
	KUNIT_EXPECT_TRUE(test, test_bit(5, f->changed));
	KUNIT_EXPECT_FALSE(test, migrate_window_enter(w, 5, &ent));

	/* Begun is not durable: the write still waits. */
	seq = migrate_window_commit_begin(w, &flush_legs);
	KUNIT_EXPECT_FALSE(test, flush_legs);
	KUNIT_EXPECT_FALSE(test, w->commit_wanted);
	KUNIT_EXPECT_FALSE(test, migrate_window_enter(w, 5, &ent));
	migrate_window_commit_end(w, seq);

	KUNIT_ASSERT_TRUE(test, migrate_window_enter(w, 5, &ent));
	KUNIT_ASSERT_NOT_NULL(test, ent);
	KUNIT_EXPECT_EQ(test, ent->region, 5);
	KUNIT_EXPECT_EQ(test, ent->inflight, 1);
	KUNIT_EXPECT_TRUE(test, migrate_window_enter(w, 5, &ent));
	KUNIT_EXPECT_EQ(test, ent->inflight, 2);
}

static void window_test_requested_during_commit(struct kunit *test)
{
	struct window_fixture *f = test->priv;
	struct migrate_window *w = &f->w;
	struct migrate_window_entry *ent = NULL;
	bool flush_legs;
	u64 seq;

	/*
	 * A commit has begun and written its bitmap blocks before region 7
	 * asks: that commit does not clear 7's bit, the next one does.
	 */
	seq = migrate_window_commit_begin(w, &flush_legs);
	KUNIT_EXPECT_FALSE(test, migrate_window_enter(w, 7, &ent));
	migrate_window_commit_end(w, seq);
	KUNIT_EXPECT_FALSE(test, migrate_window_enter(w, 7, &ent));
	commit(w);
	KUNIT_EXPECT_TRUE(test, migrate_window_enter(w, 7, &ent));
}

static void window_test_failed_commit(struct kunit *test)
{
	struct window_fixture *f = test->priv;
	struct migrate_window *w = &f->w;
	struct migrate_window_entry *ent = NULL;
	bool flush_legs;

	KUNIT_EXPECT_FALSE(test, migrate_window_enter(w, 9, &ent));
	/* Begun, never durable (the commit failed): nothing is admitted. */
	migrate_window_commit_begin(w, &flush_legs);
	KUNIT_EXPECT_FALSE(test, migrate_window_enter(w, 9, &ent));
	KUNIT_EXPECT_EQ(test, w->committed_seq, 0);
}

/* Fill the window with regions 0.. TEST_WINDOW-1, each written once. */
static void fill_window(struct kunit *test, struct migrate_window *w)
{
	struct migrate_window_entry *ent;
	migrate_region_t r;

	for (r = 0; r < TEST_WINDOW; r++) {
		ent = admit(test, w, r);
		KUNIT_ASSERT_NOT_NULL(test, ent);
		migrate_window_write_done(w, ent, false);
	}
	KUNIT_ASSERT_TRUE(test, list_empty(&w->free));
}

static void window_test_eviction(struct kunit *test)
{
	struct window_fixture *f = test->priv;
	struct migrate_window *w = &f->w;
	struct migrate_window_entry *ent = NULL;
	migrate_region_t first = TEST_WINDOW;
	bool flush_legs;
	u64 seq;

	fill_window(test, w);
	/* Region 0 is written again: region 1 is now the least recent. */
	KUNIT_ASSERT_TRUE(test, migrate_window_enter(w, 0, &ent));
	migrate_window_write_done(w, ent, false);

	bitmap_zero(f->changed, 2 * TEST_WINDOW);
	KUNIT_EXPECT_FALSE(test, migrate_window_enter(w, first, &ent));
	KUNIT_EXPECT_TRUE(test, w->commit_wanted);

	/* Region 1 leaves: legs flushed, its bit written, 0's kept clear. */
	seq = migrate_window_commit_begin(w, &flush_legs);
	KUNIT_EXPECT_TRUE(test, flush_legs);
	KUNIT_EXPECT_TRUE(test, test_bit(1, f->changed));
	KUNIT_EXPECT_FALSE(test, test_bit(0, f->changed));
	/* While that bit may be set on disk, no write to 1 may go. */
	KUNIT_EXPECT_FALSE(test, migrate_window_enter(w, 1, &ent));
	migrate_window_commit_end(w, seq);
	KUNIT_EXPECT_FALSE(test, list_empty(&w->free));

	ent = admit(test, w, first);
	KUNIT_ASSERT_NOT_NULL(test, ent);
	KUNIT_EXPECT_EQ(test, ent->region, first);
	KUNIT_EXPECT_TRUE(test, migrate_window_enter(w, 0, &ent));
}

static void window_test_busy_entries_stay(struct kunit *test)
{
	struct window_fixture *f = test->priv;
	struct migrate_window *w = &f->w;
	struct migrate_window_entry **busy, *ent = NULL;
	migrate_region_t r;

	/* Too large for the stack of a kernel with KASAN's redzones. */
	busy = kunit_kcalloc(test, TEST_WINDOW, sizeof(*busy), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, busy);
	fill_window(test, w);
	for (r = 0; r < TEST_WINDOW; r++)
		KUNIT_ASSERT_TRUE(test, migrate_window_enter(w, r, &busy[r]));

	/* Every region has a write in flight: none may leave. */
	KUNIT_EXPECT_FALSE(test, migrate_window_enter(w, TEST_WINDOW, &ent));
	KUNIT_EXPECT_FALSE(test, w->commit_wanted);

	/* The first to complete, with writers waiting, makes room. */
	KUNIT_EXPECT_FALSE(test, migrate_window_write_done(w, busy[3], false));
	KUNIT_ASSERT_TRUE(test, migrate_window_enter(w, 3, &busy[3]));
	KUNIT_EXPECT_TRUE(test, migrate_window_write_done(w, busy[3], true));
	KUNIT_EXPECT_TRUE(test, w->commit_wanted);
	KUNIT_EXPECT_TRUE(test, commit(w));
	ent = admit(test, w, TEST_WINDOW);
	KUNIT_EXPECT_NOT_NULL(test, ent);
}

static void window_test_leaving_cancelled(struct kunit *test)
{
	struct window_fixture *f = test->priv;
	struct migrate_window *w = &f->w;
	struct migrate_window_entry *ent = NULL;

	fill_window(test, w);
	/* Region 0 is chosen to leave ... */
	KUNIT_EXPECT_FALSE(test, migrate_window_enter(w, TEST_WINDOW, &ent));
	/* ... but written before the commit began: it stays. */
	KUNIT_ASSERT_TRUE(test, migrate_window_enter(w, 0, &ent));
	KUNIT_EXPECT_FALSE(test, ent->leaving);
	migrate_window_write_done(w, ent, false);
	bitmap_zero(f->changed, 2 * TEST_WINDOW);
	KUNIT_EXPECT_FALSE(test, commit(w));
	KUNIT_EXPECT_FALSE(test, test_bit(0, f->changed));
	KUNIT_EXPECT_TRUE(test, migrate_window_enter(w, 0, &ent));
}

static void window_test_fill(struct kunit *test)
{
	struct window_fixture *f = test->priv;
	struct migrate_window *w = &f->w;
	struct migrate_window_entry *ent = NULL;
	DECLARE_BITMAP(bits, 64);
	bool flush_legs;
	u64 seq;

	admit(test, w, 3);
	KUNIT_EXPECT_FALSE(test, migrate_window_enter(w, 70, &ent));

	/* Regions in the window read as not in sync, requested or usable. */
	bitmap_fill(bits, 64);
	migrate_window_fill(w, 0, 64, bits);
	KUNIT_EXPECT_EQ(test, bitmap_weight(bits, 64), 63);
	KUNIT_EXPECT_FALSE(test, test_bit(3, bits));
	bitmap_fill(bits, 64);
	migrate_window_fill(w, 64, 64, bits);
	KUNIT_EXPECT_FALSE(test, test_bit(6, bits));

	/* Leaving, once its commit has begun, it is in sync on disk. */
	migrate_window_leave_all(w);
	seq = migrate_window_commit_begin(w, &flush_legs);
	KUNIT_EXPECT_TRUE(test, flush_legs);
	bitmap_fill(bits, 64);
	migrate_window_fill(w, 0, 64, bits);
	KUNIT_EXPECT_EQ(test, bitmap_weight(bits, 64), 64);
	migrate_window_commit_end(w, seq);
	KUNIT_EXPECT_TRUE(test, list_empty(&w->lru));
}

static struct kunit_case window_test_cases[] = {
	KUNIT_CASE(window_test_admission),
	KUNIT_CASE(window_test_requested_during_commit),
	KUNIT_CASE(window_test_failed_commit),
	KUNIT_CASE(window_test_eviction),
	KUNIT_CASE(window_test_busy_entries_stay),
	KUNIT_CASE(window_test_leaving_cancelled),
	KUNIT_CASE(window_test_fill),
	{}
};

static struct kunit_suite window_test_suite = {
	.name = "dm-migrate-window",
	.init = window_test_init,
	.exit = window_test_exit,
	.test_cases = window_test_cases,
};

kunit_test_suite(window_test_suite);
