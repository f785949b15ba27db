// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The tool record: block 1 of the metadata device, where dmmigrate notes
 * the step it is taking (migrating, confirming, aborting) before it takes
 * it, so that "dmmigrate activate" can finish it after a crash. Layout in
 * Documentation/dm-migrate-metadata.rst. Written with O_DIRECT | O_SYNC:
 * once the write returns, the record is on the device, not in a cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define REC_VERSION	1

/* Field offsets of the tool record and of the kernel superblock. */
#define OFF_CSUM	0
#define OFF_VERSION	4
#define OFF_MAGIC	8
#define OFF_STATE	16
#define OFF_REGION	20
#define OFF_SECTORS	24
#define OFF_RATE	32
#define OFF_NAME	40
#define OFF_SOURCE	168
#define OFF_DEST	424
#define OFF_META	680
#define OFF_WINDOW	936
#define OFF_FLAGS	940
/* From 1.6, zero in older records: no group. */
#define OFF_GROUP	944
#define OFF_GROUP_RATE	980
#define OFF_GROUP_MAX	988
#define OFF_WEIGHT	992

static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_update(uint32_t crc, const void *buf, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const unsigned char *p = buf;

	pthread_once(&once, crc_init);
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

/* CRC32C (Castagnoli), seed ~0 and final ~, as the kernel's crc32c(). */
uint32_t dmm__crc32c(const void *buf, size_t len)
{
	return ~crc_update(~0U, buf, len);
}

static void put_le32(unsigned char *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static void put_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static uint32_t get_le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t dmm__get_le64(const unsigned char *p)
{
	return get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* CRC32C of a block with its checksum field (the first 4 bytes) as 0. */
static uint32_t block_csum(const unsigned char *blk)
{
	static const unsigned char zero[4];

	return ~crc_update(crc_update(~0U, zero, 4), blk + 4,
			   DMM_MD_BLOCK - 4);
}

static void put_text(unsigned char *p, size_t len, const char *s)
{
	memset(p, 0, len);
	memcpy(p, s, strnlen(s, len - 1));
}

/* NUL padded text of at most @len bytes; refused if not terminated. */
static int get_text(char *s, const unsigned char *p, size_t len)
{
	if (!memchr(p, '\0', len))
		return -EINVAL;
	memcpy(s, p, len);
	return 0;
}

void dmm__record_encode(const struct dmm__record *rec, unsigned char *blk)
{
	memset(blk, 0, DMM_MD_BLOCK);
	put_le32(blk + OFF_VERSION, REC_VERSION);
	put_le64(blk + OFF_MAGIC, DMM_RECORD_MAGIC);
	put_le32(blk + OFF_STATE, rec->state);
	put_le32(blk + OFF_REGION, rec->region_sectors);
	put_le64(blk + OFF_SECTORS, rec->target_sectors);
	put_le64(blk + OFF_RATE, rec->rate);
	put_text(blk + OFF_NAME, sizeof(rec->name), rec->name);
	put_text(blk + OFF_SOURCE, sizeof(rec->source_id), rec->source_id);
	put_text(blk + OFF_DEST, sizeof(rec->dest_id), rec->dest_id);
	put_text(blk + OFF_META, sizeof(rec->metadata_id), rec->metadata_id);
	put_le32(blk + OFF_WINDOW, rec->window);
	put_le32(blk + OFF_FLAGS, rec->flags);
	put_text(blk + OFF_GROUP, sizeof(rec->group.name), rec->group.name);
	put_le64(blk + OFF_GROUP_RATE, rec->group.rate);
	put_le32(blk + OFF_GROUP_MAX, rec->group.max_active);
	put_le32(blk + OFF_WEIGHT, rec->group.weight);
	put_le32(blk + OFF_CSUM, block_csum(blk));
}

/* DMM__REC_VALID, DMM__REC_NONE (no magic) or DMM__REC_CORRUPT. */
int dmm__record_decode(const unsigned char *blk, struct dmm__record *rec)
{
	memset(rec, 0, sizeof(*rec));
	if (dmm__get_le64(blk + OFF_MAGIC) != DMM_RECORD_MAGIC)
		return DMM__REC_NONE;
	if (get_le32(blk + OFF_CSUM) != block_csum(blk) ||
	    get_le32(blk + OFF_VERSION) != REC_VERSION)
		return DMM__REC_CORRUPT;
	rec->state = get_le32(blk + OFF_STATE);
	if (rec->state > DMM_REC_ON_DEST)
		rec->state = DMM_REC_NONE;
	rec->region_sectors = get_le32(blk + OFF_REGION);
	rec->target_sectors = dmm__get_le64(blk + OFF_SECTORS);
	rec->rate = dmm__get_le64(blk + OFF_RATE);
	rec->window = get_le32(blk + OFF_WINDOW);
	rec->flags = get_le32(blk + OFF_FLAGS);
	rec->group.rate = dmm__get_le64(blk + OFF_GROUP_RATE);
	rec->group.max_active = get_le32(blk + OFF_GROUP_MAX);
	rec->group.weight = get_le32(blk + OFF_WEIGHT);
	if (get_text(rec->name, blk + OFF_NAME, sizeof(rec->name)) ||
	    get_text(rec->source_id, blk + OFF_SOURCE, sizeof(rec->source_id)) ||
	    get_text(rec->dest_id, blk + OFF_DEST, sizeof(rec->dest_id)) ||
	    get_text(rec->metadata_id, blk + OFF_META,
		     sizeof(rec->metadata_id)) ||
	    get_text(rec->group.name, blk + OFF_GROUP,
		     sizeof(rec->group.name)))
		return DMM__REC_CORRUPT;
	return DMM__REC_VALID;
}

static int io_error(struct dmm_ctx *ctx, const char *what, const char *path,
		    int err)
{
	return dmm__err(ctx, dmm__errno_code(err),
			"cannot %s the metadata device %s: %s; check the device and run as root",
			what, path, err ? strerror(err) : "short I/O");
}

/*
 * Read blocks 0 and 1 of @path into @buf (2 * DMM_MD_BLOCK bytes,
 * DMM_MD_BLOCK aligned), bypassing the page cache.
 */
static int read_head(struct dmm_ctx *ctx, const struct dmm__blk *b,
		     unsigned char *buf)
{
	ssize_t n;
	int fd;

	fd = open(b->path, O_RDONLY | O_DIRECT | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return io_error(ctx, "open", b->name, errno);
	n = pread(fd, buf, 2 * DMM_MD_BLOCK, 0);
	if (n != 2 * DMM_MD_BLOCK) {
		int err = n < 0 ? errno : 0;

		close(fd);
		return io_error(ctx, "read", b->name, err);
	}
	close(fd);
	return DMM_OK;
}

int dmm__md_read(struct dmm_ctx *ctx, const struct dmm__blk *b,
		 struct dmm__md_head *head)
{
	unsigned char *buf;
	size_t i;
	int r;

	if (posix_memalign((void **)&buf, DMM_MD_BLOCK, 2 * DMM_MD_BLOCK))
		return dmm__enomem(ctx);
	r = read_head(ctx, b, buf);
	if (!r) {
		head->sb_magic = dmm__get_le64(buf + OFF_MAGIC) ==
				 DMM_SB_MAGIC;
		head->sb_zero = true;
		for (i = 0; i < DMM_MD_BLOCK && head->sb_zero; i++)
			head->sb_zero = !buf[i];
		memset(head->pair_id, 0, sizeof(head->pair_id));
		if (head->sb_magic)
			memcpy(head->pair_id, buf + DMM_SB_PAIR_ID,
			       sizeof(head->pair_id) - 1);
		head->rec_kind = dmm__record_decode(buf + DMM_MD_BLOCK,
						    &head->rec);
	}
	free(buf);
	return r;
}

static int write_block(struct dmm_ctx *ctx, const struct dmm__blk *b,
		       uint64_t nr, const unsigned char *blk)
{
	ssize_t n;
	int fd, err;

	fd = open(b->path, O_WRONLY | O_DIRECT | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return io_error(ctx, "open", b->name, errno);
	n = pwrite(fd, blk, DMM_MD_BLOCK, nr * DMM_MD_BLOCK);
	err = n < 0 ? errno : 0;
	/* O_SYNC flushes the device's cache; fsync covers old kernels. */
	if (n == DMM_MD_BLOCK && fsync(fd))
		err = errno, n = -1;
	close(fd);
	if (n != DMM_MD_BLOCK)
		return io_error(ctx, "write", b->name, err);
	return DMM_OK;
}

int dmm__record_write(struct dmm_ctx *ctx, const struct dmm__blk *b,
		      const struct dmm__record *rec)
{
	unsigned char *blk;
	int r;

	if (posix_memalign((void **)&blk, DMM_MD_BLOCK, DMM_MD_BLOCK))
		return dmm__enomem(ctx);
	dmm__record_encode(rec, blk);
	r = write_block(ctx, b, 1, blk);
	free(blk);
	dmm__log(ctx, DMM_LOG_DEBUG, "%s: record of %s: state %u", b->name,
		 rec->name, rec->state);
	return r;
}

/* Zero the superblock, so that the target formats the device afresh. */
int dmm__md_zero_superblock(struct dmm_ctx *ctx, const struct dmm__blk *b)
{
	unsigned char *blk;
	int r;

	if (posix_memalign((void **)&blk, DMM_MD_BLOCK, DMM_MD_BLOCK))
		return dmm__enomem(ctx);
	memset(blk, 0, DMM_MD_BLOCK);
	r = write_block(ctx, b, 0, blk);
	free(blk);
	return r;
}

/* Set the state of the record on @path, if it is the record of @name. */
int dmm__record_set_state(struct dmm_ctx *ctx, const char *path,
			  const char *name, uint32_t state)
{
	struct dmm__md_head head;
	struct dmm__blk b;
	int r;

	r = dmm__blk_open(ctx, path, &b);
	if (r)
		return r;
	r = dmm__md_read(ctx, &b, &head);
	if (!r && head.rec_kind == DMM__REC_VALID &&
	    !strcmp(head.rec.name, name) && head.rec.state != state) {
		head.rec.state = state;
		r = dmm__record_write(ctx, &b, &head.rec);
	}
	dmm__blk_close(&b);
	return r;
}

const char *dmm__record_state_name(uint32_t state)
{
	switch (state) {
	case DMM_REC_MIGRATING:
		return "migrating";
	case DMM_REC_CONFIRMING:
		return "confirming";
	case DMM_REC_ABORTING:
		return "aborting";
	case DMM_REC_ON_SOURCE:
		return "on the source";
	case DMM_REC_ON_DEST:
		return "on the destination";
	default:
		return "no migration";
	}
}

/* The blocks a migration of @len_sectors in @region_sectors needs. */
uint64_t dmm__md_blocks(uint64_t len_sectors, uint64_t region_sectors)
{
	uint64_t regions = (len_sectors + region_sectors - 1) / region_sectors;

	return 2 + (regions + DMM_MD_BITS_PER_BLOCK - 1) /
		   DMM_MD_BITS_PER_BLOCK;
}

/* pair_id of the table: crc32c of the source and destination ids. */
void dmm__pair_id(const struct dmm__record *rec, char *buf, size_t len)
{
	snprintf(buf, len, "%08x%08x",
		 dmm__crc32c(rec->source_id, strlen(rec->source_id)),
		 dmm__crc32c(rec->dest_id, strlen(rec->dest_id)));
}
