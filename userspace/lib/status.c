// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The migrate target's table and status lines, and their human and JSON
 * forms. Parsing is strict: a line that does not have exactly the
 * documented fields is refused rather than half read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "internal.h"
#include "json.h"

/*
 * The copy's 12, the verify's 8, from target version 1.2 the bytes left
 * unwritten as zeros, from 1.3 the mode, the way back and the regions
 * lost, from 1.4 the rate group, its budget and limit, and the weight: a
 * module still loaded after an upgrade of the tool reports fewer.
 */
#define STATUS_FIELDS	28
#define STATUS_FIELDS_1_3 24
#define STATUS_FIELDS_1_2 21
#define STATUS_FIELDS_1_1 20
#define TABLE_FIELDS	(4 + 1 + 19)	/* devices, region, #features, 19 */

static const char *const state_names[] = {
	[DMM_STATE_IDLE] = "idle",
	[DMM_STATE_COPYING] = "copying",
	[DMM_STATE_PAUSED] = "paused",
	[DMM_STATE_SYNCED] = "synced",
	[DMM_STATE_HALTED] = "halted",
	[DMM_STATE_QUEUED] = "queued",
};

static const char *const verify_names[] = {
	[DMM_VERIFY_NONE] = "-",
	[DMM_VERIFY_RUNNING] = "verifying",
	[DMM_VERIFY_EQUAL] = "equal",
	[DMM_VERIFY_DIFFER] = "differ",
	[DMM_VERIFY_STOPPED] = "stopped",
	[DMM_VERIFY_FAILED] = "failed",
};

static const char *const mode_names[] = { "pre-copy", "post-copy" };
static const char *const rollback_names[] = { "possible", "lost" };

static const char *const health_names[] = {
	[DMM_HEALTH_NONE] = "-",
	[DMM_HEALTH_OK] = "ok",
	[DMM_HEALTH_FAILED] = "failed",
};

/* Split @buf in place on spaces; returns the count, or -1 if > @max. */
static int split(char *buf, char **tok, int max)
{
	char *save, *t;
	int n = 0;

	for (t = strtok_r(buf, " \t\n", &save); t;
	     t = strtok_r(NULL, " \t\n", &save)) {
		if (n == max)
			return -1;
		tok[n++] = t;
	}
	return n;
}

static int parse_u64(const char *s, uint64_t *val)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*val = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static int lookup(const char *s, const char *const *names, int count,
		  int first)
{
	int i;

	for (i = first; i < count; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -EINVAL;
}

/* The target's rules: letters, digits, '.', '_' and '-'; "-" is none. */
static int parse_group(char **tok, struct dmm_status *st)
{
	size_t len = strlen(tok[0]);

	st->group[0] = '\0';
	if (parse_u64(tok[1], &st->group_rate) || parse_u64(tok[2], &st->group_max_active) ||
	    parse_u64(tok[3], &st->weight) || !st->weight || len > DMM_GROUP_NAME_MAX ||
	    strspn(tok[0], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len)
		return -EINVAL;
	if (!strcmp(tok[0], "-"))
		return st->group_rate || st->group_max_active ? -EINVAL : 0;
	strcpy(st->group, tok[0]);
	return 0;
}

static int parse_dev_field(const char *s, char *out, size_t len)
{
	dev_t dev;

	if (dmm__parse_dev(s, &dev) || strlen(s) >= len)
		return -EINVAL;
	strcpy(out, s);
	return 0;
}

/*
 * <state> <passed>/<regions> <compared> <differ> <repaired> <bytes> <ms>
 * <restarts>, after the copy's fields.
 */
static int parse_verify(char **tok, struct dmm_status *st)
{
	char *slash = strchr(tok[1], '/');
	uint64_t total;
	int state;

	state = lookup(tok[0], verify_names, 6, DMM_VERIFY_NONE);
	if (state < 0 || !slash)
		return -EINVAL;
	*slash = '\0';
	if (parse_u64(tok[1], &st->verify_passed) || parse_u64(slash + 1, &total) ||
	    parse_u64(tok[2], &st->verify_compared) ||
	    parse_u64(tok[3], &st->verify_differ) ||
	    parse_u64(tok[4], &st->verify_repaired) ||
	    parse_u64(tok[5], &st->verify_bytes) ||
	    parse_u64(tok[6], &st->verify_ms) ||
	    parse_u64(tok[7], &st->verify_restarts) ||
	    total != st->regions_total || st->verify_passed > total ||
	    st->verify_compared > st->verify_passed ||
	    st->verify_differ > st->verify_compared ||
	    st->verify_repaired > st->verify_differ)
		return -EINVAL;
	st->verify_state = state;
	return 0;
}

int dmm__parse_status(const char *params, struct dmm_status *st)
{
	char buf[512], *tok[STATUS_FIELDS], *slash;
	int state, sh, dh, mh, n;

	if (strlen(params) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, params);
	n = split(buf, tok, STATUS_FIELDS);
	if (n != STATUS_FIELDS && n != STATUS_FIELDS_1_3 && n != STATUS_FIELDS_1_2 &&
	    n != STATUS_FIELDS_1_1)
		return -EINVAL;
	st->bytes_zeroed = 0;
	if (n >= STATUS_FIELDS_1_2 && parse_u64(tok[20], &st->bytes_zeroed))
		return -EINVAL;
	st->post_copy = false;
	st->rollback_lost = false;
	st->regions_lost = 0;
	st->group[0] = '\0';
	st->group_rate = 0;
	st->group_max_active = 0;
	st->weight = 1;
	if (n == STATUS_FIELDS && parse_group(tok + 24, st))
		return -EINVAL;
	if (n >= STATUS_FIELDS_1_3) {
		int mode = lookup(tok[21], mode_names, 2, 0);
		int rollback = lookup(tok[22], rollback_names, 2, 0);

		if (mode < 0 || rollback < 0 || parse_u64(tok[23], &st->regions_lost))
			return -EINVAL;
		st->post_copy = mode;
		st->rollback_lost = rollback;
	}

	state = lookup(tok[0], state_names, DMM_STATE_QUEUED + 1, DMM_STATE_COPYING);
	slash = strchr(tok[1], '/');
	if (state < 0 || !slash)
		return -EINVAL;
	*slash = '\0';
	sh = lookup(tok[7], health_names, 3, DMM_HEALTH_OK);
	dh = lookup(tok[8], health_names, 3, DMM_HEALTH_OK);
	mh = lookup(tok[11], health_names, 3, DMM_HEALTH_NONE);
	if (sh < 0 || dh < 0 || mh < 0 ||
	    parse_u64(tok[1], &st->regions_in_sync) ||
	    parse_u64(slash + 1, &st->regions_total) ||
	    parse_u64(tok[2], &st->region_sectors) ||
	    parse_u64(tok[3], &st->rate) ||
	    parse_u64(tok[4], &st->bytes_copied) ||
	    parse_u64(tok[5], &st->copy_ms) ||
	    parse_u64(tok[6], &st->regions_copying) ||
	    parse_u64(tok[9], &st->source_errors) ||
	    parse_u64(tok[10], &st->dest_errors) ||
	    st->regions_in_sync > st->regions_total || !st->regions_total ||
	    st->bytes_zeroed > st->bytes_copied ||
	    st->regions_lost > st->regions_total - st->regions_in_sync ||
	    parse_verify(tok + 12, st))
		return -EINVAL;

	st->state = state;
	st->source_health = sh;
	st->dest_health = dh;
	st->metadata_health = mh;
	return 0;
}

/* <source> <dest> <metadata | -> <region sectors> [<#features> <arg>...] */
int dmm__parse_table(const char *params, struct dmm_status *st)
{
	char buf[512], *tok[TABLE_FIELDS];
	uint64_t region, nfeat;
	int n;

	if (strlen(params) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, params);
	n = split(buf, tok, TABLE_FIELDS);
	if (n < 4 || parse_u64(tok[3], &region))
		return -EINVAL;
	if (n > 4 && (parse_u64(tok[4], &nfeat) || nfeat != (uint64_t)n - 5))
		return -EINVAL;
	if (parse_dev_field(tok[0], st->source, sizeof(st->source)) ||
	    parse_dev_field(tok[1], st->dest, sizeof(st->dest)))
		return -EINVAL;
	if (!strcmp(tok[2], "-"))
		st->metadata[0] = '\0';
	else if (parse_dev_field(tok[2], st->metadata, sizeof(st->metadata)))
		return -EINVAL;
	st->region_sectors = region;
	return 0;
}

void dmm_status_free(struct dmm_status *st)
{
	free(st);
}

const char *dmm_status_name(const struct dmm_status *st)
{
	return st->name;
}

enum dmm_state dmm_status_state(const struct dmm_status *st)
{
	return st->state;
}

const char *dmm_state_name(enum dmm_state state)
{
	return state <= DMM_STATE_QUEUED ? state_names[state] : "unknown";
}

uint64_t dmm_status_size(const struct dmm_status *st)
{
	return st->len_sectors << SECTOR_SHIFT;
}

const char *dmm_status_leg_dev(const struct dmm_status *st, enum dmm_leg leg)
{
	switch (leg) {
	case DMM_LEG_SOURCE:
		return st->source;
	case DMM_LEG_DESTINATION:
		return st->state == DMM_STATE_IDLE ? "" : st->dest;
	case DMM_LEG_METADATA:
		return st->state == DMM_STATE_IDLE ? "" : st->metadata;
	}
	return "";
}

enum dmm_health dmm_status_leg_health(const struct dmm_status *st,
				      enum dmm_leg leg)
{
	if (st->state == DMM_STATE_IDLE)
		return leg == DMM_LEG_SOURCE ? DMM_HEALTH_OK : DMM_HEALTH_NONE;
	switch (leg) {
	case DMM_LEG_SOURCE:
		return st->source_health;
	case DMM_LEG_DESTINATION:
		return st->dest_health;
	case DMM_LEG_METADATA:
		return st->metadata[0] ? st->metadata_health : DMM_HEALTH_NONE;
	}
	return DMM_HEALTH_NONE;
}

uint64_t dmm_status_leg_errors(const struct dmm_status *st, enum dmm_leg leg)
{
	if (st->state == DMM_STATE_IDLE)
		return 0;
	return leg == DMM_LEG_SOURCE ? st->source_errors :
	       leg == DMM_LEG_DESTINATION ? st->dest_errors : 0;
}

const char *dmm_health_name(enum dmm_health health)
{
	return health <= DMM_HEALTH_FAILED ? health_names[health] : "unknown";
}

uint64_t dmm_status_region_size(const struct dmm_status *st)
{
	return st->state == DMM_STATE_IDLE ? 0 : st->region_sectors << SECTOR_SHIFT;
}

uint64_t dmm_status_regions_in_sync(const struct dmm_status *st)
{
	return st->state == DMM_STATE_IDLE ? 0 : st->regions_in_sync;
}

uint64_t dmm_status_regions_total(const struct dmm_status *st)
{
	return st->state == DMM_STATE_IDLE ? 0 : st->regions_total;
}

uint64_t dmm_status_rate_limit(const struct dmm_status *st)
{
	return st->state == DMM_STATE_IDLE ? 0 : st->rate;
}

uint64_t dmm_status_bytes_copied(const struct dmm_status *st)
{
	return st->state == DMM_STATE_IDLE ? 0 : st->bytes_copied;
}

uint64_t dmm_status_bytes_zeroed(const struct dmm_status *st)
{
	return st->state == DMM_STATE_IDLE ? 0 : st->bytes_zeroed;
}

bool dmm_status_post_copy(const struct dmm_status *st)
{
	return st->state != DMM_STATE_IDLE && st->post_copy;
}

bool dmm_status_rollback_possible(const struct dmm_status *st)
{
	return st->state != DMM_STATE_IDLE && !st->rollback_lost;
}

uint64_t dmm_status_regions_lost(const struct dmm_status *st)
{
	return st->state == DMM_STATE_IDLE ? 0 : st->regions_lost;
}

double dmm_status_percent(const struct dmm_status *st)
{
	if (st->state == DMM_STATE_IDLE || !st->regions_total)
		return 0;
	return 100.0 * st->regions_in_sync / st->regions_total;
}

uint64_t dmm_status_bytes_per_second(const struct dmm_status *st)
{
	if (!st->copy_ms)
		return 0;
	return st->bytes_copied * 1000 / st->copy_ms;
}

int64_t dmm_status_seconds_remaining(const struct dmm_status *st)
{
	uint64_t bps = dmm_status_bytes_per_second(st);
	uint64_t done = st->regions_in_sync * (st->region_sectors << SECTOR_SHIFT);
	uint64_t size = st->len_sectors << SECTOR_SHIFT;

	if (st->state == DMM_STATE_SYNCED)
		return 0;
	if (st->state == DMM_STATE_IDLE || st->state == DMM_STATE_HALTED ||
	    !bps)
		return -1;
	return done >= size ? 0 : (int64_t)((size - done + bps - 1) / bps);
}

const char *dmm_status_group(const struct dmm_status *st)
{
	return st->state == DMM_STATE_IDLE ? "" : st->group;
}

uint64_t dmm_status_group_rate(const struct dmm_status *st)
{
	return st->state == DMM_STATE_IDLE ? 0 : st->group_rate;
}

unsigned int dmm_status_group_max_active(const struct dmm_status *st)
{
	return st->state == DMM_STATE_IDLE ? 0 : (unsigned int)st->group_max_active;
}

unsigned int dmm_status_weight(const struct dmm_status *st)
{
	return st->state == DMM_STATE_IDLE ? 1 : (unsigned int)st->weight;
}

enum dmm_verify_state dmm_status_verify_state(const struct dmm_status *st)
{
	return st->state == DMM_STATE_IDLE ? DMM_VERIFY_NONE : st->verify_state;
}

const char *dmm_verify_state_name(enum dmm_verify_state state)
{
	return state <= DMM_VERIFY_FAILED ? verify_names[state] : "unknown";
}

uint64_t dmm_status_verify_compared(const struct dmm_status *st)
{
	return st->verify_compared;
}

uint64_t dmm_status_verify_differ(const struct dmm_status *st)
{
	return st->verify_differ;
}

uint64_t dmm_status_verify_repaired(const struct dmm_status *st)
{
	return st->verify_repaired;
}

double dmm_status_verify_percent(const struct dmm_status *st)
{
	if (dmm_status_verify_state(st) == DMM_VERIFY_NONE || !st->regions_total)
		return 0;
	return 100.0 * st->verify_passed / st->regions_total;
}

uint64_t dmm_status_verify_bytes_per_second(const struct dmm_status *st)
{
	return st->verify_ms ? st->verify_bytes * 1000 / st->verify_ms : 0;
}

int64_t dmm_status_verify_seconds_remaining(const struct dmm_status *st)
{
	uint64_t bps = dmm_status_verify_bytes_per_second(st);
	uint64_t left = (st->regions_total - st->verify_passed) *
			(st->region_sectors << SECTOR_SHIFT);

	if (dmm_status_verify_state(st) != DMM_VERIFY_RUNNING || !bps)
		return -1;
	/* Regions not in sync are passed without a read: an upper bound. */
	return (int64_t)((left + bps - 1) / bps);
}

unsigned int dmm_status_verify_restarts(const struct dmm_status *st)
{
	return st->verify_restarts;
}

/* "/dev/sdb" for "8:16" when sysfs knows it, else "8:16". */
static const char *dev_name(const char *majmin, char *buf, size_t len)
{
	dev_t dev;

	if (dmm__parse_dev(majmin, &dev) || dmm__dev_path(dev, buf, len))
		return majmin;
	return buf;
}

const char *dmm_status_leg_path(const struct dmm_status *st, enum dmm_leg leg,
				char *buf, size_t len)
{
	const char *dev = dmm_status_leg_dev(st, leg);

	if (!*dev) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	if (dev_name(dev, buf, len) != buf)
		snprintf(buf, len, "%s", dev);
	return buf;
}

static void print_leg(FILE *out, const char *what, const char *majmin,
		      enum dmm_health health, uint64_t errors)
{
	char path[256];

	fprintf(out, "  %-13s%s (%s), %s, %llu errors\n", what,
		dev_name(majmin, path, sizeof(path)), majmin,
		health_names[health], (unsigned long long)errors);
}

void dmm_status_print(const struct dmm_status *st, FILE *out)
{
	char path[256], b1[32], b2[32], b3[32];

	dmm__format_bytes(b1, sizeof(b1), st->len_sectors << SECTOR_SHIFT);
	if (st->state == DMM_STATE_IDLE) {
		fprintf(out, "%s: idle, %s on %s (%s)\n", st->name, b1,
			dev_name(st->source, path, sizeof(path)), st->source);
		return;
	}

	dmm__format_bytes(b2, sizeof(b2), st->region_sectors << SECTOR_SHIFT);
	fprintf(out, "%s: %s, %.1f%% in sync (%llu of %llu regions of %s), %s\n",
		st->name, state_names[st->state], dmm_status_percent(st),
		(unsigned long long)st->regions_in_sync,
		(unsigned long long)st->regions_total, b2, b1);
	if (st->post_copy)
		fprintf(out, "  %-13spost-copy: the destination serves what it holds; abort %s\n",
			"mode:", st->rollback_lost ?
			"no longer possible (the destination took writes)" :
			"possible until the first write");
	if (st->regions_lost)
		fprintf(out, "  %-13s%llu regions the source could not give; their reads and partial writes fail\n",
			"lost:", (unsigned long long)st->regions_lost);
	if (st->group[0]) {
		if (st->group_rate)
			dmm__format_bytes(b3, sizeof(b3), st->group_rate);
		fprintf(out, "  %-13s%s, budget %s%s, ", "group:", st->group,
			st->group_rate ? b3 : "none", st->group_rate ? "/s" : "");
		if (st->group_max_active)
			fprintf(out, "at most %llu copying",
				(unsigned long long)st->group_max_active);
		else
			fputs("any number copying", out);
		fprintf(out, ", weight %llu\n", (unsigned long long)st->weight);
	}
	print_leg(out, "source:", st->source, st->source_health,
		  st->source_errors);
	print_leg(out, "destination:", st->dest, st->dest_health,
		  st->dest_errors);
	if (st->metadata[0])
		fprintf(out, "  %-13s%s (%s), %s\n", "metadata:",
			dev_name(st->metadata, path, sizeof(path)),
			st->metadata, health_names[st->metadata_health]);

	dmm__format_bytes(b1, sizeof(b1), st->bytes_copied);
	dmm__format_bytes(b2, sizeof(b2), dmm_status_bytes_per_second(st));
	if (st->rate)
		dmm__format_bytes(b3, sizeof(b3), st->rate);
	fprintf(out, "  %-13s%s at %s/s (limit %s%s)\n", "copied:", b1, b2,
		st->rate ? b3 : "none", st->rate ? "/s" : "");
	if (st->bytes_zeroed) {
		dmm__format_bytes(b1, sizeof(b1), st->bytes_zeroed);
		fprintf(out, "  %-13s%s of it zeros, not written\n", "", b1);
	}
	dmm__format_duration(b1, sizeof(b1), dmm_status_seconds_remaining(st));
	fprintf(out, "  %-13s%s\n", "remaining:", b1);
	if (st->verify_state == DMM_VERIFY_NONE)
		return;
	dmm__format_bytes(b1, sizeof(b1), dmm_status_verify_bytes_per_second(st));
	dmm__format_duration(b2, sizeof(b2), dmm_status_verify_seconds_remaining(st));
	fprintf(out, "  %-13s%s, %.1f%% passed, %llu regions compared, %llu differ, %llu repaired, at %s/s, %s left",
		"verify:", verify_names[st->verify_state],
		dmm_status_verify_percent(st),
		(unsigned long long)st->verify_compared,
		(unsigned long long)st->verify_differ,
		(unsigned long long)st->verify_repaired, b1, b2);
	if (st->verify_restarts)
		fprintf(out, ", started over %llu times after a suspend",
			(unsigned long long)st->verify_restarts);
	fputc('\n', out);
}

void dmm_status_print_export(const struct dmm_status *st, FILE *out)
{
	char path[256];

	fprintf(out, "DM_MIGRATE_VOLUME=%s\nDM_MIGRATE_STATE=%s\n", st->name,
		state_names[st->state]);
	fprintf(out, "DM_MIGRATE_SOURCE=%s\n",
		dev_name(st->source, path, sizeof(path)));
	if (st->state == DMM_STATE_IDLE)
		return;
	fprintf(out, "DM_MIGRATE_DESTINATION=%s\n",
		dev_name(st->dest, path, sizeof(path)));
	fprintf(out, "DM_MIGRATE_PERCENT=%.0f\n", dmm_status_percent(st));
	fprintf(out, "DM_MIGRATE_SOURCE_HEALTH=%s\n",
		health_names[st->source_health]);
	fprintf(out, "DM_MIGRATE_DESTINATION_HEALTH=%s\n",
		health_names[st->dest_health]);
	if (st->verify_state != DMM_VERIFY_NONE)
		fprintf(out, "DM_MIGRATE_VERIFY=%s\n",
			verify_names[st->verify_state]);
	fprintf(out, "DM_MIGRATE_MODE=%s\n", mode_names[st->post_copy]);
	if (st->group[0])
		fprintf(out, "DM_MIGRATE_GROUP=%s\n", st->group);
}

void dmm_status_print_progress(const struct dmm_status *st, FILE *out,
			       unsigned int width)
{
	double percent = dmm_status_percent(st);
	char rate[32], left[32];
	unsigned int i, done;

	/* "[###...] 100.0% 1023.9 MiB/s 10h59m synced": 40 around the bar */
	width = width > 50 ? width - 40 : 10;
	done = percent * width / 100;
	dmm__format_bytes(rate, sizeof(rate), dmm_status_bytes_per_second(st));
	dmm__format_duration(left, sizeof(left),
			     dmm_status_seconds_remaining(st));
	fputc('[', out);
	for (i = 0; i < width; i++)
		fputc(i < done ? '#' : '.', out);
	fprintf(out, "] %5.1f%% %s/s %s %s", percent, rate, left,
		state_names[st->state]);
}

static void print_verify_json(const struct dmm_status *st, struct dmm_json *j)
{
	if (st->verify_state == DMM_VERIFY_NONE) {
		dmm_json_null(j, "verify");
		return;
	}
	dmm_json_open(j, "verify", '{');
	dmm_json_str(j, "state", verify_names[st->verify_state]);
	dmm_json_ratio(j, "percent", st->verify_passed, st->regions_total);
	dmm_json_u64(j, "regions_passed", st->verify_passed);
	dmm_json_u64(j, "regions_compared", st->verify_compared);
	dmm_json_u64(j, "regions_differ", st->verify_differ);
	dmm_json_u64(j, "regions_repaired", st->verify_repaired);
	dmm_json_u64(j, "bytes_compared", st->verify_bytes);
	dmm_json_u64(j, "bytes_per_second",
		     dmm_status_verify_bytes_per_second(st));
	dmm_json_known(j, "seconds_remaining",
		       dmm_status_verify_seconds_remaining(st));
	dmm_json_u64(j, "restarts", st->verify_restarts);
	dmm_json_close(j, '}');
}

/* The members of a migrating volume, null for an idle one. */
static const char *const migrating_members[] = {
	"region_size", "regions_in_sync", "regions_total", "percent",
	"rate_limit", "bytes_per_second", "bytes_copied", "bytes_zeroed",
	"seconds_remaining", "mode", "rollback", "regions_lost",
	"source_health", "destination_health", "metadata_health",
	"source_errors", "destination_errors", "errors", "verify",
	"group", "group_rate", "group_max_active", "weight",
};

void dmm_status_print_json(const struct dmm_status *st, FILE *out)
{
	bool idle = st->state == DMM_STATE_IDLE;
	char src[256], dst[256], meta[256];
	struct dmm_json j;
	unsigned int i;

	dmm_json_init(&j, out);
	dmm_json_open(&j, NULL, '{');
	dmm_json_str(&j, "name", st->name);
	dmm_json_str(&j, "state", state_names[st->state]);
	dmm_json_str(&j, "source", dev_name(st->source, src, sizeof(src)));
	dmm_json_str(&j, "source_dev", st->source);
	dmm_json_str(&j, "destination",
		     idle ? NULL : dev_name(st->dest, dst, sizeof(dst)));
	dmm_json_str(&j, "destination_dev", idle ? NULL : st->dest);
	dmm_json_str(&j, "metadata", st->metadata[0] ?
		     dev_name(st->metadata, meta, sizeof(meta)) : NULL);
	dmm_json_u64(&j, "size", st->len_sectors << SECTOR_SHIFT);
	if (idle) {
		for (i = 0; i < sizeof(migrating_members) / sizeof(migrating_members[0]); i++)
			dmm_json_null(&j, migrating_members[i]);
		dmm_json_close(&j, '}');
		return;
	}
	dmm_json_u64(&j, "region_size", st->region_sectors << SECTOR_SHIFT);
	dmm_json_u64(&j, "regions_in_sync", st->regions_in_sync);
	dmm_json_u64(&j, "regions_total", st->regions_total);
	dmm_json_ratio(&j, "percent", st->regions_in_sync, st->regions_total);
	dmm_json_u64(&j, "rate_limit", st->rate);
	dmm_json_u64(&j, "bytes_per_second", dmm_status_bytes_per_second(st));
	dmm_json_u64(&j, "bytes_copied", st->bytes_copied);
	dmm_json_u64(&j, "bytes_zeroed", st->bytes_zeroed);
	dmm_json_known(&j, "seconds_remaining", dmm_status_seconds_remaining(st));
	dmm_json_str(&j, "mode", mode_names[st->post_copy]);
	dmm_json_str(&j, "rollback", rollback_names[st->rollback_lost]);
	dmm_json_u64(&j, "regions_lost", st->regions_lost);
	dmm_json_str(&j, "source_health", health_names[st->source_health]);
	dmm_json_str(&j, "destination_health", health_names[st->dest_health]);
	dmm_json_str(&j, "metadata_health", st->metadata[0] ?
		     health_names[st->metadata_health] : NULL);
	dmm_json_u64(&j, "source_errors", st->source_errors);
	dmm_json_u64(&j, "destination_errors", st->dest_errors);
	dmm_json_u64(&j, "errors", st->source_errors + st->dest_errors);
	print_verify_json(st, &j);
	dmm_json_str(&j, "group", st->group[0] ? st->group : NULL);
	dmm_json_u64(&j, "group_rate", st->group_rate);
	dmm_json_u64(&j, "group_max_active", st->group_max_active);
	dmm_json_u64(&j, "weight", st->weight);
	dmm_json_close(&j, '}');
}
