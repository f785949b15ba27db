// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Rate groups: migrations that share one copy budget (target 1.4). The
 * kernel keeps a group while it has members and enforces it; a member's
 * table is the truth about its budget and limit. The tool also keeps them
 * in /run/dmmigrate/G.group, so that a start finds them while no member
 * runs (the first of a batch, or after the last one finished).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int dmm__check_group_name(struct dmm_ctx *ctx, const char *group)
{
	size_t len = strlen(group), i;

	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)group[i]) &&
		    !strchr("._-", group[i]))
			break;
	if (!len || len > DMM_GROUP_NAME_MAX || !strcmp(group, "-") ||
	    i < len)
		return dmm__err(ctx, DMM_EUSAGE,
				"invalid rate group name '%s'; give 1 to %u letters, digits, '.', '_' or '-'",
				group, DMM_GROUP_NAME_MAX);
	return DMM_OK;
}

struct members {
	const char *group;
	char name[DMM_NAME_MAX + 1];	/* the first member found, "" if none */
	struct dmm__group *g;
	/* dmm_group_set(): send @msg to every member; the first error kept. */
	const char *msg;
	int r;
};

static int each_member(struct dmm_ctx *ctx, const char *name, void *data)
{
	struct members *m = data;
	struct dmm_status *st;
	bool member;
	int r;

	/* Read only: a member being worked on is not waited for. */
	r = dmm_status_read(ctx, name, &st);
	if (r)
		return r == DMM_ENODEV ? 0 : r;	/* removed meanwhile */
	member = st->state != DMM_STATE_IDLE && !strcmp(st->group, m->group);
	if (member && !m->name[0]) {
		snprintf(m->name, sizeof(m->name), "%s", name);
		if (m->g) {
			m->g->rate = st->group_rate;
			m->g->max_active = st->group_max_active;
		}
	}
	dmm_status_free(st);
	if (member && m->msg) {
		r = dmm__send_message(ctx, name, m->msg, "group");
		/* One that finished meanwhile has left the group: no error. */
		if (r && r != DMM_ESTATE && r != DMM_ENODEV && !m->r)
			m->r = r;
	}
	return 0;
}

static int read_kept(const char *group, struct dmm__group *g)
{
	unsigned long long rate;
	unsigned int max;
	FILE *f = dmm__state_open(group, "group");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%llu %u", &rate, &max);
	fclose(f);
	if (n != 2)
		return -EINVAL;
	g->rate = rate;
	g->max_active = max;
	return 0;
}

int dmm__group_find(struct dmm_ctx *ctx, const char *group,
		    struct dmm__group *g)
{
	struct members m = { .group = group, .g = g };
	int r;

	r = dmm__check_group_name(ctx, group) ?:
	    dmm_for_each_volume(ctx, each_member, &m);
	if (r)
		return r;
	snprintf(g->name, sizeof(g->name), "%s", group);
	if (m.name[0] || !read_kept(group, g))
		return DMM_OK;
	return dmm__err(ctx, DMM_EUSAGE,
			"rate group %s is not set: no migration runs in it; give its budget first with 'dmmigrate group %s --rate RATE'",
			group, group);
}

int dmm_group_get(struct dmm_ctx *ctx, const char *group, uint64_t *rate,
		  unsigned int *max_active)
{
	struct dmm__group g = { 0 };
	int r = dmm__group_find(ctx, group, &g);

	if (!r) {
		*rate = g.rate;
		*max_active = g.max_active;
	}
	return r;
}

int dmm_group_set(struct dmm_ctx *ctx, const char *group, uint64_t rate,
		  unsigned int max_active, unsigned int flags)
{
	char text[64], msg[DMM_GROUP_NAME_MAX + 48];
	struct members m = { .group = group, .msg = msg };
	struct dmm__group now = { 0 };
	int r;

	r = dmm__check_group_name(ctx, group);
	if (r)
		return r;
	if (flags & (DMM_GROUP_KEEP_RATE | DMM_GROUP_KEEP_MAX_ACTIVE)) {
		r = dmm__group_find(ctx, group, &now);
		if (r && (flags & DMM_GROUP_KEEP_RATE))
			return r;
		if (flags & DMM_GROUP_KEEP_RATE)
			rate = now.rate;
		if (flags & DMM_GROUP_KEEP_MAX_ACTIVE)
			max_active = now.max_active;
	}
	if (max_active > DMM_GROUP_MAX_ACTIVE)
		return dmm__err(ctx, DMM_EUSAGE,
				"at most %u members of a group can copy at once (0: any number)",
				DMM_GROUP_MAX_ACTIVE);
	snprintf(text, sizeof(text), "%" PRIu64 " %u\n", rate, max_active);
	snprintf(msg, sizeof(msg), "group %s %" PRIu64 " %u", group, rate,
		 max_active);
	/* Kept first: a start meanwhile finds the new budget either way. */
	r = dmm__state_write(ctx, group, "group", text) ?:
	    dmm_for_each_volume(ctx, each_member, &m);
	return r ?: m.r;
}

int dmm_group_join(struct dmm_ctx *ctx, const char *name, const char *group)
{
	char msg[DMM_GROUP_NAME_MAX + 48];
	struct dmm__group g = { 0 };
	int r;

	if (!group)
		return dmm__send_message(ctx, name, "group -", "leave a group");
	r = dmm__group_find(ctx, group, &g);
	if (r)
		return r;
	snprintf(msg, sizeof(msg), "group %s %" PRIu64 " %u", group, g.rate,
		 g.max_active);
	return dmm__send_message(ctx, name, msg, "join a group");
}
