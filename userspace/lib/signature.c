// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Filesystem, RAID and partition table signatures (libblkid): a
 * destination must carry none, and after confirm the old source's are
 * wiped so that two devices never show the same filesystem UUID.
 */
#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static blkid_probe new_probe(int fd)
{
	blkid_probe pr = blkid_new_probe();

	if (!pr)
		return NULL;
	if (blkid_probe_set_device(pr, fd, 0, 0) ||
	    blkid_probe_enable_superblocks(pr, 1) ||
	    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE |
					      BLKID_SUBLKS_USAGE |
					      BLKID_SUBLKS_MAGIC) ||
	    blkid_probe_enable_partitions(pr, 1) ||
	    blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC)) {
		blkid_free_probe(pr);
		return NULL;
	}
	return pr;
}

/* Open @b and a probe over it for signatures and partition tables. */
static int open_probe(struct dmm_ctx *ctx, const struct dmm__blk *b,
		      int flags, int *fd, blkid_probe *pr)
{
	*fd = open(b->path, flags | O_CLOEXEC);
	if (*fd < 0)
		return dmm__err(ctx, dmm__errno_code(errno),
				"cannot open %s: %s; check the device and run as root",
				b->name, strerror(errno));
	*pr = new_probe(*fd);
	if (!*pr) {
		close(*fd);
		return dmm__err(ctx, DMM_ENOMEM,
				"cannot probe %s; free some memory and retry",
				b->name);
	}
	return DMM_OK;
}

int dmm__probe_signature(struct dmm_ctx *ctx, const struct dmm__blk *b)
{
	const char *type = NULL, *usage = "filesystem";
	const char *path = b->name;
	blkid_probe pr;
	int fd, rc, r;

	r = open_probe(ctx, b, O_RDONLY, &fd, &pr);
	if (r)
		return r;

	rc = blkid_do_safeprobe(pr);
	if (rc == 0) {
		if (!blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL))
			usage = "partition table";
		else if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL))
			type = "unknown";
		else if (!blkid_probe_lookup_value(pr, "USAGE", &usage, NULL) &&
			 !strcmp(usage, "raid"))
			usage = "RAID";
		r = dmm__err(ctx, DMM_EBUSY,
			     "%s contains a %s %s signature; wipe it (wipefs -a) or use --force to overwrite it",
			     path, type, usage);
	} else if (rc == -2) {
		r = dmm__err(ctx, DMM_EBUSY,
			     "%s contains several conflicting signatures; wipe them (wipefs -a) or use --force to overwrite them",
			     path);
	} else if (rc < 0) {
		r = dmm__err(ctx, DMM_EDM,
			     "cannot probe %s for signatures; check the device",
			     path);
	} else {
		r = DMM_OK;
	}
	blkid_free_probe(pr);
	close(fd);
	return r;
}

int dmm_wipe_signatures(struct dmm_ctx *ctx, const char *device,
			unsigned int *wiped)
{
	unsigned int count = 0;
	struct dmm__blk b;
	blkid_probe pr;
	int fd, r;

	r = dmm__blk_open(ctx, device, &b);
	if (r)
		return r;
	r = open_probe(ctx, &b, O_RDWR | O_EXCL, &fd, &pr);
	dmm__blk_close(&b);
	if (r)
		return r;

	/* As wipefs -a: blkid_do_wipe() makes the next probe look again. */
	while (blkid_do_probe(pr) == 0) {
		if (blkid_do_wipe(pr, 0)) {
			r = dmm__err(ctx, DMM_EDM,
				     "cannot wipe a signature on %s: %s; wipe it with wipefs -a",
				     device, strerror(errno));
			break;
		}
		count++;
	}
	if (!r && fsync(fd))
		r = dmm__err(ctx, DMM_EDM,
			     "cannot write to %s: %s; wipe it with wipefs -a",
			     device, strerror(errno));
	blkid_free_probe(pr);
	close(fd);
	if (wiped)
		*wiped = count;
	return r;
}
