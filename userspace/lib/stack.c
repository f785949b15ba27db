// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A volume put under a live device-mapper stack, and taken out again.
 *
 * Interpose: the dm devices holding a disk (a crypt, LVM's linear LVs, a
 * multipath map) get a table each that maps the volume instead of the
 * disk, the volume being a linear table over the disk: same data, so
 * nothing above notices. Collapse: the holders of an idle volume get
 * tables that map the device it now maps, and the volume goes.
 *
 * Both move the "direct" holders, those whose tables name the device, and
 * take three steps: load every new table (inactive), suspend the whole
 * stack from the top down, resume it from the bottom up (a resume swaps a
 * loaded table in). Suspending top-down means no layer is being suspended
 * while I/O it waits for sits in a suspended layer under it; the loads
 * come first so that the suspended window holds no work that can fail.
 *
 * /run/dmmigrate/NAME.stack records the move before anything changes;
 * dmm__stack_repair() settles a move a kill or a crash cut short by the
 * live tables alone: once any direct holder maps the new device, every
 * one has its table loaded, and resuming the stack completes the move;
 * otherwise the loaded tables are dropped and the stack resumed as it was.
 * Either way no holder is left suspended or mapping a device that went.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define STACK_LAYERS	32	/* dm devices above the device at most */
#define STACK_DEPTH	8	/* layers deep at most */
#define STACK_EXT	"stack"

/* Targets whose tables may name the moved device: their reload is plain. */
static const char *const movable_targets[] = {
	"linear", "striped", "crypt", "multipath", "delay", "flakey",
};

struct layer {
	char name[DMM_NAME_MAX + 28];	/* dm name */
	dev_t dev;
	unsigned int depth;	/* longest path down to the device, 1.. */
	bool direct;		/* its table names the device */
};

struct stack {
	char kind[16];		/* "interpose" or "collapse" */
	char from[32];		/* major:minor the direct holders map now */
	char to[32];		/* and will map */
	struct layer layer[STACK_LAYERS];
	unsigned int count;
};

static void majmin(dev_t dev, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u", major(dev), minor(dev));
}

/* First line of /sys/dev/block/MAJ:MIN/@attr into @buf. */
static int sysfs_read(dev_t dev, const char *attr, char *buf, size_t len)
{
	char path[96];
	FILE *f;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", major(dev),
		 minor(dev), attr);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fgets(buf, len, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		r = 0;
	}
	fclose(f);
	return r;
}

static struct layer *layer_find(struct stack *s, dev_t dev)
{
	unsigned int i;

	for (i = 0; i < s->count; i++)
		if (s->layer[i].dev == dev)
			return &s->layer[i];
	return NULL;
}

/*
 * Add the holders of @dev, @depth layers above the bottom, and theirs.
 * Each layer keeps its longest path, so that suspending by depth is
 * top-down even where stacks join (a holder of the device and of a
 * layer above it).
 */
static int stack_walk(struct dmm_ctx *ctx, struct stack *s, dev_t dev,
		      unsigned int depth, const char *bottom)
{
	char path[300];
	struct layer *l;
	struct dirent *de;
	dev_t holder;
	DIR *d;
	int r = DMM_OK;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/holders",
		 major(dev), minor(dev));
	d = opendir(path);
	if (!d)
		return DMM_OK;
	while (!r && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (strncmp(de->d_name, "dm-", 3)) {
			r = dmm__err(ctx, DMM_EBUSY,
				     "%s is held by %s, which is not a device-mapper device; only dm stacks can be moved under (for md, use mdadm --replace)",
				     bottom, de->d_name);
			break;
		}
		if (depth > STACK_DEPTH) {
			r = dmm__err(ctx, DMM_EUSAGE,
				     "the stack over %s is more than %d layers deep; dmmigrate reloads at most %d safely",
				     bottom, STACK_DEPTH, STACK_DEPTH);
			break;
		}
		snprintf(path, sizeof(path), "/sys/block/%s/dev", de->d_name);
		if (dmm__read_dev_file(path, &holder))
			continue;	/* gone meanwhile */
		l = layer_find(s, holder);
		if (!l && s->count == STACK_LAYERS) {
			r = dmm__err(ctx, DMM_EUSAGE,
				     "more than %d dm devices are stacked over %s; dmmigrate reloads at most %d at once",
				     STACK_LAYERS, bottom, STACK_LAYERS);
			break;
		}
		if (!l) {
			l = &s->layer[s->count];
			memset(l, 0, sizeof(*l));
			l->dev = holder;
			if (sysfs_read(holder, "dm/name", l->name,
				       sizeof(l->name)))
				continue;
			s->count++;
		}
		if (depth == 1)
			l->direct = true;
		if (l->depth < depth)
			l->depth = depth;
		r = stack_walk(ctx, s, holder, depth + 1, bottom);
	}
	closedir(d);
	return r;
}

/* Layers by depth: ascending is bottom-up, the order of resumes. */
static int by_depth(const void *a, const void *b)
{
	const struct layer *x = a, *y = b;

	return (int)x->depth - (int)y->depth;
}

static bool movable(const char *type)
{
	unsigned int i;

	for (i = 0; i < sizeof(movable_targets) / sizeof(*movable_targets); i++)
		if (!strcmp(type, movable_targets[i]))
			return true;
	return false;
}

/* The fields of @params that are exactly @dev ("major:minor"). */
static int count_dev(const char *params, const char *dev)
{
	size_t len = strlen(dev);
	const char *p;
	int count = 0;

	for (p = params; *p; p += strcspn(p, " ")) {
		p += strspn(p, " ");
		if (!strncmp(p, dev, len) && (p[len] == ' ' || !p[len]))
			count++;
	}
	return count;
}

/*
 * In @params, every field that is exactly @from becomes @to: the kernel
 * echoes devices as major:minor, a form no other field of a table takes.
 * Returns the fields replaced, or -ENOMEM.
 */
int dmm__table_replace_dev(char **params, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to);
	int count = count_dev(*params, from);
	char *p, *out, *o;

	if (!count)
		return 0;
	out = malloc(strlen(*params) + count * tlen + 1);
	if (!out)
		return -ENOMEM;
	for (p = *params, o = out; *p;) {
		size_t word = strcspn(p, " "), gap;

		if (word == flen && !strncmp(p, from, flen)) {
			memcpy(o, to, tlen);
			o += tlen;
		} else {
			memcpy(o, p, word);
			o += word;
		}
		p += word;
		gap = strspn(p, " ");
		memcpy(o, p, gap);
		o += gap;
		p += gap;
	}
	*o = '\0';
	explicit_bzero(*params, strlen(*params));
	free(*params);
	*params = out;
	return count;
}

/*
 * The table of direct holder @l with @s->from replaced by @s->to, into
 * @tab; refused if a target naming the device is not one we reload.
 */
static int new_table(struct dmm_ctx *ctx, const struct stack *s,
		     const struct layer *l, struct dmm__dm_tab *tab)
{
	unsigned int i;
	int r, named = 0;

	r = dmm__dm_tab_read(ctx, l->name, tab);
	if (r)
		return r;
	for (i = 0; i < tab->count; i++) {
		r = dmm__table_replace_dev(&tab->seg[i].params, s->from, s->to);
		if (r < 0) {
			r = dmm__enomem(ctx);
			goto fail;
		}
		/*
		 * A request-based map (multipath's default) stacks only on
		 * request-based devices, and a volume is bio-based.
		 */
		if (r && !strcmp(tab->seg[i].type, "multipath") &&
		    !strstr(tab->seg[i].params, "queue_mode bio")) {
			r = dmm__err(ctx, DMM_EUSAGE,
				     "%s is a request-based multipath map, which cannot stack on a volume; move the stack above it instead (dmmigrate create NAME /dev/mapper/%s --interpose)",
				     l->name, l->name);
			goto fail;
		}
		if (r && !movable(tab->seg[i].type)) {
			r = dmm__err(ctx, DMM_EUSAGE,
				     "%s maps the device with a '%s' target, whose table dmmigrate does not reload; finish or undo what it does first (pvmove --abort, lvconvert)",
				     l->name, tab->seg[i].type);
			goto fail;
		}
		named += r;
	}
	if (named)
		return DMM_OK;
	r = dmm__err(ctx, DMM_EBUSY,
		     "%s holds the device but its table does not name it; retry, or check it with dmsetup table",
		     l->name);
fail:
	dmm__dm_tab_free(tab);
	return r;
}

/* Each layer live, resumed, with no table waiting: what a move needs. */
static int check_layers(struct dmm_ctx *ctx, const struct stack *s)
{
	struct dmm__dm_dev info;
	unsigned int i;
	int r;

	for (i = 0; i < s->count; i++) {
		r = dmm__dm_info(ctx, s->layer[i].name, &info);
		if (r)
			return r;
		if (!info.exists || !info.live_table)
			return dmm__err(ctx, DMM_EBUSY,
					"%s is being set up or removed; retry when it is done",
					s->layer[i].name);
		if (info.suspended)
			return dmm__err(ctx, DMM_EBUSY,
					"%s is suspended; resume it (dmsetup resume %s) or let whoever suspended it finish, then retry",
					s->layer[i].name, s->layer[i].name);
		if (info.inactive_table)
			return dmm__err(ctx, DMM_EBUSY,
					"%s has a table loaded and not resumed (another tool at work); let it finish or clear it (dmsetup clear %s)",
					s->layer[i].name, s->layer[i].name);
		if (!strncmp(info.uuid, DMM_UUID_PREFIX,
			     strlen(DMM_UUID_PREFIX)))
			return dmm__err(ctx, DMM_EBUSY,
					"the device is a leg of the volume %s; finish that migration first",
					s->layer[i].name);
	}
	return DMM_OK;
}

/*
 * Where a filesystem on @dev itself is mounted, into @where. (Mounts on
 * the stack above are the stack's: they move with it.)
 */
static bool mounted(dev_t dev, char *where, size_t len)
{
	char line[4096], dev_str[32], majmin_str[32], mnt[PATH_MAX];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	majmin(dev, dev_str, sizeof(dev_str));
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %31s %*s %4095s", majmin_str,
			   mnt) == 2 && !strcmp(majmin_str, dev_str)) {
			snprintf(where, len, "%s", mnt);
			found = true;
		}
	fclose(f);
	return found;
}

/* The first partition of the disk @dev into @part, or false. */
static bool partitioned(dev_t dev, char *part, size_t len)
{
	char dir[64], path[64 + 2 * 256];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u", major(dev),
		 minor(dev));
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s/partition", dir,
			 de->d_name);
		if (de->d_name[0] != '.' && !access(path, F_OK)) {
			snprintf(part, len, "%s", de->d_name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/*
 * The stack over @dev, checked for a move: dm holders only, none of them
 * suspended or mid-reload, the bottom not mounted. @what names @dev in
 * messages.
 */
static int stack_read(struct dmm_ctx *ctx, dev_t dev, const char *what,
		      struct stack *s)
{
	char where[PATH_MAX];
	int r;

	if (mounted(dev, where, sizeof(where)))
		return dmm__err(ctx, DMM_EBUSY,
				"%s is mounted on %s; a filesystem straight on the device cannot be moved under: unmount it first",
				what, where);
	if (partitioned(dev, where, sizeof(where)))
		return dmm__err(ctx, DMM_EUSAGE,
				"%s has a partition table (%s); move the stack of each partition instead (dmmigrate create NAME /dev/%s --interpose)",
				what, where, where);
	s->count = 0;
	r = stack_walk(ctx, s, dev, 1, what);
	if (r)
		return r;
	qsort(s->layer, s->count, sizeof(*s->layer), by_depth);
	return check_layers(ctx, s);
}

/* NAME.stack: "<kind> <from> <to>", then "<depth> <direct> <dm name>". */
static int stack_record(struct dmm_ctx *ctx, const char *name,
			const struct stack *s)
{
	char text[64 + STACK_LAYERS * (sizeof(s->layer[0].name) + 16)];
	size_t n;
	unsigned int i;

	n = snprintf(text, sizeof(text), "%s %s %s\n", s->kind, s->from,
		     s->to[0] ? s->to : "-");
	for (i = 0; i < s->count; i++)
		n += snprintf(text + n, sizeof(text) - n, "%u %d %s\n",
			      s->layer[i].depth, s->layer[i].direct,
			      s->layer[i].name);
	return dmm__state_write(ctx, name, STACK_EXT, text);
}

static bool stack_recorded(const char *name, struct stack *s)
{
	FILE *f = dmm__state_open(name, STACK_EXT);
	struct layer *l;
	int direct;

	if (!f)
		return false;
	memset(s, 0, sizeof(*s));
	if (fscanf(f, "%15s %31s %31s", s->kind, s->from, s->to) != 3) {
		fclose(f);
		return false;
	}
	if (!strcmp(s->to, "-"))
		s->to[0] = '\0';
	while (s->count < STACK_LAYERS) {
		l = &s->layer[s->count];
		if (fscanf(f, "%u %d %127s", &l->depth, &direct, l->name) != 3)
			break;
		l->direct = direct;
		s->count++;
	}
	fclose(f);
	return true;
}

/*
 * Does the live table of @layer name @dev (into @found)? A layer that is
 * gone names nothing; one that cannot be read is an error, on which a
 * repair must not guess.
 */
static int maps(struct dmm_ctx *ctx, const char *layer, const char *dev,
		bool *found)
{
	struct dmm__dm_dev info;
	struct dmm__dm_tab tab;
	unsigned int i;
	int r;

	*found = false;
	r = dmm__dm_info(ctx, layer, &info);
	if (r || !info.exists)
		return r;
	r = dmm__dm_tab_read(ctx, layer, &tab);
	if (r)
		return r;
	for (i = 0; !*found && i < tab.count; i++)
		*found = count_dev(tab.seg[i].params, dev) > 0;
	dmm__dm_tab_free(&tab);
	return DMM_OK;
}

/*
 * Resume every suspended layer, bottom-up, each failure tried once more;
 * keeps going past failures and returns the first (a layer that could not
 * even be asked counts: the record must stay for the next repair).
 */
static int resume_up(struct dmm_ctx *ctx, const struct stack *s)
{
	struct dmm__dm_dev info;
	unsigned int i;
	int r = DMM_OK, e;

	for (i = 0; i < s->count; i++) {
		e = dmm__dm_info(ctx, s->layer[i].name, &info);
		if (!e && info.exists && info.suspended &&
		    dmm__dm_resume(ctx, s->layer[i].name))
			e = dmm__dm_resume(ctx, s->layer[i].name);
		r = r ?: e;
	}
	return r;
}

/*
 * Drop the tables loaded on the direct holders and not resumed; the first
 * failure is returned, and then nothing may be resumed (a resume would
 * make that table live while the others go back).
 */
static int clear_loaded(struct dmm_ctx *ctx, const struct stack *s)
{
	struct dmm__dm_dev info;
	unsigned int i;
	int r = DMM_OK, e;

	for (i = 0; i < s->count; i++) {
		if (!s->layer[i].direct)
			continue;
		e = dmm__dm_info(ctx, s->layer[i].name, &info);
		if (!e && info.inactive_table)
			e = dmm__dm_clear(ctx, s->layer[i].name);
		r = r ?: e;
	}
	return r;
}

/* The multipath maps: suspended without flushing what they queue. */
static bool queues_io(struct dmm_ctx *ctx, const char *layer)
{
	struct dmm__dm_tab tab;
	bool mp;

	if (dmm__dm_tab_read(ctx, layer, &tab))
		return false;
	mp = tab.count && !strcmp(tab.seg[0].type, "multipath");
	dmm__dm_tab_free(&tab);
	return mp;
}

static unsigned int ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Load the new table of every direct holder; all or none stay loaded. */
static int load_tables(struct dmm_ctx *ctx, const struct stack *s,
		       const char *key_file)
{
	struct dmm__passphrase pass = { .key_file = key_file };
	struct dmm__dm_tab tab;
	char desc[256];
	unsigned int i;
	bool loaded;
	int r = DMM_OK;

	for (i = 0; !r && i < s->count; i++) {
		if (!s->layer[i].direct)
			continue;
		r = new_table(ctx, s, &s->layer[i], &tab);
		if (r)
			break;
		loaded = false;
		if (!strcmp(tab.seg[0].type, "crypt") &&
		    dmm__crypt_key_desc(tab.seg[0].params, desc, sizeof(desc)))
			r = dmm__crypt_key_load(ctx, s->layer[i].name, desc,
						&pass, &loaded);
		if (!r)
			r = dmm__dm_tab_load(ctx, s->layer[i].name, &tab);
		if (loaded)
			dmm__crypt_key_drop(desc);
		dmm__dm_tab_free(&tab);
	}
	dmm__passphrase_wipe(&pass);
	if (r) {
		char err[DMM_ERR_LEN];

		/* The load's error is the one to report; a failed clear stays for the repair. */
		strcpy(err, ctx->err);
		clear_loaded(ctx, s);
		strcpy(ctx->err, err);
	}
	return r;
}

/*
 * Move the direct holders of @s from @s->from to @s->to (the record is
 * written). On failure before the first resume nothing has changed; a
 * failing resume is retried by dmm__stack_repair().
 */
static int move(struct dmm_ctx *ctx, const struct stack *s,
		const char *key_file, unsigned int *pause_ms)
{
	bool noflush[STACK_LAYERS];
	struct timespec t0;
	sigset_t old;
	unsigned int i;
	int r;

	r = load_tables(ctx, s, key_file);
	if (r)
		return r;
	for (i = 0; i < s->count; i++)
		noflush[i] = queues_io(ctx, s->layer[i].name);

	dmm__hold_signals(&old);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = s->count; i-- > 0;) {
		r = dmm__dm_suspend(ctx, s->layer[i].name, noflush[i]);
		if (r)
			break;
	}
	if (r) {
		char err[DMM_ERR_LEN];

		strcpy(err, ctx->err);
		if (!clear_loaded(ctx, s))
			resume_up(ctx, s);
		strcpy(ctx->err, err);
	} else {
		r = resume_up(ctx, s);
	}
	if (pause_ms)
		*pause_ms = ms_since(&t0);
	dmm__release_signals(&old);
	return r;
}

/*
 * Settle a move of @name that a kill cut short (the caller holds the
 * volume's lock): forward if any direct holder maps the new device
 * already, back otherwise; see the top of this file.
 */
int dmm__stack_repair(struct dmm_ctx *ctx, const char *name)
{
	bool interpose, forward = false;
	struct dmm__dm_dev vol;
	struct stack s;
	unsigned int i;
	int r;

	if (!stack_recorded(name, &s))
		return DMM_OK;
	interpose = !strcmp(s.kind, "interpose");
	r = dmm__dm_info(ctx, name, &vol);
	if (r)
		return r;
	/* An interpose killed before it made the volume has nothing to undo. */
	if (interpose && vol.exists)
		majmin(makedev(vol.major, vol.minor), s.to, sizeof(s.to));
	if (!interpose && vol.exists)
		majmin(makedev(vol.major, vol.minor), s.from, sizeof(s.from));
	for (i = 0; s.to[0] && i < s.count && !forward; i++)
		if (s.layer[i].direct) {
			r = maps(ctx, s.layer[i].name, s.to, &forward);
			if (r)
				return r;
		}
	r = (forward ? DMM_OK : clear_loaded(ctx, &s)) ?: resume_up(ctx, &s);
	if (r)
		return r;
	for (i = 0; forward && i < s.count; i++) {
		bool old;

		if (!s.layer[i].direct)
			continue;
		r = maps(ctx, s.layer[i].name, s.from, &old);
		if (!r && old)
			r = dmm__err(ctx, DMM_EBUSY,
				     "%s still maps %s after an interrupted %s was completed; check it with dmsetup table",
				     s.layer[i].name, s.from, s.kind);
		if (r)
			return r;
	}
	if (vol.exists && interpose != forward) {
		r = dmm__dm_info(ctx, name, &vol);
		if (!r && vol.open_count)
			r = dmm__err(ctx, DMM_EBUSY,
				     "volume %s is still open after an interrupted %s was settled; check its holders with dmsetup ls --tree",
				     name, s.kind);
		r = r ?: interpose ? dmm__dm_remove(ctx, name) :
			dmm__volume_remove(ctx, name);
		if (r)
			return r;
	}
	dmm__log(ctx, DMM_LOG_INFO, "%s: an interrupted %s %s", name, s.kind,
		 forward ? "was completed" : "was undone");
	dmm__state_clear(name, STACK_EXT);
	return DMM_OK;
}

static int repair_locked(struct dmm_ctx *ctx, const char *name)
{
	int r, lock;

	r = dmm__lock(ctx, name, &lock);
	if (r)
		return r;
	r = dmm__stack_repair(ctx, name);
	dmm__volume_unlock(ctx, name, lock);
	if (r)
		dmm__log(ctx, DMM_LOG_ERROR, "%s", ctx->err);
	return r;
}

/* Every move a kill cut short, each under its volume's lock (activate). */
int dmm__stack_repair_all(struct dmm_ctx *ctx)
{
	return dmm__state_each(ctx, STACK_EXT, repair_locked);
}

/*
 * After a move: done, its record goes; failed, the record undoes what it
 * began (or, if even that fails, the next command does). @r is kept.
 */
static void settle(struct dmm_ctx *ctx, const char *name, int r)
{
	char err[DMM_ERR_LEN];

	if (!r) {
		dmm__state_clear(name, STACK_EXT);
		return;
	}
	strcpy(err, ctx->err);
	if (dmm__stack_repair(ctx, name))
		dmm__log(ctx, DMM_LOG_ERROR,
			 "warning: %s; the next dmmigrate command on %s finishes it",
			 ctx->err, name);
	strcpy(ctx->err, err);
}

/*
 * @name exists: an interpose repeated after it succeeded is done, if the
 * volume is over @b and is all that holds it.
 */
static int interposed_over(struct dmm_ctx *ctx, const char *name,
			   const struct dmm__blk *b)
{
	unsigned int i, direct = 0;
	struct dmm__dm_dev info;
	struct dmm_status st;
	struct stack s;
	char dev[32];
	int r;

	r = dmm__volume_read(ctx, name, &st) ?: dmm__dm_info(ctx, name, &info);
	if (r)
		return r;
	majmin(b->dev, dev, sizeof(dev));
	if (strcmp(st.source, dev))
		return dmm__err(ctx, DMM_EBUSY,
				"volume %s already exists over another device; pick another name or remove it first",
				name);
	s.count = 0;
	r = stack_walk(ctx, &s, b->dev, 1, b->name);
	if (r)
		return r;
	for (i = 0; i < s.count; i++)
		if (s.layer[i].direct)
			direct++;
	if (direct != 1 || !layer_find(&s, makedev(info.major, info.minor)))
		return dmm__err(ctx, DMM_EBUSY,
				"volume %s exists over %s, but other devices hold %s too; remove the volume (dmmigrate remove %s) and run the interpose again",
				name, b->name, b->name, name);
	ctx->already_done = true;
	return DMM_OK;
}

/* Interpose @name over @b, which it does not exist over yet. */
static int interpose(struct dmm_ctx *ctx, const char *name,
		     const struct dmm__blk *b, const char *key_file,
		     unsigned int *pause_ms)
{
	struct stack s = { .kind = "interpose" };
	struct dmm__dm_dev info;
	char params[64];
	unsigned int lbs;
	uint64_t bytes;
	int r;

	r = dmm__dev_size(ctx, b, &bytes, &lbs) ?:
	    stack_read(ctx, b->dev, b->name, &s);
	if (r)
		return r;
	if (!s.count)
		return dmm__err(ctx, DMM_EUSAGE,
				"no device-mapper device holds %s; wrap it with 'dmmigrate create %s %s' instead",
				b->name, name, b->name);
	majmin(b->dev, s.from, sizeof(s.from));
	r = stack_record(ctx, name, &s);
	if (r)
		return r;
	snprintf(params, sizeof(params), "%s 0", s.from);
	r = dmm__dm_create(ctx, name, bytes >> SECTOR_SHIFT, "linear", params) ?:
	    dmm__dm_info(ctx, name, &info);
	if (!r) {
		majmin(makedev(info.major, info.minor), s.to, sizeof(s.to));
		r = move(ctx, &s, key_file, pause_ms);
	}
	settle(ctx, name, r);
	return r;
}

int dmm_interpose(struct dmm_ctx *ctx, const char *name, const char *device,
		  const char *key_file, unsigned int *pause_ms)
{
	struct dmm__creating c;
	int r;

	if (pause_ms)
		*pause_ms = 0;
	r = dmm__create_begin(ctx, name, device, &c);
	if (r)
		return r;
	r = c.info.exists ? interposed_over(ctx, name, &c.b) :
	    interpose(ctx, name, &c.b, key_file, pause_ms);
	dmm__create_end(ctx, name, &c);
	return r;
}

int dmm_collapse(struct dmm_ctx *ctx, const char *name, const char *key_file,
		 unsigned int *pause_ms)
{
	struct stack s = { .kind = "collapse" };
	struct dmm__dm_dev info;
	struct dmm_status st;
	char what[DMM_NAME_MAX + 16];
	int r, lock;

	ctx->already_done = false;
	if (pause_ms)
		*pause_ms = 0;
	r = dmm__check_name(ctx, name) ?: dmm__lock(ctx, name, &lock);
	if (r)
		return r;
	r = dmm__repair(ctx, name, NULL) ?: dmm__dm_info(ctx, name, &info);
	/* Gone (a collapse repeated, or completed by the repair): a remove's. */
	if (!r && !info.exists) {
		dmm__volume_unlock(ctx, name, lock);
		return dmm_remove(ctx, name);
	}
	r = r ?: dmm__volume_read(ctx, name, &st);
	if (r)
		goto out;
	if (st.state != DMM_STATE_IDLE) {
		r = dmm__err(ctx, DMM_ESTATE,
			     "volume %s is migrating; confirm or abort it first",
			     name);
		goto out;
	}
	snprintf(what, sizeof(what), "volume %s", name);
	r = dmm__dm_info(ctx, name, &info) ?:
	    stack_read(ctx, makedev(info.major, info.minor), what, &s);
	if (r)
		goto out;
	majmin(makedev(info.major, info.minor), s.from, sizeof(s.from));
	snprintf(s.to, sizeof(s.to), "%s", st.source);
	if (s.count) {
		r = stack_record(ctx, name, &s);
		if (r)
			goto out;
		r = move(ctx, &s, key_file, pause_ms) ?:
		    dmm__volume_remove(ctx, name);
		settle(ctx, name, r);
	} else {
		r = dmm__volume_remove(ctx, name);
	}
out:
	dmm__volume_unlock(ctx, name, lock);
	return r;
}
