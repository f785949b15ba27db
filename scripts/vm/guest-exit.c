// SPDX-License-Identifier: GPL-2.0-only
/*
 * Ends the test VM with a status the host can read: a write to qemu's
 * isa-debug-exit port makes qemu exit with (value << 1) | 1. The guest
 * kernel has no /dev/port, hence this helper. Built static for the initramfs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

#define DEBUG_EXIT_PORT 0xf4

int main(int argc, char **argv)
{
	int value;

	if (argc != 2) {
		fprintf(stderr, "usage: guest-exit VALUE\n");
		return 1;
	}
	value = atoi(argv[1]);
	if (ioperm(DEBUG_EXIT_PORT, 4, 1)) {
		perror("guest-exit: ioperm");
		return 1;
	}
	outl(value, DEBUG_EXIT_PORT);
	/* Only reached without the isa-debug-exit device. */
	return 1;
}
