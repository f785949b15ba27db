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

#define META_MAGIC		0x4d4749524d4d4444ULL	/* "DDMMRIGM" */
#define META_VERSION		1
#define META_SB_BLOCK		0
#define META_BITMAP_START		2	/* block 1 is the tool's */
#define META_BITMAP_BYTES		(MIGRATE_META_BLOCK_SIZE - 16)

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
	char pair_id[MIGRATE_META_PAIR_ID_LEN];
} __packed;

struct migrate_disk_bitmap {
	__le32 csum;
	__le32 reserved;
	__le64 blocknr;
	__le64 bits[META_BITMAP_BYTES / sizeof(__le64)];
} __packed;

struct migrate_metadata {
	struct dm_bufio_client *client;
	const struct migrate_geometry *geo;
	unsigned int bitmap_blocks;
	unsigned int window;
	u64 generation;
	unsigned int flags;		/* MIGRATE_META_* */
	bool format_pending;		/* blank or fresh: formatted at load */
	char pair_id[MIGRATE_META_PAIR_ID_LEN];

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
		       MIGRATE_META_BLOCK_SIZE - sizeof(__le32));
}

static void sb_fill(struct migrate_metadata *meta, struct migrate_disk_sb *sb)
{
	memset(sb, 0, MIGRATE_META_BLOCK_SIZE);
	sb->flags = cpu_to_le32(meta->flags);
	sb->magic = cpu_to_le64(META_MAGIC);
	sb->version = cpu_to_le32(META_VERSION);
	sb->region_sectors = cpu_to_le32(1U << meta->geo->shift);
	sb->target_sectors = cpu_to_le64(meta->geo->dev_sectors);
	sb->nr_regions = cpu_to_le64(meta->geo->nr_regions);
	sb->generation = cpu_to_le64(meta->generation);
	sb->bitmap_blocks = cpu_to_le32(meta->bitmap_blocks);
	sb->window = cpu_to_le32(meta->window);
	memcpy(sb->pair_id, meta->pair_id, sizeof(sb->pair_id));
	sb->csum = cpu_to_le32(block_csum(sb));
}

static int sb_check(struct migrate_metadata *meta,
		    const struct migrate_disk_sb *sb, char **error)
{
	if (le64_to_cpu(sb->magic) != META_MAGIC) {
		*error = "Metadata device holds other data";
		return -EINVAL;
	}
	if (le32_to_cpu(sb->csum) != block_csum(sb) ||
	    le32_to_cpu(sb->version) != META_VERSION ||
	    le32_to_cpu(sb->flags) & ~MIGRATE_META_FLAGS) {
		*error = "Metadata superblock is corrupt";
		return -EINVAL;
	}
	if (le32_to_cpu(sb->region_sectors) != 1U << meta->geo->shift ||
	    le64_to_cpu(sb->target_sectors) != meta->geo->dev_sectors ||
	    le64_to_cpu(sb->nr_regions) != meta->geo->nr_regions ||
	    le32_to_cpu(sb->bitmap_blocks) != meta->bitmap_blocks ||
	    strncmp(sb->pair_id, meta->pair_id, sizeof(sb->pair_id))) {
		*error = "Metadata belongs to another migration";
		return -EINVAL;
	}
	meta->generation = le64_to_cpu(sb->generation);
	meta->flags = le32_to_cpu(sb->flags);
	return 0;
}

static migrate_region_t block_first_region(unsigned int block)
{
	return (migrate_region_t)block * MIGRATE_META_REGIONS_PER_BLOCK;
}

static migrate_region_t block_nr_regions(struct migrate_metadata *meta,
					 unsigned int block)
{
	return min_t(migrate_region_t, MIGRATE_META_REGIONS_PER_BLOCK,
		     meta->geo->nr_regions - block_first_region(block));
}

/* A torn or misplaced block reads as no region in sync: copying is safe. */
static int load_block(struct migrate_metadata *meta, unsigned int block,
		      struct migrate_sync_map *map)
{
	struct migrate_disk_bitmap *disk;
	migrate_region_t first = block_first_region(block), n, i;
	struct dm_buffer *buf;
	unsigned int w;

	disk = dm_bufio_read(meta->client, META_BITMAP_START + block, &buf);
	if (IS_ERR(disk))
		return PTR_ERR(disk);

	if (le32_to_cpu(disk->csum) != block_csum(disk) ||
	    le64_to_cpu(disk->blocknr) != META_BITMAP_START + block) {
		DMWARN("metadata bitmap block %u is damaged: its regions are copied again",
		       block);
		dm_bufio_release(buf);
		return 0;
	}
	for (w = 0; w < ARRAY_SIZE(disk->bits); w++)
		meta->words[w] = le64_to_cpu(disk->bits[w]);
	dm_bufio_release(buf);

	bitmap_from_arr64(meta->bits, meta->words, MIGRATE_META_REGIONS_PER_BLOCK);
	n = block_nr_regions(meta, block);
	for_each_set_bit(i, meta->bits, n)
		migrate_mark_in_sync(map, first + i);
	return 0;
}

static int write_block(struct migrate_metadata *meta, unsigned int block)
{
	struct migrate_disk_bitmap *disk;
	struct dm_buffer *buf;
	unsigned int w;

	disk = dm_bufio_new(meta->client, META_BITMAP_START + block, &buf);
	if (IS_ERR(disk))
		return PTR_ERR(disk);
	bitmap_to_arr64(meta->words, meta->bits, MIGRATE_META_REGIONS_PER_BLOCK);
	for (w = 0; w < ARRAY_SIZE(disk->bits); w++)
		disk->bits[w] = cpu_to_le64(meta->words[w]);
	disk->reserved = 0;
	disk->blocknr = cpu_to_le64(META_BITMAP_START + block);
	disk->csum = cpu_to_le32(block_csum(disk));
	dm_bufio_mark_buffer_dirty(buf);
	dm_bufio_release(buf);
	return 0;
}

static int write_sb(struct migrate_metadata *meta)
{
	struct migrate_disk_sb *sb;
	struct dm_buffer *buf;

	sb = dm_bufio_new(meta->client, META_SB_BLOCK, &buf);
	if (IS_ERR(sb))
		return PTR_ERR(sb);
	sb_fill(meta, sb);
	dm_bufio_mark_buffer_dirty(buf);
	dm_bufio_release(buf);
	return 0;
}

static int write_out(struct migrate_metadata *meta)
{
	return dm_bufio_write_dirty_buffers(meta->client) ?:
	       dm_bufio_issue_flush(meta->client);
}

/* Bitmap blocks first: a superblock never describes a missing bitmap. */
static int format(struct migrate_metadata *meta)
{
	unsigned int block;
	int r;

	DMINFO("formatting metadata device: every region will be copied");
	bitmap_zero(meta->bits, MIGRATE_META_REGIONS_PER_BLOCK);
	meta->generation = 0;
	meta->flags = 0;
	for (block = 0; block < meta->bitmap_blocks; block++) {
		r = write_block(meta, block);
		if (r)
			return r;
	}
	r = write_out(meta);
	if (r)
		return r;
	return write_sb(meta) ?: write_out(meta);
}

static void meta_free(struct migrate_metadata *meta)
{
	if (!IS_ERR_OR_NULL(meta->client))
		dm_bufio_client_destroy(meta->client);
	bitmap_free(meta->dirty);
	bitmap_free(meta->committing);
	bitmap_free(meta->bits);
	kfree(meta->words);
	kfree(meta);
}

/* Check the superblock against the table; sets format_pending for a blank one. */
static int read_sb(struct migrate_metadata *meta, bool fresh, char **error)
{
	struct dm_buffer *buf;
	void *sb;
	int r;

	sb = dm_bufio_read(meta->client, META_SB_BLOCK, &buf);
	if (IS_ERR(sb)) {
		*error = "Cannot read the metadata superblock";
		return PTR_ERR(sb);
	}
	meta->format_pending = fresh || !memchr_inv(sb, 0, MIGRATE_META_BLOCK_SIZE);
	r = meta->format_pending ? 0 : sb_check(meta, sb, error);
	dm_bufio_release(buf);
	return r;
}

struct migrate_metadata *migrate_meta_open(const struct migrate_meta_params *p,
					   char **error)
{
	struct migrate_metadata *meta;
	int r;

	meta = kzalloc(sizeof(*meta), GFP_KERNEL);
	if (!meta) {
		*error = "Cannot allocate metadata context";
		return ERR_PTR(-ENOMEM);
	}
	spin_lock_init(&meta->lock);
	meta->geo = p->geo;
	meta->window = p->window;
	strscpy(meta->pair_id, p->pair_id, sizeof(meta->pair_id));
	meta->bitmap_blocks = DIV_ROUND_UP_ULL(p->geo->nr_regions,
					       MIGRATE_META_REGIONS_PER_BLOCK);

	r = -EINVAL;
	if (bdev_nr_bytes(p->bdev) <
	    (u64)(META_BITMAP_START + meta->bitmap_blocks) * MIGRATE_META_BLOCK_SIZE) {
		*error = "Metadata device too small";
		goto bad;
	}

	r = -ENOMEM;
	meta->dirty = bitmap_zalloc(meta->bitmap_blocks, GFP_KERNEL);
	meta->committing = bitmap_zalloc(meta->bitmap_blocks, GFP_KERNEL);
	meta->bits = bitmap_zalloc(MIGRATE_META_REGIONS_PER_BLOCK, GFP_KERNEL);
	meta->words = kcalloc(META_BITMAP_BYTES / sizeof(u64), sizeof(u64),
			      GFP_KERNEL);
	if (!meta->dirty || !meta->committing || !meta->bits || !meta->words) {
		*error = "Cannot allocate metadata context";
		goto bad;
	}

	meta->client = dm_bufio_client_create(p->bdev, MIGRATE_META_BLOCK_SIZE, 1,
					      0, NULL, NULL, 0);
	if (IS_ERR(meta->client)) {
		r = PTR_ERR(meta->client);
		*error = "Cannot create metadata bufio client";
		goto bad;
	}

	r = read_sb(meta, p->fresh, error);
	if (r)
		goto bad;
	return meta;

bad:
	meta_free(meta);
	return ERR_PTR(r);
}

int migrate_meta_load(struct migrate_metadata *meta, struct migrate_sync_map *map,
		      unsigned int *flags)
{
	unsigned int block;
	char *error;
	int r;

	if (meta->format_pending) {
		*flags = 0;
		return format(meta);
	}
	/*
	 * What the table this one replaces committed up to its suspend, not
	 * the superblock this client cached in the constructor.
	 */
	dm_bufio_forget(meta->client, META_SB_BLOCK);
	r = read_sb(meta, false, &error);
	if (r) {
		DMERR("metadata changed since the table was loaded: %s", error);
		return r;
	}
	for (block = 0; block < meta->bitmap_blocks; block++) {
		r = load_block(meta, block, map);
		if (r)
			return r;
	}
	*flags = meta->flags;
	return 0;
}

void migrate_meta_close(struct migrate_metadata *meta)
{
	meta_free(meta);
}

void migrate_meta_region_changed(struct migrate_metadata *meta, migrate_region_t region)
{
	unsigned long flags;

	spin_lock_irqsave(&meta->lock, flags);
	__set_bit(region / MIGRATE_META_REGIONS_PER_BLOCK, meta->dirty);
	spin_unlock_irqrestore(&meta->lock, flags);
}

void migrate_meta_all_changed(struct migrate_metadata *meta)
{
	unsigned long flags;

	spin_lock_irqsave(&meta->lock, flags);
	bitmap_fill(meta->dirty, meta->bitmap_blocks);
	spin_unlock_irqrestore(&meta->lock, flags);
}

int migrate_meta_record_flags(struct migrate_metadata *meta, unsigned int flags)
{
	meta->flags |= flags;
	meta->generation++;
	return write_sb(meta) ?: write_out(meta);
}

bool migrate_meta_dirty(struct migrate_metadata *meta)
{
	unsigned long flags;
	bool dirty;

	spin_lock_irqsave(&meta->lock, flags);
	dirty = !bitmap_empty(meta->dirty, meta->bitmap_blocks);
	spin_unlock_irqrestore(&meta->lock, flags);
	return dirty;
}

int migrate_meta_commit(struct migrate_metadata *meta, unsigned int flags,
			migrate_meta_fill_fn fill, void *context)
{
	unsigned int block;
	int r = 0;

	spin_lock_irq(&meta->lock);
	bitmap_copy(meta->committing, meta->dirty, meta->bitmap_blocks);
	bitmap_zero(meta->dirty, meta->bitmap_blocks);
	spin_unlock_irq(&meta->lock);

	for_each_set_bit(block, meta->committing, meta->bitmap_blocks) {
		bitmap_zero(meta->bits, MIGRATE_META_REGIONS_PER_BLOCK);
		fill(context, block_first_region(block),
		     block_nr_regions(meta, block), meta->bits);
		r = write_block(meta, block);
		if (r)
			break;
	}
	meta->generation++;
	meta->flags |= flags;
	if (!r)
		r = write_sb(meta) ?: write_out(meta);
	if (r) {
		/* Written again at the next commit. */
		spin_lock_irq(&meta->lock);
		bitmap_or(meta->dirty, meta->dirty, meta->committing,
			  meta->bitmap_blocks);
		spin_unlock_irq(&meta->lock);
	}
	return r;
}
