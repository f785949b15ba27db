// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD=dmm-kill-at-ioctl.so DMM_KILL_AT=N dmmigrate ...
 *
 * Kills the process (SIGKILL, which nothing can hold) just before its Nth
 * device-mapper ioctl that changes something: a create, a table load or
 * clear, a suspend or resume, a remove. With N = 0 it kills nothing and
 * writes, as it exits, how many there were to the file DMM_KILL_COUNT:
 * running the command again with N = 1 to that count kills it between
 * every two of its steps.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/dm-ioctl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>

static int count;

static int changes(unsigned long request)
{
	return request == DM_DEV_CREATE || request == DM_TABLE_LOAD ||
	       request == DM_TABLE_CLEAR || request == DM_DEV_SUSPEND ||
	       request == DM_DEV_REMOVE;
}

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real)(int, unsigned long, void *);
	const char *at = getenv("DMM_KILL_AT");
	void *arg;
	va_list ap;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (int (*)(int, unsigned long, void *))dlsym(RTLD_NEXT, "ioctl");
	if (at && changes(request) && ++count == atoi(at))
		raise(SIGKILL);
	return real(fd, request, arg);
}

__attribute__((destructor))
static void report_count(void)
{
	const char *path = getenv("DMM_KILL_COUNT");
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%d\n", count);
		fclose(f);
	}
}
