// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD=dmm-kill-at-ioctl.so DMM_KILL_AT=N dmmigrate ...
 *
 * Kills the process (SIGKILL, which nothing can hold) just before its Nth
 * device-mapper ioctl that changes something: a create, a table load or
 * clear, a suspend or resume, a remove. Running a command with N = 1, 2,
 * ... until it completes kills it between every two of its steps.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/dm-ioctl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>

static int changes(unsigned long request)
{
	return request == DM_DEV_CREATE || request == DM_TABLE_LOAD ||
	       request == DM_TABLE_CLEAR || request == DM_DEV_SUSPEND ||
	       request == DM_DEV_REMOVE;
}

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real)(int, unsigned long, void *);
	static int count;
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
