/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What dmmigrate tells, and how (output.c). */
#ifndef DMMIGRATE_OUTPUT_H
#define DMMIGRATE_OUTPUT_H

#include <stdbool.h>

#include "libdmmigrate.h"
#include "json.h"

extern const char *prog;
extern bool verbose, quiet;
/* --json: the command's answer is one JSON object on stdout. */
extern bool json;
extern const char *json_command;
/* answer() opens a new object when false (monitor: one per line). */
extern bool answer_opened;
/* monitor: its answers are written, finish() adds none. */
extern bool answer_streamed;

struct dmm_json *answer(void);
__attribute__((format(printf, 1, 2)))
void say(const char *fmt, ...);
int report(int r, const char *msg);
__attribute__((format(printf, 1, 2)))
int usage_error(const char *fmt, ...);
int fail(struct dmm_ctx *ctx, int r);
void log_stderr(enum dmm_log_level level, const char *msg, void *data);
int finish(int r);

#endif
