// SPDX-License-Identifier: LGPL-2.1-or-later
/* Library context: logging and the last error. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

const char *dmm_version(void)
{
	return DMM_VERSION;
}

int dmm_ctx_new(struct dmm_ctx **ctx)
{
	*ctx = calloc(1, sizeof(**ctx));
	if (!*ctx)
		return DMM_ENOMEM;
	(*ctx)->lock_wait_ms = DMM_LOCK_WAIT_MS;
	(*ctx)->event_fd = -1;
	return DMM_OK;
}

void dmm_ctx_free(struct dmm_ctx *ctx)
{
	if (ctx && ctx->event_fd >= 0)
		close(ctx->event_fd);
	free(ctx);
}

void dmm_set_log_fn(struct dmm_ctx *ctx, dmm_log_fn fn, void *data)
{
	ctx->log_fn = fn;
	ctx->log_data = data;
}

const char *dmm_last_error(const struct dmm_ctx *ctx)
{
	return ctx->err;
}

int dmm_already_done(const struct dmm_ctx *ctx)
{
	return ctx->already_done;
}

void dmm__log(struct dmm_ctx *ctx, enum dmm_log_level level,
	      const char *fmt, ...)
{
	char msg[DMM_ERR_LEN];
	va_list ap;

	if (!ctx->log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->log_fn(level, msg, ctx->log_data);
}

/*
 * Record the message of a failure and return its code, for "return". Not
 * logged: the caller prints it once (one line per error, even with -v).
 */
int dmm__err(struct dmm_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
	return code;
}

int dmm__enomem(struct dmm_ctx *ctx)
{
	return dmm__err(ctx, DMM_ENOMEM,
			"out of memory; free some memory and retry");
}

int dmm__errno_code(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return DMM_EPERM;
	case ENOMEM:
		return DMM_ENOMEM;
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return DMM_ENODEV;
	case EBUSY:
	case EEXIST:
		return DMM_EBUSY;
	default:
		return DMM_EDM;
	}
}

/* Names become dm names, uuids and lock file names: keep them plain. */
int dmm__check_name(struct dmm_ctx *ctx, const char *name)
{
	size_t len = strlen(name);

	if (!len || len > DMM_NAME_MAX || name[0] == '.' || name[0] == '-' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._+-") != len)
		return dmm__err(ctx, DMM_EUSAGE,
				"invalid volume name '%s'; use up to %d letters, digits, '.', '_', '+' or '-', not starting with '.' or '-'",
				name, DMM_NAME_MAX);
	return DMM_OK;
}
