/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sums over a rate group's or a batch's volumes (totals.c). */
#ifndef DMMIGRATE_TOTALS_H
#define DMMIGRATE_TOTALS_H

#include <stdint.h>
#include <stdio.h>

#include "libdmmigrate.h"
#include "json.h"

struct totals {
	unsigned int members, copying, queued, in_sync, paused, failed;
	unsigned int confirmed;		/* a batch's volumes done */
	uint64_t bytes_total, bytes_done;
	uint64_t bytes_per_second;
};

/* Count @st, a migrating volume, or (NULL) a volume of @size done. */
void totals_add(struct totals *t, const struct dmm_status *st, uint64_t size);
/* Seconds until all is in sync at the present rate; -1 if unknown. */
int64_t totals_seconds_left(const struct totals *t);
void totals_print(const struct totals *t, const char *what, FILE *out);
void totals_json(const struct totals *t, struct dmm_json *j);

#endif
