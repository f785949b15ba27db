/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A JSON writer for dmmigrate's one output contract (dmmigrate(8), "JSON
 * OUTPUT"): objects and arrays on one line, strings escaped, numbers
 * printed without the C library's locale (a caller under de_DE must not
 * get "33,33"). Shared by the library's status object and the tool's
 * envelope; it knows nothing of volumes.
 */
#ifndef DMM_JSON_H
#define DMM_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define DMM_JSON_MAX_DEPTH	8

struct dmm_json {
	FILE *out;
	unsigned int depth;
	bool filled[DMM_JSON_MAX_DEPTH];	/* a member written at depth */
};

void dmm_json_init(struct dmm_json *j, FILE *out);
/* Start a member (@key NULL in an array or at the top): comma, "key":. */
void dmm_json_key(struct dmm_json *j, const char *key);
void dmm_json_open(struct dmm_json *j, const char *key, char bracket);
void dmm_json_close(struct dmm_json *j, char bracket);
/* A string member; @val NULL writes null. */
void dmm_json_str(struct dmm_json *j, const char *key, const char *val);
void dmm_json_u64(struct dmm_json *j, const char *key, uint64_t val);
/* A signed number; a negative @val writes null (unknown). */
void dmm_json_known(struct dmm_json *j, const char *key, int64_t val);
void dmm_json_bool(struct dmm_json *j, const char *key, bool val);
void dmm_json_null(struct dmm_json *j, const char *key);
/* @num / @den with two decimals, rounded: percentages. */
void dmm_json_ratio(struct dmm_json *j, const char *key, uint64_t num,
		    uint64_t den);

#endif /* DMM_JSON_H */
