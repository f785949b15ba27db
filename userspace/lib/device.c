// SPDX-License-Identifier: LGPL-2.1-or-later
/* Block device facts: dev_t, /dev path, size and logical block size. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

/*
 * O_PATH opens no device (no driver open, no I/O): it only pins the inode
 * @name resolves to now, which every later open reaches through
 * /proc/self/fd whatever @name points to by then.
 */
int dmm__blk_open(struct dmm_ctx *ctx, const char *name, struct dmm__blk *b)
{
	struct stat st;
	int r = DMM_OK;

	b->name = name;
	b->fd = open(name, O_PATH | O_CLOEXEC);
	if (b->fd < 0 || fstat(b->fd, &st)) {
		if (errno == ENOENT || errno == ENOTDIR)
			r = dmm__err(ctx, DMM_ENODEV,
				     "%s: no such device; give the path of a block device",
				     name);
		else
			r = dmm__err(ctx, dmm__errno_code(errno),
				     "cannot access %s: %s; check the path and run as root",
				     name, strerror(errno));
	} else if (!S_ISBLK(st.st_mode)) {
		r = dmm__err(ctx, DMM_EUSAGE,
			     "%s is not a block device; give the path of a block device",
			     name);
	}
	if (r) {
		dmm__blk_close(b);
		return r;
	}
	b->dev = st.st_rdev;
	snprintf(b->path, sizeof(b->path), "/proc/self/fd/%d", b->fd);
	return DMM_OK;
}

void dmm__blk_close(struct dmm__blk *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

/* Strict "major:minor", as the kernel writes it in tables. */
int dmm__parse_dev(const char *str, dev_t *dev)
{
	unsigned int maj, min;
	int n = 0;

	if (sscanf(str, "%u:%u%n", &maj, &min, &n) != 2 || str[n] ||
	    str[0] < '0' || str[0] > '9')
		return -EINVAL;
	*dev = makedev(maj, min);
	return 0;
}

/* /dev/<DEVNAME> from the device's uevent file. */
int dmm__dev_path(dev_t dev, char *buf, size_t len)
{
	char path[64], line[256];
	int r = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent",
		 major(dev), minor(dev));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DEVNAME=", 8))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(buf, len, "/dev/%s", line + 8);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

int dmm__dev_size(struct dmm_ctx *ctx, const struct dmm__blk *b,
		  uint64_t *bytes, unsigned int *lbs)
{
	int fd, ssz, r = DMM_OK;

	fd = open(b->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dmm__err(ctx, dmm__errno_code(errno),
				"cannot open %s: %s; check the device and run as root",
				b->name, strerror(errno));
	if (ioctl(fd, BLKGETSIZE64, bytes) || ioctl(fd, BLKSSZGET, &ssz))
		r = dmm__err(ctx, DMM_EDM,
			     "cannot read the size of %s: %s; check the device",
			     b->name, strerror(errno));
	else
		*lbs = ssz;
	close(fd);
	return r;
}

/* The "major:minor" in the sysfs file @path (a "dev" attribute). */
int dmm__read_dev_file(const char *path, dev_t *dev)
{
	char buf[32];
	FILE *f = fopen(path, "re");
	int r = -EINVAL;

	if (!f)
		return -errno;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		r = dmm__parse_dev(buf, dev);
	}
	fclose(f);
	return r;
}
