// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * migrate-volume - move a volume with libdmmigrate alone: what an
 * orchestrator linking the library does, in the order it does it.
 *
 *   migrate-volume NAME DEST [TIMEOUT_SECONDS]
 *
 * NAME is a volume made with dmm_create() (dmmigrate create). The copy is
 * started, waited for on dm events with a timeout (no signal, no poll loop
 * of the caller's), and confirmed; the legs are then printed from the
 * status getters. Exit status: 0, or the library's error code.
 *
 * Build: cc migrate-volume.c -ldmmigrate
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <libdmmigrate.h>

/* Called at each dm event and at least once a second while waiting. */
static int progress(const struct dmm_status *st, void *data)
{
	unsigned int *calls = data;

	if ((*calls)++ % 10 == 0)
		printf("%s: %s, %" PRIu64 " of %" PRIu64 " regions in sync\n",
		       dmm_status_name(st), dmm_state_name(dmm_status_state(st)),
		       dmm_status_regions_in_sync(st), dmm_status_regions_total(st));
	return 0;	/* non-zero would end the wait */
}

static int report(struct dmm_ctx *ctx, const char *what, int r)
{
	fprintf(stderr, "migrate-volume: %s: %s (error %d)\n", what,
		dmm_last_error(ctx), r);
	return r;
}

int main(int argc, char **argv)
{
	unsigned int calls = 0, pause_ms = 0, timeout_s = 600;
	struct dmm_status *st;
	struct dmm_ctx *ctx;
	char path[256];
	int r;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: migrate-volume NAME DEST [TIMEOUT_SECONDS]\n");
		return DMM_EUSAGE;
	}
	if (argc == 4)
		timeout_s = strtoul(argv[3], NULL, 10);
	printf("libdmmigrate %s\n", dmm_version());
	r = dmm_ctx_new(&ctx);
	if (r)
		return r;

	r = dmm_start(ctx, argv[1], argv[2], NULL, DMM_DEFAULT_REGION_BYTES, 0, 0);
	if (r) {
		report(ctx, "start", r);
		goto out;
	}
	r = dmm_wait(ctx, argv[1], timeout_s * 1000, progress, &calls);
	if (r) {
		/* Still copying after a timeout: roll back rather than leave it. */
		report(ctx, "wait", r);
		if (dmm_abort(ctx, argv[1], NULL))
			report(ctx, "abort", DMM_ESTATE);
		goto out;
	}
	r = dmm_confirm(ctx, argv[1], 0, &pause_ms);
	if (r) {
		report(ctx, "confirm", r);
		goto out;
	}
	r = dmm_status_get(ctx, argv[1], &st);
	if (r) {
		report(ctx, "status", r);
		goto out;
	}
	printf("%s: confirmed after %u progress calls, I/O paused %u ms, now %s on %s, %s\n",
	       argv[1], calls, pause_ms, dmm_state_name(dmm_status_state(st)),
	       dmm_status_leg_path(st, DMM_LEG_SOURCE, path, sizeof(path)),
	       dmm_health_name(dmm_status_leg_health(st, DMM_LEG_SOURCE)));
	dmm_status_free(st);
out:
	dmm_ctx_free(ctx);
	return r;
}
