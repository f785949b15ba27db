// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Stable device identities: a migration that must survive a reboot names
 * its devices by what stays the same when vdb becomes vdc:
 *   virtio-<serial>          /sys/block/vdX/serial
 *   wwid-<wwid>              /sys/block/X/device/wwid or /sys/block/X/wwid
 *   dm-uuid-<uuid>           /sys/block/dm-N/dm/uuid
 *   loop-<backing file>      /sys/block/loopN/loop/backing_file
 *   <parent's id>-part<N>    a partition
 * and finds them back by scanning /sys/class/block.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "internal.h"

/* First line of a sysfs file, whitespace trimmed; -ENOENT if empty. */
static int read_attr(const char *dir, const char *attr, char *buf,
		     size_t len)
{
	char path[PATH_MAX + 64];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	if (!fgets(buf, len, f))
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\n");
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	n = strspn(buf, " \t");
	memmove(buf, buf + n, strlen(buf + n) + 1);
	return buf[0] ? 0 : -ENOENT;
}

/* Ids are one word: inner blanks (SCSI vendor padding) become '_'. */
static void one_word(char *s)
{
	for (; *s; s++)
		if (*s == ' ' || *s == '\t')
			*s = '_';
}

/* The identity of the whole disk whose sysfs directory is @dir. */
static int disk_identity(const char *dir, char *buf, size_t len)
{
	char val[DMM_ID_LEN];
	const char *prefix;

	if (!read_attr(dir, "dm/uuid", val, sizeof(val))) {
		prefix = "dm-uuid-";
	} else if (!read_attr(dir, "loop/backing_file", val, sizeof(val))) {
		/* A file deleted while attached cannot be found again. */
		if (strstr(val, " (deleted)"))
			return -ENOENT;
		prefix = "loop-";
	} else if (!read_attr(dir, "serial", val, sizeof(val))) {
		prefix = "virtio-";
	} else if (!read_attr(dir, "device/wwid", val, sizeof(val)) ||
		   !read_attr(dir, "wwid", val, sizeof(val))) {
		prefix = "wwid-";
		one_word(val);
	} else {
		return -ENOENT;
	}
	if ((size_t)snprintf(buf, len, "%s%s", prefix, val) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Identity of the device whose (resolved) sysfs directory is @dir. */
static int sysfs_identity(const char *dir, char *buf, size_t len)
{
	char parent[PATH_MAX], part[32], *slash;
	size_t n;
	int r;

	if (read_attr(dir, "partition", part, sizeof(part)))
		return disk_identity(dir, buf, len);
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	r = disk_identity(parent, buf, len);
	if (r)
		return r;
	n = strlen(buf);
	if ((size_t)snprintf(buf + n, len - n, "-part%s", part) >= len - n)
		return -ENAMETOOLONG;
	return 0;
}

static int identity_of(dev_t dev, char *buf, size_t len)
{
	char link[64], dir[PATH_MAX];

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(dev),
		 minor(dev));
	if (!realpath(link, dir))
		return -errno;
	return sysfs_identity(dir, buf, len);
}

int dmm__identity(struct dmm_ctx *ctx, dev_t dev, const char *path,
		  char *buf, size_t len)
{
	int r = identity_of(dev, buf, len);

	if (r == -ENAMETOOLONG)
		return dmm__err(ctx, DMM_EUSAGE,
				"the identity of %s is longer than %zu bytes; a migration with --metadata needs devices with a shorter serial, wwid, dm uuid or loop file path",
				path, len - 1);
	if (r)
		return dmm__err(ctx, DMM_EUSAGE,
				"%s has no stable identity (no serial, wwid, dm uuid or loop file); a migration with --metadata must survive reboots, so give devices that can be found again, or start without --metadata",
				path);
	return DMM_OK;
}

/* /sys/class/block, every block device; NULL (error set) without sysfs. */
DIR *dmm__open_block_class(struct dmm_ctx *ctx)
{
	DIR *d = opendir("/sys/class/block");

	if (!d)
		dmm__err(ctx, DMM_ENODEV,
			 "cannot read /sys/class/block: %s; mount sysfs",
			 strerror(errno));
	return d;
}

int dmm__find_identity(struct dmm_ctx *ctx, const char *id, dev_t *dev)
{
	char path[PATH_MAX], dir[PATH_MAX], buf[DMM_ID_LEN], devno[32];
	struct dirent *de;
	bool found = false;
	DIR *d;

	d = dmm__open_block_class(ctx);
	if (!d)
		return DMM_ENODEV;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/block/%s",
			 de->d_name);
		if (!realpath(path, dir) ||
		    sysfs_identity(dir, buf, sizeof(buf)) || strcmp(buf, id) ||
		    read_attr(dir, "dev", devno, sizeof(devno)))
			continue;
		found = !dmm__parse_dev(devno, dev);
	}
	closedir(d);
	if (!found)
		return dmm__err(ctx, DMM_ENODEV,
				"no device with identity %s; attach the device (or set up its loop device) and retry",
				id);
	return DMM_OK;
}
