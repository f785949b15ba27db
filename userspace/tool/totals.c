// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Totals over several volumes: what "status --group" and a batch's
 * progress tell of a rate group as a whole.
 */
#include <stdbool.h>

#include "totals.h"

static bool failed(const struct dmm_status *st)
{
	return dmm_status_state(st) == DMM_STATE_HALTED ||
	       dmm_status_leg_health(st, DMM_LEG_SOURCE) == DMM_HEALTH_FAILED ||
	       dmm_status_leg_health(st, DMM_LEG_DESTINATION) == DMM_HEALTH_FAILED;
}

void totals_add(struct totals *t, const struct dmm_status *st, uint64_t size)
{
	uint64_t done;

	if (!st) {
		t->confirmed++;
		t->bytes_total += size;
		t->bytes_done += size;
		return;
	}
	t->members++;
	t->bytes_total += dmm_status_size(st);
	done = dmm_status_regions_in_sync(st) * dmm_status_region_size(st);
	t->bytes_done += done < dmm_status_size(st) ? done : dmm_status_size(st);
	if (failed(st)) {
		t->failed++;
		return;
	}
	switch (dmm_status_state(st)) {
	case DMM_STATE_COPYING:
		t->copying++;
		/* The member's average since it started: a rate over time. */
		t->bytes_per_second += dmm_status_bytes_per_second(st);
		break;
	case DMM_STATE_QUEUED:
		t->queued++;
		break;
	case DMM_STATE_SYNCED:
		t->in_sync++;
		break;
	case DMM_STATE_PAUSED:
		t->paused++;
		break;
	default:
		break;
	}
}

int64_t totals_seconds_left(const struct totals *t)
{
	if (t->bytes_done >= t->bytes_total)
		return 0;
	if (!t->bytes_per_second)
		return -1;
	return (t->bytes_total - t->bytes_done + t->bytes_per_second - 1) /
	       t->bytes_per_second;
}

void totals_print(const struct totals *t, const char *what, FILE *out)
{
	int64_t left = totals_seconds_left(t);
	double percent = t->bytes_total ?
			 100.0 * t->bytes_done / t->bytes_total : 100.0;

	fprintf(out, "%s: %u copying, %u queued, %u in sync, %u paused, %u failed",
		what, t->copying, t->queued, t->in_sync, t->paused, t->failed);
	if (t->confirmed)
		fprintf(out, ", %u confirmed", t->confirmed);
	fprintf(out, "; %.1f of %.1f MiB (%.1f%%), %.1f MiB/s, ",
		t->bytes_done / 1048576.0, t->bytes_total / 1048576.0, percent,
		t->bytes_per_second / 1048576.0);
	if (left < 0)
		fputs("time left unknown", out);
	else
		fprintf(out, "%llds left", (long long)left);
}

void totals_json(const struct totals *t, struct dmm_json *j)
{
	dmm_json_u64(j, "members", t->members);
	dmm_json_u64(j, "copying", t->copying);
	dmm_json_u64(j, "queued", t->queued);
	dmm_json_u64(j, "in_sync", t->in_sync);
	dmm_json_u64(j, "paused", t->paused);
	dmm_json_u64(j, "failed", t->failed);
	dmm_json_u64(j, "bytes_total", t->bytes_total);
	dmm_json_u64(j, "bytes_copied", t->bytes_done);
	dmm_json_u64(j, "bytes_per_second", t->bytes_per_second);
	dmm_json_known(j, "seconds_remaining", totals_seconds_left(t));
}
