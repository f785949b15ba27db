/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The write-intent window of a migration with a metadata device: the
 * regions in sync whose bit is clear on disk, so that writes to them may
 * leave the legs different after a crash and a resume copies them again.
 *
 * A write to a region in sync is admitted once its region is in the window
 * and the commit that cleared its bit (ready_seq) is durable. A full window
 * makes room by letting its least recently written idle region leave: its
 * bit is set again at the next commit, after a flush of both legs. The
 * sequence of a commit is:
 *
 *   migrate_window_commit_begin()   leaving regions are now "flushed": a
 *                                   write to one waits, since its bit may
 *                                   be set on disk at any moment from here
 *   flush the legs, write the bitmap (migrate_window_fill() says each bit)
 *   migrate_window_commit_end()     on success, entries requested before
 *                                   the commit began become usable and
 *                                   those that left are free
 *
 * Pure bookkeeping: nothing here locks or does I/O, and nothing but
 * migrate_window_init() (which allocates) sleeps; the target serialises
 * every call under its lock, and each commit under its commit mutex.
 * @changed is called for every region whose on-disk bit must be written at
 * the next commit.
 *
 * The window's size bounds what a crash costs: at most that many regions
 * are copied again after it (Documentation/dm-migrate-metadata.rst).
 */
#ifndef DM_MIGRATE_WINDOW_H
#define DM_MIGRATE_WINDOW_H

#include <linux/list.h>
#include <linux/types.h>

#include "dm-migrate-region.h"

#define MIGRATE_WINDOW_DEFAULT	4096	/* regions: 2 GiB at the tool's 512 KiB */
#define MIGRATE_WINDOW_MIN	8
#define MIGRATE_WINDOW_MAX	65536

struct migrate_window_entry {
	struct hlist_node hash;
	struct list_head lru;	/* least recently written first */
	migrate_region_t region;
	unsigned int inflight;	/* admitted writes not completed */
	u64 ready_seq;		/* usable once this commit is durable */
	bool leaving;		/* the bit is set again at the next commit ... */
	bool flushed;		/* ... which has begun, with a flush of the legs */
};

typedef void (*migrate_window_changed_fn)(void *context, migrate_region_t region);

struct migrate_window {
	struct migrate_window_entry *entries;
	struct hlist_head *hash;
	unsigned int hash_bits;
	unsigned int size;	/* regions */
	struct list_head lru;
	struct list_head free;
	u64 commit_seq;		/* the last commit begun */
	u64 committed_seq;	/* the last commit durable */
	bool commit_wanted;	/* a write waits for a commit */
	migrate_window_changed_fn changed;
	void *context;
};

/* A window of @size regions (MIGRATE_WINDOW_MIN to _MAX). Sleeps. */
int migrate_window_init(struct migrate_window *w, unsigned int size,
			migrate_window_changed_fn changed, void *context);
void migrate_window_exit(struct migrate_window *w);

/*
 * Admit a write to @region: true with *@ent counted (until
 * migrate_window_write_done()), false when the write must wait for a commit
 * (then commit_wanted says whether one is needed).
 */
bool migrate_window_enter(struct migrate_window *w, migrate_region_t region,
			  struct migrate_window_entry **ent);

/*
 * An admitted write has completed. Returns true when room was made for the
 * writes waiting (@writers_waiting) in a full window: a commit is wanted.
 */
bool migrate_window_write_done(struct migrate_window *w,
			       struct migrate_window_entry *ent,
			       bool writers_waiting);

/* Every region leaves at the next commit: no write may be in flight. */
void migrate_window_leave_all(struct migrate_window *w);

/*
 * A commit begins: returns its sequence number; *@flush_legs says whether
 * regions leave, so both legs must be flushed before their bits are set.
 */
u64 migrate_window_commit_begin(struct migrate_window *w, bool *flush_legs);

/* The commit @seq is durable. Not called when it failed. */
void migrate_window_commit_end(struct migrate_window *w, u64 seq);

/* Clear in @bits, the state of @count regions from @first, the window's. */
void migrate_window_fill(struct migrate_window *w, migrate_region_t first,
			 migrate_region_t count, unsigned long *bits);

#endif
