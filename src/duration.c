/*
 * duration.c: durations ("1h30m") and sizes ("256M") as users write them.
 *
 * Grammar (case-insensitive units, no spaces inside a value):
 *
 *	duration := INTEGER | part+
 *	part     := INTEGER unit
 *	unit     := "ms" | "s" | "m" | "h" | "d" | "w"
 *	size     := INTEGER [ "K" | "M" | "G" | "T" ] [ "B" | "iB" ]
 *
 * A bare integer is seconds for a duration and bytes for a size.  Units in
 * a duration may appear in any order but each at most once ("1h30m", not
 * "30m1h30m").  Values are checked for overflow: a duration is at most 100
 * years, a size at most 2^62 bytes.  Nothing here allocates or does I/O.
 */

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

#define DURATION_MAX_MS	((int64_t)100 * 366 * 86400 * 1000)
#define SIZE_MAX_BYTES	((uint64_t)1 << 62)

static const struct {
	const char	*name;
	int64_t		 ms;
} duration_units[] = {
	{ "w", 7 * 86400 * 1000LL },
	{ "d", 86400 * 1000LL },
	{ "h", 3600 * 1000LL },
	{ "m", 60 * 1000LL },
	{ "s", 1000LL },
	{ "ms", 1LL },
};
#define NUNITS (sizeof duration_units / sizeof duration_units[0])

/* Read a decimal integer without sign; returns characters read or 0. */
static size_t
duration_digits(const char *s, uint64_t *v, const char **errstr)
{
	size_t	 n = 0;

	*v = 0;
	while (isdigit((unsigned char)s[n])) {
		if (*v > (UINT64_MAX - 9) / 10) {
			*errstr = "number too large";
			return 0;
		}
		*v = *v * 10 + (uint64_t)(s[n] - '0');
		n++;
	}
	if (n == 0)
		*errstr = "expected a number";
	return n;
}

int
duration_parse(const char *s, int64_t *ms, const char **errstr)
{
	uint64_t	 v;
	int64_t		 total = 0;
	unsigned	 seen = 0;
	size_t		 n, u, len;

	if (s == NULL || *s == '\0') {
		*errstr = "empty duration";
		return -1;
	}
	while (*s != '\0') {
		if ((n = duration_digits(s, &v, errstr)) == 0)
			return -1;
		s += n;
		if (*s == '\0' && seen == 0 && total == 0) {
			/* A bare integer: seconds. */
			if (v > (uint64_t)DURATION_MAX_MS / 1000) {
				*errstr = "duration too large (at most 100 years)";
				return -1;
			}
			*ms = (int64_t)v * 1000;
			return 0;
		}
		for (u = 0; u < NUNITS; u++) {
			len = strlen(duration_units[u].name);
			/* "m" must not swallow the "m" of "ms". */
			if (strncasecmp(s, duration_units[u].name, len) == 0 &&
			    !isalpha((unsigned char)s[len]))
				break;
		}
		if (u == NUNITS) {
			*errstr = *s == '\0' ? "missing unit (ms, s, m, h, d, w)" :
			    "unknown unit (expected ms, s, m, h, d or w)";
			return -1;
		}
		if (seen & (1U << u)) {
			*errstr = "unit repeated";
			return -1;
		}
		seen |= 1U << u;
		if (v > (uint64_t)DURATION_MAX_MS / (uint64_t)duration_units[u].ms ||
		    total > DURATION_MAX_MS - (int64_t)v * duration_units[u].ms) {
			*errstr = "duration too large (at most 100 years)";
			return -1;
		}
		total += (int64_t)v * duration_units[u].ms;
		s += strlen(duration_units[u].name);
	}
	*ms = total;
	return 0;
}

void
duration_format(int64_t ms, char *buf, size_t len)
{
	size_t	 off = 0, u;
	int	 n;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (ms < 0) {
		n = snprintf(buf, len, "-");
		off = n > 0 ? (size_t)n : 0;
		ms = ms == INT64_MIN ? INT64_MAX : -ms;
	}
	if (ms == 0) {
		snprintf(buf + off, len - off, "0s");
		return;
	}
	for (u = 0; u < NUNITS && off < len; u++) {
		/* Weeks read worse than days ("2w" vs "14d"): skip them. */
		if (duration_units[u].name[0] == 'w')
			continue;
		if (ms < duration_units[u].ms)
			continue;
		n = snprintf(buf + off, len - off, "%" PRId64 "%s",
		    ms / duration_units[u].ms, duration_units[u].name);
		if (n < 0)
			return;
		off += (size_t)n;
		ms %= duration_units[u].ms;
	}
}

int
size_parse(const char *s, uint64_t *bytes, const char **errstr)
{
	uint64_t	 v, mult = 1;
	size_t		 n;

	if (s == NULL || *s == '\0') {
		*errstr = "empty size";
		return -1;
	}
	if ((n = duration_digits(s, &v, errstr)) == 0)
		return -1;
	s += n;
	switch (toupper((unsigned char)*s)) {
	case '\0':
		break;
	case 'K':
		mult = 1ULL << 10;
		s++;
		break;
	case 'M':
		mult = 1ULL << 20;
		s++;
		break;
	case 'G':
		mult = 1ULL << 30;
		s++;
		break;
	case 'T':
		mult = 1ULL << 40;
		s++;
		break;
	case 'B':
		break;
	default:
		*errstr = "unknown unit (expected K, M, G or T)";
		return -1;
	}
	if (strcasecmp(s, "iB") == 0 && mult != 1)
		s += 2;
	else if (strcasecmp(s, "B") == 0)
		s++;
	if (*s != '\0') {
		*errstr = "unknown unit (expected K, M, G or T)";
		return -1;
	}
	if (v > SIZE_MAX_BYTES / mult) {
		*errstr = "size too large";
		return -1;
	}
	*bytes = v * mult;
	return 0;
}

void
size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int		  i;

	for (i = 3; i >= 0; i--) {
		uint64_t unit = 1ULL << (10 * (i + 1));

		if (bytes != 0 && bytes % unit == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", bytes / unit,
			    units[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, bytes);
}
