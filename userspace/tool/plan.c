// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Batch plans (dmmigrate(8), "BATCH PLANS"): read whole and checked before
 * the batch changes anything, so that a typo stops it at once rather than
 * halfway through a fleet.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libdmmigrate.h"
#include "plan.h"

/* A plan is a list of volumes, not data: anything larger is a mistake. */
#define PLAN_MAX_BYTES	(1 << 20)

int parse_rate(const char *arg, uint64_t *rate)
{
	char buf[64];
	size_t len = strlen(arg);

	if (len >= sizeof(buf))
		return DMM_EUSAGE;
	strcpy(buf, arg);
	if (len > 2 && !strcmp(buf + len - 2, "/s"))
		buf[len - 2] = '\0';
	return dmm_parse_size(buf, rate);
}

int parse_count(const char *arg, unsigned int min, unsigned int max,
		unsigned int *val)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno || *end || !*arg || *arg == '-' || n < min || n > max)
		return DMM_EUSAGE;
	*val = n;
	return 0;
}

struct reader {
	const char *path;
	unsigned int line;	/* 0 in a JSON plan */
	char *err;
	size_t len;
};

__attribute__((format(printf, 2, 3)))
static int bad(struct reader *rd, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (rd->line)
		snprintf(rd->err, rd->len, "%s line %u: ", rd->path, rd->line);
	else
		snprintf(rd->err, rd->len, "%s: ", rd->path);
	n = strlen(rd->err);
	va_start(ap, fmt);
	vsnprintf(rd->err + n, rd->len - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* One option of a volume or of the group, @value as text. */
static int set_option(struct reader *rd, struct plan *p, struct plan_volume *v,
		      const char *opt, const char *value)
{
	if (!v && !strcmp(opt, "rate")) {
		p->rate_set = true;
		return parse_rate(value, &p->rate) ?
		       bad(rd, "invalid group rate '%s'", value) : 0;
	}
	if (!v && !strcmp(opt, "max-active")) {
		p->max_active_set = true;
		return parse_count(value, 0, DMM_GROUP_MAX_ACTIVE, &p->max_active) ?
		       bad(rd, "invalid max-active '%s': give 0 to %u", value,
			   DMM_GROUP_MAX_ACTIVE) : 0;
	}
	if (!v)
		return bad(rd, "unknown group option '%s'", opt);
	if (!strcmp(opt, "metadata")) {
		free(v->metadata);
		v->metadata = strdup(value);
		return v->metadata ? 0 : bad(rd, "out of memory");
	}
	if (!strcmp(opt, "region-size"))
		return dmm_parse_size(value, &v->region_bytes) ?
		       bad(rd, "invalid region size '%s'", value) : 0;
	if (!strcmp(opt, "rate"))
		return parse_rate(value, &v->rate) ?
		       bad(rd, "invalid rate '%s'", value) : 0;
	if (!strcmp(opt, "window"))
		return dmm_parse_size(value, &v->window_bytes) ||
		       !v->window_bytes ?
		       bad(rd, "invalid window '%s'", value) : 0;
	if (!strcmp(opt, "weight"))
		return parse_count(value, 1, DMM_WEIGHT_MAX, &v->weight) ?
		       bad(rd, "invalid weight '%s': give 1 to %u", value,
			   DMM_WEIGHT_MAX) : 0;
	return bad(rd, "unknown option '%s' for volume %s", opt, v->name);
}

static struct plan_volume *add_volume(struct reader *rd, struct plan *p,
				      const char *name, const char *dest)
{
	struct plan_volume *v;
	unsigned int i;

	for (i = 0; i < p->count; i++) {
		if (!strcmp(p->volumes[i].name, name)) {
			bad(rd, "volume %s is in the plan twice", name);
			return NULL;
		}
		if (!strcmp(p->volumes[i].dest, dest)) {
			bad(rd, "%s is the destination of %s and of %s", dest,
			    p->volumes[i].name, name);
			return NULL;
		}
	}
	v = realloc(p->volumes, (p->count + 1) * sizeof(*v));
	if (!v) {
		bad(rd, "out of memory");
		return NULL;
	}
	p->volumes = v;
	v += p->count;
	memset(v, 0, sizeof(*v));
	v->region_bytes = DMM_DEFAULT_REGION_BYTES;
	v->name = strdup(name);
	v->dest = strdup(dest);
	p->count++;
	if (!v->name || !v->dest) {
		bad(rd, "out of memory");
		return NULL;
	}
	return v;
}

/* "--opt VALUE ..." or "--post-copy" from @tok[@i], for @v or the group. */
static int line_options(struct reader *rd, struct plan *p,
			struct plan_volume *v, char **tok, int ntok, int i)
{
	for (; i < ntok; i++) {
		if (strncmp(tok[i], "--", 2))
			return bad(rd, "'%s' is not an option (--name VALUE)",
				   tok[i]);
		if (v && !strcmp(tok[i], "--post-copy")) {
			v->flags |= DMM_START_POST_COPY;
			continue;
		}
		if (i + 1 == ntok)
			return bad(rd, "option '%s' needs a value", tok[i]);
		if (set_option(rd, p, v, tok[i] + 2, tok[i + 1]))
			return -1;
		i++;
	}
	return 0;
}

#define MAX_TOKENS	32

static int read_line(struct reader *rd, struct plan *p, char *line)
{
	char *tok[MAX_TOKENS], *save = NULL, *t;
	struct plan_volume *v;
	int n = 0;

	for (t = strtok_r(line, " \t\r\n", &save); t;
	     t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == MAX_TOKENS)
			return bad(rd, "too many words");
		tok[n++] = t;
	}
	if (!n || tok[0][0] == '#')
		return 0;
	if (!strcmp(tok[0], "group")) {
		if (p->group || p->count)
			return bad(rd, "the group line comes once, before the volumes");
		if (n < 2)
			return bad(rd, "group needs a name");
		p->group = strdup(tok[1]);
		return p->group ? line_options(rd, p, NULL, tok, n, 2) :
		       bad(rd, "out of memory");
	}
	if (n < 2 || !strncmp(tok[1], "--", 2))
		return bad(rd, "give NAME DEST [options]");
	v = add_volume(rd, p, tok[0], tok[1]);
	return v ? line_options(rd, p, v, tok, n, 2) : -1;
}

static int read_lines(struct reader *rd, struct plan *p, char *text)
{
	char *line, *save = NULL;

	/* Line numbers count blank lines too: split by hand. */
	for (line = text; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		rd->line++;
		if (read_line(rd, p, line))
			return -1;
	}
	return 0;
}

/* A JSON value that is a size or a rate: a number, or text as on the command line. */
static const char *json_text(struct json_object *o, char *buf, size_t len)
{
	if (json_object_is_type(o, json_type_int) && json_object_get_int64(o) >= 0) {
		snprintf(buf, len, "%lld", (long long)json_object_get_int64(o));
		return buf;
	}
	return json_object_is_type(o, json_type_string) ?
	       json_object_get_string(o) : NULL;
}

static int json_volume(struct reader *rd, struct plan *p,
		       struct json_object *o, unsigned int i)
{
	struct json_object *name, *dest;
	struct plan_volume *v;
	char buf[32];
	const char *text;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "name", &name) ||
	    !json_object_object_get_ex(o, "dest", &dest) ||
	    !json_object_is_type(name, json_type_string) ||
	    !json_object_is_type(dest, json_type_string))
		return bad(rd, "volume %u: give an object with \"name\" and \"dest\" as text",
			   i + 1);
	v = add_volume(rd, p, json_object_get_string(name),
		       json_object_get_string(dest));
	if (!v)
		return -1;
	json_object_object_foreach(o, key, val) {
		if (!strcmp(key, "name") || !strcmp(key, "dest"))
			continue;
		if (!strcmp(key, "post_copy") &&
		    json_object_is_type(val, json_type_boolean)) {
			if (json_object_get_boolean(val))
				v->flags |= DMM_START_POST_COPY;
			continue;
		}
		text = json_text(val, buf, sizeof(buf));
		if (!text)
			return bad(rd, "volume %s: \"%s\" has a value of the wrong kind",
				   v->name, key);
		if (!strcmp(key, "region_size"))
			key = "region-size";
		else if (!strcmp(key, "metadata") || !strcmp(key, "rate") ||
			 !strcmp(key, "window") || !strcmp(key, "weight"))
			;
		else
			return bad(rd, "volume %s: unknown key \"%s\"", v->name, key);
		if (set_option(rd, p, v, key, text))
			return -1;
	}
	return 0;
}

static int read_json(struct reader *rd, struct plan *p, const char *text)
{
	enum json_tokener_error jerr;
	struct json_object *root;
	const char *s;
	char buf[32];
	size_t i;
	int r = 0;

	root = json_tokener_parse_verbose(text, &jerr);
	if (!root)
		return bad(rd, "not valid JSON: %s", json_tokener_error_desc(jerr));
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return bad(rd, "a JSON plan is an object with \"volumes\"");
	}
	json_object_object_foreach(root, key, val) {
		if (r)
			break;
		if (!strcmp(key, "volumes")) {
			if (!json_object_is_type(val, json_type_array)) {
				r = bad(rd, "\"volumes\" is an array");
				break;
			}
			for (i = 0; !r && i < json_object_array_length(val); i++)
				r = json_volume(rd, p, json_object_array_get_idx(val, i), i);
		} else if (!strcmp(key, "group") &&
			   json_object_is_type(val, json_type_string)) {
			p->group = strdup(json_object_get_string(val));
			if (!p->group)
				r = bad(rd, "out of memory");
		} else if (!strcmp(key, "rate") || !strcmp(key, "max_active")) {
			s = json_text(val, buf, sizeof(buf));
			r = s ? set_option(rd, p, NULL, key[0] == 'r' ? "rate" :
					   "max-active", s) :
				bad(rd, "\"%s\" has a value of the wrong kind", key);
		} else {
			r = bad(rd, "unknown key \"%s\"", key);
		}
	}
	json_object_put(root);
	return r;
}

static char *read_all(struct reader *rd)
{
	FILE *f = strcmp(rd->path, "-") ? fopen(rd->path, "re") : stdin;
	char *text;
	size_t n;

	if (!f) {
		bad(rd, "cannot read it: %s", strerror(errno));
		return NULL;
	}
	text = malloc(PLAN_MAX_BYTES + 1);
	n = text ? fread(text, 1, PLAN_MAX_BYTES + 1, f) : 0;
	if (!text)
		bad(rd, "out of memory");
	else if (ferror(f))
		bad(rd, "cannot read it: %s", strerror(errno));
	else if (n > PLAN_MAX_BYTES)
		bad(rd, "larger than %u bytes; is it a plan?", PLAN_MAX_BYTES);
	else if (memchr(text, '\0', n))
		bad(rd, "holds a NUL byte; is it a plan?");
	if (f != stdin)
		fclose(f);
	if (text && !rd->err[0]) {
		text[n] = '\0';
		return text;
	}
	free(text);
	return NULL;
}

int plan_read(const char *path, struct plan *p, char *err, size_t len)
{
	struct reader rd = { .path = path, .err = err, .len = len };
	char *text;
	size_t skip;
	int r;

	memset(p, 0, sizeof(*p));
	err[0] = '\0';
	text = read_all(&rd);
	if (!text)
		return -1;
	skip = strspn(text, " \t\r\n");
	r = text[skip] == '{' ? read_json(&rd, p, text) :
	    read_lines(&rd, p, text);
	free(text);
	rd.line = 0;
	if (!r && !p->count)
		r = bad(&rd, "names no volume");
	if (r)
		plan_free(p);
	return r;
}

void plan_free(struct plan *p)
{
	unsigned int i;

	for (i = 0; i < p->count; i++) {
		free(p->volumes[i].name);
		free(p->volumes[i].dest);
		free(p->volumes[i].metadata);
	}
	free(p->volumes);
	free(p->group);
	memset(p, 0, sizeof(*p));
}
