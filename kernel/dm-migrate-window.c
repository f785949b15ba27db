// SPDX-License-Identifier: GPL-2.0-only
/*
 * The write-intent window; see dm-migrate-window.h.
 */
#include <linux/bitops.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dm-migrate-window.h"

static struct hlist_head *bucket(struct migrate_window *w,
				 migrate_region_t region)
{
	return &w->hash[hash_64(region, w->hash_bits)];
}

int migrate_window_init(struct migrate_window *w, unsigned int size,
			migrate_window_changed_fn changed, void *context)
{
	unsigned int i;

	memset(w, 0, sizeof(*w));
	/* Four entries a bucket at most, on average. */
	w->hash_bits = ilog2(size) - 1;
	w->entries = kvcalloc(size, sizeof(*w->entries), GFP_KERNEL);
	w->hash = kvcalloc(1U << w->hash_bits, sizeof(*w->hash), GFP_KERNEL);
	if (!w->entries || !w->hash) {
		migrate_window_exit(w);
		return -ENOMEM;
	}
	w->size = size;
	INIT_LIST_HEAD(&w->lru);
	INIT_LIST_HEAD(&w->free);
	for (i = 0; i < size; i++)
		list_add_tail(&w->entries[i].lru, &w->free);
	w->changed = changed;
	w->context = context;
	return 0;
}

void migrate_window_exit(struct migrate_window *w)
{
	kvfree(w->entries);
	kvfree(w->hash);
	w->entries = NULL;
	w->hash = NULL;
}

static struct migrate_window_entry *lookup(struct migrate_window *w,
					   migrate_region_t region)
{
	struct migrate_window_entry *ent;

	hlist_for_each_entry(ent, bucket(w, region), hash)
		if (ent->region == region)
			return ent;
	return NULL;
}

/* The least recently written entry with no write in flight leaves. */
static void make_room(struct migrate_window *w)
{
	struct migrate_window_entry *ent;

	list_for_each_entry(ent, &w->lru, lru) {
		if (!ent->leaving && !ent->inflight) {
			ent->leaving = true;
			w->commit_wanted = true;
			return;
		}
	}
}

static void request(struct migrate_window *w, migrate_region_t region)
{
	struct migrate_window_entry *ent;

	if (list_empty(&w->free)) {
		make_room(w);
		return;
	}
	ent = list_first_entry(&w->free, struct migrate_window_entry, lru);
	list_move_tail(&ent->lru, &w->lru);
	ent->region = region;
	ent->inflight = 0;
	ent->leaving = false;
	ent->flushed = false;
	/* The commit that clears its bit is the next one to begin. */
	ent->ready_seq = w->commit_seq + 1;
	hlist_add_head(&ent->hash, bucket(w, region));
	w->changed(w->context, region);
	w->commit_wanted = true;
}

bool migrate_window_enter(struct migrate_window *w, migrate_region_t region,
			  struct migrate_window_entry **entp)
{
	struct migrate_window_entry *ent = lookup(w, region);

	if (ent && ent->leaving) {
		/* Once its commit has begun the bit may already be set. */
		if (ent->flushed)
			return false;
		ent->leaving = false;
	}
	if (!ent) {
		request(w, region);
		return false;
	}
	if (ent->ready_seq > w->committed_seq)
		return false;
	ent->inflight++;
	list_move_tail(&ent->lru, &w->lru);
	*entp = ent;
	return true;
}

bool migrate_window_write_done(struct migrate_window *w,
			       struct migrate_window_entry *ent,
			       bool writers_waiting)
{
	if (--ent->inflight || !writers_waiting || !list_empty(&w->free))
		return false;
	make_room(w);
	return true;
}

void migrate_window_leave_all(struct migrate_window *w)
{
	struct migrate_window_entry *ent;

	list_for_each_entry(ent, &w->lru, lru)
		ent->leaving = true;
	w->commit_wanted = true;
}

u64 migrate_window_commit_begin(struct migrate_window *w, bool *flush_legs)
{
	struct migrate_window_entry *ent;

	*flush_legs = false;
	w->commit_wanted = false;
	list_for_each_entry(ent, &w->lru, lru) {
		if (ent->leaving) {
			ent->flushed = true;
			*flush_legs = true;
			w->changed(w->context, ent->region);
		}
	}
	return ++w->commit_seq;
}

void migrate_window_commit_end(struct migrate_window *w, u64 seq)
{
	struct migrate_window_entry *ent, *tmp;

	w->committed_seq = seq;
	list_for_each_entry_safe(ent, tmp, &w->lru, lru) {
		if (ent->leaving && ent->flushed) {
			hlist_del(&ent->hash);
			list_move(&ent->lru, &w->free);
		}
	}
}

void migrate_window_fill(struct migrate_window *w, migrate_region_t first,
			 migrate_region_t count, unsigned long *bits)
{
	struct migrate_window_entry *ent;

	list_for_each_entry(ent, &w->lru, lru)
		if (ent->region >= first && ent->region < first + count &&
		    !(ent->leaving && ent->flushed))
			__clear_bit(ent->region - first, bits);
}
