// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Drives libdmmigrate's device checks from tests/validate.sh, without
 * device-mapper:
 *   validate SOURCE DEST [REGION_BYTES [force]]   exit code = library code
 *   wipe DEVICE                                   wipe signatures
 *   hold DEVICE                                   hold it O_EXCL until stdin closes
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libdmmigrate.h"

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
	} else {
		fprintf(stderr, "usage: %s validate|wipe|hold ...\n", argv[0]);
		r = DMM_EUSAGE;
	}
	if (r)
		fprintf(stderr, "dmmigrate: %s\n", dmm_last_error(ctx));
	dmm_ctx_free(ctx);
	return r;
}
