// SPDX-License-Identifier: GPL-2.0-only
/*
 * One migration per device. dm lets any number of tables open one device,
 * so two migrate tables could otherwise copy onto one destination, or one
 * use as its metadata another's leg. A table is refused when its legs or its
 * metadata device are a leg or the metadata device of a migrate table of
 * another mapped device; a table loaded to replace its device's live one
 * shares them with it, as a reload must.
 *
 * Both functions sleep (claims_lock is a mutex); they are called only from
 * the constructor and the destructor.
 */
#include <linux/list.h>
#include <linux/mutex.h>

#include "dm-migrate.h"

static DEFINE_MUTEX(claims_lock);
static LIST_HEAD(claims);

static bool uses(struct migrate_c *mc, dev_t dev)
{
	return mc->leg[LEG_SOURCE]->bdev->bd_dev == dev ||
	       mc->leg[LEG_DEST]->bdev->bd_dev == dev ||
	       (mc->meta_dev && mc->meta_dev->bdev->bd_dev == dev);
}

static struct dm_dev *shared_device(struct migrate_c *mc, struct migrate_c *other)
{
	struct dm_dev *devs[] = { mc->leg[LEG_SOURCE], mc->leg[LEG_DEST], mc->meta_dev };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(devs); i++)
		if (devs[i] && uses(other, devs[i]->bdev->bd_dev))
			return devs[i];
	return NULL;
}

/* Called once the legs and the metadata device are open. */
int migrate_claim_devices(struct migrate_c *mc, char **error)
{
	struct mapped_device *md = dm_table_get_md(mc->ti->table);
	struct migrate_c *other;
	struct dm_dev *dev;

	mutex_lock(&claims_lock);
	list_for_each_entry(other, &claims, claim) {
		if (dm_table_get_md(other->ti->table) == md)
			continue;
		dev = shared_device(mc, other);
		if (dev) {
			mutex_unlock(&claims_lock);
			DMERR("%s: %s is used by migration %s", mc_name(mc),
			      dev->name, mc_name(other));
			*error = "A device of the table is used by another migration";
			return -EBUSY;
		}
	}
	list_add_tail(&mc->claim, &claims);
	mutex_unlock(&claims_lock);
	return 0;
}

void migrate_release_devices(struct migrate_c *mc)
{
	mutex_lock(&claims_lock);
	list_del_init(&mc->claim);
	mutex_unlock(&claims_lock);
}
