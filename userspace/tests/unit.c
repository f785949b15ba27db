// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the parts of libdmmigrate that need no device-mapper:
 * size parsing, status and table lines, JSON, the volume lock. TAP output.
 */
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

static int test_nr, failures;

__attribute__((format(printf, 2, 3)))
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++test_nr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failures += !ok;
}

static void skip(const char *name, const char *why)
{
	printf("ok %d - %s # SKIP %s\n", ++test_nr, name, why);
}

static const struct {
	const char *str;
	int ret;
	uint64_t bytes;
} sizes[] = {
	{ "0", DMM_OK, 0 },
	{ "512", DMM_OK, 512 },
	{ "4K", DMM_OK, 4096 },
	{ "4k", DMM_OK, 4096 },
	{ "10M", DMM_OK, 10485760 },
	{ "1G", DMM_OK, 1073741824 },
	{ "2T", DMM_OK, 2199023255552ULL },
	{ "18446744073709551615", DMM_OK, UINT64_MAX },
	{ "18446744073709551616", DMM_EUSAGE, 0 },
	{ "16777216T", DMM_EUSAGE, 0 },
	{ "", DMM_EUSAGE, 0 },
	{ "K", DMM_EUSAGE, 0 },
	{ "-1", DMM_EUSAGE, 0 },
	{ "1.5M", DMM_EUSAGE, 0 },
	{ "10MB", DMM_EUSAGE, 0 },
	{ "100MiB", DMM_OK, 104857600 },
	{ "4KiB", DMM_OK, 4096 },
	{ "2TiB", DMM_OK, 2199023255552ULL },
	{ "1Gib", DMM_EUSAGE, 0 },
	{ "1GiBs", DMM_EUSAGE, 0 },
	{ "1iB", DMM_EUSAGE, 0 },
	{ "10P", DMM_EUSAGE, 0 },
	{ " 1", DMM_EUSAGE, 0 },
	{ "1 ", DMM_EUSAGE, 0 },
};

static void test_sizes(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t bytes = 0;
		int r = dmm_parse_size(sizes[i].str, &bytes);

		check(r == sizes[i].ret && (r || bytes == sizes[i].bytes),
		      "parse_size '%s' -> %d %llu", sizes[i].str, r,
		      (unsigned long long)bytes);
	}
}

static const struct {
	uint64_t bytes;
	int ret;
} regions[] = {
	{ 4096, DMM_OK }, { 524288, DMM_OK }, { 1ULL << 30, DMM_OK },
	{ 2048, DMM_EUSAGE }, { 1ULL << 31, DMM_EUSAGE },
	{ 12288, DMM_EUSAGE }, { 4097, DMM_EUSAGE }, { 0, DMM_EUSAGE },
};

static void test_regions(struct dmm_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
		check(dmm__check_region(ctx, regions[i].bytes) == regions[i].ret,
		      "region size %llu -> %d",
		      (unsigned long long)regions[i].bytes, regions[i].ret);
}

#define VERIFY_NONE " - 0/2048 0 0 0 0 0 0"
#define GOOD_STATUS "copying 300/2048 1024 0 157286400 9120 8 ok ok 0 0 -" VERIFY_NONE
#define COPY_FIELDS "synced 2048/2048 1024 0 157286400 9120 0 ok ok 0 0 -"

static const char *const bad_status[] = {
	"",
	"copying 300/2048 1024 0 157286400 9120 8 ok ok 0 0 -",
	"copying 300/2048 1024 0 157286400 9120 8 ok ok 0 0" VERIFY_NONE,
	"copying 300/2048 1024 0 157286400 9120 8 ok ok 0 0 -" VERIFY_NONE " extra",
	"idle 300/2048 1024 0 157286400 9120 8 ok ok 0 0 -" VERIFY_NONE,
	"copied 300/2048 1024 0 157286400 9120 8 ok ok 0 0 -" VERIFY_NONE,
	"copying 300 1024 0 157286400 9120 8 ok ok 0 0 -" VERIFY_NONE,
	"copying 300/ 1024 0 157286400 9120 8 ok ok 0 0 -" VERIFY_NONE,
	"copying 3000/2048 1024 0 157286400 9120 8 ok ok 0 0 -" VERIFY_NONE,
	"copying 0/0 1024 0 0 0 0 ok ok 0 0 - - 0/0 0 0 0 0 0 0",
	"copying 300/2048 1024 -1 157286400 9120 8 ok ok 0 0 -" VERIFY_NONE,
	"copying 300/2048 1024 0 1572x6400 9120 8 ok ok 0 0 -" VERIFY_NONE,
	"copying 300/2048 1024 0 157286400 9120 8 sick ok 0 0 -" VERIFY_NONE,
	"copying 300/2048 1024 0 157286400 9120 8 ok - 0 0 -" VERIFY_NONE,
	"copying 300/2048 1024 0 157286400 9120 8 ok ok 0 0 bad" VERIFY_NONE,
	"copying 300/2048 1024 0 157286400 9120 8 ok ok 0 99999999999999999999 -" VERIFY_NONE,
	/* The verify's fields. */
	COPY_FIELDS " checking 0/2048 0 0 0 0 0 0",
	COPY_FIELDS " equal 0 0 0 0 0 0 0",
	COPY_FIELDS " equal 10/2047 10 0 0 5242880 10 0",
	COPY_FIELDS " equal 2049/2048 10 0 0 5242880 10 0",
	COPY_FIELDS " equal 10/2048 11 0 0 5242880 10 0",
	COPY_FIELDS " differ 10/2048 10 11 0 5242880 10 0",
	COPY_FIELDS " differ 10/2048 10 2 3 5242880 10 0",
	COPY_FIELDS " equal 10/2048 10 0 0 5242880 -10 0",
	COPY_FIELDS " equal 10/2048 10 0 0 5242880 10",
	/* Target 1.2's bytes zeroed: a number, at most the bytes copied. */
	GOOD_STATUS " 157286401",
	GOOD_STATUS " 1x",
	GOOD_STATUS " 0 0",
	/* Target 1.3's mode, way back and regions lost. */
	GOOD_STATUS " 0 post-copy",
	GOOD_STATUS " 0 post-copy lost",
	GOOD_STATUS " 0 postcopy possible 0",
	GOOD_STATUS " 0 post-copy gone 0",
	GOOD_STATUS " 0 post-copy lost -1",
	GOOD_STATUS " 0 post-copy lost 1749",
	GOOD_STATUS " 0 pre-copy possible 0 0",
	/* Target 1.4's rate group, budget, limit and weight. */
	GOOD_STATUS " 0 pre-copy possible 0 g 1 2",
	GOOD_STATUS " 0 pre-copy possible 0 g/h 1 2 1",
	GOOD_STATUS " 0 pre-copy possible 0 g 1 2 0",
	GOOD_STATUS " 0 pre-copy possible 0 g x 2 1",
	GOOD_STATUS " 0 pre-copy possible 0 - 1 0 1",
	GOOD_STATUS " 0 pre-copy possible 0 0123456789abcdef0123456789abcdef0 0 0 1",
	GOOD_STATUS " 0 pre-copy possible 0 g 1 2 1 x",
	"waiting 300/2048 1024 0 157286400 9120 8 ok ok 0 0 -" VERIFY_NONE
		" 0 pre-copy possible 0 g 1 2 1",
};

static void test_status(void)
{
	struct dmm_status st = { 0 };
	unsigned int i;
	int r;

	r = dmm__parse_status(GOOD_STATUS, &st);
	check(!r && st.state == DMM_STATE_COPYING &&
	      st.regions_in_sync == 300 && st.regions_total == 2048 &&
	      st.region_sectors == 1024 && st.rate == 0 &&
	      st.bytes_copied == 157286400 && st.copy_ms == 9120 &&
	      st.regions_copying == 8 && st.source_health == DMM_HEALTH_OK &&
	      st.dest_health == DMM_HEALTH_OK && !st.source_errors &&
	      !st.dest_errors && st.metadata_health == DMM_HEALTH_NONE,
	      "status: the documented example parses");

	r = dmm__parse_status("halted 7/8 8 10485760 1 2 0 failed ok 3 4 failed"
			      " failed 5/8 4 1 0 16384 3 0", &st);
	check(!r && st.state == DMM_STATE_HALTED &&
	      st.source_health == DMM_HEALTH_FAILED && st.source_errors == 3 &&
	      st.dest_errors == 4 && st.rate == 10485760 &&
	      st.metadata_health == DMM_HEALTH_FAILED &&
	      st.verify_state == DMM_VERIFY_FAILED && st.verify_passed == 5 &&
	      st.verify_compared == 4 && st.verify_differ == 1,
	      "status: halted with a failed source and verify parses");

	r = dmm__parse_status(COPY_FIELDS " differ 2048/2048 2000 3 3 1048576000 2000 2",
			      &st);
	check(!r && dmm_status_verify_state(&st) == DMM_VERIFY_DIFFER &&
	      dmm_status_verify_compared(&st) == 2000 &&
	      dmm_status_verify_differ(&st) == 3 &&
	      dmm_status_verify_repaired(&st) == 3 &&
	      dmm_status_verify_percent(&st) == 100.0 &&
	      dmm_status_verify_bytes_per_second(&st) == 524288000 &&
	      dmm_status_verify_restarts(&st) == 2,
	      "status: a verify that found and repaired differences parses");

	r = dmm__parse_status(GOOD_STATUS " 1048576", &st);
	check(!r && dmm_status_bytes_zeroed(&st) == 1048576 &&
	      st.bytes_copied == 157286400,
	      "status: target 1.2's bytes zeroed parse");
	r = dmm__parse_status(GOOD_STATUS, &st);
	check(!r && dmm_status_bytes_zeroed(&st) == 0,
	      "status: a 1.1 line has no bytes zeroed");
	check(!dmm_status_post_copy(&st) && dmm_status_rollback_possible(&st) &&
	      !dmm_status_regions_lost(&st),
	      "status: a 1.1 line is pre-copy, abort possible, nothing lost");
	r = dmm__parse_status(GOOD_STATUS " 0 post-copy lost 1748", &st);
	check(!r && dmm_status_post_copy(&st) && !dmm_status_rollback_possible(&st) &&
	      dmm_status_regions_lost(&st) == 1748,
	      "status: target 1.3's post-copy, way back lost, regions lost parse");
	r = dmm__parse_status(GOOD_STATUS " 0 pre-copy possible 0", &st);
	check(!r && !dmm_status_post_copy(&st) && dmm_status_rollback_possible(&st),
	      "status: target 1.3's pre-copy parses");
	check(!*dmm_status_group(&st) && dmm_status_weight(&st) == 1,
	      "status: a 1.3 line is in no group, of weight 1");
	r = dmm__parse_status("queued 0/2048 1024 0 0 0 0 ok ok 0 0 -" VERIFY_NONE
			      " 0 pre-copy possible 0 fleet.a-1_b 4194304 4 3", &st);
	check(!r && dmm_status_state(&st) == DMM_STATE_QUEUED &&
	      !strcmp(dmm_state_name(DMM_STATE_QUEUED), "queued") &&
	      !strcmp(dmm_status_group(&st), "fleet.a-1_b") &&
	      dmm_status_group_rate(&st) == 4194304 &&
	      dmm_status_group_max_active(&st) == 4 && dmm_status_weight(&st) == 3,
	      "status: target 1.4's queued member of a group parses");
	r = dmm__parse_status(GOOD_STATUS " 0 pre-copy possible 0 - 0 0 1", &st);
	check(!r && !*dmm_status_group(&st) && !dmm_status_group_rate(&st) &&
	      dmm_status_weight(&st) == 1,
	      "status: target 1.4 out of a group parses");

	for (i = 0; i < sizeof(bad_status) / sizeof(bad_status[0]); i++)
		check(dmm__parse_status(bad_status[i], &st) == -EINVAL,
		      "status: malformed line %u refused", i);
}

static void test_table(void)
{
	struct dmm_status st = { 0 };

	check(!dmm__parse_table("253:1 254:16 - 1024 19 fresh paused rate 1 pair_id a window 8 "
				"copy_jobs 2 commit_period 10 post_copy group g 1 4 weight 2",
				&st) && st.region_sectors == 1024,
	      "table: every feature of target 1.4 parses");
	check(!dmm__parse_table("253:1 254:16 - 1024 2 rate 10485760", &st) &&
	      !strcmp(st.source, "253:1") && !strcmp(st.dest, "254:16") &&
	      !st.metadata[0] && st.region_sectors == 1024,
	      "table: with features parses");
	check(!dmm__parse_table("8:0 8:16 7:3 8", &st) &&
	      !strcmp(st.metadata, "7:3") && st.region_sectors == 8,
	      "table: with metadata, no features parses");
	check(!dmm__parse_table("253:1 254:16 7:3 1024 5 paused rate 1 pair_id 0123456789abcdef",
				&st) && !strcmp(st.metadata, "7:3"),
	      "table: with metadata and pair_id parses");
	check(!dmm__parse_table("253:1 254:16 7:3 1024 12 paused rate 1 pair_id ab window 8 copy_jobs 2 commit_period 10 post_copy",
				&st) && !strcmp(st.metadata, "7:3"),
	      "table: every feature and post_copy parses");
	check(dmm__parse_table("253:1 254:16 - 1024 3 rate 1", &st) == -EINVAL,
	      "table: wrong feature count refused");
	check(dmm__parse_table("/dev/sda 254:16 - 1024", &st) == -EINVAL,
	      "table: device not major:minor refused");
	check(dmm__parse_table("253:1 254:16 -", &st) == -EINVAL,
	      "table: missing region size refused");
}

/* Devices 4094:x do not exist, so JSON shows them as major:minor. */
static const char json_copying[] =
	"{\"name\":\"vol0\",\"state\":\"copying\",\"source\":\"4094:1\","
	"\"source_dev\":\"4094:1\",\"destination\":\"4094:2\","
	"\"destination_dev\":\"4094:2\",\"metadata\":null,"
	"\"size\":1073741824,\"region_size\":524288,"
	"\"regions_in_sync\":300,\"regions_total\":2048,\"percent\":14.65,"
	"\"rate_limit\":0,\"bytes_per_second\":17246315,"
	"\"bytes_copied\":157286400,\"bytes_zeroed\":0,\"seconds_remaining\":54,"
	"\"mode\":\"pre-copy\",\"rollback\":\"possible\",\"regions_lost\":0,"
	"\"source_health\":\"ok\",\"destination_health\":\"ok\","
	"\"metadata_health\":null,\"source_errors\":0,"
	"\"destination_errors\":0,\"errors\":0,\"verify\":null,\"group\":null,"
	"\"group_rate\":0,\"group_max_active\":0,\"weight\":1}";

static const char json_idle[] =
	"{\"name\":\"vol\\\"1\",\"state\":\"idle\",\"source\":\"4094:1\","
	"\"source_dev\":\"4094:1\",\"destination\":null,"
	"\"destination_dev\":null,\"metadata\":null,\"size\":4096,"
	"\"region_size\":null,\"regions_in_sync\":null,"
	"\"regions_total\":null,\"percent\":null,\"rate_limit\":null,"
	"\"bytes_per_second\":null,\"bytes_copied\":null,\"bytes_zeroed\":null,"
	"\"seconds_remaining\":null,\"mode\":null,\"rollback\":null,"
	"\"regions_lost\":null,\"source_health\":null,"
	"\"destination_health\":null,\"metadata_health\":null,"
	"\"source_errors\":null,\"destination_errors\":null,"
	"\"errors\":null,\"verify\":null,\"group\":null,\"group_rate\":null,"
	"\"group_max_active\":null,\"weight\":null}";

static const char json_verifying[] =
	"{\"name\":\"vol0\",\"state\":\"synced\",\"source\":\"4094:1\","
	"\"source_dev\":\"4094:1\",\"destination\":\"4094:2\","
	"\"destination_dev\":\"4094:2\",\"metadata\":null,"
	"\"size\":1073741824,\"region_size\":524288,"
	"\"regions_in_sync\":2048,\"regions_total\":2048,\"percent\":100.00,"
	"\"rate_limit\":0,\"bytes_per_second\":17246315,"
	"\"bytes_copied\":157286400,\"bytes_zeroed\":0,\"seconds_remaining\":0,"
	"\"mode\":\"pre-copy\",\"rollback\":\"possible\",\"regions_lost\":0,"
	"\"source_health\":\"ok\",\"destination_health\":\"ok\","
	"\"metadata_health\":null,\"source_errors\":0,"
	"\"destination_errors\":0,\"errors\":0,\"verify\":{"
	"\"state\":\"verifying\",\"percent\":50.00,\"regions_passed\":1024,"
	"\"regions_compared\":1000,\"regions_differ\":2,"
	"\"regions_repaired\":0,\"bytes_compared\":524288000,"
	"\"bytes_per_second\":524288000,\"seconds_remaining\":2,\"restarts\":1},"
	"\"group\":null,\"group_rate\":0,\"group_max_active\":0,\"weight\":1}";

static void check_json(const struct dmm_status *st, const char *want,
		       const char *name)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	dmm_status_print_json(st, f);
	fclose(f);
	check(!strcmp(buf, want), "json: %s", name);
	if (strcmp(buf, want))
		printf("# got:  %s\n# want: %s\n", buf, want);
	free(buf);
}

/*
 * A caller that set a locale whose decimal point is a comma (an
 * orchestrator, a desktop) still gets JSON numbers. The locale must be
 * there (make check makes it with localedef); otherwise the case says it
 * was skipped.
 */
static void check_json_in_locale(const struct dmm_status *st, const char *want,
				 const char *locale)
{
	char name[64], num[16];

	snprintf(name, sizeof(name), "numbers under %s", locale);
	if (!setlocale(LC_ALL, locale)) {
		skip(name, "locale not installed (make check generates it)");
		return;
	}
	/* Prove the locale is in force: printf itself writes a comma. */
	snprintf(num, sizeof(num), "%.2f", 0.5);
	check(!strcmp(num, "0,50"), "%s: printf writes %s", locale, num);
	check_json(st, want, name);
	setlocale(LC_ALL, "C");
}

/* A holder's table: its device fields replaced, nothing else. */
static void test_stack_table(void)
{
	static const struct {
		const char *in, *out;
		int count;
	} cases[] = {
		{ "254:16 2048", "253:3 2048", 1 },
		{ "2 64 254:16 0 254:160 0", "2 64 253:3 0 254:160 0", 1 },
		{ "aes-xts-plain64 :64:logon:cryptsetup:1254:16-d0 0 254:16 32768",
		  "aes-xts-plain64 :64:logon:cryptsetup:1254:16-d0 0 253:3 32768", 1 },
		{ "0 0 1 1 round-robin 0 2 1 254:16 1 254:16 1",
		  "0 0 1 1 round-robin 0 2 1 253:3 1 253:3 1", 2 },
		{ "254:1 0", "254:1 0", 0 },
		{ "8:0  254:16", "8:0  253:3", 1 },
	};
	char desc[64];
	unsigned int i;
	char *p;
	int n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = strdup(cases[i].in);
		n = p ? dmm__table_replace_dev(&p, "254:16", "253:3") : -1;
		check(n == cases[i].count && !strcmp(p, cases[i].out),
		      "stack: '%s' -> '%s' (%d replaced)", cases[i].in, p, n);
		free(p);
	}
	check(dmm__crypt_key_desc("aes-xts-plain64 :64:logon:cryptsetup:ab-d0 0 8:0 0",
				  desc, sizeof(desc)) &&
	      !strcmp(desc, "cryptsetup:ab-d0"),
	      "crypt: the keyring description of a key by reference");
	check(!dmm__crypt_key_desc("aes-xts-plain64 00ff 0 8:0 0", desc,
				   sizeof(desc)) &&
	      !dmm__crypt_key_desc("aes-xts-plain64 - 0 8:0 0", desc,
				   sizeof(desc)),
	      "crypt: a key in the table or none is no reference");
}

static void test_json(void)
{
	struct dmm_status st = { .name = "vol0", .len_sectors = 2097152 };

	dmm__parse_table("4094:1 4094:2 - 1024", &st);
	dmm__parse_status(GOOD_STATUS, &st);
	check(dmm_status_bytes_per_second(&st) == 17246315,
	      "throughput = bytes copied * 1000 / copy ms");
	check(dmm_status_seconds_remaining(&st) == 54,
	      "seconds remaining rounds up");
	check_json(&st, json_copying, "copying volume");
	check_json_in_locale(&st, json_copying, "de_DE.UTF-8");

	st.state = DMM_STATE_SYNCED;
	st.regions_in_sync = st.regions_total;
	check(dmm_status_seconds_remaining(&st) == 0 &&
	      dmm_status_percent(&st) == 100.0, "synced: 100%%, 0 s left");
	st.state = DMM_STATE_HALTED;
	check(dmm_status_seconds_remaining(&st) == -1,
	      "halted: time left unknown");

	dmm__parse_status(COPY_FIELDS " verifying 1024/2048 1000 2 0 524288000 1000 1",
			  &st);
	check_json(&st, json_verifying, "volume being verified");

	memset(&st, 0, sizeof(st));
	strcpy(st.name, "vol\"1");
	strcpy(st.source, "4094:1");
	st.len_sectors = 8;
	check_json(&st, json_idle, "idle volume, name escaped");
}

static void test_lock(struct dmm_ctx *ctx)
{
	int ready[2], fd, fd2, r, status;
	const char *name = "dmm-unit-lock";
	pid_t pid;
	char c;

	if (geteuid()) {
		skip("lock: a second locker is refused", "needs root");
		skip("lock: free after the holder exits", "needs root");
		return;
	}
	if (pipe(ready))
		return;
	pid = fork();
	if (!pid) {
		if (dmm__lock(ctx, name, &fd))
			_exit(1);
		write(ready[1], "x", 1);
		sleep(2);
		_exit(0);
	}
	close(ready[1]);
	r = read(ready[0], &c, 1);
	close(ready[0]);

	ctx->lock_wait_ms = 100;
	r = r == 1 ? dmm__lock(ctx, name, &fd2) : -1;
	check(r == DMM_EBUSY && strstr(dmm_last_error(ctx), "busy"),
	      "lock: a second locker is refused (%d: %s)", r,
	      dmm_last_error(ctx));
	if (!r)
		dmm__unlock(fd2);

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	r = dmm__lock(ctx, name, &fd2);
	check(!r, "lock: free after the holder dies");
	if (!r)
		dmm__unlock(fd2);
	ctx->lock_wait_ms = DMM_LOCK_WAIT_MS;
}

static void test_name(struct dmm_ctx *ctx)
{
	check(!dmm__check_name(ctx, "vol-0.a_b+c"), "name: plain name ok");
	check(dmm__check_name(ctx, "a/b") == DMM_EUSAGE &&
	      strchr(dmm_last_error(ctx), ';'),
	      "name: slash refused with a hint");
	check(dmm__check_name(ctx, "..") == DMM_EUSAGE, "name: '..' refused");
	check(dmm__check_name(ctx, "") == DMM_EUSAGE, "name: empty refused");
}

static void test_record(void)
{
	struct dmm__record rec = {
		.state = DMM_REC_CONFIRMING,
		.region_sectors = 1024,
		.target_sectors = 2097152,
		.rate = 10485760,
		.name = "vol0",
		.source_id = "virtio-src0",
		.dest_id = "wwid-naa.5000c500a1b2c3d4",
		.metadata_id = "loop-/var/tmp/meta.img",
	}, out;
	static unsigned char blk[DMM_MD_BLOCK];
	char pair[DMM_PAIR_ID_LEN];

	check(dmm__crc32c("123456789", 9) == 0xe3069283,
	      "crc32c(\"123456789\") = 0xe3069283");
	check(dmm__crc32c("", 0) == 0, "crc32c of nothing = 0");

	dmm__record_encode(&rec, blk);
	check(dmm__get_le64(blk + 8) == 0x4c4f4f544d4d4444ULL &&
	      !memcmp(blk + 8, "DDMMTOOL", 8) && blk[4] == 1 && blk[16] == 2 &&
	      !strcmp((char *)blk + 40, "vol0") &&
	      !strcmp((char *)blk + 168, "virtio-src0") &&
	      !strcmp((char *)blk + 424, rec.dest_id) &&
	      !strcmp((char *)blk + 680, rec.metadata_id),
	      "record: fields at their documented offsets");
	check(dmm__record_decode(blk, &out) == DMM__REC_VALID &&
	      !memcmp(&rec, &out, sizeof(rec)), "record: roundtrip");
	blk[300] ^= 0x40;
	check(dmm__record_decode(blk, &out) == DMM__REC_CORRUPT,
	      "record: a flipped byte fails the checksum");
	blk[300] ^= 0x40;
	blk[0] ^= 1;
	check(dmm__record_decode(blk, &out) == DMM__REC_CORRUPT,
	      "record: a wrong checksum is refused");
	memset(blk, 0, sizeof(blk));
	check(dmm__record_decode(blk, &out) == DMM__REC_NONE,
	      "record: zeros are no record");

	rec.state = 7;
	dmm__record_encode(&rec, blk);
	check(dmm__record_decode(blk, &out) == DMM__REC_VALID &&
	      out.state == DMM_REC_NONE, "record: unknown state = no migration");

	/* 1 GiB in 512 KiB regions: 2048 regions, 1 bitmap block. */
	check(dmm__md_blocks(2097152, 1024) == 3 &&
	      dmm__md_blocks(32640ULL * 8, 8) == 3 &&
	      dmm__md_blocks(32641ULL * 8, 8) == 4 &&
	      dmm__md_blocks(1, 8) == 3,
	      "metadata blocks = 2 + ceil(regions / 32640)");
	dmm__pair_id(&rec, pair, sizeof(pair));
	check(strlen(pair) == 16 &&
	      strspn(pair, "0123456789abcdef") == 16,
	      "pair_id: 16 hex digits (%s)", pair);
}

int main(void)
{
	struct dmm_ctx *ctx;

	printf("TAP version 13\n");
	if (dmm_ctx_new(&ctx))
		return 1;
	test_sizes();
	test_regions(ctx);
	test_status();
	test_table();
	test_json();
	test_stack_table();
	test_name(ctx);
	test_lock(ctx);
	test_record();
	dmm_ctx_free(ctx);
	printf("1..%d\n", test_nr);
	return failures ? 1 : 0;
}
