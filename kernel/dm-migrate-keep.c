// SPDX-License-Identifier: GPL-2.0-only
/*
 * Keep dm core's bio slab cache of a migrate table alive until the table is
 * destroyed, so that a swap to another table does not destroy it while the
 * volume's I/O is held.
 *
 * dm sizes a table's bio sets by its targets' per-bio data, and the block
 * layer shares one slab cache among the bio sets of one size. The migrate
 * target's per-bio data gives its table a size no linear table has, so a
 * confirm or an abort (a swap to a linear table) drops the cache's last
 * user inside dm_swap_table(), with the volume suspended. From 6.12
 * kmem_cache_destroy() waits there for RCU (kvfree_rcu_barrier(), and
 * rcu_barrier() for the bio caches, which are SLAB_TYPESAFE_BY_RCU): tens of
 * milliseconds of held writes. A bio set of the same size held here moves
 * the cache's end to the destructor, which dm calls after the resume.
 *
 * The size is learnt from the first bio mapped (its bi_pool is the table's
 * bio set); the worker takes the reference, and every suspend flushes the
 * worker, so the reference is held before any swap the table's I/O saw.
 */
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "dm-migrate.h"

struct migrate_kept_slab {
	struct list_head list;
	unsigned int pad;	/* front and back pad of the bio sets kept */
	unsigned int users;	/* tables holding it */
	struct bio_set bs;	/* holds the slab cache; nothing is allocated */
};

/* The bio sets held, one per size, and their users. */
static LIST_HEAD(kept_slabs);
static DEFINE_MUTEX(kept_lock);

/* Map path: note the size of dm's bio set, once. Never sleeps. */
void migrate_note_dm_bioset(struct migrate_c *mc, struct bio *bio)
{
	struct bio_set *bs = bio->bi_pool;

	if (bs && atomic_cmpxchg(&mc->dm_bioset_pad, -1,
				 bs->front_pad + bs->back_pad) == -1)
		wake_worker(mc);
}

static struct migrate_kept_slab *get_kept(unsigned int pad)
{
	struct migrate_kept_slab *k;

	list_for_each_entry(k, &kept_slabs, list)
		if (k->pad == pad)
			goto found;
	k = kzalloc(sizeof(*k), GFP_KERNEL);
	if (!k)
		return NULL;
	/* One bio in reserve: the smallest pool bioset_init() is known to take. */
	if (bioset_init(&k->bs, 1, pad, 0)) {
		kfree(k);
		return NULL;
	}
	k->pad = pad;
	list_add(&k->list, &kept_slabs);
found:
	k->users++;
	return k;
}

/* Worker: hold the slab cache of the size noted. Sleeps. */
void migrate_keep_dm_slab(struct migrate_c *mc)
{
	int pad = atomic_read(&mc->dm_bioset_pad);

	if (mc->kept_slab || pad < 0)
		return;
	mutex_lock(&kept_lock);
	mc->kept_slab = get_kept(pad);
	mutex_unlock(&kept_lock);
	/* Only the swap is slower without it: go on. */
	if (!mc->kept_slab)
		DMWARN("%s: cannot hold the bio slab cache: a table swap may stall I/O",
		       mc_name(mc));
}

/* Destructor, after the swap: the cache may go now. Sleeps. */
void migrate_release_dm_slab(struct migrate_c *mc)
{
	struct migrate_kept_slab *k = mc->kept_slab;

	if (!k)
		return;
	mutex_lock(&kept_lock);
	if (!--k->users) {
		list_del(&k->list);
		bioset_exit(&k->bs);
		kfree(k);
	}
	mutex_unlock(&kept_lock);
	mc->kept_slab = NULL;
}
