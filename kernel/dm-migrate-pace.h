/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pacing of the copier: the rate limit a user sets, and the rests by which
 * the copier gives way to user I/O while the volume is busy, as md's resync
 * does. Pure arithmetic on the times the caller passes (ktime_get() in the
 * target, chosen values under KUnit): nothing here locks, sleeps or touches
 * a device; the target serialises every call under its lock.
 *
 * Busy, the copier copies one region at a time and rests after each copy
 * 1/MIGRATE_BUSY_REST_DIV as long as the copy took, so that it holds the
 * legs at most two thirds of the time whatever their speed; and at least
 * long enough that copies run at no more than two thirds of the rate
 * measured over MIGRATE_RATE_SPAN of copying without rests.
 *
 * A rate group's budget (dm-migrate-group.c) is a bucket its members' copies
 * draw from, shared out by weight: each member's copies cost it their bytes
 * over its weight, and the member that has spent the least goes first.
 */
#ifndef DM_MIGRATE_PACE_H
#define DM_MIGRATE_PACE_H

#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/types.h>

#define MIGRATE_BUSY_REST_DIV	2
#define MIGRATE_RATE_SPAN	NSEC_PER_SEC

struct migrate_pace {
	u64 rate;		/* bytes per second a user allows, 0 = unlimited */
	ktime_t throttle_next;	/* by the rate, no copy starts before */
	ktime_t rest_until;	/* busy, no copy starts before */
	/*
	 * Bytes per second copied without rests, 0 until measured over a
	 * span of MIGRATE_RATE_SPAN that starts at rate_since (0: none).
	 */
	u64 unpaced_rate;
	ktime_t rate_since;
	u64 rate_bytes;
};

/* A new rate paces the next copy, whatever the old one allowed. */
void migrate_pace_set_rate(struct migrate_pace *p, u64 rate);

/*
 * May a copy of @bytes start at @now under the rate limit? Returns 0 and
 * moves the next allowed start by the copy's length at the rate, or the
 * nanoseconds to wait.
 */
u64 migrate_pace_throttle(struct migrate_pace *p, ktime_t now, u64 bytes);

/* Nanoseconds of the current rest left at @now, 0 when none. */
u64 migrate_pace_rest_left(const struct migrate_pace *p, ktime_t now);

/*
 * A copy of @bytes claimed without rest has ended at @now: it counts to the
 * unpaced rate, measured from one such copy's end to the end of the first
 * after MIGRATE_RATE_SPAN, so that with copies always in flight it is what
 * the legs give the copier.
 */
void migrate_pace_measure(struct migrate_pace *p, ktime_t now, u64 bytes);

/*
 * A paced copy of @bytes claimed at @claimed has ended at @now: it earns a
 * rest of 1/MIGRATE_BUSY_REST_DIV its time, and at least as much as keeps
 * copies to two thirds of the unpaced rate. A leg behind a token bucket
 * (qemu's throttle, many cloud volumes) takes a copy at once and charges it
 * to the I/O after it, so the copy's own time understates its cost there.
 */
void migrate_pace_rest(struct migrate_pace *p, ktime_t claimed, ktime_t now,
		       u64 bytes);

struct migrate_bucket {
	u64 rate;		/* bytes per second, 0 = unlimited */
	ktime_t next;		/* no copy starts before */
};

/* A new budget paces the next copy, whatever the old one allowed. */
void migrate_bucket_set_rate(struct migrate_bucket *b, u64 rate);

/*
 * May a copy of @bytes start at @now under the budget? Returns 0 and moves
 * the next start by the copy's length at the rate, or the nanoseconds to
 * wait. A claim late by less than MIGRATE_BUCKET_SLACK keeps the schedule
 * (the next start moves from the last one, not from @now): every member's
 * worker wakes a tick or more after its start was due, later on a loaded
 * host, and the budget would be spent short by as much each time. So the
 * budget allows a burst of that much time's worth, never more over time.
 */
#define MIGRATE_BUCKET_SLACK	(100 * NSEC_PER_MSEC)

u64 migrate_bucket_take(struct migrate_bucket *b, ktime_t now, u64 bytes);

#define MIGRATE_WEIGHT_MAX	1000

/* What a copy of @bytes costs a member of @weight in its group's share. */
static inline u64 migrate_share_cost(u64 bytes, unsigned int weight)
{
	return div_u64(bytes * MIGRATE_WEIGHT_MAX, weight);
}

/* A stop or a rest is no part of the unpaced rate: its measure restarts. */
static inline void migrate_pace_interrupt(struct migrate_pace *p)
{
	p->rate_since = 0;
}

#endif
