// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rate groups: migrations that share one copy budget and, if asked, a limit
 * on how many of them copy at once. A table joins a group with the "group"
 * feature, a running migration with the "group" message; the group lives
 * while it has members, and the last table resumed or message sent into
 * it sets its budget and limit (a table loaded and never resumed changes
 * nothing live).
 *
 * The budget is a bucket (dm-migrate-pace.h) every member's copies draw
 * from. It is shared by weight and spent by whoever asks: a member that
 * asked for none of it lately (paused, queued, resting while its volume is
 * busy, done) counts for nothing, so the others spend its part. A member
 * that has spent more than the least spender among those asking, by more
 * than the copy it asks for, waits, so members of equal weight copy at
 * equal rates; one that comes back starts level with the least, not with
 * a debt to catch up.
 *
 * Slots: with a limit, a member copies only while it holds one of
 * max_active slots, taken in the order the members joined and given back
 * when it is paused, halted, in sync or gone; until then it reports
 * "queued". A slot given back wakes the members waiting for one. A member
 * suspended keeps its slot (a reload swaps the table in a moment) but holds
 * up no one behind it in line.
 *
 * Locks: groups_lock (a mutex) guards the list of groups and each group's
 * count of users; it is taken in the constructor, the destructor and the
 * group message, outside mc->lock. A group's lock (a spinlock) guards its
 * bucket, limit, slots and members; it is taken inside mc->lock, never the
 * other way, and only the worker of a member, holding its own mc->lock,
 * takes or gives back that member's slot. mc->member.group changes under
 * groups_lock and mc->lock both, so either is enough to read it.
 */
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dm-migrate.h"

struct migrate_group {
	struct list_head list;		/* in groups */
	unsigned int users;		/* members, under groups_lock */
	char name[MIGRATE_GROUP_NAME_MAX + 1];
	spinlock_t lock;		/* the fields below, and members' slots */
	struct migrate_bucket bucket;
	unsigned int max_active;	/* 0: no limit */
	unsigned int nr_slots;		/* members holding a slot */
	struct list_head members;	/* in the order they joined */
};

static DEFINE_MUTEX(groups_lock);
static LIST_HEAD(groups);

/*
 * A member that has not asked for a copy for this long, beyond the length
 * of the copy it last asked for at the budget, asks for none: waits for a
 * rest, for a slot or for copies in flight are no claim on the budget.
 */
#define ASK_SPAN_NS	(100 * NSEC_PER_MSEC)

static struct migrate_c *member_mc(struct migrate_member *m)
{
	return container_of(m, struct migrate_c, member);
}

static struct migrate_group *find_group(const char *name)
{
	struct migrate_group *g;

	lockdep_assert_held(&groups_lock);
	list_for_each_entry(g, &groups, list)
		if (!strcmp(g->name, name))
			return g;
	return NULL;
}

static struct migrate_group *get_group(const char *name)
{
	struct migrate_group *g = find_group(name);

	if (!g) {
		g = kzalloc(sizeof(*g), GFP_KERNEL);
		if (!g)
			return NULL;
		strscpy(g->name, name, sizeof(g->name));
		spin_lock_init(&g->lock);
		INIT_LIST_HEAD(&g->members);
		list_add_tail(&g->list, &groups);
	}
	g->users++;
	return g;
}

static void put_group(struct migrate_group *g)
{
	lockdep_assert_held(&groups_lock);
	if (--g->users)
		return;
	list_del(&g->list);
	kfree(g);
}

/*
 * Wake every member waiting for a slot (the first in line takes it), or
 * with @all every member: a new budget applies at once, not when a wait
 * the old one set ends. A member suspended is left asleep: it claims
 * nothing until its resume, which wakes it; and a table loaded but never
 * resumed has not read its metadata yet, so its worker must not run (its
 * commit would write a superblock over a bitmap not read). Its flags are
 * read without its lock: a member resuming then wakes itself all the same.
 */
static void __wake_members(struct migrate_group *g, bool all)
{
	struct migrate_member *m;
	struct migrate_c *mc;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(m, &g->members, entry) {
		mc = member_mc(m);
		if ((all || !m->slot) && !test_bit(MC_SUSPENDED, &mc->flags))
			wake_worker(mc);
	}
}

static void __give_back_slot(struct migrate_group *g, struct migrate_member *m)
{
	lockdep_assert_held(&g->lock);
	if (!m->slot)
		return;
	m->slot = false;
	g->nr_slots--;
	__wake_members(g, false);
}

static void __set_budget(struct migrate_group *g, u64 rate,
			 unsigned int max_active)
{
	lockdep_assert_held(&g->lock);
	if (g->bucket.rate != rate) {
		migrate_bucket_set_rate(&g->bucket, rate);
		__wake_members(g, true);
	}
	if (g->max_active != max_active) {
		WRITE_ONCE(g->max_active, max_active);
		__wake_members(g, false);
	}
}

/*
 * Under mc->lock: leave the group (NULL: none) for @to, whose budget and
 * limit @args sets, @now or (a table being loaded) at its first resume.
 * The member leaves its slot behind and comes into the new group at the
 * back of the line, level with its least spender.
 */
static void __move_member(struct migrate_c *mc, struct migrate_group *to,
			  const struct migrate_group_args *args, bool now)
{
	struct migrate_member *m = &mc->member;
	struct migrate_group *from = m->group;

	lockdep_assert_held(&mc->lock);
	if (from != to && from) {
		spin_lock(&from->lock);
		__give_back_slot(from, m);
		list_del_init(&m->entry);
		spin_unlock(&from->lock);
	}
	m->group = to;
	if (!to)
		return;
	spin_lock(&to->lock);
	if (from != to) {
		m->vtime = 0;
		m->asked = 0;
		list_add_tail(&m->entry, &to->members);
	}
	m->pending = !now;
	m->pending_rate = args->rate;
	m->pending_max_active = args->max_active;
	if (now)
		__set_budget(to, args->rate, args->max_active);
	spin_unlock(&to->lock);
}

/*
 * Join, move to or (@args->name NULL) leave a group. The constructor calls
 * it before the table is live, the budget and limit left for its first
 * resume (@now false); the group message while it is (and then updates
 * the copier clock: the member may be queued now). Sleeps.
 */
int migrate_group_set(struct migrate_c *mc, const struct migrate_group_args *args,
		      bool now)
{
	struct migrate_group *to = NULL, *from;
	unsigned long flags;

	mutex_lock(&groups_lock);
	if (args->name) {
		to = get_group(args->name);
		if (!to) {
			mutex_unlock(&groups_lock);
			return -ENOMEM;
		}
	}
	spin_lock_irqsave(&mc->lock, flags);
	from = mc->member.group;
	__move_member(mc, to, args, now);
	spin_unlock_irqrestore(&mc->lock, flags);
	/* One use of each group per member: a stay in one gives one back. */
	if (from)
		put_group(from);
	mutex_unlock(&groups_lock);
	return 0;
}

/* In the destructor, before the workqueue goes: no member wakes it after. */
void migrate_group_leave(struct migrate_c *mc)
{
	struct migrate_group_args none = {};

	if (mc->member.group)
		migrate_group_set(mc, &none, true);
}

/* At the table's first resume, the budget and limit its line gave. */
void migrate_group_resumed(struct migrate_c *mc)
{
	struct migrate_member *m = &mc->member;
	unsigned long flags;

	spin_lock_irqsave(&mc->lock, flags);
	if (m->pending && m->group) {
		spin_lock(&m->group->lock);
		__set_budget(m->group, m->pending_rate, m->pending_max_active);
		spin_unlock(&m->group->lock);
	}
	m->pending = false;
	spin_unlock_irqrestore(&mc->lock, flags);
}

/* The slot, taken if it is free and no member that joined earlier waits. */
static bool __take_slot(struct migrate_group *g, struct migrate_member *m)
{
	struct migrate_member *other;

	lockdep_assert_held(&g->lock);
	if (m->slot)
		return true;
	if (g->max_active) {
		if (g->nr_slots >= g->max_active)
			return false;
		list_for_each_entry(other, &g->members, entry) {
			if (other == m)
				break;
			if (!other->slot && other->wants_slot)
				return false;
		}
	}
	m->slot = true;
	g->nr_slots++;
	return true;
}

/* The least any other member asking now has spent, U64_MAX if none asks. */
static u64 __least_spent(struct migrate_group *g, struct migrate_member *m,
			 ktime_t now)
{
	struct migrate_member *other;
	u64 least = U64_MAX;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(other, &g->members, entry)
		if (other != m && other->asked &&
		    ktime_before(now, ktime_add_ns(other->asked, other->ask_span)))
			least = min(least, other->vtime);
	return least;
}

/*
 * Does the member hold a slot, or take one now? If not, it is queued, and
 * its worker is woken when a slot is given back. *taken: it was queued and
 * copies now, a change of state.
 */
bool __migrate_group_slot(struct migrate_c *mc, bool *taken)
{
	struct migrate_member *m = &mc->member;
	struct migrate_group *g = m->group;
	bool held;

	lockdep_assert_held(&mc->lock);
	*taken = false;
	if (!g)
		return true;
	spin_lock(&g->lock);
	held = m->slot;
	m->wants_slot = true;
	if (!held)
		held = *taken = __take_slot(g, m);
	spin_unlock(&g->lock);
	return held;
}

/*
 * May the member, holding a slot, claim a copy of @bytes now? If not,
 * *delay is the jiffies until it asks again. Called in the copier's claim,
 * after the volume's own pacing admitted it; the copy's bytes are spent
 * from the budget when it is admitted. A copy @paced (the volume is busy:
 * its copier rests between copies) draws on the budget but neither waits
 * for the others nor holds them back: the member asks for less than its
 * share, and the others spend the rest.
 */
bool __migrate_group_admits(struct migrate_c *mc, u64 bytes, bool paced,
			    unsigned long *delay)
{
	struct migrate_member *m = &mc->member;
	struct migrate_group *g = m->group;
	ktime_t now = ktime_get();
	u64 cost, len, least, wait;
	bool admitted = false;

	lockdep_assert_held(&mc->lock);
	*delay = 0;
	if (!g)
		return true;
	spin_lock(&g->lock);
	if (!g->bucket.rate) {
		admitted = true;
		goto out;
	}
	cost = migrate_share_cost(bytes, m->weight);
	len = mul_u64_u64_div_u64(bytes, NSEC_PER_SEC, g->bucket.rate);
	least = __least_spent(g, m, now);
	/*
	 * New, or back from a pause or a rest: level with the least of the
	 * others, neither ahead of them nor with a debt to catch up.
	 */
	if ((!m->asked || !ktime_before(now, ktime_add_ns(m->asked, m->ask_span))) &&
	    least != U64_MAX)
		m->vtime = max(m->vtime, least);
	m->asked = paced ? 0 : now;
	m->ask_span = 2 * len + ASK_SPAN_NS;
	if (!paced && least != U64_MAX && m->vtime > least + cost) {
		*delay = max(1UL, nsecs_to_jiffies(len));
		goto out;
	}
	wait = migrate_bucket_take(&g->bucket, now, bytes);
	if (wait) {
		*delay = max(1UL, nsecs_to_jiffies(wait));
		goto out;
	}
	m->vtime += cost;
	admitted = true;
out:
	spin_unlock(&g->lock);
	return admitted;
}

/*
 * The member claims nothing for now: suspended, it keeps its slot but
 * holds up no member behind it in line; paused, halted or with every
 * region in sync (@for_good), its slot goes to the next in line.
 */
void __migrate_group_stop(struct migrate_c *mc, bool for_good)
{
	struct migrate_member *m = &mc->member;
	struct migrate_group *g = m->group;

	lockdep_assert_held(&mc->lock);
	if (!g)
		return;
	spin_lock(&g->lock);
	m->wants_slot = false;
	m->asked = 0;
	if (for_good)
		__give_back_slot(g, m);
	spin_unlock(&g->lock);
}

/* Under mc->lock: waiting for a slot of a group with a limit. */
bool __migrate_group_queued(struct migrate_c *mc)
{
	struct migrate_member *m = &mc->member;

	lockdep_assert_held(&mc->lock);
	return m->group && !m->slot && READ_ONCE(m->group->max_active);
}

/*
 * The group's part of the table line (the feature's arguments, nothing
 * out of a group) or of the status (always, "- 0 0" out of a group).
 */
void __migrate_group_emit(struct migrate_c *mc, bool status, char *result,
			  unsigned int maxlen, unsigned int *out)
{
	struct migrate_member *m = &mc->member;
	struct migrate_group *g = m->group;
	unsigned int sz = *out;

	lockdep_assert_held(&mc->lock);
	if (g && m->pending)
		DMEMIT(" %s %llu %u", g->name, m->pending_rate,
		       m->pending_max_active);
	else if (g)
		DMEMIT(" %s %llu %u", g->name, READ_ONCE(g->bucket.rate),
		       READ_ONCE(g->max_active));
	else if (status)
		DMEMIT(" - 0 0");
	*out = sz;
}
