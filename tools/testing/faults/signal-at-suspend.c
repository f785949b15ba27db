// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD=dmm-signal-at-suspend.so DMM_SIGNAL=15 dmmigrate ...
 *
 * Sends the process signal DMM_SIGNAL the moment a device-mapper suspend
 * ioctl has suspended a device: the worst moment for a signal to end a
 * command that swaps a table, the volume suspended and its new table not
 * yet resumed. The tool must hold the signal until the resume.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/dm-ioctl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real)(int, unsigned long, void *);
	const char *sig = getenv("DMM_SIGNAL");
	struct dm_ioctl *dmi;
	va_list ap;
	int r;

	va_start(ap, request);
	dmi = va_arg(ap, struct dm_ioctl *);
	va_end(ap);
	if (!real)
		real = (int (*)(int, unsigned long, void *))dlsym(RTLD_NEXT, "ioctl");
	r = real(fd, request, dmi);
	if (!r && sig && request == DM_DEV_SUSPEND && dmi->flags & DM_SUSPEND_FLAG)
		raise(atoi(sig));
	return r;
}
