// SPDX-License-Identifier: GPL-2.0-only
/*
 * Metadata device of the migrate target: superblock and in-sync bitmap on
 * 4 KiB blocks through dm-bufio. Block 1 belongs to dmmigrate and is never
 * touched here. Documentation/dm-migrate-metadata.rst has the format.
 */
#include <linux/bitmap.h>
#include <linux/crc32c.h>
#include <linux/device-mapper.h>
#include <linux/dm-bufio.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dm-migrate-metadata.h"

#define DM_MSG_PREFIX "migrate"

#define MD_MAGIC		0x4d4749524d4d4444ULL	/* "DDMMRIGM" */
#define MD_VERSION		1
#define MD_SB_BLOCK		0
#define MD_BITMAP_START		2	/* block 1 is the tool's */
#define MD_BITMAP_BYTES		(MIGRATE_MD_BLOCK_SIZE - 16)

struct migrate_disk_sb {
	__le32 csum;
	__le32 flags;
	__le64 magic;
	__le32 version;
	__le32 region_sectors;
	__le64 target_sectors;
	__le64 nr_regions;
	__le64 generation;
	__le32 bitmap_blocks;
	__le32 window;
	char pair_id[MIGRATE_MD_PAIR_ID_LEN];
} __packed;

struct migrate_disk_bitmap {
	__le32 csum;
	__le32 reserved;
	__le64 blocknr;
	__le64 bits[MD_BITMAP_BYTES / sizeof(__le64)];
} __packed;

struct migrate_metadata {
	struct dm_bufio_client *client;
	const struct region_geometry *geo;
	unsigned int bitmap_blocks;
	unsigned int window;
	u64 generation;
	char pair_id[MIGRATE_MD_PAIR_ID_LEN];

	/*
	 * Protects dirty. Taken under the target's lock, which bio completion
	 * takes in hard interrupt context, so interrupts are off whenever it
	 * is held: else an interrupt on a CPU holding it could wait for the
	 * target's lock held by a CPU waiting for this one.
	 */
	spinlock_t lock;
	unsigned long *dirty;		/* bitmap blocks to write */
	unsigned long *committing;	/* commit only: blocks being written */
	unsigned long *bits;		/* commit only: one block's regions */
	u64 *words;			/* commit only: the same, as u64 */
};

static u32 block_csum(const void *block)
{
	return ~crc32c(~0U, block + sizeof(__le32),
		       MIGRATE_MD_BLOCK_SIZE - sizeof(__le32));
}

static void sb_fill(struct migrate_metadata *md, struct migrate_disk_sb *sb)
{
	memset(sb, 0, MIGRATE_MD_BLOCK_SIZE);
	sb->magic = cpu_to_le64(MD_MAGIC);
	sb->version = cpu_to_le32(MD_VERSION);
	sb->region_sectors = cpu_to_le32(1U << md->geo->shift);
	sb->target_sectors = cpu_to_le64(md->geo->dev_sectors);
	sb->nr_regions = cpu_to_le64(md->geo->nr_regions);
	sb->generation = cpu_to_le64(md->generation);
	sb->bitmap_blocks = cpu_to_le32(md->bitmap_blocks);
	sb->window = cpu_to_le32(md->window);
	memcpy(sb->pair_id, md->pair_id, sizeof(sb->pair_id));
	sb->csum = cpu_to_le32(block_csum(sb));
}

static int sb_check(struct migrate_metadata *md,
		    const struct migrate_disk_sb *sb, char **error)
{
	if (le64_to_cpu(sb->magic) != MD_MAGIC) {
		*error = "Metadata device holds other data";
		return -EINVAL;
	}
	if (le32_to_cpu(sb->csum) != block_csum(sb) ||
	    le32_to_cpu(sb->version) != MD_VERSION) {
		*error = "Metadata superblock is corrupt";
		return -EINVAL;
	}
	if (le32_to_cpu(sb->region_sectors) != 1U << md->geo->shift ||
	    le64_to_cpu(sb->target_sectors) != md->geo->dev_sectors ||
	    le64_to_cpu(sb->nr_regions) != md->geo->nr_regions ||
	    le32_to_cpu(sb->bitmap_blocks) != md->bitmap_blocks ||
	    strncmp(sb->pair_id, md->pair_id, sizeof(sb->pair_id))) {
		*error = "Metadata belongs to another migration";
		return -EINVAL;
	}
	md->generation = le64_to_cpu(sb->generation);
	return 0;
}

static region_t block_first_region(unsigned int block)
{
	return (region_t)block * MIGRATE_MD_REGIONS_PER_BLOCK;
}

static region_t block_nr_regions(struct migrate_metadata *md,
				 unsigned int block)
{
	return min_t(region_t, MIGRATE_MD_REGIONS_PER_BLOCK,
		     md->geo->nr_regions - block_first_region(block));
}

/* A torn or misplaced block reads as no region in sync: copying is safe. */
static int load_block(struct migrate_metadata *md, unsigned int block,
		      struct region_map *map)
{
	struct migrate_disk_bitmap *disk;
	region_t first = block_first_region(block), n, i;
	struct dm_buffer *buf;
	unsigned int w;

	disk = dm_bufio_read(md->client, MD_BITMAP_START + block, &buf);
	if (IS_ERR(disk))
		return PTR_ERR(disk);

	if (le32_to_cpu(disk->csum) != block_csum(disk) ||
	    le64_to_cpu(disk->blocknr) != MD_BITMAP_START + block) {
		DMWARN("metadata bitmap block %u is damaged: its regions are copied again",
		       block);
		dm_bufio_release(buf);
		return 0;
	}
	for (w = 0; w < ARRAY_SIZE(disk->bits); w++)
		md->words[w] = le64_to_cpu(disk->bits[w]);
	dm_bufio_release(buf);

	bitmap_from_arr64(md->bits, md->words, MIGRATE_MD_REGIONS_PER_BLOCK);
	n = block_nr_regions(md, block);
	for_each_set_bit(i, md->bits, n)
		region_map_mark_in_sync(map, first + i);
	return 0;
}

static int write_block(struct migrate_metadata *md, unsigned int block)
{
	struct migrate_disk_bitmap *disk;
	struct dm_buffer *buf;
	unsigned int w;

	disk = dm_bufio_new(md->client, MD_BITMAP_START + block, &buf);
	if (IS_ERR(disk))
		return PTR_ERR(disk);
	bitmap_to_arr64(md->words, md->bits, MIGRATE_MD_REGIONS_PER_BLOCK);
	for (w = 0; w < ARRAY_SIZE(disk->bits); w++)
		disk->bits[w] = cpu_to_le64(md->words[w]);
	disk->reserved = 0;
	disk->blocknr = cpu_to_le64(MD_BITMAP_START + block);
	disk->csum = cpu_to_le32(block_csum(disk));
	dm_bufio_mark_buffer_dirty(buf);
	dm_bufio_release(buf);
	return 0;
}

static int write_sb(struct migrate_metadata *md)
{
	struct migrate_disk_sb *sb;
	struct dm_buffer *buf;

	sb = dm_bufio_new(md->client, MD_SB_BLOCK, &buf);
	if (IS_ERR(sb))
		return PTR_ERR(sb);
	sb_fill(md, sb);
	dm_bufio_mark_buffer_dirty(buf);
	dm_bufio_release(buf);
	return 0;
}

static int write_out(struct migrate_metadata *md)
{
	return dm_bufio_write_dirty_buffers(md->client) ?:
	       dm_bufio_issue_flush(md->client);
}

/* Bitmap blocks first: a superblock never describes a missing bitmap. */
static int format(struct migrate_metadata *md)
{
	unsigned int block;
	int r;

	DMINFO("formatting metadata device: every region will be copied");
	bitmap_zero(md->bits, MIGRATE_MD_REGIONS_PER_BLOCK);
	md->generation = 0;
	for (block = 0; block < md->bitmap_blocks; block++) {
		r = write_block(md, block);
		if (r)
			return r;
	}
	r = write_out(md);
	if (r)
		return r;
	return write_sb(md) ?: write_out(md);
}

static void md_free(struct migrate_metadata *md)
{
	if (!IS_ERR_OR_NULL(md->client))
		dm_bufio_client_destroy(md->client);
	bitmap_free(md->dirty);
	bitmap_free(md->committing);
	bitmap_free(md->bits);
	kfree(md->words);
	kfree(md);
}

struct migrate_metadata *migrate_md_open(const struct migrate_md_params *p,
					 struct region_map *map, char **error)
{
	struct migrate_metadata *md;
	struct dm_buffer *buf;
	void *sb;
	bool blank;
	int r;

	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md) {
		*error = "Cannot allocate metadata context";
		return ERR_PTR(-ENOMEM);
	}
	spin_lock_init(&md->lock);
	md->geo = p->geo;
	md->window = p->window;
	strscpy(md->pair_id, p->pair_id, sizeof(md->pair_id));
	md->bitmap_blocks = DIV_ROUND_UP_ULL(p->geo->nr_regions,
					     MIGRATE_MD_REGIONS_PER_BLOCK);

	r = -EINVAL;
	if (bdev_nr_bytes(p->bdev) <
	    (u64)(MD_BITMAP_START + md->bitmap_blocks) * MIGRATE_MD_BLOCK_SIZE) {
		*error = "Metadata device too small";
		goto bad;
	}

	r = -ENOMEM;
	md->dirty = bitmap_zalloc(md->bitmap_blocks, GFP_KERNEL);
	md->committing = bitmap_zalloc(md->bitmap_blocks, GFP_KERNEL);
	md->bits = bitmap_zalloc(MIGRATE_MD_REGIONS_PER_BLOCK, GFP_KERNEL);
	md->words = kcalloc(MD_BITMAP_BYTES / sizeof(u64), sizeof(u64),
			    GFP_KERNEL);
	if (!md->dirty || !md->committing || !md->bits || !md->words) {
		*error = "Cannot allocate metadata context";
		goto bad;
	}

	md->client = dm_bufio_client_create(p->bdev, MIGRATE_MD_BLOCK_SIZE, 1,
					    0, NULL, NULL, 0);
	if (IS_ERR(md->client)) {
		r = PTR_ERR(md->client);
		*error = "Cannot create metadata bufio client";
		goto bad;
	}

	sb = dm_bufio_read(md->client, MD_SB_BLOCK, &buf);
	if (IS_ERR(sb)) {
		r = PTR_ERR(sb);
		*error = "Cannot read the metadata superblock";
		goto bad;
	}
	blank = !memchr_inv(sb, 0, MIGRATE_MD_BLOCK_SIZE);
	r = (p->fresh || blank) ? 0 : sb_check(md, sb, error);
	dm_bufio_release(buf);
	if (r)
		goto bad;

	if (p->fresh || blank) {
		r = format(md);
	} else {
		unsigned int block;

		for (block = 0, r = 0; block < md->bitmap_blocks && !r; block++)
			r = load_block(md, block, map);
	}
	if (r) {
		*error = "Cannot write or read the metadata device";
		goto bad;
	}
	return md;

bad:
	md_free(md);
	return ERR_PTR(r);
}

void migrate_md_close(struct migrate_metadata *md)
{
	md_free(md);
}

void migrate_md_region_changed(struct migrate_metadata *md, region_t region)
{
	unsigned long flags;

	spin_lock_irqsave(&md->lock, flags);
	__set_bit(region / MIGRATE_MD_REGIONS_PER_BLOCK, md->dirty);
	spin_unlock_irqrestore(&md->lock, flags);
}

bool migrate_md_dirty(struct migrate_metadata *md)
{
	unsigned long flags;
	bool dirty;

	spin_lock_irqsave(&md->lock, flags);
	dirty = !bitmap_empty(md->dirty, md->bitmap_blocks);
	spin_unlock_irqrestore(&md->lock, flags);
	return dirty;
}

int migrate_md_commit(struct migrate_metadata *md, migrate_md_fill_fn fill,
		      void *context)
{
	unsigned int block;
	int r = 0;

	spin_lock_irq(&md->lock);
	bitmap_copy(md->committing, md->dirty, md->bitmap_blocks);
	bitmap_zero(md->dirty, md->bitmap_blocks);
	spin_unlock_irq(&md->lock);

	for_each_set_bit(block, md->committing, md->bitmap_blocks) {
		bitmap_zero(md->bits, MIGRATE_MD_REGIONS_PER_BLOCK);
		fill(context, block_first_region(block),
		     block_nr_regions(md, block), md->bits);
		r = write_block(md, block);
		if (r)
			break;
	}
	md->generation++;
	if (!r)
		r = write_sb(md) ?: write_out(md);
	if (r) {
		/* Written again at the next commit. */
		spin_lock_irq(&md->lock);
		bitmap_or(md->dirty, md->dirty, md->committing,
			  md->bitmap_blocks);
		spin_unlock_irq(&md->lock);
	}
	return r;
}
