/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdmmigrate - move a live device-mapper volume to another device.
 *
 * A volume is a dm device with the uuid "MIGRATE-<name>". It starts as a
 * linear table over its device (dmm_create()), becomes a "migrate" table
 * while it is copied to a destination (dmm_start()) and ends as a linear
 * table over the destination (dmm_confirm()) or over the source again
 * (dmm_abort()).
 *
 * Every function that can fail returns 0 or a positive enum dmm_error,
 * which dmmigrate(8) uses as its exit code, and records a one-line message
 * "<what is wrong>; <what to do>" readable with dmm_last_error(). A failed
 * call leaves the volume as it was. Functions that change a volume take
 * a per-volume lock, so concurrent callers are serialised and each sees
 * the state left by the one before it.
 *
 * A context is not thread safe: use one per thread.
 */
#ifndef LIBDMMIGRATE_H
#define LIBDMMIGRATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum dmm_error {
	DMM_OK = 0,
	DMM_EUSAGE = 1,		/* bad usage or parameters */
	DMM_EPERM = 2,		/* permission denied */
	DMM_ENOMEM = 3,		/* out of memory */
	DMM_ENODEV = 4,		/* no such device */
	DMM_EBUSY = 5,		/* busy, or already exists */
	DMM_ESTATE = 6,		/* refused by the migration state */
	DMM_ELEG = 7,		/* a leg has failed */
	DMM_ETIMEDOUT = 8,	/* timed out */
	DMM_EDM = 9,		/* target missing/incompatible, dm failure */
	DMM_EDIFFER = 10,	/* a verify found the legs to differ */
};

enum dmm_state {
	DMM_STATE_IDLE,		/* linear, not migrating */
	DMM_STATE_COPYING,
	DMM_STATE_PAUSED,
	DMM_STATE_SYNCED,
	DMM_STATE_HALTED,	/* copy stopped by a failed leg */
	DMM_STATE_QUEUED,	/* in a rate group, waiting for a member to finish (1.4) */
};

/* The online verify of a migrating volume (dmm_verify_start()). */
enum dmm_verify_state {
	DMM_VERIFY_NONE,	/* none since the migration (re)started */
	DMM_VERIFY_RUNNING,
	DMM_VERIFY_EQUAL,	/* ended: every region compared was equal */
	DMM_VERIFY_DIFFER,	/* ended: some region differed */
	DMM_VERIFY_STOPPED,	/* stopped by dmm_verify_stop() */
	DMM_VERIFY_FAILED,	/* a leg failed: could not compare */
};

/* A leg's health, as the target reports it. */
enum dmm_health {
	DMM_HEALTH_NONE,	/* no such leg: an idle volume, no metadata */
	DMM_HEALTH_OK,
	DMM_HEALTH_FAILED,
};

/* The devices of a migration. */
enum dmm_leg {
	DMM_LEG_SOURCE,
	DMM_LEG_DESTINATION,
	DMM_LEG_METADATA,
};

enum dmm_log_level {
	DMM_LOG_ERROR,
	DMM_LOG_INFO,
	DMM_LOG_DEBUG,
};

/* dmm_start() flags */
#define DMM_START_FORCE		(1U << 0)	/* ignore signatures on DEST */
#define DMM_START_PAUSED	(1U << 1)	/* load the table paused */
#define DMM_START_FRESH_METADATA (1U << 2)	/* overwrite the metadata of
						   another migration */
#define DMM_START_POST_COPY	(1U << 3)	/* post-copy from the start
						   (1.3; needs metadata) */

/* dmm_verify_start() flags */
#define DMM_VERIFY_REPAIR	(1U << 0)	/* copy differing regions again */

/* dmm_confirm() flags */
#define DMM_CONFIRM_WIPE_SOURCE	(1U << 0)	/* wipe the old source */

/* Default region size of dmm_start(): 512 KiB. */
#define DMM_DEFAULT_REGION_BYTES	(512ULL * 1024)

struct dmm_ctx;
struct dmm_status;

typedef void (*dmm_log_fn)(enum dmm_log_level level, const char *msg,
			   void *data);

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *dmm_version(void);

/* Context: holds the logger and the last error. Returns 0 or DMM_ENOMEM. */
int dmm_ctx_new(struct dmm_ctx **ctx);
void dmm_ctx_free(struct dmm_ctx *ctx);

/* Route library and libdevmapper messages to @fn (default: none). */
void dmm_set_log_fn(struct dmm_ctx *ctx, dmm_log_fn fn, void *data);

/* The message of the last failed call, "" if none. */
const char *dmm_last_error(const struct dmm_ctx *ctx);

/*
 * Parse a size or rate: digits with an optional K, M, G or T suffix, or
 * KiB, MiB, GiB or TiB (powers of 1024 both); plain numbers are bytes.
 * Returns 0 or DMM_EUSAGE.
 */
int dmm_parse_size(const char *str, uint64_t *bytes);

/*
 * Wrap @device as /dev/mapper/@name: a linear table, uuid MIGRATE-@name.
 * Repeated over the same device (its source, if it migrates), it succeeds
 * with dmm_already_done() true; over another device, DMM_EBUSY.
 */
int dmm_create(struct dmm_ctx *ctx, const char *name, const char *device);

/*
 * Remove an idle volume. A volume that does not exist counts as removed:
 * 0, with dmm_already_done() true.
 */
int dmm_remove(struct dmm_ctx *ctx, const char *name);

/*
 * Put a volume under the live device-mapper stack that holds @device (a
 * dm-crypt device, LVM's logical volumes, a multipath map): @name becomes
 * a linear volume over @device and every dm device whose table names
 * @device is reloaded to name the volume instead, nothing else in its
 * table changed, all within one suspend of the stack (top first) and
 * resume (bottom first); @pause_ms (may be NULL) gets how long I/O was
 * held. A dm-crypt holder whose key is in the kernel keyring is reloaded
 * by reference: its key is put back in reach from the LUKS passphrase in
 * @key_file ("-" for standard input; NULL when no such holder) and taken
 * away again. Refused, with nothing changed, for a device mounted itself,
 * partitioned, held by anything but dm devices, under a suspended or
 * reloading holder, or under a stack deeper than dmmigrate reloads. A
 * killed call is settled by the next call on @name or dmm_activate().
 * Repeated, it succeeds with dmm_already_done() true. (1.4)
 */
int dmm_interpose(struct dmm_ctx *ctx, const char *name, const char *device,
		  const char *key_file, unsigned int *pause_ms);

/*
 * Take an idle volume out of the stack over it: its holders are reloaded
 * onto the device the volume maps (the destination after a confirm, the
 * source otherwise), as dmm_interpose() moved them, and the volume is
 * removed as by dmm_remove(). A volume nothing holds is just removed. (1.4)
 */
int dmm_collapse(struct dmm_ctx *ctx, const char *name, const char *key_file,
		 unsigned int *pause_ms);

/*
 * Check that @dest can receive a copy of @source: a distinct,
 * non-overlapping, unmounted, unclaimed block device, at least as large,
 * with a compatible logical block size and, unless DMM_START_FORCE is in
 * @flags, no filesystem, partition table or RAID signature.
 */
int dmm_validate_destination(struct dmm_ctx *ctx, const char *source,
			     const char *dest, uint64_t region_bytes,
			     unsigned int flags);

/*
 * Start copying volume @name to @dest. @metadata may be NULL, @rate is in
 * bytes per second (0: unlimited). Validates @dest first.
 *
 * With a @metadata device the migration survives crashes and reboots:
 * the devices must have stable identities (serial, wwid, dm uuid, loop
 * file), and the device must be free, apart from the legs and hold at
 * least 2 + ceil(regions / 32640) blocks of 4 KiB. It is refused with
 * DMM_EBUSY if it holds another migration or other data, unless @flags
 * has DMM_START_FRESH_METADATA. A device whose record says its migration
 * has finished is reused (formatted afresh) without it.
 */
int dmm_start(struct dmm_ctx *ctx, const char *name, const char *dest,
	      const char *metadata, uint64_t region_bytes, uint64_t rate,
	      unsigned int flags);

/* The write-intent window's bounds, in regions; the target's default is 4096. */
#define DMM_WINDOW_MIN	8
#define DMM_WINDOW_MAX	65536

/*
 * dmm_start() with a write-intent window of @window_bytes (0: the target's
 * default), which bounds what a crash costs in copying again: a whole
 * number of regions, DMM_WINDOW_MIN to DMM_WINDOW_MAX of them, and only
 * with a @metadata device (else DMM_EUSAGE, nothing changed). Kept in the
 * record, so that the volume comes back with it after a reboot.
 */
int dmm_start_window(struct dmm_ctx *ctx, const char *name, const char *dest,
		     const char *metadata, uint64_t region_bytes,
		     uint64_t rate, uint64_t window_bytes, unsigned int flags);

/*
 * Cut over to the destination; only when in sync and the destination is
 * healthy. @pause_ms (may be NULL) gets how long I/O was suspended.
 */
int dmm_confirm(struct dmm_ctx *ctx, const char *name, unsigned int flags,
		unsigned int *pause_ms);

/*
 * Roll back to the source, from any migrating state; in post-copy only
 * until the destination has taken its first write (then DMM_ESTATE,
 * nothing changed).
 */
int dmm_abort(struct dmm_ctx *ctx, const char *name, unsigned int *pause_ms);

/*
 * Switch the pre-copy migration of @name to post-copy, for good: the
 * destination serves the regions it holds and takes every write, the
 * source is only read. Needs a metadata device (DMM_EUSAGE without one);
 * succeeds, saying so, on a migration already in post-copy. Added in 1.3.
 */
int dmm_post_copy(struct dmm_ctx *ctx, const char *name);

/*
 * Rate groups (1.6; target 1.4): migrations that share one copy budget,
 * by weight, and of which at most a limit copy at once, the others
 * queued. The kernel enforces both; no daemon runs.
 */
#define DMM_WEIGHT_MAX		1000
#define DMM_GROUP_MAX_ACTIVE	65535

/* dmm_group_set() flags: leave that value as the group has it. */
#define DMM_GROUP_KEEP_RATE		(1U << 0)
#define DMM_GROUP_KEEP_MAX_ACTIVE	(1U << 1)

/*
 * Set rate group @group's budget (bytes per second, 0: none) and how many
 * of its members copy at once (0: any number): at once for every member
 * running, and kept (in /run) for migrations started in it later. A value
 * @flags keeps stays as dmm_group_get() finds it (a limit of a group not
 * set yet: 0; its budget: DMM_EUSAGE, nothing changed).
 */
int dmm_group_set(struct dmm_ctx *ctx, const char *group, uint64_t rate,
		  unsigned int max_active, unsigned int flags);
/*
 * The budget and limit of @group: a running member's, else those kept by
 * dmm_group_set(); DMM_EUSAGE if neither.
 */
int dmm_group_get(struct dmm_ctx *ctx, const char *group, uint64_t *rate,
		  unsigned int *max_active);
/* Move the running migration @name into @group, or out of its group (NULL). */
int dmm_group_join(struct dmm_ctx *ctx, const char *name, const char *group);
/*
 * dmm_start_window() in rate group @group (NULL: none), whose budget and
 * limit dmm_group_get() finds, with @weight (1 to DMM_WEIGHT_MAX, 0: 1).
 * With a metadata device the group, its budget and the weight are in the
 * record: activation after a reboot joins the group again.
 */
int dmm_start_group(struct dmm_ctx *ctx, const char *name, const char *dest,
		    const char *metadata, uint64_t region_bytes,
		    uint64_t rate, uint64_t window_bytes, unsigned int flags,
		    const char *group, unsigned int weight);

int dmm_pause(struct dmm_ctx *ctx, const char *name);
int dmm_resume(struct dmm_ctx *ctx, const char *name);
int dmm_set_rate(struct dmm_ctx *ctx, const char *name, uint64_t rate);

/*
 * Read the status of volume @name. Free it with dmm_status_free(). First
 * repairs what a killed dmmigrate left half done on the volume, unless
 * another holds its lock.
 */
int dmm_status_get(struct dmm_ctx *ctx, const char *name,
		   struct dmm_status **st);

/*
 * dmm_status_get() without the lock and the repair, for a udev rule: no
 * write, no dm call beyond reading the table and status. Added in 1.1.
 */
int dmm_status_read(struct dmm_ctx *ctx, const char *name,
		    struct dmm_status **st);
void dmm_status_free(struct dmm_status *st);

const char *dmm_status_name(const struct dmm_status *st);
enum dmm_state dmm_status_state(const struct dmm_status *st);
const char *dmm_state_name(enum dmm_state state);
/* The volume's size in bytes. */
uint64_t dmm_status_size(const struct dmm_status *st);
/*
 * A leg's device as "major:minor", "" when the volume has none (an idle
 * volume's destination and metadata, a migration without metadata).
 */
const char *dmm_status_leg_dev(const struct dmm_status *st, enum dmm_leg leg);
/* Its path (/dev/vdb) in @buf, or "major:minor" when sysfs knows none. */
const char *dmm_status_leg_path(const struct dmm_status *st, enum dmm_leg leg,
				char *buf, size_t len);
enum dmm_health dmm_status_leg_health(const struct dmm_status *st,
				      enum dmm_leg leg);
/* I/O errors the target counted on a leg (0 for the metadata device). */
uint64_t dmm_status_leg_errors(const struct dmm_status *st, enum dmm_leg leg);
const char *dmm_health_name(enum dmm_health health);
/* Region size in bytes and the regions in sync and in all; 0 when idle. */
uint64_t dmm_status_region_size(const struct dmm_status *st);
uint64_t dmm_status_regions_in_sync(const struct dmm_status *st);
uint64_t dmm_status_regions_total(const struct dmm_status *st);
/* The copy's rate limit in bytes per second (0: none) and bytes copied. */
uint64_t dmm_status_rate_limit(const struct dmm_status *st);
uint64_t dmm_status_bytes_copied(const struct dmm_status *st);
/*
 * Of the bytes copied, those that read as zeros and were left unwritten
 * (a write-zeroes or a discard on the destination instead); 0 from a
 * target before version 1.2.
 */
uint64_t dmm_status_bytes_zeroed(const struct dmm_status *st);
/*
 * From target 1.3 (false, true and 0 before): whether the migration runs in
 * post-copy; whether an abort can still go back to the source (false once
 * the destination took a write in post-copy); the regions the source
 * failed to give in post-copy, which stay on it and are not copied.
 */
bool dmm_status_post_copy(const struct dmm_status *st);
bool dmm_status_rollback_possible(const struct dmm_status *st);
uint64_t dmm_status_regions_lost(const struct dmm_status *st);

/* The longest name of a rate group (target 1.4). */
#define DMM_GROUP_NAME_MAX	32

/*
 * The rate group the volume copies in (target 1.4), "" for none; the
 * group's copy budget in bytes per second (0: none), how many of its
 * members may copy at once (0: any), and the volume's weight in its share
 * of the budget (1 unless set).
 */
const char *dmm_status_group(const struct dmm_status *st);
uint64_t dmm_status_group_rate(const struct dmm_status *st);
unsigned int dmm_status_group_max_active(const struct dmm_status *st);
unsigned int dmm_status_weight(const struct dmm_status *st);
/* Percent of regions in sync, 0 when idle. */
double dmm_status_percent(const struct dmm_status *st);
/* Average copy throughput in bytes per second, 0 if unknown. */
uint64_t dmm_status_bytes_per_second(const struct dmm_status *st);
/* Estimated seconds to sync, -1 if unknown. */
int64_t dmm_status_seconds_remaining(const struct dmm_status *st);

/* The verify in @st: its state, regions compared, found to differ, repaired. */
enum dmm_verify_state dmm_status_verify_state(const struct dmm_status *st);
const char *dmm_verify_state_name(enum dmm_verify_state state);
uint64_t dmm_status_verify_compared(const struct dmm_status *st);
uint64_t dmm_status_verify_differ(const struct dmm_status *st);
uint64_t dmm_status_verify_repaired(const struct dmm_status *st);
/* Percent of the volume's regions the verify has passed. */
double dmm_status_verify_percent(const struct dmm_status *st);
/* Bytes compared per second on each leg, 0 if unknown. */
uint64_t dmm_status_verify_bytes_per_second(const struct dmm_status *st);
/* Estimated seconds to the verify's end, -1 if unknown or not running. */
int64_t dmm_status_verify_seconds_remaining(const struct dmm_status *st);
/* Times the verify started over after a suspend of the volume. */
unsigned int dmm_status_verify_restarts(const struct dmm_status *st);

/*
 * Write @st as a human readable block, or as one JSON object without a
 * newline (the volume object of dmmigrate(8)'s JSON contract; numbers do
 * not depend on the caller's locale).
 */
void dmm_status_print(const struct dmm_status *st, FILE *out);
void dmm_status_print_json(const struct dmm_status *st, FILE *out);
/* Write @st as udev KEY=value lines: DM_MIGRATE_STATE=copying... */
void dmm_status_print_export(const struct dmm_status *st, FILE *out);
/* Write a one-line progress bar of @width columns, without newline. */
void dmm_status_print_progress(const struct dmm_status *st, FILE *out,
			       unsigned int width);

/*
 * Call @fn for every volume (uuid prefix MIGRATE-), in name order. A
 * non-zero return from @fn stops the walk and is returned.
 */
typedef int (*dmm_volume_fn)(struct dmm_ctx *ctx, const char *name,
			     void *data);
int dmm_for_each_volume(struct dmm_ctx *ctx, dmm_volume_fn fn, void *data);

/*
 * dm events for a caller's own event loop: @fd (owned by @ctx, closed by
 * dmm_ctx_free()) turns readable (POLLIN) once any dm device has raised
 * an event since the last dmm_event_arm(). Arm first, then read the
 * statuses you watch, then poll: no event is missed. No signal is used.
 */
int dmm_event_fd(struct dmm_ctx *ctx, int *fd);
int dmm_event_arm(struct dmm_ctx *ctx);

/*
 * Block on dm events until @name is in sync with a healthy destination
 * (0), a leg fails (DMM_ELEG), it is not migrating (DMM_ESTATE), or
 * @timeout_ms passes (DMM_ETIMEDOUT; 0 waits for ever). @fn (may be NULL)
 * is called with each status read, at every event and at least once a
 * second; when it returns non-zero the wait ends with DMM_ETIMEDOUT.
 * Safe in threaded programs: no signal is used, one context per thread.
 */
typedef int (*dmm_progress_fn)(const struct dmm_status *st, void *data);
int dmm_wait(struct dmm_ctx *ctx, const char *name, unsigned int timeout_ms,
	     dmm_progress_fn fn, void *data);

/*
 * Start an online verify of migrating volume @name: the kernel reads every
 * region in sync from both legs and compares them, ordered against the
 * volume's writes and paced like the copy (@rate bytes per second per leg,
 * 0: unlimited, giving way to the volume's I/O). Regions not yet in sync
 * are skipped. With DMM_VERIFY_REPAIR regions that differ are written again
 * from the source. Returns at once; DMM_EBUSY if a verify is running,
 * DMM_ELEG if a leg has failed. A verify lives in memory: a suspend of the
 * volume makes it start over, a reboot ends it.
 */
int dmm_verify_start(struct dmm_ctx *ctx, const char *name, unsigned int flags,
		     uint64_t rate);

/* Stop the running verify of @name (DMM_ESTATE if none is running). */
int dmm_verify_stop(struct dmm_ctx *ctx, const char *name);

/*
 * Block on dm events until the verify of @name has ended: 0 when every
 * region compared was equal, DMM_EDIFFER when some differed (repaired or
 * not), DMM_ELEG when a leg failed, DMM_ESTATE when it was stopped, never
 * started or the volume no longer migrates. @timeout_ms and @fn as for
 * dmm_wait().
 */
int dmm_verify_wait(struct dmm_ctx *ctx, const char *name,
		    unsigned int timeout_ms, dmm_progress_fn fn, void *data);

/*
 * The regions the last verify of @name found to differ, as the kernel
 * lists them: "first-last" or "region", space separated, ending in " ..."
 * when more did not fit in its answer; "" when none. Multiply by the
 * region size for bytes.
 */
int dmm_verify_ranges(struct dmm_ctx *ctx, const char *name, char *buf,
		      size_t len);

/*
 * True after a dmm_create(), dmm_remove(), dmm_start(), dmm_confirm() or
 * dmm_abort() that returned 0 without doing anything because an earlier
 * call (perhaps interrupted) had already done it.
 */
int dmm_already_done(const struct dmm_ctx *ctx);

/*
 * After a reboot: find the metadata devices whose record holds a
 * migration (of volume @name, or of any volume if NULL) and bring each
 * volume back: migrating again (resuming from the target's bitmap), or,
 * for an interrupted confirm or abort, as a linear volume on the
 * destination or source. A volume that exists is only repaired. @fn (may
 * be NULL) is called per volume with the result and what was done (or the
 * error message). Returns 0 or the first error; DMM_ENODEV when a device
 * is missing, or when @name is given and no record of it is found.
 */
typedef void (*dmm_activate_fn)(const char *name, int result,
				const char *what, void *data);
int dmm_activate(struct dmm_ctx *ctx, const char *name, dmm_activate_fn fn,
		 void *data);

/*
 * dmm_activate() for the record on the metadata device @device alone (a
 * udev rule starts it for each device dmm_metadata_probe() names). An
 * unreadable device, or one without a record, is an error. Added in 1.1.
 */
int dmm_activate_metadata(struct dmm_ctx *ctx, const char *device,
			  dmm_activate_fn fn, void *data);

/*
 * Does @device hold the record of a dm-migrate volume? On 0, @name gets
 * the volume's name (or "" if none) and @state what the record says
 * ("migrating", "confirming", "aborting", "on the source", "on the
 * destination"; NULL if none). Reads blocks 0 and 1 only. Added in 1.1.
 */
int dmm_metadata_probe(struct dmm_ctx *ctx, const char *device, char *name,
		       size_t len, const char **state);

/* Wipe every filesystem, RAID and partition table signature on @device. */
int dmm_wipe_signatures(struct dmm_ctx *ctx, const char *device,
			unsigned int *wiped);

#ifdef __cplusplus
}
#endif

#endif /* LIBDMMIGRATE_H */
