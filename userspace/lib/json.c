// SPDX-License-Identifier: LGPL-2.1-or-later
/* The JSON writer of json.h: only integers reach printf, so no locale. */
#include "json.h"

void dmm_json_init(struct dmm_json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->filled[0] = false;
}

void dmm_json_key(struct dmm_json *j, const char *key)
{
	if (j->filled[j->depth])
		fputc(',', j->out);
	j->filled[j->depth] = true;
	if (key) {
		fputc('"', j->out);
		fputs(key, j->out);	/* keys are the contract's own words */
		fputs("\":", j->out);
	}
}

void dmm_json_open(struct dmm_json *j, const char *key, char bracket)
{
	dmm_json_key(j, key);
	fputc(bracket, j->out);
	/* Deeper than the contract goes is a bug: stay on the last level. */
	if (j->depth < DMM_JSON_MAX_DEPTH - 1)
		j->depth++;
	j->filled[j->depth] = false;
}

void dmm_json_close(struct dmm_json *j, char bracket)
{
	fputc(bracket, j->out);
	if (j->depth)
		j->depth--;
}

void dmm_json_str(struct dmm_json *j, const char *key, const char *val)
{
	const unsigned char *p;

	dmm_json_key(j, key);
	if (!val) {
		fputs("null", j->out);
		return;
	}
	fputc('"', j->out);
	for (p = (const unsigned char *)val; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(j->out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(j->out, "\\u%04x", *p);
		else
			fputc(*p, j->out);
	}
	fputc('"', j->out);
}

void dmm_json_u64(struct dmm_json *j, const char *key, uint64_t val)
{
	dmm_json_key(j, key);
	fprintf(j->out, "%llu", (unsigned long long)val);
}

void dmm_json_known(struct dmm_json *j, const char *key, int64_t val)
{
	if (val < 0)
		dmm_json_null(j, key);
	else
		dmm_json_u64(j, key, val);
}

void dmm_json_bool(struct dmm_json *j, const char *key, bool val)
{
	dmm_json_key(j, key);
	fputs(val ? "true" : "false", j->out);
}

void dmm_json_null(struct dmm_json *j, const char *key)
{
	dmm_json_key(j, key);
	fputs("null", j->out);
}

void dmm_json_ratio(struct dmm_json *j, const char *key, uint64_t num,
		    uint64_t den)
{
	uint64_t hundredths;

	/* Halving both keeps the ratio and keeps num * 10000 in range. */
	while (num > UINT64_MAX / 10000) {
		num >>= 1;
		den >>= 1;
	}
	if (!den) {
		dmm_json_null(j, key);
		return;
	}
	hundredths = (num * 10000 + den / 2) / den;
	dmm_json_key(j, key);
	fprintf(j->out, "%llu.%02llu", (unsigned long long)(hundredths / 100),
		(unsigned long long)(hundredths % 100));
}
