// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One dmmigrate at a time per volume: an flock on /run/dmmigrate/NAME.lock,
 * and per device a migration is started with or a volume created on. The
 * kernel drops a lock when its holder exits, however it dies, so a killed
 * dmmigrate never leaves a volume or a device locked.
 *
 * A lock file lives only as long as what it guards: a device's while a
 * command holds it, a volume's while the volume exists. Its holder
 * unlinks it before letting go, and a locker that finds the file it
 * locked unlinked (or replaced) meanwhile starts again, so that two
 * lockers never hold two different files of one name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdbool.h>
#include <sys/file.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define LOCK_DIR	"/run/dmmigrate"
#define LOCK_POLL_MS	20

/* Is the file open on @fd still the one at @path? */
static bool still_linked(int fd, const char *path)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Lock LOCK_DIR/@file; @what names it in the error of a busy lock. */
static int lock_file(struct dmm_ctx *ctx, const char *file, const char *what,
		     int *fd)
{
	const struct timespec poll = { 0, LOCK_POLL_MS * 1000000L };
	char path[sizeof(LOCK_DIR) + DMM_NAME_MAX + 16];
	unsigned int waited;

	if (mkdir(LOCK_DIR, 0700) && errno != EEXIST)
		return dmm__err(ctx, dmm__errno_code(errno),
				"cannot create %s: %s; run as root",
				LOCK_DIR, strerror(errno));
	snprintf(path, sizeof(path), LOCK_DIR "/%s.lock", file);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return dmm__err(ctx, dmm__errno_code(errno),
				"cannot open %s: %s; run as root", path,
				strerror(errno));

	/* Bounded: a wedged holder must not hang every later command. */
	for (waited = 0;; waited += LOCK_POLL_MS) {
		if (!flock(*fd, LOCK_EX | LOCK_NB)) {
			if (still_linked(*fd, path))
				return DMM_OK;
			/* Its holder removed it: lock the file there now. */
			close(*fd);
			*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (*fd < 0)
				return dmm__err(ctx, dmm__errno_code(errno),
						"cannot open %s: %s; run as root", path,
						strerror(errno));
			continue;
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(*fd);
			return dmm__err(ctx, DMM_EDM, "cannot lock %s: %s; retry",
					path, strerror(errno));
		}
		if (waited >= ctx->lock_wait_ms) {
			close(*fd);
			return dmm__err(ctx, DMM_EBUSY,
					"%s is busy: another dmmigrate is working on it; retry when it has finished",
					what);
		}
		nanosleep(&poll, NULL);
	}
}

int dmm__lock(struct dmm_ctx *ctx, const char *name, int *fd)
{
	char what[DMM_NAME_MAX + 8];

	snprintf(what, sizeof(what), "volume %s", name);
	return lock_file(ctx, name, what, fd);
}

/*
 * Volume locks do not keep two volumes off one device: a start holds the
 * lock of its destination and of its metadata device from their checks
 * until its table is live, and a create that of the device it wraps, so
 * that of two commands given one device the second sees the first one's
 * table as a holder. Device lock files are named dev-MAJOR:MINOR, which no
 * volume name can be (a colon is refused in names).
 */
int dmm__lock_device(struct dmm_ctx *ctx, const struct dmm__blk *b, int *fd)
{
	char file[32], what[PATH_MAX + 8];

	snprintf(file, sizeof(file), "dev-%u:%u", major(b->dev),
		 minor(b->dev));
	snprintf(what, sizeof(what), "device %s", b->name);
	return lock_file(ctx, file, what, fd);
}

/* Unlink LOCK_DIR/@file, then let go of @fd, its lock. */
static void unlock_remove(int fd, const char *file)
{
	char path[sizeof(LOCK_DIR) + DMM_NAME_MAX + 16];

	snprintf(path, sizeof(path), LOCK_DIR "/%s.lock", file);
	unlink(path);
	close(fd);
}

void dmm__unlock_device(int fd, const struct dmm__blk *b)
{
	char file[32];

	snprintf(file, sizeof(file), "dev-%u:%u", major(b->dev),
		 minor(b->dev));
	unlock_remove(fd, file);
}

void dmm__unlock_gone(int fd, const char *name)
{
	unlock_remove(fd, name);
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
