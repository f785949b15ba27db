/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Definitions shared by the files of libdmmigrate; not installed. */
#ifndef DMM_INTERNAL_H
#define DMM_INTERNAL_H

#include <stdbool.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "libdmmigrate.h"

#define DMM_UUID_PREFIX		"MIGRATE-"
#define DMM_TARGET		"migrate"
#define DMM_TARGET_MAJOR	1
#define DMM_TARGET_MINOR	1	/* the online verify */
#define DMM_NAME_MAX		100	/* uuid prefix + name fit DM_UUID_LEN */
#define DMM_MIN_REGION_SECTORS	8ULL
#define DMM_MAX_REGION_SECTORS	2097152ULL
#define DMM_ERR_LEN		512
#define DMM_LOCK_WAIT_MS	10000

#define SECTOR_SHIFT		9

struct dmm_ctx {
	dmm_log_fn log_fn;
	void *log_data;
	char err[DMM_ERR_LEN];
	/* Last error libdevmapper logged, for the message we report. */
	char dm_err[DMM_ERR_LEN / 2];
	bool target_checked;
	bool already_done;	/* the last command found its work done */
	unsigned int lock_wait_ms;	/* how long to wait for a busy volume */
	int event_fd;		/* dmm_event_fd(), -1 until asked for */
};

/* One volume: its table and, while migrating, the target's status. */
struct dmm_status {
	char name[DMM_NAME_MAX + 1];
	enum dmm_state state;
	uint32_t event_nr;	/* of the status read: the volume's events */
	uint64_t len_sectors;

	/* Table: devices as major:minor, as the kernel echoes them. */
	char source[32];
	char dest[32];
	char metadata[32];
	uint64_t region_sectors;

	/* Status INFO of the migrate target. */
	uint64_t regions_in_sync;
	uint64_t regions_total;
	uint64_t rate;
	uint64_t bytes_copied;
	uint64_t bytes_zeroed;		/* of those, zeros not written */
	uint64_t copy_ms;
	uint64_t regions_copying;
	enum dmm_health source_health;
	enum dmm_health dest_health;
	uint64_t source_errors;
	uint64_t dest_errors;
	enum dmm_health metadata_health;
	/* From target 1.3: post-copy, the way back lost, regions lost. */
	bool post_copy;
	bool rollback_lost;
	uint64_t regions_lost;
	/* From target 1.4: the rate group ("" for none), its budget and limit. */
	char group[DMM_GROUP_NAME_MAX + 1];
	uint64_t group_rate;
	uint64_t group_max_active;
	uint64_t weight;

	/* The target's online verify. */
	enum dmm_verify_state verify_state;
	uint64_t verify_passed;		/* regions compared or skipped */
	uint64_t verify_compared;
	uint64_t verify_differ;
	uint64_t verify_repaired;
	uint64_t verify_bytes;
	uint64_t verify_ms;
	uint64_t verify_restarts;
};

/* event.c: wait up to @timeout_ms (-1: for ever) for the armed descriptor. */
int dmm__event_poll(struct dmm_ctx *ctx, int timeout_ms);

/* context.c */
__attribute__((format(printf, 3, 4)))
int dmm__err(struct dmm_ctx *ctx, int code, const char *fmt, ...);
__attribute__((format(printf, 3, 4)))
void dmm__log(struct dmm_ctx *ctx, enum dmm_log_level level,
	      const char *fmt, ...);
int dmm__enomem(struct dmm_ctx *ctx);
int dmm__errno_code(int err);
int dmm__check_name(struct dmm_ctx *ctx, const char *name);

/* units.c */
void dmm__format_bytes(char *buf, size_t len, uint64_t bytes);
void dmm__format_duration(char *buf, size_t len, int64_t seconds);
int dmm__check_region(struct dmm_ctx *ctx, uint64_t region_bytes);

/* status.c */
int dmm__parse_status(const char *params, struct dmm_status *st);
int dmm__parse_table(const char *params, struct dmm_status *st);

/* dm.c: one task per call, all errors reported through ctx. */
struct dmm__dm_dev {
	bool exists;
	bool suspended;
	bool inactive_table;	/* a table loaded, not yet resumed */
	bool live_table;
	char uuid[130];
	unsigned int major, minor;
	uint32_t event_nr;
	int open_count;
};

struct dmm__dm_target {
	uint64_t len;
	char type[32];
	char *params;		/* malloc'ed */
	uint32_t event_nr;
};

/* A whole table of any dm device: its targets in order. */
struct dmm__dm_seg {
	uint64_t start, len;
	char type[32];
	char *params;		/* malloc'ed; may hold a key */
};

struct dmm__dm_tab {
	struct dmm__dm_seg *seg;
	unsigned int count;
};

int dmm__dm_check_target(struct dmm_ctx *ctx);
int dmm__dm_info(struct dmm_ctx *ctx, const char *name,
		 struct dmm__dm_dev *dev);
int dmm__dm_table(struct dmm_ctx *ctx, const char *name, bool status,
		  struct dmm__dm_target *tgt);
int dmm__dm_create(struct dmm_ctx *ctx, const char *name, uint64_t len,
		   const char *type, const char *params);
int dmm__dm_swap(struct dmm_ctx *ctx, const char *name, uint64_t len,
		 const char *type, const char *params, unsigned int *pause_ms);
int dmm__dm_remove(struct dmm_ctx *ctx, const char *name);
int dmm__dm_resume(struct dmm_ctx *ctx, const char *name);
int dmm__dm_suspend(struct dmm_ctx *ctx, const char *name, bool noflush);
int dmm__dm_tab_read(struct dmm_ctx *ctx, const char *name,
		     struct dmm__dm_tab *tab);
int dmm__dm_tab_load(struct dmm_ctx *ctx, const char *name,
		     const struct dmm__dm_tab *tab);
void dmm__dm_tab_free(struct dmm__dm_tab *tab);
/*
 * Signals a user or init sends, held from a suspend (or a table load) to
 * the resume, so that no kill leaves the volume suspended (dm.c).
 */
void dmm__hold_signals(sigset_t *old);
void dmm__release_signals(const sigset_t *old);
int dmm__dm_clear(struct dmm_ctx *ctx, const char *name);
int dmm__dm_message(struct dmm_ctx *ctx, const char *name, const char *msg);
int dmm__dm_message_answer(struct dmm_ctx *ctx, const char *name,
			   const char *msg, char *buf, size_t len);
int dmm__dm_list(struct dmm_ctx *ctx, char ***names, unsigned int *count);

/* device.c: block device facts from stat, ioctls and sysfs. */
int dmm__dev_path(dev_t dev, char *buf, size_t len);
int dmm__parse_dev(const char *str, dev_t *dev);
int dmm__read_dev_file(const char *path, dev_t *dev);

/*
 * A block device given by path, resolved once: the checks of a command
 * and the writes after them all reach the same device through @path.
 */
struct dmm__blk {
	const char *name;	/* as given, for messages */
	dev_t dev;
	int fd;			/* O_PATH */
	char path[32];		/* /proc/self/fd/<fd> */
};

int dmm__blk_open(struct dmm_ctx *ctx, const char *name, struct dmm__blk *b);
void dmm__blk_close(struct dmm__blk *b);
int dmm__dev_size(struct dmm_ctx *ctx, const struct dmm__blk *b,
		  uint64_t *bytes, unsigned int *lbs);

/* validate.c */
bool dmm__held(dev_t dev, char *holder, size_t len);
int dmm__check_unused(struct dmm_ctx *ctx, const struct dmm__blk *b);
int dmm__validate_destination(struct dmm_ctx *ctx,
			      const struct dmm__blk *source,
			      const struct dmm__blk *dest,
			      uint64_t region_bytes, unsigned int flags);

/* signature.c */
int dmm__probe_signature(struct dmm_ctx *ctx, const struct dmm__blk *b);

/* lock.c */
int dmm__lock(struct dmm_ctx *ctx, const char *name, int *fd);
int dmm__lock_device(struct dmm_ctx *ctx, const struct dmm__blk *b, int *fd);
int dmm__trylock(struct dmm_ctx *ctx, const char *name, int *fd);
void dmm__unlock(int fd);
/* Let go of a device's lock, or of the lock of a volume that is gone. */
void dmm__unlock_device(int fd, const struct dmm__blk *b);
void dmm__unlock_gone(int fd, const char *name);

/* record.c: the metadata device's superblock magic and the tool record. */
#define DMM_MD_BLOCK		4096
#define DMM_MD_BITS_PER_BLOCK	32640ULL	/* regions per bitmap block */
#define DMM_SB_MAGIC		0x4d4749524d4d4444ULL	/* "DDMMRIGM" */
#define DMM_RECORD_MAGIC	0x4c4f4f544d4d4444ULL	/* "DDMMTOOL" */
#define DMM_SB_PAIR_ID		56	/* offset of pair_id in block 0 */
#define DMM_PAIR_ID_LEN		64
#define DMM_ID_LEN		256

enum {
	DMM_REC_NONE = 0,	/* no migration */
	DMM_REC_MIGRATING = 1,
	DMM_REC_CONFIRMING = 2,
	DMM_REC_ABORTING = 3,
	/*
	 * No migration; the volume is linear on the source (abort, a start
	 * that did not happen) or on the destination (confirm). Activation
	 * brings it back as such after a reboot, until remove.
	 */
	DMM_REC_ON_SOURCE = 4,
	DMM_REC_ON_DEST = 5,
};

/* A rate group as a member's table gives it; name "" for none. */
struct dmm__group {
	char name[DMM_GROUP_NAME_MAX + 1];
	uint64_t rate;			/* bytes/s, 0: no budget */
	unsigned int max_active;	/* 0: any number copy at once */
	unsigned int weight;		/* 0: the target's default */
};

struct dmm__record {
	uint32_t state;		/* DMM_REC_* */
	uint32_t region_sectors;
	uint64_t target_sectors;
	uint64_t rate;
	uint32_t window;	/* write-intent window, regions; 0: the default */
	uint32_t flags;		/* DMM__REC_F_* */
	char name[128];
	char source_id[DMM_ID_LEN];
	char dest_id[DMM_ID_LEN];
	char metadata_id[DMM_ID_LEN];
	struct dmm__group group;	/* from 1.6 */
};

enum { DMM__REC_NONE, DMM__REC_VALID, DMM__REC_CORRUPT };

/* dmm__record.flags: the migration runs in post-copy (from 1.3). */
#define DMM__REC_F_POST_COPY	0x1

/* What blocks 0 and 1 of a metadata device hold. */
struct dmm__md_head {
	bool sb_magic;		/* block 0 is the kernel's superblock */
	bool sb_zero;		/* block 0 is all zero */
	char pair_id[DMM_PAIR_ID_LEN];
	int rec_kind;		/* DMM__REC_* */
	struct dmm__record rec;
};

uint32_t dmm__crc32c(const void *buf, size_t len);
uint64_t dmm__get_le64(const unsigned char *p);
void dmm__record_encode(const struct dmm__record *rec, unsigned char *blk);
int dmm__record_decode(const unsigned char *blk, struct dmm__record *rec);
int dmm__md_read(struct dmm_ctx *ctx, const struct dmm__blk *b,
		 struct dmm__md_head *head);
int dmm__record_write(struct dmm_ctx *ctx, const struct dmm__blk *b,
		      const struct dmm__record *rec);
int dmm__record_set_state(struct dmm_ctx *ctx, const char *path,
			  const char *name, uint32_t state);
int dmm__md_zero_superblock(struct dmm_ctx *ctx, const struct dmm__blk *b);
const char *dmm__record_state_name(uint32_t state);
uint64_t dmm__md_blocks(uint64_t len_sectors, uint64_t region_sectors);
void dmm__pair_id(const struct dmm__record *rec, char *buf, size_t len);

/* cryptkey.c: the keyring key of a dm-crypt holder, for its reload. */
bool dmm__crypt_key_desc(const char *params, char *desc, size_t len);
/* A LUKS passphrase from --key-file, read at its first need and kept. */
struct dmm__passphrase {
	const char *key_file;	/* NULL: none given; "-": standard input */
	char *buf;
	size_t len;
};

int dmm__crypt_key_load(struct dmm_ctx *ctx, const char *holder,
			const char *desc, struct dmm__passphrase *pass,
			bool *loaded);
void dmm__crypt_key_drop(const char *desc);
void dmm__passphrase_wipe(struct dmm__passphrase *pass);

/* identity.c: names of devices that survive reboots and renumbering. */
int dmm__identity(struct dmm_ctx *ctx, dev_t dev, const char *path,
		  char *buf, size_t len);
DIR *dmm__open_block_class(struct dmm_ctx *ctx);
int dmm__find_identity(struct dmm_ctx *ctx, const char *id, dev_t *dev);

/* volume.c */
int dmm__volume_read(struct dmm_ctx *ctx, const char *name,
		     struct dmm_status *st);
void dmm__volume_unlock(struct dmm_ctx *ctx, const char *name, int lock);
/*
 * The opening of a create, plain or interposed: the name checked, the
 * device opened, the volume's and the device's locks taken, what an
 * interrupted command on the name left settled; @info says whether the
 * volume exists. On success dmm__create_end() must follow; on failure
 * nothing is held.
 */
struct dmm__creating {
	struct dmm__blk b;
	int lock, dev_lock;
	struct dmm__dm_dev info;
};

int dmm__create_begin(struct dmm_ctx *ctx, const char *name,
		      const char *device, struct dmm__creating *c);
void dmm__create_end(struct dmm_ctx *ctx, const char *name,
		     struct dmm__creating *c);
int dmm__volume_remove(struct dmm_ctx *ctx, const char *name);

/* stack.c: a volume put under a live dm stack, and taken out again. */
int dmm__stack_repair(struct dmm_ctx *ctx, const char *name);
int dmm__table_replace_dev(char **params, const char *from, const char *to);
int dmm__stack_repair_all(struct dmm_ctx *ctx);
void dmm__start_features(char *buf, size_t len, unsigned int flags,
			 uint64_t rate, const char *pair, bool fresh,
			 uint32_t window, const struct dmm__group *group);
int dmm__send_message(struct dmm_ctx *ctx, const char *name, const char *msg,
		      const char *what);

/* group.c */
int dmm__check_group_name(struct dmm_ctx *ctx, const char *group);
int dmm__group_find(struct dmm_ctx *ctx, const char *group,
		    struct dmm__group *g);

/* recover.c: the step being taken, in /run/dmmigrate/NAME.state. */
struct dmm__step {
	char step[16];		/* start, confirm, abort */
	char source[32];	/* major:minor */
	char dest[32];
	char metadata[32];	/* "" without a metadata device */
};

int dmm__step_write(struct dmm_ctx *ctx, const char *name,
		    const struct dmm__step *step);
/* /run/dmmigrate/NAME.EXT, the files of recover.c and stack.c. */
int dmm__state_write(struct dmm_ctx *ctx, const char *name, const char *ext,
		     const char *text);
FILE *dmm__state_open(const char *name, const char *ext);
void dmm__state_clear(const char *name, const char *ext);
int dmm__state_each(struct dmm_ctx *ctx, const char *ext,
		    int (*fn)(struct dmm_ctx *ctx, const char *name));
void dmm__step_clear(const char *name);
void dmm__done_clear(const char *name);
int dmm__wipe_owed_write(struct dmm_ctx *ctx, const char *name,
			 const char *source);
bool dmm__wipe_owed_read(const char *name, char *source, size_t len);
void dmm__wipe_owed_clear(const char *name);
int dmm__step_finish(struct dmm_ctx *ctx, const char *name,
		     const struct dmm__step *step, bool *done);
int dmm__repair(struct dmm_ctx *ctx, const char *name,
		const char **finished);
void dmm__done_write(const char *name, const char *step, const char *leg);
void dmm__home_write(const char *name, dev_t meta);
bool dmm__home_read(const char *name, dev_t *meta);
void dmm__home_clear(const char *name);

/* activate.c: the records of metadata devices, after a reboot. */
int dmm__home_forget(struct dmm_ctx *ctx, const char *name, dev_t keep);

/* validate.c */
int dmm__check_metadata(struct dmm_ctx *ctx, const struct dmm__blk *metadata,
			const struct dmm__blk *source,
			const struct dmm__blk *dest,
			uint64_t len_sectors, uint64_t region_sectors);

#endif /* DMM_INTERNAL_H */
