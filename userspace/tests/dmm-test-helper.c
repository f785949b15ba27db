// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Drives libdmmigrate's device checks from tests/validate.sh, without
 * device-mapper:
 *   validate SOURCE DEST [REGION_BYTES [force]]   exit code = library code
 *   wipe DEVICE                                   wipe signatures
 *   hold DEVICE                                   hold it O_EXCL until stdin closes
 * and the metadata device's pieces, from tests/metadata.sh:
 *   metadata META SOURCE DEST LEN_SECTORS REGION_BYTES   fit to hold it?
 *   record-write META NAME STATE SOURCE_ID DEST_ID [META_ID]
 *   record-read META          "name state region sectors rate src dst meta"
 *   identity DEVICE           its stable identity
 *   find IDENTITY             the major:minor of the device that has it
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int hold(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_EXCL);
	char c;

	if (fd < 0) {
		perror(dev);
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	close(fd);
	return 0;
}

static int record_write(struct dmm_ctx *ctx, char **argv, int argc)
{
	struct dmm__record rec = {
		.region_sectors = 1024,
		.target_sectors = 131072,
		.rate = 1048576,
	};
	struct dmm__blk b;
	int r = DMM_OK;

	snprintf(rec.name, sizeof(rec.name), "%s", argv[3]);
	rec.state = atoi(argv[4]);
	snprintf(rec.source_id, sizeof(rec.source_id), "%s", argv[5]);
	snprintf(rec.dest_id, sizeof(rec.dest_id), "%s", argv[6]);
	if (dmm__blk_open(ctx, argv[2], &b))
		return DMM_EUSAGE;
	if (argc == 8)
		snprintf(rec.metadata_id, sizeof(rec.metadata_id), "%s",
			 argv[7]);
	else if (dmm__identity(ctx, b.dev, argv[2], rec.metadata_id,
			       sizeof(rec.metadata_id)))
		r = DMM_EUSAGE;
	r = r ?: dmm__record_write(ctx, &b, &rec);
	dmm__blk_close(&b);
	return r;
}

static int record_read(struct dmm_ctx *ctx, const char *path)
{
	struct dmm__md_head h;
	struct dmm__blk b;
	int r;

	r = dmm__blk_open(ctx, path, &b);
	if (r)
		return r;
	r = dmm__md_read(ctx, &b, &h);
	dmm__blk_close(&b);
	if (r)
		return r;
	if (h.rec_kind == DMM__REC_NONE)
		printf("none\n");
	else if (h.rec_kind == DMM__REC_CORRUPT)
		printf("corrupt\n");
	else
		printf("%s %u %u %llu %llu %s %s %s\n", h.rec.name, h.rec.state,
		       h.rec.region_sectors,
		       (unsigned long long)h.rec.target_sectors,
		       (unsigned long long)h.rec.rate, h.rec.source_id,
		       h.rec.dest_id, h.rec.metadata_id);
	return DMM_OK;
}

static int metadata_cmd(struct dmm_ctx *ctx, char **argv)
{
	struct dmm__blk b[3] = { { .fd = -1 }, { .fd = -1 }, { .fd = -1 } };
	uint64_t region;
	int i, r = DMM_OK;

	if (dmm_parse_size(argv[6], &region))
		return DMM_EUSAGE;
	for (i = 0; i < 3 && !r; i++)
		r = dmm__blk_open(ctx, argv[2 + i], &b[i]);
	if (!r)
		r = dmm__check_metadata(ctx, &b[0], &b[1], &b[2],
					strtoull(argv[5], NULL, 10),
					region >> SECTOR_SHIFT);
	for (i = 0; i < 3; i++)
		dmm__blk_close(&b[i]);
	return r;
}

static int identity_cmd(struct dmm_ctx *ctx, const char *path)
{
	char id[DMM_ID_LEN];
	struct dmm__blk b;
	int r;

	r = dmm__blk_open(ctx, path, &b);
	if (r)
		return r;
	r = dmm__identity(ctx, b.dev, path, id, sizeof(id));
	dmm__blk_close(&b);
	if (!r)
		printf("%s\n", id);
	return r;
}

static int find_cmd(struct dmm_ctx *ctx, const char *id)
{
	dev_t dev;
	int r = dmm__find_identity(ctx, id, &dev);

	if (!r)
		printf("%u:%u\n", major(dev), minor(dev));
	return r;
}

int main(int argc, char **argv)
{
	uint64_t region = DMM_DEFAULT_REGION_BYTES;
	unsigned int flags = 0, wiped = 0;
	struct dmm_ctx *ctx;
	int r;

	if (argc == 3 && !strcmp(argv[1], "hold"))
		return hold(argv[2]);
	if (dmm_ctx_new(&ctx))
		return DMM_ENOMEM;

	if (argc >= 4 && argc <= 6 && !strcmp(argv[1], "validate")) {
		if (argc >= 5 && dmm_parse_size(argv[4], &region))
			return DMM_EUSAGE;
		if (argc == 6 && !strcmp(argv[5], "force"))
			flags |= DMM_START_FORCE;
		r = dmm_validate_destination(ctx, argv[2], argv[3], region,
					     flags);
	} else if (argc == 3 && !strcmp(argv[1], "wipe")) {
		r = dmm_wipe_signatures(ctx, argv[2], &wiped);
		if (!r)
			printf("wiped %u\n", wiped);
	} else if (argc == 7 && !strcmp(argv[1], "metadata")) {
		r = metadata_cmd(ctx, argv);
	} else if ((argc == 7 || argc == 8) &&
		   !strcmp(argv[1], "record-write")) {
		r = record_write(ctx, argv, argc);
	} else if (argc == 3 && !strcmp(argv[1], "record-read")) {
		r = record_read(ctx, argv[2]);
	} else if (argc == 3 && !strcmp(argv[1], "identity")) {
		r = identity_cmd(ctx, argv[2]);
	} else if (argc == 3 && !strcmp(argv[1], "find")) {
		r = find_cmd(ctx, argv[2]);
	} else {
		fprintf(stderr, "usage: %s validate|wipe|hold|metadata|record-write|record-read|identity|find ...\n",
			argv[0]);
		r = DMM_EUSAGE;
	}
	if (r)
		fprintf(stderr, "dmmigrate: %s\n", dmm_last_error(ctx));
	dmm_ctx_free(ctx);
	return r;
}
