// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Is a device fit to be a migration destination? Everything is checked
 * before anything is changed, so a refused start leaves no trace.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

#define STACK_MAX	64	/* devices under one volume we look at */

/* A device and the whole disk it is a partition of (or itself). */
struct stacked {
	dev_t dev;
	dev_t whole;
};

struct stack {
	struct stacked dev[STACK_MAX];
	unsigned int count;
};

static int sysfs_dir(dev_t dev, char *buf)
{
	char link[64];

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(dev),
		 minor(dev));
	return realpath(link, buf) ? 0 : -errno;
}

/*
 * Add @dev and, recursively, every device under it (sysfs "slaves"):
 * a dm device over the source overlaps it as much as the source itself.
 */
static void stack_add(struct stack *s, dev_t dev, int depth)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct stacked *e;
	struct dirent *de;
	dev_t slave;
	DIR *d;

	if (s->count == STACK_MAX || depth > 16 || sysfs_dir(dev, dir))
		return;
	e = &s->dev[s->count++];
	e->dev = dev;
	e->whole = dev;
	snprintf(path, sizeof(path), "%s/partition", dir);
	if (!access(path, F_OK)) {
		snprintf(path, sizeof(path), "%s/../dev", dir);
		dmm__read_dev_file(path, &e->whole);
	}

	snprintf(path, sizeof(path), "%s/slaves", dir);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/slaves/%s/dev", dir,
			 de->d_name);
		if (!dmm__read_dev_file(path, &slave))
			stack_add(s, slave, depth + 1);
	}
	closedir(d);
}

/* Same device, or one a partition of the other, anywhere in the stacks. */
static bool stacks_overlap(const struct stack *a, const struct stack *b)
{
	unsigned int i, j;

	for (i = 0; i < a->count; i++)
		for (j = 0; j < b->count; j++)
			if (a->dev[i].dev == b->dev[j].dev ||
			    a->dev[i].whole == b->dev[j].dev ||
			    a->dev[i].dev == b->dev[j].whole)
				return true;
	return false;
}

static bool devs_overlap(dev_t a, const struct stack *b)
{
	struct stack s = { .count = 0 };

	stack_add(&s, a, 0);
	return stacks_overlap(&s, b);
}

/* The first device stacked on @dev ("holders"), into @holder. */
bool dmm__held(dev_t dev, char *holder, size_t len)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (sysfs_dir(dev, dir))
		return false;
	snprintf(path, sizeof(path), "%s/holders", dir);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(holder, len, "%s", de->d_name);
		found = true;
	}
	closedir(d);
	return found;
}

/* Where @dest, or a device on or in it, is mounted; into @where. */
static bool mounted(const struct stack *dest, char *where, size_t len)
{
	char line[4096], majmin[32], mnt[PATH_MAX];
	bool found = false;
	dev_t dev;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %31s %*s %4095s", majmin, mnt) != 2 ||
		    dmm__parse_dev(majmin, &dev))
			continue;
		if (devs_overlap(dev, dest)) {
			snprintf(where, len, "%s", mnt);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* Not mounted, not stacked on, not opened exclusively by anyone. */
int dmm__check_unused(struct dmm_ctx *ctx, const struct dmm__blk *b)
{
	struct stack s = { .count = 0 };
	const char *dest = b->name;
	char what[PATH_MAX];
	int fd;

	stack_add(&s, b->dev, 0);
	if (mounted(&s, what, sizeof(what)))
		return dmm__err(ctx, DMM_EBUSY,
				"%s is mounted on %s; unmount it or give another device",
				dest, what);
	if (dmm__held(b->dev, what, sizeof(what)))
		return dmm__err(ctx, DMM_EBUSY,
				"%s is in use by %s; remove %s or give another device",
				dest, what, what);
	/* The kernel refuses O_EXCL while anyone has claimed the device. */
	fd = open(b->path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return dmm__err(ctx, errno == EBUSY ? DMM_EBUSY :
				dmm__errno_code(errno),
				"%s is in use (%s); stop what holds it or give another device",
				dest, strerror(errno));
	close(fd);
	return DMM_OK;
}

static int check_geometry(struct dmm_ctx *ctx, const struct dmm__blk *source,
			  const struct dmm__blk *dest, uint64_t region_bytes)
{
	unsigned int slbs, dlbs;
	uint64_t ssize, dsize;
	char b1[32], b2[32];
	int r;

	r = dmm__dev_size(ctx, source, &ssize, &slbs);
	if (!r)
		r = dmm__dev_size(ctx, dest, &dsize, &dlbs);
	if (r)
		return r;
	if (dsize < ssize) {
		dmm__format_bytes(b1, sizeof(b1), dsize);
		dmm__format_bytes(b2, sizeof(b2), ssize);
		return dmm__err(ctx, DMM_EUSAGE,
				"%s is too small (%s, the volume has %s); give a device at least as large as the volume",
				dest->name, b1, b2);
	}
	if (dlbs > slbs)
		return dmm__err(ctx, DMM_EUSAGE,
				"%s has %u-byte logical blocks, more than the %u bytes of %s; give a device with %u-byte or smaller blocks",
				dest->name, dlbs, slbs, source->name, slbs);
	if (dlbs > region_bytes)
		return dmm__err(ctx, DMM_EUSAGE,
				"%s has %u-byte logical blocks, more than the region size; use a larger --region-size",
				dest->name, dlbs);
	return DMM_OK;
}

int dmm__validate_destination(struct dmm_ctx *ctx,
			      const struct dmm__blk *source,
			      const struct dmm__blk *dest,
			      uint64_t region_bytes, unsigned int flags)
{
	struct stack s = { .count = 0 };
	int r;

	r = dmm__check_region(ctx, region_bytes);
	if (r)
		return r;
	if (source->dev == dest->dev)
		return dmm__err(ctx, DMM_EUSAGE,
				"%s is the source of the volume; give a different destination",
				dest->name);
	stack_add(&s, source->dev, 0);
	if (devs_overlap(dest->dev, &s))
		return dmm__err(ctx, DMM_EUSAGE,
				"%s overlaps the source %s (a partition, parent or stacked device of it); give a device that shares no blocks with it",
				dest->name, source->name);

	r = dmm__check_unused(ctx, dest) ?:
	    check_geometry(ctx, source, dest, region_bytes);
	if (!r && !(flags & DMM_START_FORCE))
		r = dmm__probe_signature(ctx, dest);
	return r;
}

int dmm_validate_destination(struct dmm_ctx *ctx, const char *source,
			     const char *dest, uint64_t region_bytes,
			     unsigned int flags)
{
	struct dmm__blk s, d = { .fd = -1 };
	int r;

	r = dmm__blk_open(ctx, source, &s);
	if (r)
		return r;
	r = dmm__blk_open(ctx, dest, &d) ?:
	    dmm__validate_destination(ctx, &s, &d, region_bytes, flags);
	dmm__blk_close(&d);
	dmm__blk_close(&s);
	return r;
}

/*
 * Is @metadata fit to hold the metadata of a migration of @len_sectors
 * from @source to @dest: a block device apart from both legs, unused,
 * with room for the superblock, the tool record and the bitmap.
 */
int dmm__check_metadata(struct dmm_ctx *ctx, const struct dmm__blk *metadata,
			const struct dmm__blk *source,
			const struct dmm__blk *dest,
			uint64_t len_sectors, uint64_t region_sectors)
{
	struct stack s = { .count = 0 };
	uint64_t bytes, need;
	char b1[32], b2[32];
	unsigned int lbs;
	int r;

	if (metadata->dev == source->dev || metadata->dev == dest->dev)
		return dmm__err(ctx, DMM_EUSAGE,
				"the metadata device %s is the %s of the migration; give a separate small device",
				metadata->name,
				metadata->dev == source->dev ? "source" :
				"destination");
	stack_add(&s, source->dev, 0);
	stack_add(&s, dest->dev, 0);
	if (devs_overlap(metadata->dev, &s))
		return dmm__err(ctx, DMM_EUSAGE,
				"the metadata device %s overlaps a leg of the migration (a partition, parent or stacked device of it); give a device that shares no blocks with them",
				metadata->name);
	r = dmm__check_unused(ctx, metadata) ?:
	    dmm__dev_size(ctx, metadata, &bytes, &lbs);
	if (r)
		return r;
	if (lbs > DMM_MD_BLOCK)
		return dmm__err(ctx, DMM_EUSAGE,
				"the metadata device %s has %u-byte logical blocks; give one with at most %u-byte blocks",
				metadata->name, lbs, DMM_MD_BLOCK);
	need = dmm__md_blocks(len_sectors, region_sectors) * DMM_MD_BLOCK;
	if (bytes < need) {
		dmm__format_bytes(b1, sizeof(b1), bytes);
		dmm__format_bytes(b2, sizeof(b2), need);
		return dmm__err(ctx, DMM_EUSAGE,
				"the metadata device %s is too small (%s, this migration needs %s); give a larger device or a larger --region-size",
				metadata->name, b1, b2);
	}
	return DMM_OK;
}
