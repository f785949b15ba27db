// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * dm events without signals. A descriptor of /dev/mapper/control, armed
 * with DM_DEV_ARM_POLL (Linux 4.13), turns readable once any dm device has
 * raised an event since: the migrate target raises one at every state
 * change. Arming before reading a status means that no event between the
 * read and the poll is missed. Waits built on it take a timeout and can
 * sit in a caller's event loop (dmm_event_fd()); libdevmapper's
 * DM_DEVICE_WAITEVENT could only be cut short by a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

#define DM_CONTROL	"/dev/mapper/control"
/* The first interface with DM_DEV_ARM_POLL; newer kernels accept it. */
#define ARM_POLL_MINOR	37

int dmm_event_fd(struct dmm_ctx *ctx, int *fd)
{
	if (ctx->event_fd < 0) {
		ctx->event_fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC);
		if (ctx->event_fd < 0)
			return dmm__err(ctx, dmm__errno_code(errno) == DMM_EPERM ?
					DMM_EPERM : DMM_EDM,
					"cannot open %s: %s; load the dm_mod module and run as root",
					DM_CONTROL, strerror(errno));
	}
	*fd = ctx->event_fd;
	return DMM_OK;
}

int dmm_event_arm(struct dmm_ctx *ctx)
{
	struct dm_ioctl io;
	int fd, r;

	r = dmm_event_fd(ctx, &fd);
	if (r)
		return r;
	memset(&io, 0, sizeof(io));
	io.version[0] = DM_VERSION_MAJOR;
	io.version[1] = ARM_POLL_MINOR;
	io.data_size = sizeof(io);
	if (ioctl(fd, DM_DEV_ARM_POLL, &io))
		return dmm__err(ctx, DMM_EDM,
				"cannot watch device-mapper events: %s; a kernel from 4.13 on is needed",
				strerror(errno));
	return DMM_OK;
}

int dmm__event_poll(struct dmm_ctx *ctx, int timeout_ms)
{
	struct pollfd p = { .events = POLLIN };
	int r;

	r = dmm_event_fd(ctx, &p.fd);
	if (r)
		return r;
	/* A signal only makes the caller look again: not an error. */
	if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
		return dmm__err(ctx, DMM_EDM, "cannot wait for device-mapper events: %s; retry",
				strerror(errno));
	return DMM_OK;
}
