// SPDX-License-Identifier: GPL-2.0
/*
 * dmm-fuzz: feed the migrate target generated table lines, messages and
 * sequences of device-mapper operations, straight through the dm ioctls so
 * that thousands fit in a test run under an emulated CPU.
 *
 *   dmm-fuzz [-s SEED] [-n CASES] [-l NAME] DEVICE...
 *
 * Table mode (default): CASES devices are created, each given random table
 * lines (half of them valid on the first three DEVICEs, as source,
 * destination and metadata, but for at most one flaw; the others with wrong
 * counts, huge and negative numbers, odd region sizes, missing and repeated
 * features, a device twice, DEVICEs and names that do not exist) and
 * random messages, suspends, resumes, reloads, clears and status
 * queries, then removed. Live mode (-l NAME): CASES random operations on an
 * existing, in-use migrate device, with table lines kept valid for it, so
 * that a workload on it must come through unharmed.
 *
 * Every operation must work or be refused with an error code; a refused
 * load or message must leave the live table line as it was, and no device
 * may be left behind. The kernel's side (oops, KASAN, lockdep, leaks) is
 * judged from the VM's console. Exit 0 when all held, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dm-ioctl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 16384
#define NAME_PREFIX "dmmfz"

static int ctl_fd;
static uint64_t rng_state;
static char **devs;
static int nr_devs;
static unsigned long nr_ok, nr_refused, nr_failures;
static unsigned long nr_loads, nr_loads_ok, nr_msgs, nr_msgs_ok;

/* xorshift64*: a seed replays a run exactly. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned int pick(unsigned int n)
{
	return rnd() % n;
}

static void failure(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# FAILURE: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	nr_failures++;
}

union dm_buf {
	struct dm_ioctl io;
	char bytes[BUF_SIZE];
};

static void dm_init(union dm_buf *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->io.version[0] = DM_VERSION_MAJOR;
	b->io.version[1] = 0;
	b->io.version[2] = 0;
	b->io.data_size = sizeof(*b);
	b->io.data_start = sizeof(struct dm_ioctl);
	snprintf(b->io.name, sizeof(b->io.name), "%s", name);
}

/* Returns 0 or the errno of a refusal. */
static int dm_call(unsigned long cmd, union dm_buf *b)
{
	return ioctl(ctl_fd, cmd, b) ? errno : 0;
}

static int dm_simple(unsigned long cmd, const char *name, uint32_t flags)
{
	union dm_buf b;

	dm_init(&b, name);
	b.io.flags = flags;
	return dm_call(cmd, &b);
}

/* The live table line, or "" when there is none or the query failed. */
static void dm_table_line(const char *name, char *out, size_t len)
{
	union dm_buf b;
	struct dm_target_spec *spec;

	out[0] = '\0';
	dm_init(&b, name);
	b.io.flags = DM_STATUS_TABLE_FLAG;
	if (dm_call(DM_TABLE_STATUS, &b) || !b.io.target_count)
		return;
	spec = (struct dm_target_spec *)(b.bytes + b.io.data_start);
	snprintf(out, len, "%llu %llu %s %s",
		 (unsigned long long)spec->sector_start,
		 (unsigned long long)spec->length, spec->target_type,
		 (char *)(spec + 1));
}

static int dm_load(const char *name, uint64_t len, const char *params)
{
	union dm_buf b;
	struct dm_target_spec *spec;
	int err;

	dm_init(&b, name);
	spec = (struct dm_target_spec *)(b.bytes + b.io.data_start);
	b.io.target_count = 1;
	spec->length = len;
	snprintf(spec->target_type, sizeof(spec->target_type), "migrate");
	snprintf((char *)(spec + 1), BUF_SIZE - sizeof(b.io) - sizeof(*spec) - 8,
		 "%s", params);
	spec->next = sizeof(*spec) + ((strlen((char *)(spec + 1)) + 8) & ~7UL);
	err = dm_call(DM_TABLE_LOAD, &b);
	nr_loads++;
	nr_loads_ok += !err;
	return err;
}

static int dm_message(const char *name, uint64_t sector, const char *msg)
{
	union dm_buf b;
	struct dm_target_msg *tmsg;
	int err;

	dm_init(&b, name);
	tmsg = (struct dm_target_msg *)(b.bytes + b.io.data_start);
	tmsg->sector = sector;
	snprintf(tmsg->message, BUF_SIZE - sizeof(b.io) - sizeof(*tmsg), "%s", msg);
	err = dm_call(DM_TARGET_MSG, &b);
	nr_msgs++;
	nr_msgs_ok += !err;
	return err;
}

static uint64_t dev_sectors(const char *path)
{
	char sysfs[256], line[64];
	const char *base = strrchr(path, '/');
	FILE *f;
	uint64_t n = 0;

	/* /dev/mapper names are symlinks; their size is read through dmN. */
	if (realpath(path, sysfs))
		base = strrchr(sysfs, '/');
	snprintf(line, sizeof(line), "%s", base ? base + 1 : path);
	snprintf(sysfs, sizeof(sysfs), "/sys/class/block/%s/size", line);
	f = fopen(sysfs, "r");
	if (f) {
		if (fscanf(f, "%" SCNu64, &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

/* Appends " word" to a line being built. */
static void add(char *line, size_t len, const char *fmt, ...)
{
	size_t used = strlen(line);
	va_list ap;

	if (used + 1 >= len)
		return;
	line[used++] = ' ';
	va_start(ap, fmt);
	vsnprintf(line + used, len - used, fmt, ap);
	va_end(ap);
}

static const char *odd_number(void)
{
	static const char *const numbers[] = {
		"0", "1", "-1", "-8", "7", "4", "8x", "0x10", " ", "",
		"4294967296", "18446744073709551615", "18446744073709551616",
		"99999999999999999999999999", "+8", "1e3", "-0",
	};

	return numbers[pick(sizeof(numbers) / sizeof(numbers[0]))];
}

static const char *device_arg(void)
{
	static const char *const bogus[] = {
		"/dev/nonexistent", "0:0", "999:999", "-", "abc", "/dev/null",
		"/", "253:9999", "7:1048575",
	};

	if (pick(8))
		return devs[pick(nr_devs)];
	return bogus[pick(sizeof(bogus) / sizeof(bogus[0]))];
}

static void gen_features(char *line, size_t len, bool live)
{
	unsigned int i, n = pick(4);
	char feats[256] = "";
	unsigned int words = 0;

	for (i = 0; i < n; i++) {
		switch (pick(live ? 4 : 10)) {
		case 0:
			add(feats, sizeof(feats), "paused");
			words++;
			break;
		case 1:
			add(feats, sizeof(feats), "rate %" PRIu64,
			    (uint64_t)1 << pick(34));
			words += 2;
			break;
		case 2:	/* live tables of the fuzz share two rate groups */
			add(feats, sizeof(feats), "group g%u %" PRIu64 " %u", pick(2),
			    pick(2) ? (uint64_t)1 << (16 + pick(16)) : 0, pick(4));
			words += 4;
			break;
		case 3:
			add(feats, sizeof(feats), "weight %u", 1 + pick(1000));
			words += 2;
			break;
		case 4:
			add(feats, sizeof(feats), "group %s %s %s", pick(2) ? "-" : "a/b",
			    odd_number(), odd_number());
			words += 4;
			break;
		case 5:
			add(feats, sizeof(feats), "weight %s", odd_number());
			words += 2;
			break;
		case 6:
			add(feats, sizeof(feats), "rate %s", odd_number());
			words += 2;
			break;
		case 7:
			add(feats, sizeof(feats), "pair_id %s", pick(2) ?
			    "pair-1" : "0123456789012345678901234567890123456789012345678901234567890123456789");
			words += 2;
			break;
		case 8:
			add(feats, sizeof(feats), "fresh");
			words++;
			break;
		default:
			add(feats, sizeof(feats), pick(2) ? "turbo" : "PAUSED");
			words++;
			break;
		}
	}
	/* Live tables keep their words counted right, or the load is refused. */
	if (!n && (live || pick(2)))
		return;
	if (live || pick(4))
		add(line, len, "%u", words);
	else
		add(line, len, "%s", odd_number());
	add(line, len, "%s", feats + (feats[0] == ' '));
}

/*
 * A valid table line on the first DEVICEs (source, destination, metadata)
 * with at most one flaw, so that the loads that work, and what follows
 * them, are fuzzed as well as the refusals.
 */
static uint64_t gen_near_valid_table(char *params, size_t len)
{
	unsigned int flaw = pick(12);
	uint64_t sectors = dev_sectors(devs[0]);

	params[0] = '\0';
	add(params, len, "%s", flaw == 0 ? device_arg() : devs[0]);
	add(params, len, "%s", flaw == 1 ? devs[0] : devs[1]);
	add(params, len, "%s", flaw == 2 ? device_arg() : pick(4) ? "-" : devs[2]);
	if (flaw == 3)
		add(params, len, "%s", odd_number());
	else
		add(params, len, "%u", 8u << pick(11));
	gen_features(params, len, flaw != 4);
	if (flaw == 5)
		add(params, len, "extra");
	memmove(params, params + 1, strlen(params));
	return flaw == 6 ? sectors + 8 : sectors;
}

/* A table line for the migrate target: half near valid, half anything. */
static uint64_t gen_table(char *params, size_t len)
{
	const char *src, *dst;
	uint64_t sectors;

	if (nr_devs >= 3 && pick(2))
		return gen_near_valid_table(params, len);
	src = device_arg();
	dst = device_arg();
	sectors = dev_sectors(src);
	params[0] = '\0';
	if (!pick(10)) {	/* the same device twice */
		dst = src;
	}
	add(params, len, "%s", src);
	if (pick(20))
		add(params, len, "%s", dst);
	if (pick(20))
		add(params, len, "%s", pick(3) ? "-" : device_arg());
	if (pick(8))
		add(params, len, "%u", 8u << pick(19));
	else
		add(params, len, "%s", odd_number());
	gen_features(params, len, false);
	if (!pick(20))
		add(params, len, "extra");
	memmove(params, params + 1, strlen(params));

	switch (pick(6)) {
	case 0:
		return sectors + 8;		/* longer than the source */
	case 1:
		return 0;
	case 2:
		return (sectors / 2) | 1;	/* not a whole block */
	case 3:
		return (uint64_t)1 << 62;
	default:
		return sectors ? sectors : 2048;
	}
}

static void gen_message(char *msg, size_t len)
{
	static const char *const words[] = {
		"pause", "resume", "rate", "PAUSE", "Resume", "confirm", "abort",
		"", "rate rate", "pause pause", "\x01\xff", "resume now",
		"verify", "verify repair", "verify stop", "verify report",
		"VERIFY Repair rate 4096", "verify rate", "verify now",
		"verify stop stop", "verify repair repair",
		"group", "group -", "group g0", "group - 1 1", "group g0 1 1 1",
		"group a/b 1 1", "GROUP g1 0 0",
	};

	msg[0] = '\0';
	switch (pick(5)) {
	case 0:
		snprintf(msg, len, "rate %" PRIu64, (uint64_t)1 << pick(40));
		break;
	case 1:
		snprintf(msg, len, "rate %s", odd_number());
		break;
	case 2:
		snprintf(msg, len, "group g%u %" PRIu64 " %s", pick(2),
			 (uint64_t)1 << pick(40), pick(2) ? "2" : odd_number());
		break;
	default:
		snprintf(msg, len, "%s", words[pick(sizeof(words) / sizeof(words[0]))]);
		break;
	}
}

static void count(int err)
{
	if (err)
		nr_refused++;
	else
		nr_ok++;
}

/*
 * One random operation on a device. A refused load or message must leave
 * the live table line unchanged. @table/@len give the live mode's one valid
 * table; NULL means generate anything.
 */
static void random_op(const char *name, const char *table, uint64_t len)
{
	char before[1024], after[1024], params[1024], msg[256];
	uint64_t sectors;
	int err;

	dm_table_line(name, before, sizeof(before));
	switch (pick(table ? 7 : 9)) {
	case 0:
	case 1:
		gen_message(msg, sizeof(msg));
		err = dm_message(name, pick(8) ? 0 : rnd() % (1ULL << 40), msg);
		count(err);
		dm_table_line(name, after, sizeof(after));
		if (err && strcmp(before, after))
			failure("refused message '%s' changed the table: '%s' -> '%s'",
				msg, before, after);
		break;
	case 2:
		if (table) {
			/* The same legs, other features. */
			snprintf(params, sizeof(params), "%s", table);
			gen_features(params, sizeof(params), true);
			sectors = len;
		} else {
			sectors = gen_table(params, sizeof(params));
		}
		err = dm_load(name, sectors, params);
		count(err);
		dm_table_line(name, after, sizeof(after));
		if (strcmp(before, after))
			failure("a load changed the live table: '%s' -> '%s'",
				before, after);
		/* Most loads go live; the rest stay inactive or are cleared. */
		if (!err && pick(4))
			count(dm_simple(DM_DEV_SUSPEND, name, 0));
		else if (!err && pick(2))
			count(dm_simple(DM_TABLE_CLEAR, name, 0));
		break;
	case 3:
		count(dm_simple(DM_DEV_SUSPEND, name, DM_SUSPEND_FLAG));
		if (pick(2))
			usleep(pick(50000));
		break;
	case 4:
		count(dm_simple(DM_DEV_SUSPEND, name,
				DM_SUSPEND_FLAG | DM_NOFLUSH_FLAG));
		break;
	case 5:
		count(dm_simple(DM_DEV_SUSPEND, name, 0));
		break;
	case 6:
		count(dm_simple(DM_TABLE_STATUS, name, 0));
		count(dm_simple(DM_TABLE_STATUS, name, DM_STATUS_TABLE_FLAG));
		if (pick(2))
			usleep(pick(100000));
		break;
	case 7:
		count(dm_simple(DM_TABLE_CLEAR, name, 0));
		break;
	default:
		count(dm_simple(DM_DEV_STATUS, name, 0));
		break;
	}
}

static void table_case(unsigned long n)
{
	char name[64], params[1024];
	uint64_t len;
	unsigned int ops;
	int err;

	snprintf(name, sizeof(name), NAME_PREFIX "%lu", n);
	err = dm_simple(DM_DEV_CREATE, name, 0);
	if (err) {
		failure("create %s: %s", name, strerror(err));
		return;
	}
	len = gen_table(params, sizeof(params));
	err = dm_load(name, len, params);
	count(err);
	if (!err)
		count(dm_simple(DM_DEV_SUSPEND, name, 0));
	for (ops = pick(12); ops; ops--)
		random_op(name, NULL, 0);
	/* Removing a suspended device resumes nothing; dm allows it. */
	err = dm_simple(DM_DEV_REMOVE, name, 0);
	if (err)
		failure("remove %s: %s (last table '%s')", name, strerror(err), params);
}

static void live_case(const char *name)
{
	char line[1024], *p;
	uint64_t start, len;
	int skip;

	/* The table line minus its feature words: "<src> <dst> <md> <region>". */
	dm_table_line(name, line, sizeof(line));
	if (sscanf(line, "%" SCNu64 " %" SCNu64 " migrate %n", &start, &len, &skip) != 2 ||
	    !skip) {
		failure("%s: not a migrate device: '%s'", name, line);
		return;
	}
	p = line + skip;
	for (int words = 0; *p && words < 4; words++) {
		p += strcspn(p, " ");
		if (words < 3)
			p += strspn(p, " ");
	}
	*p = '\0';
	random_op(name, line + skip, len);
}

static void leftovers(void)
{
	union dm_buf b;
	struct dm_name_list *nl;
	uint32_t next = 0;

	dm_init(&b, "");
	if (dm_call(DM_LIST_DEVICES, &b)) {
		failure("list devices: %s", strerror(errno));
		return;
	}
	nl = (struct dm_name_list *)(b.bytes + b.io.data_start);
	if (!nl->dev)
		return;
	do {
		nl = (struct dm_name_list *)((char *)nl + next);
		if (!strncmp(nl->name, NAME_PREFIX, strlen(NAME_PREFIX)))
			failure("device %s left behind", nl->name);
		next = nl->next;
	} while (next);
}

int main(int argc, char **argv)
{
	unsigned long cases = 1000, i;
	const char *live = NULL;
	int opt;

	rng_state = (uint64_t)getpid() << 20 ^ (uint64_t)time(NULL);
	while ((opt = getopt(argc, argv, "s:n:l:")) != -1) {
		switch (opt) {
		case 's':
			rng_state = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			cases = strtoul(optarg, NULL, 0);
			break;
		case 'l':
			live = optarg;
			break;
		default:
			fprintf(stderr, "usage: dmm-fuzz [-s SEED] [-n CASES] [-l NAME] DEVICE...\n");
			return 2;
		}
	}
	if (!rng_state)
		rng_state = 1;
	devs = argv + optind;
	nr_devs = argc - optind;
	if (!nr_devs && !live) {
		fprintf(stderr, "dmm-fuzz: no devices\n");
		return 2;
	}
	ctl_fd = open("/dev/mapper/control", O_RDWR);
	if (ctl_fd < 0) {
		perror("dmm-fuzz: /dev/mapper/control");
		return 2;
	}
	printf("# dmm-fuzz: seed %" PRIu64 ", %lu cases%s%s\n", rng_state, cases,
	       live ? " on " : "", live ? live : "");
	for (i = 0; i < cases; i++) {
		if (live)
			live_case(live);
		else
			table_case(i);
	}
	if (live)	/* leave it running */
		dm_simple(DM_DEV_SUSPEND, live, 0);
	else
		leftovers();
	printf("# dmm-fuzz: %lu operations worked, %lu refused (table loads %lu of %lu, messages %lu of %lu worked), %lu failures\n",
	       nr_ok, nr_refused, nr_loads_ok, nr_loads, nr_msgs_ok, nr_msgs,
	       nr_failures);
	return nr_failures ? 1 : 0;
}
