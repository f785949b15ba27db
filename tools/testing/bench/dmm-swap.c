// SPDX-License-Identifier: GPL-2.0
/*
 * dmm-swap NAME TABLE: replace a dm device's table the way a careful
 * program does, in one process: load the new table first, then suspend and
 * resume at once. Prints the time the device was suspended, measured here,
 * in microseconds. The benchmark's baseline for the cutover pause.
 */
#include <libdevmapper.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int run(int type, const char *name, const char *table)
{
	char target[64], *params;
	unsigned long long start, len;
	struct dm_task *dmt;
	int n = 0, ok;

	dmt = dm_task_create(type);
	if (!dmt || !dm_task_set_name(dmt, name))
		return 0;
	if (table) {
		if (sscanf(table, "%llu %llu %63s %n", &start, &len, target, &n) != 3 || !n) {
			dm_task_destroy(dmt);
			return 0;
		}
		params = (char *)table + n;
		if (!dm_task_add_target(dmt, start, len, target, params)) {
			dm_task_destroy(dmt);
			return 0;
		}
	}
	ok = dm_task_run(dmt);
	dm_task_destroy(dmt);
	return ok;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	double t0, t1;

	if (argc != 3) {
		fprintf(stderr, "usage: dmm-swap NAME TABLE\n");
		return 2;
	}
	if (!run(DM_DEVICE_RELOAD, argv[1], argv[2])) {
		fprintf(stderr, "dmm-swap: cannot load the table\n");
		return 1;
	}
	t0 = now_us();
	if (!run(DM_DEVICE_SUSPEND, argv[1], NULL) ||
	    !run(DM_DEVICE_RESUME, argv[1], NULL)) {
		fprintf(stderr, "dmm-swap: suspend or resume failed\n");
		return 1;
	}
	t1 = now_us();
	printf("%.0f\n", t1 - t0);
	return 0;
}
