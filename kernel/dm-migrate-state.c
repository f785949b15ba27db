// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a migration is doing: the health of its legs, the state status
 * reports, the clock of time spent copying, and the events that tell
 * userspace of a change.
 *
 * migrate_leg_failed(), migrate_raise_event() and migrate_raise_progress()
 * may be called in any context, bio completion included; migrate_event_work() runs in process
 * context and may sleep.
 */
#include <linux/kobject.h>

#include "dm-migrate.h"

static const char * const leg_name[NR_LEGS] = { "source", "destination" };

enum migrate_state __migrate_state(struct migrate_c *mc)
{
	struct migrate_health h = {
		.all_in_sync = migrate_all_in_sync(mc->sync),
		.paused = test_bit(MC_PAUSED, &mc->flags),
		.source_failed = test_bit(MC_SOURCE_FAILED, &mc->flags),
		.dest_failed = test_bit(MC_DEST_FAILED, &mc->flags),
		.only_lost_left = mc->nr_lost &&
			migrate_nr_in_sync(mc->sync) + mc->nr_lost ==
			migrate_nr_regions(mc->sync),
		.queued = __migrate_group_queued(mc),
	};

	lockdep_assert_held(&mc->lock);
	return migrate_state_of(&h);
}

/*
 * The copier clock counts the time spent copying, so that bytes copied over
 * it is the achieved copy rate. Called after every change that may start or
 * stop the copier.
 */
void __migrate_update_copier_clock(struct migrate_c *mc)
{
	bool running = !test_bit(MC_SUSPENDED, &mc->flags) &&
		       __migrate_state(mc) == MIGRATE_COPYING;
	ktime_t now = ktime_get();

	if (running && !mc->copier_running) {
		mc->copier_since = now;
	} else if (!running && mc->copier_running) {
		mc->copier_ns += ktime_to_ns(ktime_sub(now, mc->copier_since));
		migrate_pace_interrupt(&mc->pace);
	}
	mc->copier_running = running;
}

/* Lockless: a leg once failed stays failed for the table's life. */
bool migrate_leg_is_failed(struct migrate_c *mc, enum migrate_leg_id leg)
{
	return test_bit(mc_leg_failed_bit(leg), &mc->flags);
}

void migrate_leg_failed(struct migrate_c *mc, enum migrate_leg_id leg)
{
	unsigned int bit = mc_leg_failed_bit(leg);
	unsigned long flags;

	atomic64_inc(&mc->errors[leg]);
	if (test_bit(bit, &mc->flags))
		return;

	spin_lock_irqsave(&mc->lock, flags);
	if (__test_and_set_bit(bit, &mc->flags)) {
		spin_unlock_irqrestore(&mc->lock, flags);
		return;
	}
	__migrate_update_copier_clock(mc);
	spin_unlock_irqrestore(&mc->lock, flags);

	DMERR_LIMIT("%s: %s leg failed", mc_name(mc), leg_name[leg]);
	migrate_raise_event(mc);
	/* Held writes of a failed copy are released by the worker. */
	wake_worker(mc);
}

/*
 * Post-copy: the source could not give @region, to a copy or to a read. The
 * source stays in use for the other regions; the region is not copied
 * again in this table's life (the next table, after a reload or a reboot,
 * tries it once more). Any context.
 */
void migrate_region_lost(struct migrate_c *mc, migrate_region_t region)
{
	unsigned long flags;
	bool lost = false;

	atomic64_inc(&mc->errors[LEG_SOURCE]);
	spin_lock_irqsave(&mc->lock, flags);
	if (!migrate_in_sync(mc->sync, region) && migrate_mark_in_sync(mc->lost, region)) {
		mc->nr_lost++;
		lost = true;
	}
	__migrate_update_copier_clock(mc);
	spin_unlock_irqrestore(&mc->lock, flags);
	if (!lost)
		return;
	DMERR_LIMIT("%s: region %llu cannot be read from the source: lost",
		    mc_name(mc), region);
	migrate_raise_event(mc);
}

/*
 * Post-copy from here on, for good (MC_POST_COPY). Sleeps: the set of lost
 * regions is allocated before the flag is set, so that whoever sees the
 * flag under mc->lock finds the set.
 */
int migrate_enter_post_copy(struct migrate_c *mc)
{
	struct migrate_sync_map *lost = NULL;
	unsigned long flags;

	if (!mc->lost) {
		lost = migrate_sync_create(mc->geo.nr_regions);
		if (!lost)
			return -ENOMEM;
	}
	spin_lock_irqsave(&mc->lock, flags);
	if (!mc->lost) {
		mc->lost = lost;
		lost = NULL;
	}
	__set_bit(MC_POST_COPY, &mc->flags);
	__migrate_update_copier_clock(mc);
	spin_unlock_irqrestore(&mc->lock, flags);
	migrate_sync_destroy(lost);
	return 0;
}

void migrate_raise_event(struct migrate_c *mc)
{
	set_bit(MC_EVENT_UEVENT, &mc->event_flags);
	/*
	 * The bit before schedule_work() reads the pending bit: the event
	 * work queued here sees it, or the one still pending does, since a
	 * work clears its pending bit with a full barrier before it runs.
	 */
	smp_mb__after_atomic();
	/* dm_table_event() takes a mutex: never call it from bio completion. */
	schedule_work(&mc->event_work);
}

/* A progress step: a dm event for monitors, no uevent. */
void migrate_raise_progress(struct migrate_c *mc)
{
	schedule_work(&mc->event_work);
}

/*
 * Every state change: a dm event (dmsetup wait, dmmigrate wait) and a change
 * uevent carrying the new state, which udev rules can act on; the state is
 * read here, so a burst of changes reports the latest. A progress step: the
 * dm event alone.
 */
void migrate_event_work(struct work_struct *ws)
{
	struct migrate_c *mc = container_of(ws, struct migrate_c, event_work);
	struct gendisk *disk = dm_disk(dm_table_get_md(mc->ti->table));
	char state[32], *envp[] = { state, NULL };
	unsigned long flags;

	dm_table_event(mc->ti->table);
	if (!test_and_clear_bit(MC_EVENT_UEVENT, &mc->event_flags))
		return;
	spin_lock_irqsave(&mc->lock, flags);
	snprintf(state, sizeof(state), "DM_MIGRATE_STATE=%s",
		 migrate_state_name(__migrate_state(mc)));
	spin_unlock_irqrestore(&mc->lock, flags);
	kobject_uevent_env(&disk_to_dev(disk)->kobj, KOBJ_CHANGE, envp);
}
