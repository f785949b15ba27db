// SPDX-License-Identifier: LGPL-2.1-or-later
/* Sizes, rates and durations: parsing and formatting. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char suffixes[] = "KMGT";

int dmm_parse_size(const char *str, uint64_t *bytes)
{
	uint64_t val = 0, mult = 1;
	const char *p = str, *s;

	if (!isdigit((unsigned char)*p))
		return DMM_EUSAGE;
	for (; isdigit((unsigned char)*p); p++) {
		if (val > (UINT64_MAX - (*p - '0')) / 10)
			return DMM_EUSAGE;
		val = val * 10 + (*p - '0');
	}
	if (*p) {
		/* K or KiB, as dmm__format_bytes() prints them; not KB. */
		s = strchr(suffixes, toupper((unsigned char)*p));
		if (!s || (p[1] && strcmp(p + 1, "iB")))
			return DMM_EUSAGE;
		mult <<= 10 * (s - suffixes + 1);
	}
	if (val > UINT64_MAX / mult)
		return DMM_EUSAGE;
	*bytes = val * mult;
	return DMM_OK;
}

void dmm__format_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	double val = bytes;
	unsigned int i = 0;

	while (val >= 1024 && i < sizeof(units) / sizeof(units[0]) - 1) {
		val /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", val, units[i]);
}

void dmm__format_duration(char *buf, size_t len, int64_t seconds)
{
	if (seconds < 0)
		snprintf(buf, len, "unknown");
	else if (seconds < 60)
		snprintf(buf, len, "%llds", (long long)seconds);
	else if (seconds < 3600)
		snprintf(buf, len, "%lldm%02llds", (long long)seconds / 60,
			 (long long)seconds % 60);
	else
		snprintf(buf, len, "%lldh%02lldm", (long long)seconds / 3600,
			 (long long)seconds / 60 % 60);
}

int dmm__check_region(struct dmm_ctx *ctx, uint64_t region_bytes)
{
	uint64_t sectors = region_bytes >> SECTOR_SHIFT;

	if (region_bytes & ((1 << SECTOR_SHIFT) - 1) ||
	    sectors < DMM_MIN_REGION_SECTORS ||
	    sectors > DMM_MAX_REGION_SECTORS || sectors & (sectors - 1))
		return dmm__err(ctx, DMM_EUSAGE,
				"invalid region size %llu bytes; use a power of two from 4K to 1G",
				(unsigned long long)region_bytes);
	return DMM_OK;
}
