// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the migrate target's table and message parsing and of the
 * state it reports.
 */
#include <kunit/test.h>

#include "../dm-migrate-args.h"

struct region_size_case {
	const char *arg;
	int ret;
	unsigned int shift;
};

static const struct region_size_case region_size_cases[] = {
	{ "8", 0, 3 },
	{ "1024", 0, 10 },
	{ "2097152", 0, 21 },
	{ "4", -EINVAL },
	{ "4194304", -EINVAL },
	{ "1000", -EINVAL },
	{ "0", -EINVAL },
	{ "-8", -EINVAL },
	{ "8k", -EINVAL },
	{ "", -EINVAL },
	{ "99999999999999999999", -EINVAL },
};

static void region_size_desc(const struct region_size_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "\"%s\"", c->arg);
}

KUNIT_ARRAY_PARAM(region_size, region_size_cases, region_size_desc);

static void parse_region_size_test(struct kunit *test)
{
	const struct region_size_case *c = test->param_value;
	unsigned int shift = 99;
	char *error = NULL;

	KUNIT_EXPECT_EQ(test, migrate_parse_region_size(c->arg, &shift, &error),
			c->ret);
	if (c->ret) {
		KUNIT_EXPECT_NOT_NULL(test, error);
		KUNIT_EXPECT_EQ(test, shift, 99);
	} else {
		KUNIT_EXPECT_EQ(test, shift, c->shift);
	}
}

static void expect_group(struct kunit *test, const struct migrate_group_args *got,
			 const struct migrate_group_args *want)
{
	KUNIT_EXPECT_EQ(test, got->rate, want->rate);
	KUNIT_EXPECT_EQ(test, got->max_active, want->max_active);
	if (want->name)
		KUNIT_EXPECT_STREQ(test, got->name, want->name);
	else
		KUNIT_EXPECT_NULL(test, got->name);
}

struct features_case {
	const char *name;
	unsigned int argc;
	const char *argv[21];
	int ret;
	bool paused;
	u64 rate;
	bool fresh;
	const char *pair_id;
	unsigned int window, copy_jobs, commit_period_ms;
	bool post_copy;
	unsigned int weight;
	struct migrate_group_args group;
};

static const struct features_case features_cases[] = {
	{ "none", 0, {}, 0, false, 0 },
	{ "zero count", 1, { "0" }, 0, false, 0 },
	{ "paused", 2, { "1", "paused" }, 0, true, 0 },
	{ "rate", 3, { "2", "rate", "1048576" }, 0, false, 1048576 },
	{ "both", 4, { "3", "rate", "0", "PAUSED" }, 0, true, 0 },
	{ "all", 7, { "6", "fresh", "pair_id", "ab12", "paused", "rate", "9" },
	  0, true, 9, true, "ab12" },
	{ "pair_id", 3, { "2", "pair_id", "0123456789abcdef" }, 0, false, 0,
	  false, "0123456789abcdef" },
	{ "tuning", 7, { "6", "window", "8", "copy_jobs", "16", "commit_period", "60000" },
	  0, false, 0, false, NULL, 8, 16, 60000 },
	{ "tuning, other bounds", 7,
	  { "6", "commit_period", "10", "window", "65536", "copy_jobs", "1" },
	  0, false, 0, false, NULL, 65536, 1, 10 },
	{ "every feature", 13, { "12", "fresh", "pair_id", "ab", "paused", "rate", "9",
	  "window", "100", "copy_jobs", "2", "commit_period", "500" },
	  0, true, 9, true, "ab", 100, 2, 500 },
	{ "post_copy", 2, { "1", "post_copy" }, 0, .post_copy = true },
	{ "post_copy with every feature", 14, { "13", "fresh", "pair_id", "ab", "paused",
	  "rate", "9", "window", "100", "copy_jobs", "2", "commit_period", "500",
	  "POST_COPY" }, 0, true, 9, true, "ab", 100, 2, 500, true },
	{ "post_copy repeated", 3, { "2", "post_copy", "post_copy" }, -EINVAL },
	{ "post_copy with a value", 3, { "2", "post_copy", "1" }, -EINVAL },
	{ "count too large", 21, { "20", "paused", "rate", "1", "fresh", "pair_id", "a",
	  "window", "8", "copy_jobs", "1", "commit_period", "10", "post_copy", "weight", "2",
	  "group", "g", "1", "1", "paused" }, -EINVAL },
	{ "group", 5, { "4", "group", "g1", "1048576", "4" }, 0,
	  .group = { "g1", 1048576, 4 } },
	{ "group and weight", 7, { "6", "weight", "1000", "group", "a.b-c_9", "0", "65535" }, 0,
	  .weight = 1000, .group = { "a.b-c_9", 0, 65535 } },
	{ "group of 32 characters", 5, { "4", "group", "0123456789abcdef0123456789abcdef",
	  "1", "0" }, 0, .group = { "0123456789abcdef0123456789abcdef", 1, 0 } },
	{ "group name of 33 characters", 5, { "4", "group",
	  "0123456789abcdef0123456789abcdef0", "1", "0" }, -EINVAL },
	{ "group name with a slash", 5, { "4", "group", "a/b", "1", "0" }, -EINVAL },
	{ "group named -", 5, { "4", "group", "-", "1", "0" }, -EINVAL },
	{ "group missing values", 3, { "2", "group", "g" }, -EINVAL },
	{ "group rate not a number", 5, { "4", "group", "g", "1M", "0" }, -EINVAL },
	{ "group max_active too large", 5, { "4", "group", "g", "1", "65536" }, -EINVAL },
	{ "group repeated", 9, { "8", "group", "a", "1", "1", "group", "b", "1", "1" }, -EINVAL },
	{ "weight zero", 3, { "2", "weight", "0" }, -EINVAL },
	{ "weight too large", 3, { "2", "weight", "1001" }, -EINVAL },
	{ "weight repeated", 5, { "4", "weight", "2", "weight", "3" }, -EINVAL },
	{ "window too small", 3, { "2", "window", "7" }, -EINVAL },
	{ "window too large", 3, { "2", "window", "65537" }, -EINVAL },
	{ "window missing value", 2, { "1", "window" }, -EINVAL },
	{ "window repeated", 5, { "4", "window", "8", "window", "9" }, -EINVAL },
	{ "copy_jobs zero", 3, { "2", "copy_jobs", "0" }, -EINVAL },
	{ "copy_jobs too many", 3, { "2", "copy_jobs", "17" }, -EINVAL },
	{ "copy_jobs not a number", 3, { "2", "copy_jobs", "4x" }, -EINVAL },
	{ "commit_period too short", 3, { "2", "commit_period", "9" }, -EINVAL },
	{ "commit_period too long", 3, { "2", "commit_period", "60001" }, -EINVAL },
	{ "commit_period negative", 3, { "2", "commit_period", "-1" }, -EINVAL },
	{ "pair_id missing value", 2, { "1", "pair_id" }, -EINVAL },
	{ "pair_id too long", 3, { "2", "pair_id",
	  "0123456789012345678901234567890123456789012345678901234567890123" },
	  -EINVAL },
	{ "pair_id repeated", 5, { "4", "pair_id", "a", "pair_id", "b" }, -EINVAL },
	{ "fresh repeated", 3, { "2", "fresh", "fresh" }, -EINVAL },
	{ "count beyond args", 2, { "2", "paused" }, -EINVAL },
	{ "not a count", 1, { "x" }, -EINVAL },
	{ "unknown", 2, { "1", "fast" }, -EINVAL },
	{ "rate missing value", 2, { "1", "rate" }, -EINVAL },
	{ "rate not a number", 3, { "2", "rate", "10M" }, -EINVAL },
	{ "rate negative", 3, { "2", "rate", "-1" }, -EINVAL },
	{ "repeated", 3, { "2", "paused", "paused" }, -EINVAL },
	{ "trailing", 3, { "1", "paused", "extra" }, -EINVAL },
};

static void features_desc(const struct features_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(features, features_cases, features_desc);

static void parse_features_test(struct kunit *test)
{
	const struct features_case *c = test->param_value;
	struct dm_arg_set as = { .argc = c->argc, .argv = (char **)c->argv };
	struct migrate_features f;
	char *error = NULL;
	int r;

	r = migrate_parse_features(&as, &f, &error);
	KUNIT_EXPECT_EQ(test, r, c->ret);
	if (r) {
		KUNIT_EXPECT_NOT_NULL(test, error);
		return;
	}
	KUNIT_EXPECT_EQ(test, f.paused, c->paused);
	KUNIT_EXPECT_EQ(test, f.rate, c->rate);
	KUNIT_EXPECT_EQ(test, f.fresh, c->fresh);
	KUNIT_EXPECT_EQ(test, f.window, c->window);
	KUNIT_EXPECT_EQ(test, f.copy_jobs, c->copy_jobs);
	KUNIT_EXPECT_EQ(test, f.commit_period_ms, c->commit_period_ms);
	KUNIT_EXPECT_EQ(test, f.post_copy, c->post_copy);
	KUNIT_EXPECT_EQ(test, f.weight, c->weight);
	expect_group(test, &f.group, &c->group);
	if (c->pair_id)
		KUNIT_EXPECT_STREQ(test, f.pair_id, c->pair_id);
	else
		KUNIT_EXPECT_NULL(test, f.pair_id);
}

struct message_case {
	const char *name;
	unsigned int argc;
	const char *argv[5];
	int ret;
	enum migrate_msg_type type;
	u64 rate;
	bool repair;
	struct migrate_group_args group;
};

static const struct message_case message_cases[] = {
	{ "group", 4, { "group", "g", "4096", "2" }, 0, MIGRATE_MSG_GROUP,
	  .group = { "g", 4096, 2 } },
	{ "group -", 2, { "group", "-" }, 0, MIGRATE_MSG_GROUP },
	{ "group alone", 1, { "group" }, -EINVAL },
	{ "group name alone", 2, { "group", "g" }, -EINVAL },
	{ "group - with values", 4, { "group", "-", "1", "1" }, -EINVAL },
	{ "group bad name", 4, { "group", "g g", "1", "1" }, -EINVAL },
	{ "group max_active negative", 4, { "group", "g", "1", "-1" }, -EINVAL },
	{ "group extra word", 5, { "group", "g", "1", "1", "x" }, -EINVAL },
	{ "pause", 1, { "pause" }, 0, MIGRATE_MSG_PAUSE },
	{ "resume", 1, { "Resume" }, 0, MIGRATE_MSG_RESUME },
	{ "cutover", 1, { "cutover" }, 0, MIGRATE_MSG_CUTOVER },
	{ "cutover with argument", 2, { "cutover", "now" }, -EINVAL },
	{ "post_copy", 1, { "post_copy" }, 0, MIGRATE_MSG_POST_COPY },
	{ "post_copy with argument", 2, { "post_copy", "now" }, -EINVAL },
	{ "post-copy misspelt", 1, { "post-copy" }, -EINVAL },
	{ "rate", 2, { "rate", "4096" }, 0, MIGRATE_MSG_RATE, 4096 },
	{ "rate unlimited", 2, { "rate", "0" }, 0, MIGRATE_MSG_RATE, 0 },
	{ "empty", 0, {}, -EINVAL },
	{ "unknown", 1, { "confirm" }, -EINVAL },
	{ "pause with argument", 2, { "pause", "now" }, -EINVAL },
	{ "rate without value", 1, { "rate" }, -EINVAL },
	{ "rate with two values", 3, { "rate", "1", "2" }, -EINVAL },
	{ "rate not a number", 2, { "rate", "fast" }, -EINVAL },
	{ "rate negative", 2, { "rate", "-5" }, -EINVAL },
	{ "verify", 1, { "verify" }, 0, MIGRATE_MSG_VERIFY, 0, false },
	{ "verify repair", 2, { "verify", "repair" }, 0, MIGRATE_MSG_VERIFY, 0, true },
	{ "verify rate", 3, { "verify", "rate", "1048576" }, 0,
	  MIGRATE_MSG_VERIFY, 1048576, false },
	{ "verify rate repair", 4, { "verify", "rate", "512", "REPAIR" }, 0,
	  MIGRATE_MSG_VERIFY, 512, true },
	{ "verify stop", 2, { "verify", "stop" }, 0, MIGRATE_MSG_VERIFY_STOP },
	{ "verify report", 2, { "verify", "report" }, 0, MIGRATE_MSG_VERIFY_REPORT },
	{ "verify repair twice", 3, { "verify", "repair", "repair" }, -EINVAL },
	{ "verify rate twice", 5, { "verify", "rate", "1", "rate", "2" }, -EINVAL },
	{ "verify rate without value", 2, { "verify", "rate" }, -EINVAL },
	{ "verify rate not a number", 3, { "verify", "rate", "1M" }, -EINVAL },
	{ "verify unknown word", 2, { "verify", "now" }, -EINVAL },
	{ "verify stop with argument", 3, { "verify", "stop", "now" }, -EINVAL },
};

static void message_desc(const struct message_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(message, message_cases, message_desc);

static void parse_message_test(struct kunit *test)
{
	const struct message_case *c = test->param_value;
	struct migrate_msg msg = { .rate = 12345 };
	char *error = NULL;
	int r;

	r = migrate_parse_message(c->argc, (char **)c->argv, &msg, &error);
	KUNIT_EXPECT_EQ(test, r, c->ret);
	if (r) {
		KUNIT_EXPECT_NOT_NULL(test, error);
		return;
	}
	KUNIT_EXPECT_EQ(test, msg.type, c->type);
	if (c->type == MIGRATE_MSG_RATE || c->type == MIGRATE_MSG_VERIFY)
		KUNIT_EXPECT_EQ(test, msg.rate, c->rate);
	if (c->type == MIGRATE_MSG_VERIFY)
		KUNIT_EXPECT_EQ(test, msg.repair, c->repair);
	if (c->type == MIGRATE_MSG_GROUP)
		expect_group(test, &msg.group, &c->group);
}

struct state_case {
	const char *name;
	struct migrate_health health;
	enum migrate_state state;
};

static const struct state_case state_cases[] = {
	{ "copying", { false, false, false, false }, MIGRATE_COPYING },
	{ "paused", { false, true, false, false }, MIGRATE_PAUSED },
	{ "synced", { true, false, false, false }, MIGRATE_SYNCED },
	{ "synced while paused", { true, true, false, false }, MIGRATE_SYNCED },
	{ "destination failed", { false, false, false, true }, MIGRATE_HALTED },
	{ "destination failed after sync", { true, false, false, true },
	  MIGRATE_HALTED },
	{ "source failed while copying", { false, false, true, false },
	  MIGRATE_HALTED },
	{ "source failed while paused", { false, true, true, false },
	  MIGRATE_HALTED },
	{ "source failed after sync", { true, false, true, false },
	  MIGRATE_SYNCED },
	{ "both failed", { true, false, true, true }, MIGRATE_HALTED },
	{ "post-copy, only lost regions left", { false, false, false, false, true },
	  MIGRATE_HALTED },
	{ "post-copy, only lost regions left, paused", { false, true, false, false, true },
	  MIGRATE_HALTED },
	{ "queued", { .queued = true }, MIGRATE_QUEUED },
	{ "queued, paused", { .paused = true, .queued = true }, MIGRATE_PAUSED },
	{ "queued, every region in sync", { .all_in_sync = true, .queued = true },
	  MIGRATE_SYNCED },
	{ "queued, destination failed", { .dest_failed = true, .queued = true },
	  MIGRATE_HALTED },
};

static void state_desc(const struct state_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(state, state_cases, state_desc);

static void state_test(struct kunit *test)
{
	const struct state_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, migrate_state_of(&c->health), c->state);
}

static void state_name_test(struct kunit *test)
{
	KUNIT_EXPECT_STREQ(test, migrate_state_name(MIGRATE_COPYING), "copying");
	KUNIT_EXPECT_STREQ(test, migrate_state_name(MIGRATE_PAUSED), "paused");
	KUNIT_EXPECT_STREQ(test, migrate_state_name(MIGRATE_SYNCED), "synced");
	KUNIT_EXPECT_STREQ(test, migrate_state_name(MIGRATE_HALTED), "halted");
	KUNIT_EXPECT_STREQ(test, migrate_state_name(MIGRATE_QUEUED), "queued");
}

static struct kunit_case args_test_cases[] = {
	KUNIT_CASE_PARAM(parse_region_size_test, region_size_gen_params),
	KUNIT_CASE_PARAM(parse_features_test, features_gen_params),
	KUNIT_CASE_PARAM(parse_message_test, message_gen_params),
	KUNIT_CASE_PARAM(state_test, state_gen_params),
	KUNIT_CASE(state_name_test),
	{}
};

static struct kunit_suite args_test_suite = {
	.name = "dm-migrate-args",
	.test_cases = args_test_cases,
};

kunit_test_suite(args_test_suite);
