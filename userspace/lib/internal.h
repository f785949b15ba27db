/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Definitions shared by the files of libdmmigrate; not installed. */
#ifndef DMM_INTERNAL_H
#define DMM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "libdmmigrate.h"

#define DMM_UUID_PREFIX		"MIGRATE-"
#define DMM_TARGET		"migrate"
#define DMM_TARGET_MAJOR	1
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
	unsigned int lock_wait_ms;	/* how long to wait for a busy volume */
};

enum dmm_health {
	DMM_HEALTH_NONE,	/* metadata only: no device */
	DMM_HEALTH_OK,
	DMM_HEALTH_FAILED,
};

/* One volume: its table and, while migrating, the target's status. */
struct dmm_status {
	char name[DMM_NAME_MAX + 1];
	enum dmm_state state;
	uint32_t event_nr;	/* of the status read, for waiting */
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
	uint64_t copy_ms;
	uint64_t regions_copying;
	enum dmm_health source_health;
	enum dmm_health dest_health;
	uint64_t source_errors;
	uint64_t dest_errors;
	enum dmm_health metadata_health;
};

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
int dmm__dm_message(struct dmm_ctx *ctx, const char *name, const char *msg);
int dmm__dm_wait_event(struct dmm_ctx *ctx, const char *name,
		       uint32_t event_nr);
int dmm__dm_list(struct dmm_ctx *ctx, char ***names, unsigned int *count);

/* device.c: block device facts from stat, ioctls and sysfs. */
int dmm__blkdev(struct dmm_ctx *ctx, const char *path, dev_t *dev);
int dmm__dev_path(dev_t dev, char *buf, size_t len);
int dmm__parse_dev(const char *str, dev_t *dev);
int dmm__dev_size(struct dmm_ctx *ctx, const char *path, uint64_t *bytes,
		  unsigned int *lbs);

/* validate.c */
int dmm__check_unused(struct dmm_ctx *ctx, const char *path, dev_t dev);

/* signature.c */
int dmm__probe_signature(struct dmm_ctx *ctx, const char *path);

/* lock.c */
int dmm__lock(struct dmm_ctx *ctx, const char *name, int *fd);
void dmm__unlock(int fd);

#endif /* DMM_INTERNAL_H */
