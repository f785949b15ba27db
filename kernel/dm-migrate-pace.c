// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pacing of the copier; see dm-migrate-pace.h.
 */
#include <linux/math64.h>

#include "dm-migrate-pace.h"

void migrate_pace_set_rate(struct migrate_pace *p, u64 rate)
{
	WRITE_ONCE(p->rate, rate);	/* status reads it without the lock */
	p->throttle_next = 0;
}

u64 migrate_pace_throttle(struct migrate_pace *p, ktime_t now, u64 bytes)
{
	if (!p->rate)
		return 0;
	if (ktime_before(now, p->throttle_next))
		return ktime_to_ns(ktime_sub(p->throttle_next, now));
	p->throttle_next = ktime_add_ns(now, mul_u64_u64_div_u64(bytes, NSEC_PER_SEC,
								 p->rate));
	return 0;
}

void migrate_bucket_set_rate(struct migrate_bucket *b, u64 rate)
{
	WRITE_ONCE(b->rate, rate);	/* status reads it without the lock */
	b->next = 0;
}

u64 migrate_bucket_take(struct migrate_bucket *b, ktime_t now, u64 bytes)
{
	u64 len;

	if (!b->rate)
		return 0;
	if (ktime_before(now, b->next))
		return ktime_to_ns(ktime_sub(b->next, now));
	len = mul_u64_u64_div_u64(bytes, NSEC_PER_SEC, b->rate);
	if (b->next && ktime_to_ns(ktime_sub(now, b->next)) < MIGRATE_BUCKET_SLACK)
		b->next = ktime_add_ns(b->next, len);
	else
		b->next = ktime_add_ns(now, len);
	return 0;
}

u64 migrate_pace_rest_left(const struct migrate_pace *p, ktime_t now)
{
	if (!ktime_before(now, p->rest_until))
		return 0;
	return ktime_to_ns(ktime_sub(p->rest_until, now));
}

void migrate_pace_measure(struct migrate_pace *p, ktime_t now, u64 bytes)
{
	u64 ns;

	if (!p->rate_since) {
		p->rate_since = now;
		p->rate_bytes = 0;
		return;
	}
	p->rate_bytes += bytes;
	ns = ktime_to_ns(ktime_sub(now, p->rate_since));
	if (ns < MIGRATE_RATE_SPAN)
		return;
	p->unpaced_rate = mul_u64_u64_div_u64(p->rate_bytes, NSEC_PER_SEC, ns);
	p->rate_since = now;
	p->rate_bytes = 0;
}

void migrate_pace_rest(struct migrate_pace *p, ktime_t claimed, ktime_t now,
		       u64 bytes)
{
	u64 took = ktime_to_ns(ktime_sub(now, claimed));
	u64 rest = div_u64(took, MIGRATE_BUSY_REST_DIV);
	u64 cycle = 0;

	/* Copies are paced only once the unpaced rate is known. */
	if (p->unpaced_rate)
		cycle = mul_u64_u64_div_u64(bytes,
					    NSEC_PER_SEC * (MIGRATE_BUSY_REST_DIV + 1),
					    p->unpaced_rate * MIGRATE_BUSY_REST_DIV);
	if (cycle > took + rest)
		rest = cycle - took;
	p->rest_until = ktime_add_ns(now, rest);
}
