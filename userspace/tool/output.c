// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What dmmigrate tells: human lines on stdout, errors on stderr, and with
 * --json one JSON object on stdout, errors included.
 */
#include <stdarg.h>
#include <stdio.h>

#include "output.h"

/* The JSON contract's version: dmmigrate(8), "JSON OUTPUT". */
#define JSON_VERSION	1

const char *prog = "dmmigrate";
bool verbose, quiet;

/*
 * --json: stdout holds one JSON object, the answer (dmmigrate(8), "JSON
 * OUTPUT"), opened at the first member and closed by finish(); errors
 * are in it as "error" and on stderr as a line.
 */
bool json;
const char *json_command;	/* the command word, NULL if none */
static struct dmm_json answer_json;
bool answer_opened;
bool answer_streamed;	/* monitor: an answer per line, written */

struct dmm_json *answer(void)
{
	if (!answer_opened) {
		dmm_json_init(&answer_json, stdout);
		dmm_json_open(&answer_json, NULL, '{');
		dmm_json_u64(&answer_json, "version", JSON_VERSION);
		dmm_json_str(&answer_json, "command", json_command);
		answer_opened = true;
	}
	return &answer_json;
}

/* Human output: neither with --json nor with -q. */
__attribute__((format(printf, 1, 2)))
void say(const char *fmt, ...)
{
	va_list ap;

	if (json || quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

const char *const error_names[] = {
	[DMM_OK] = "ok",
	[DMM_EUSAGE] = "usage",
	[DMM_EPERM] = "permission",
	[DMM_ENOMEM] = "memory",
	[DMM_ENODEV] = "no-device",
	[DMM_EBUSY] = "busy",
	[DMM_ESTATE] = "state",
	[DMM_ELEG] = "leg-failed",
	[DMM_ETIMEDOUT] = "timed-out",
	[DMM_EDM] = "device-mapper",
	[DMM_EDIFFER] = "differ",
};

/* Report failure @r with @msg: a line on stderr, and in the answer. */
int report(int r, const char *msg)
{
	struct dmm_json *j;

	fprintf(stderr, "%s: %s\n", prog, msg);
	if (json) {
		j = answer();
		dmm_json_open(j, "error", '{');
		dmm_json_u64(j, "code", r);
		dmm_json_str(j, "name", r > 0 && r <= DMM_EDIFFER ?
			     error_names[r] : "unknown");
		dmm_json_str(j, "message", msg);
		dmm_json_close(j, '}');
	}
	return r;
}

__attribute__((format(printf, 1, 2)))
int usage_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, "; see '%s --help'", prog);
	return report(DMM_EUSAGE, msg);
}

int fail(struct dmm_ctx *ctx, int r)
{
	return r ? report(r, dmm_last_error(ctx)) : r;
}

void log_stderr(enum dmm_log_level level, const char *msg, void *data)
{
	(void)data;
	if (verbose || level == DMM_LOG_ERROR)
		fprintf(stderr, "%s: %s\n", prog, msg);
}

/* The answer's last part: --json always writes one object. */
int finish(int r)
{
	if (json && (r || !answer_streamed)) {
		answer();
		dmm_json_close(&answer_json, '}');
		fputc('\n', stdout);
	}
	return r;
}

