/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmmigrate batch (batch.c). */
#ifndef DMMIGRATE_BATCH_H
#define DMMIGRATE_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "libdmmigrate.h"

struct batch_options {
	const char *group;		/* NULL: the plan's */
	bool rate_set, max_active_set;	/* else the plan's, or the group's */
	uint64_t rate;
	unsigned int max_active;
	bool confirm_at_end;
	bool keep_going;
	unsigned long timeout;		/* seconds, 0: none */
};

/* Run the plan in @path; the exit code. */
int batch_run(struct dmm_ctx *ctx, const char *path,
	      const struct batch_options *o);

#endif
