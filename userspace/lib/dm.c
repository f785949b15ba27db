// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Everything that talks to device-mapper. Each call runs one task the
 * cryptsetup way: create -> name/uuid -> targets -> udev cookie -> run ->
 * errno -> dm_udev_wait -> destroy. Without a running udevd libdevmapper
 * reports no sync support, the cookie calls become no-ops and libdevmapper
 * creates the /dev/mapper nodes itself in dm_udev_wait().
 */
#include <errno.h>
#include <libdevmapper.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define LIBDM_LOG_WARN	4	/* libdm's _LOG_WARN: levels <= are problems */

struct dm_req {
	int type;
	const char *what;	/* for the error message: "suspend" */
	const char *name;
	const char *uuid;
	uint64_t len;		/* one target of @len sectors: */
	const char *ttype;
	const char *params;
	const char *message;
	const struct dmm__dm_tab *tab;	/* or a whole table of targets */
	bool secure;		/* the kernel wipes its copy (crypt keys) */
	bool noflush;		/* suspend: keep queued I/O queued */
	struct timespec *ran_at;	/* when the ioctl returned */
	int absent_errno;	/* means "no such thing": returned as -errno */
	int (*read)(struct dmm_ctx *ctx, struct dm_task *dmt, void *data);
	void *data;
};

/* libdm's logger is global; this is the context of the running task. */
static __thread struct dmm_ctx *log_ctx;
/* The running task carries a key: libdm's debug lines (tables) are dropped. */
static __thread bool log_secure;

__attribute__((format(printf, 5, 6)))
static void dm_log(int level, const char *file, int line, int dm_errno,
		   const char *fmt, ...)
{
	struct dmm_ctx *ctx = log_ctx;
	char msg[DMM_ERR_LEN / 2];
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno;
	if (!ctx)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* libdm's call-chain markers say nothing to a user: dropped. */
	if (!strcmp(msg, "<backtrace>"))
		return;
	/* Keep the first problem: later ones are its consequences. */
	if ((level & 7) <= LIBDM_LOG_WARN && !ctx->dm_err[0])
		strcpy(ctx->dm_err, msg);
	else if (log_secure)
		return;
	dmm__log(ctx, DMM_LOG_DEBUG, "libdevmapper: %s", msg);
}

static int dm_fail(struct dmm_ctx *ctx, const struct dm_req *req, int err)
{
	const char *on = req->name ? " " : "";
	const char *name = req->name ? req->name : "";
	int code = dmm__errno_code(err);

	/* No ioctl happened: libdm could not even build or send the task. */
	if (!err && !ctx->dm_err[0])
		return dmm__enomem(ctx);
	if (!err)
		return dmm__err(ctx, DMM_EDM,
				"device-mapper is not available (%s); load the dm_mod module and run as root",
				ctx->dm_err);

	switch (code) {
	case DMM_EPERM:
		return dmm__err(ctx, code, "cannot %s%s%s: %s; run as root",
				req->what, on, name, strerror(err));
	case DMM_ENODEV:
		return dmm__err(ctx, code,
				"cannot %s%s%s: %s; check the name with 'dmmigrate list' and the devices with lsblk",
				req->what, on, name, strerror(err));
	case DMM_EBUSY:
		return dmm__err(ctx, code,
				"cannot %s%s%s: %s; close what uses it or pick another name",
				req->what, on, name, strerror(err));
	default:
		return dmm__err(ctx, code,
				"cannot %s%s%s: %s; see the kernel log (dmesg)",
				req->what, on, name, strerror(err));
	}
}

static bool raises_uevent(int type)
{
	return type == DM_DEVICE_CREATE || type == DM_DEVICE_RESUME ||
	       type == DM_DEVICE_REMOVE;
}

static int dm_run(struct dmm_ctx *ctx, const struct dm_req *req)
{
	struct dm_task *dmt;
	uint32_t cookie = 0;
	bool cookie_set = false;
	unsigned int i;
	int r;

	log_ctx = ctx;
	log_secure = req->secure;
	ctx->dm_err[0] = '\0';
	dm_log_with_errno_init(dm_log);

	dmt = dm_task_create(req->type);
	if (!dmt)
		goto out_setup;
	if (req->name && !dm_task_set_name(dmt, req->name))
		goto out_setup;
	if (req->uuid && !dm_task_set_uuid(dmt, req->uuid))
		goto out_setup;
	if (req->ttype &&
	    !dm_task_add_target(dmt, 0, req->len, req->ttype, req->params))
		goto out_setup;
	for (i = 0; req->tab && i < req->tab->count; i++)
		if (!dm_task_add_target(dmt, req->tab->seg[i].start,
					req->tab->seg[i].len,
					req->tab->seg[i].type,
					req->tab->seg[i].params))
			goto out_setup;
	if (req->secure && !dm_task_secure_data(dmt))
		goto out_setup;
	if (req->noflush && !dm_task_no_flush(dmt))
		goto out_setup;
	if (req->message && (!dm_task_set_sector(dmt, 0) ||
			     !dm_task_set_message(dmt, req->message)))
		goto out_setup;
	/* Both tables map the same data: no need to freeze a filesystem. */
	if (req->type == DM_DEVICE_SUSPEND && !dm_task_skip_lockfs(dmt))
		goto out_setup;
	if (req->type == DM_DEVICE_REMOVE && !dm_task_retry_remove(dmt))
		goto out_setup;

	/* A cookie on a task without a uevent would never be released. */
	if (raises_uevent(req->type)) {
		if (!dm_udev_create_cookie(&cookie) ||
		    !dm_task_set_cookie(dmt, &cookie, 0))
			goto out_setup;
		cookie_set = true;
	}

	if (!dm_task_run(dmt)) {
		r = dm_task_get_errno(dmt);
		r = req->absent_errno && r == req->absent_errno ? -r :
		    dm_fail(ctx, req, r);
		goto out;
	}
	if (req->ran_at)
		clock_gettime(CLOCK_MONOTONIC, req->ran_at);
	r = req->read ? req->read(ctx, dmt, req->data) : DMM_OK;
	goto out;
out_setup:
	r = dm_fail(ctx, req, 0);
out:
	if (cookie_set)
		dm_udev_wait(cookie);
	if (dmt)
		dm_task_destroy(dmt);
	log_ctx = NULL;
	log_secure = false;
	return r;
}

struct version_query {
	bool found;
	uint32_t version[3];
};

static int read_versions(struct dmm_ctx *ctx, struct dm_task *dmt,
			 void *data)
{
	struct dm_versions *v = dm_task_get_versions(dmt), *last;
	struct version_query *q = data;

	(void)ctx;

	do {
		last = v;
		if (!strcmp(v->name, DMM_TARGET)) {
			q->found = true;
			memcpy(q->version, v->version, sizeof(q->version));
		}
		v = (struct dm_versions *)((char *)v + v->next);
	} while (last != v);
	return DMM_OK;
}

int dmm__dm_check_target(struct dmm_ctx *ctx)
{
	struct version_query q = { 0 };
	/*
	 * Asking for one target's version makes the kernel load its module
	 * (request_module "dm-migrate"), as it does for a table: no
	 * modprobe is run from the caller's PATH and environment.
	 */
	struct dm_req req = {
		.type = DM_DEVICE_GET_TARGET_VERSION,
		.what = "look up the device-mapper target",
		.name = DMM_TARGET,
		.read = read_versions,
		.data = &q,
		.absent_errno = EINVAL,	/* the kernel's "no such target" */
	};
	int r;

	if (ctx->target_checked)
		return DMM_OK;
	r = dm_run(ctx, &req);
	if (r > 0)
		return r;
	if (!q.found)
		return dmm__err(ctx, DMM_EDM,
				"the kernel has no '%s' target; install dm-migrate.ko and run 'modprobe dm-migrate'",
				DMM_TARGET);
	/* A minor version adds to the status line this library parses whole. */
	if (q.version[0] != DMM_TARGET_MAJOR || q.version[1] < DMM_TARGET_MINOR)
		return dmm__err(ctx, DMM_EDM,
				"the kernel's '%s' target is version %u.%u.%u, this dmmigrate needs %u.%u or a later %u.x; install matching dm-migrate and dmmigrate versions",
				DMM_TARGET, q.version[0], q.version[1],
				q.version[2], DMM_TARGET_MAJOR, DMM_TARGET_MINOR,
				DMM_TARGET_MAJOR);
	dmm__log(ctx, DMM_LOG_DEBUG, "target %s %u.%u.%u", DMM_TARGET,
		 q.version[0], q.version[1], q.version[2]);
	ctx->target_checked = true;
	return DMM_OK;
}

static int read_info(struct dmm_ctx *ctx, struct dm_task *dmt, void *data)
{
	struct dmm__dm_dev *dev = data;
	struct dm_info info;
	const char *uuid;

	if (!dm_task_get_info(dmt, &info))
		return dmm__err(ctx, DMM_EDM,
				"cannot read the information of %s; see the kernel log (dmesg)",
				dm_task_get_name(dmt));
	dev->exists = info.exists;
	if (!info.exists)
		return DMM_OK;
	uuid = dm_task_get_uuid(dmt);
	snprintf(dev->uuid, sizeof(dev->uuid), "%s", uuid ? uuid : "");
	dev->major = info.major;
	dev->minor = info.minor;
	dev->event_nr = info.event_nr;
	dev->open_count = info.open_count;
	dev->suspended = info.suspended;
	dev->inactive_table = info.inactive_table;
	dev->live_table = info.live_table;
	return DMM_OK;
}

int dmm__dm_info(struct dmm_ctx *ctx, const char *name,
		 struct dmm__dm_dev *dev)
{
	struct dm_req req = {
		.type = DM_DEVICE_INFO,
		.what = "query",
		.name = name,
		.read = read_info,
		.data = dev,
	};

	memset(dev, 0, sizeof(*dev));
	return dm_run(ctx, &req);
}

/* Volumes have exactly one target; anything else is not ours to touch. */
static int read_target(struct dmm_ctx *ctx, struct dm_task *dmt, void *data)
{
	const char *name = dm_task_get_name(dmt);
	struct dmm__dm_target *tgt = data;
	uint64_t start, len;
	char *type, *params;
	struct dm_info info;
	void *next;

	if (!dm_task_get_info(dmt, &info) || !info.exists)
		return dmm__err(ctx, DMM_ENODEV,
				"volume %s does not exist; see 'dmmigrate list'",
				name);
	/* Between libdm's create and resume: not a volume yet. */
	if (!info.live_table)
		return dmm__err(ctx, DMM_ENODEV,
				"volume %s does not exist yet (no table: a create under way or cut short); create it again",
				name);
	next = dm_get_next_target(dmt, NULL, &start, &len, &type, &params);
	if (next || !type || !params || start ||
	    strlen(type) >= sizeof(tgt->type))
		return dmm__err(ctx, DMM_ESTATE,
				"%s does not have a single-target table; it is not a volume dmmigrate can manage",
				name);
	tgt->params = strdup(params);
	if (!tgt->params)
		return dmm__enomem(ctx);
	strcpy(tgt->type, type);
	tgt->len = len;
	tgt->event_nr = info.event_nr;
	return DMM_OK;
}

int dmm__dm_table(struct dmm_ctx *ctx, const char *name, bool status,
		  struct dmm__dm_target *tgt)
{
	struct dm_req req = {
		.type = status ? DM_DEVICE_STATUS : DM_DEVICE_TABLE,
		.what = "read the table of",
		.name = name,
		.read = read_target,
		.data = tgt,
	};

	memset(tgt, 0, sizeof(*tgt));
	return dm_run(ctx, &req);
}

void dmm__dm_tab_free(struct dmm__dm_tab *tab)
{
	unsigned int i;

	for (i = 0; i < tab->count; i++) {
		explicit_bzero(tab->seg[i].params, strlen(tab->seg[i].params));
		free(tab->seg[i].params);
	}
	free(tab->seg);
	tab->seg = NULL;
	tab->count = 0;
}

static int read_tab(struct dmm_ctx *ctx, struct dm_task *dmt, void *data)
{
	struct dmm__dm_tab *tab = data;
	struct dmm__dm_seg *grown;
	char *type, *params;
	uint64_t start, len;
	void *next = NULL;

	do {
		next = dm_get_next_target(dmt, next, &start, &len, &type,
					  &params);
		if (!type || !params)
			break;
		grown = realloc(tab->seg, (tab->count + 1) * sizeof(*grown));
		if (!grown)
			return dmm__enomem(ctx);
		tab->seg = grown;
		grown += tab->count;
		grown->start = start;
		grown->len = len;
		snprintf(grown->type, sizeof(grown->type), "%s", type);
		grown->params = strdup(params);
		if (!grown->params)
			return dmm__enomem(ctx);
		tab->count++;
	} while (next);
	return DMM_OK;
}

/*
 * The live table of any dm device, every target, keys included: read with
 * the secure flag, kept in memory only, wiped by dmm__dm_tab_free().
 */
int dmm__dm_tab_read(struct dmm_ctx *ctx, const char *name,
		     struct dmm__dm_tab *tab)
{
	struct dm_req req = {
		.type = DM_DEVICE_TABLE,
		.what = "read the table of",
		.name = name,
		.secure = true,
		.read = read_tab,
		.data = tab,
	};
	int r;

	memset(tab, 0, sizeof(*tab));
	r = dm_run(ctx, &req);
	if (r)
		dmm__dm_tab_free(tab);
	return r;
}

/* Load @tab as the inactive table of @name; the next resume makes it live. */
int dmm__dm_tab_load(struct dmm_ctx *ctx, const char *name,
		     const struct dmm__dm_tab *tab)
{
	struct dm_req req = {
		.type = DM_DEVICE_RELOAD,
		.what = "load a table on",
		.name = name,
		.tab = tab,
		.secure = true,
	};

	return dm_run(ctx, &req);
}

int dmm__dm_create(struct dmm_ctx *ctx, const char *name, uint64_t len,
		   const char *type, const char *params)
{
	char uuid[sizeof(DMM_UUID_PREFIX) + DMM_NAME_MAX];
	struct dm_req req = {
		.type = DM_DEVICE_CREATE,
		.what = "create volume",
		.name = name,
		.uuid = uuid,
		.len = len,
		.ttype = type,
		.params = params,
	};

	snprintf(uuid, sizeof(uuid), DMM_UUID_PREFIX "%s", name);
	return dm_run(ctx, &req);
}

static int elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000 +
	       (b->tv_nsec - a->tv_nsec) / 1000000;
}

/*
 * Replace the table of @name. The new table is loaded before the suspend,
 * so I/O stops only for suspend + resume; @pause_ms gets that time. A
 * failure before the resume drops the loaded table and changes nothing.
 */
/*
 * From a table load to the resume that makes it live, a signal that killed
 * the tool would leave the volume suspended, its users hung: the signals a
 * user or an init system sends are held (as lvm holds them) and delivered
 * once the volume runs again. SIGKILL cannot be; the next dmmigrate repairs.
 */
void dmm__hold_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGTSTP);
	/* A reader of -v's output that goes away (| head) must not kill us. */
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

void dmm__release_signals(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

static int swap(struct dmm_ctx *ctx, const char *name, uint64_t len,
		const char *type, const char *params, unsigned int *pause_ms)
{
	struct timespec t0, t1;
	struct dm_req req = {
		.type = DM_DEVICE_RELOAD,
		.what = "load the new table of",
		.name = name,
		.len = len,
		.ttype = type,
		.params = params,
	};
	struct dm_req suspend = {
		.type = DM_DEVICE_SUSPEND,
		.what = "suspend",
		.name = name,
	};
	struct dm_req resume = {
		.type = DM_DEVICE_RESUME,
		.what = "resume",
		.name = name,
		.ran_at = &t1,
	};
	struct dm_req clear = {
		.type = DM_DEVICE_CLEAR,
		.what = "clear the loaded table of",
		.name = name,
	};
	int r;

	r = dm_run(ctx, &req);
	if (r)
		return r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = dm_run(ctx, &suspend);
	if (r) {
		dm_run(ctx, &clear);
		return r;
	}
	r = dm_run(ctx, &resume);
	if (r) {
		/* A suspended volume hangs its users: insist once. */
		char err[DMM_ERR_LEN];

		strcpy(err, ctx->err);
		if (!dm_run(ctx, &resume))
			r = DMM_OK;
		else
			snprintf(ctx->err, sizeof(ctx->err), "%s", err);
		if (r)
			return r;
	}
	if (pause_ms)
		*pause_ms = elapsed_ms(&t0, &t1);
	return DMM_OK;
}

int dmm__dm_swap(struct dmm_ctx *ctx, const char *name, uint64_t len,
		 const char *type, const char *params, unsigned int *pause_ms)
{
	sigset_t old;
	int r;

	dmm__hold_signals(&old);
	r = swap(ctx, name, len, type, params, pause_ms);
	dmm__release_signals(&old);
	return r;
}

int dmm__dm_remove(struct dmm_ctx *ctx, const char *name)
{
	struct dm_req req = {
		.type = DM_DEVICE_REMOVE,
		.what = "remove",
		.name = name,
	};

	return dm_run(ctx, &req);
}

/* Resume @name; with a table loaded, this completes a table swap. */
int dmm__dm_resume(struct dmm_ctx *ctx, const char *name)
{
	struct dm_req req = {
		.type = DM_DEVICE_RESUME,
		.what = "resume",
		.name = name,
	};
	sigset_t old;
	int r;

	dmm__hold_signals(&old);
	r = dm_run(ctx, &req);
	dmm__release_signals(&old);
	return r;
}

/*
 * Suspend @name, its I/O held until a resume; the caller holds signals.
 * @noflush: I/O the target queues (a multipath map without a path) stays
 * queued rather than being waited for, which could be for ever.
 */
int dmm__dm_suspend(struct dmm_ctx *ctx, const char *name, bool noflush)
{
	struct dm_req req = {
		.type = DM_DEVICE_SUSPEND,
		.what = "suspend",
		.name = name,
		.noflush = noflush,
	};

	return dm_run(ctx, &req);
}

/* Drop the table loaded on @name but not resumed. */
int dmm__dm_clear(struct dmm_ctx *ctx, const char *name)
{
	struct dm_req req = {
		.type = DM_DEVICE_CLEAR,
		.what = "clear the loaded table of",
		.name = name,
	};

	return dm_run(ctx, &req);
}

int dmm__dm_message(struct dmm_ctx *ctx, const char *name, const char *msg)
{
	struct dm_req req = {
		.type = DM_DEVICE_TARGET_MSG,
		.what = "send a message to",
		.name = name,
		.message = msg,
	};

	return dm_run(ctx, &req);
}

struct answer {
	char *buf;
	size_t len;
};

static int read_answer(struct dmm_ctx *ctx, struct dm_task *dmt, void *data)
{
	const char *resp = dm_task_get_message_response(dmt);
	struct answer *a = data;

	(void)ctx;
	snprintf(a->buf, a->len, "%s", resp ? resp : "");
	return DMM_OK;
}

/* A message whose answer, truncated to @len, goes to @buf. */
int dmm__dm_message_answer(struct dmm_ctx *ctx, const char *name,
			   const char *msg, char *buf, size_t len)
{
	struct answer a = { buf, len };
	struct dm_req req = {
		.type = DM_DEVICE_TARGET_MSG,
		.what = "send a message to",
		.name = name,
		.message = msg,
		.read = read_answer,
		.data = &a,
	};

	return dm_run(ctx, &req);
}

/* Returns DMM_ETIMEDOUT when a signal interrupted the wait. */
struct name_list {
	char **names;
	unsigned int count;
};

static int read_names(struct dmm_ctx *ctx, struct dm_task *dmt, void *data)
{
	struct dm_names *n = dm_task_get_names(dmt);
	struct name_list *list = data;
	unsigned int next = 0;
	char **grown;

	if (!n || !n->dev)
		return DMM_OK;
	do {
		n = (struct dm_names *)((char *)n + next);
		grown = realloc(list->names,
				(list->count + 1) * sizeof(*list->names));
		if (!grown)
			return dmm__enomem(ctx);
		list->names = grown;
		list->names[list->count] = strdup(n->name);
		if (!list->names[list->count])
			return dmm__enomem(ctx);
		list->count++;
		next = n->next;
	} while (next);
	return DMM_OK;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All dm device names, sorted; free each and the array. */
int dmm__dm_list(struct dmm_ctx *ctx, char ***names, unsigned int *count)
{
	struct name_list list = { 0 };
	struct dm_req req = {
		.type = DM_DEVICE_LIST,
		.what = "list the device-mapper devices",
		.read = read_names,
		.data = &list,
	};
	int r = dm_run(ctx, &req);

	if (r) {
		while (list.count)
			free(list.names[--list.count]);
		free(list.names);
		return r;
	}
	qsort(list.names, list.count, sizeof(*list.names), cmp_names);
	*names = list.names;
	*count = list.count;
	return DMM_OK;
}
