// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One dmmigrate at a time per volume: an flock on /run/dmmigrate/NAME.lock.
 * The kernel drops it when the holder exits, however it dies, so a killed
 * dmmigrate never leaves a volume locked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define LOCK_DIR	"/run/dmmigrate"
#define LOCK_POLL_MS	20

int dmm__lock(struct dmm_ctx *ctx, const char *name, int *fd)
{
	const struct timespec poll = { 0, LOCK_POLL_MS * 1000000L };
	char path[sizeof(LOCK_DIR) + DMM_NAME_MAX + 8];
	unsigned int waited;

	if (mkdir(LOCK_DIR, 0700) && errno != EEXIST)
		return dmm__err(ctx, dmm__errno_code(errno),
				"cannot create %s: %s; run as root",
				LOCK_DIR, strerror(errno));
	snprintf(path, sizeof(path), LOCK_DIR "/%s.lock", name);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return dmm__err(ctx, dmm__errno_code(errno),
				"cannot open %s: %s; run as root", path,
				strerror(errno));

	/* Bounded: a wedged holder must not hang every later command. */
	for (waited = 0; flock(*fd, LOCK_EX | LOCK_NB); waited += LOCK_POLL_MS) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(*fd);
			return dmm__err(ctx, DMM_EDM, "cannot lock %s: %s; retry",
					path, strerror(errno));
		}
		if (waited >= ctx->lock_wait_ms) {
			close(*fd);
			return dmm__err(ctx, DMM_EBUSY,
					"volume %s is busy: another dmmigrate is working on it; retry when it has finished",
					name);
		}
		nanosleep(&poll, NULL);
	}
	return DMM_OK;
}

/* Lock without waiting: DMM_EBUSY at once if another dmmigrate holds it. */
int dmm__trylock(struct dmm_ctx *ctx, const char *name, int *fd)
{
	unsigned int wait = ctx->lock_wait_ms;
	int r;

	ctx->lock_wait_ms = 0;
	r = dmm__lock(ctx, name, fd);
	ctx->lock_wait_ms = wait;
	return r;
}

void dmm__unlock(int fd)
{
	close(fd);
}
