/*
 * 003-tz: zones from TZif files and POSIX rules, and times as text.
 *
 * Expected instants were computed by hand from the zone rules (EU: last
 * Sunday of March/October at 01:00 UTC; US: second Sunday of March, first
 * of November at 02:00 local) and checked against zdump.
 */

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"
#include "tap.h"

static struct tz *
load(const char *name)
{
	struct tz	*tz;
	char		*cause = NULL;

	if ((tz = tz_load(name, &cause)) == NULL)
		BAIL_OUT("%s: %s", name, cause);
	return tz;
}

static void
test_tzif(void)
{
	struct tz		*tz = load("Europe/Berlin");
	struct tz_segment	 seg;

	is_int(tz_offset(tz, 1768435200), 3600, "Berlin 2026-01-15: +01:00");
	is_int(tz_offset(tz, 1782864000), 7200, "Berlin 2026-07-01: +02:00");
	tz_segment(tz, 1782864000, &seg);
	is_int(seg.start, 1774746000, "summer 2026 starts 2026-03-29T01:00Z");
	is_int(seg.end, 1792890000, "and ends 2026-10-25T01:00Z");
	is_int(seg.prev_offset, 3600, "after +01:00");
	is_int(tz_offset(tz, 1774745999), 3600, "one second before: +01:00");
	is_int(tz_offset(tz, 1774746000), 7200, "at the transition: +02:00");
	/* Past the file's table: the POSIX footer rule. */
	tz_segment(tz, 4119000000LL, &seg);
	is_int(seg.start, 4109878800LL, "2100: summer from 2100-03-28T01:00Z");
	is_int(seg.end, 4128627600LL, "to 2100-10-31T01:00Z");
	is_int(seg.offset, 7200, "at +02:00");
	tz_segment(tz, 7270000000LL, &seg);
	is_int(seg.start, 7265725200LL, "2200: from 2200-03-30T01:00Z");
	tz_free(tz);

	tz = load("Australia/Lord_Howe");
	is_int(tz_offset(tz, 1767225600), 39600, "Lord Howe January: +11:00");
	is_int(tz_offset(tz, 1782864000), 37800, "Lord Howe July: +10:30");
	tz_free(tz);

	tz = load("Asia/Kolkata");
	tz_segment(tz, 1767225600, &seg);
	ok(seg.end == TZ_TIME_MAX && seg.offset == 19800,
	    "Kolkata: one segment to the end of time at +05:30");
	tz_free(tz);
}

static void
test_posix(void)
{
	static const struct {
		const char	*rule;
		int64_t		 t;
		int32_t		 offset;
	} cases[] = {
		{ "EST5EDT,M3.2.0,M11.1.0", 1767225600, -18000 },
		{ "EST5EDT,M3.2.0,M11.1.0", 1782864000, -14400 },
		{ "EST5EDT,M3.2.0,M11.1.0", 1772953199, -18000 },
		{ "EST5EDT,M3.2.0,M11.1.0", 1772953200, -14400 },
		{ "EST5EDT", 1782864000, -14400 },	/* default US rules */
		{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24", 1782864000, -14400 },
		{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24", 1767225600, -10800 },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 1782864000, 37800 },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 1767225600, 39600 },
		{ "JST-9", 1782864000, 32400 },
		{ "ABC-3", 0, 10800 },
		{ "XXX3YYY,J60/2,J300/2", 1782864000, -7200 },
		{ "XXX3YYY,59/2,299/2", 1767225600, -10800 },
		{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 1782864000, -3600 },
	};
	static const char *const bad[] = {
		"", "E", "EST", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
		"EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J100", "EST5EDT,M3.2.0",
		"EST99", "<ABC5", "EST5EDT,M3.2.0/200,M11.1.0", "EST5EDT,,",
		"EST5EDT,M3.2.0,M11.1.0x",
	};
	struct tz	*tz;
	char		*cause;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		tz = tz_from_posix("test", cases[i].rule, &cause);
		if (!ok(tz != NULL, "POSIX rule \"%s\" parses", cases[i].rule)) {
			free(cause);
			continue;
		}
		is_int(tz_offset(tz, cases[i].t), cases[i].offset,
		    "  offset at %lld", (long long)cases[i].t);
		tz_free(tz);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		tz = tz_from_posix("test", bad[i], &cause);
		ok(tz == NULL && cause != NULL &&
		    strcmp(cause, "test: invalid POSIX TZ rule") == 0,
		    "POSIX rule \"%s\" is rejected", bad[i]);
		tz_free(tz);
		free(cause);
	}
}

/* Every prefix of a real zone file, and a few corruptions, fail cleanly. */
static void
test_corrupt(void)
{
	FILE		*f;
	unsigned char	 buf[65536], copy[65536];
	size_t		 len, i;
	struct tz	*tz;
	char		*cause;
	int		 bad = 0, okays = 0;

	if ((f = fopen("/usr/share/zoneinfo/America/New_York", "rb")) == NULL) {
		skip(3, "no tzdata");
		return;
	}
	len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	for (i = 0; i < len; i++) {
		cause = NULL;
		tz = tz_from_tzif("NY", buf, i, &cause);
		/* A prefix may be a valid v1 file only at full v1 length. */
		if (tz == NULL && cause == NULL)
			bad++;
		if (tz != NULL)
			okays++;
		tz_free(tz);
		free(cause);
	}
	ok(bad == 0, "all %zu truncations answered with a reason", len);
	ok(okays <= 1, "at most one prefix (the v1 part) loads: %d", okays);
	memcpy(copy, buf, len);
	for (i = 44; i < len; i += 7) {
		copy[i] ^= 0xff;
		cause = NULL;
		tz = tz_from_tzif("NY", copy, len, &cause);
		tz_free(tz);
		free(cause);
		copy[i] = buf[i];
	}
	ok(1, "single-byte corruptions at every 7th byte do not crash");
}

static void
test_load(void)
{
	struct tz	*tz;
	char		*cause = NULL;

	ok(tz_load("No/Such_Zone", &cause) == NULL && cause != NULL &&
	    strcmp(cause, "unknown time zone \"No/Such_Zone\"") == 0,
	    "an unknown zone is named in the error");
	free(cause);
	cause = NULL;
	ok(tz_load("../../etc/passwd", &cause) == NULL && cause != NULL &&
	    strcmp(cause, "invalid time zone name \"../../etc/passwd\"") == 0,
	    "a path escaping the zone directory is refused");
	free(cause);
	cause = NULL;
	ok(tz_load("Europe", &cause) == NULL && cause != NULL,
	    "a directory is not a zone");
	free(cause);
	cause = NULL;
	ok(tz_load("right/UTC", &cause) == NULL && cause != NULL &&
	    strstr(cause, "leap-second") != NULL,
	    "leap-second zones are refused, not misread");
	free(cause);

	setenv("TZDIR", "/nonexistent", 1);
	tz = load("UTC");
	is(tz_name(tz), "UTC", "UTC works without tzdata");
	is_int(tz_offset(tz, 1782864000), 0, "  at offset 0");
	tz_free(tz);
	unsetenv("TZDIR");

	setenv("TZ", "America/New_York", 1);
	tz = load(NULL);
	is(tz_name(tz), "America/New_York", "local zone from TZ");
	is_int(tz_offset(tz, 1782864000), -14400, "  with its offset");
	tz_free(tz);
	setenv("TZ", ":Europe/Berlin", 1);
	tz = load("");
	is(tz_name(tz), "Europe/Berlin", "TZ=:NAME");
	tz_free(tz);
	setenv("TZ", "ABC-3", 1);
	tz = load(NULL);
	is_int(tz_offset(tz, 0), 10800, "TZ as a POSIX rule");
	tz_free(tz);
	setenv("TZ", "/usr/share/zoneinfo/Asia/Kolkata", 1);
	tz = load(NULL);
	is_int(tz_offset(tz, 0), 19800, "TZ as a path");
	tz_free(tz);
	unsetenv("TZ");
	tz = load(NULL);
	ok(tz != NULL, "local zone from /etc/localtime: %s", tz_name(tz));
	tz_free(tz);
}

static void
test_format(void)
{
	struct tz	*tz;
	char		 buf[TZ_RFC3339_LEN];

	tz = load("America/New_York");
	tz_format_rfc3339(tz, 1782864000, buf, sizeof buf);
	is(buf, "2026-06-30T20:00:00-04:00", "RFC 3339 with a negative offset");
	tz_free(tz);
	tz = load("Australia/Lord_Howe");
	tz_format_rfc3339(tz, 1782864000, buf, sizeof buf);
	is(buf, "2026-07-01T10:30:00+10:30", "RFC 3339 with a half hour");
	tz_free(tz);
	tz = load("Europe/Amsterdam");
	tz_format_rfc3339(tz, -1893456000, buf, sizeof buf);
	is(buf, "1910-01-01T00:00:00Z",
	    "an offset with seconds (LMT +00:19:32) prints as UTC");
	tz_free(tz);
	tz = load("UTC");
	tz_format_rfc3339(tz, 951782400, buf, sizeof buf);
	is(buf, "2000-02-29T00:00:00+00:00", "UTC as +00:00");
	tz_free(tz);

	tz_format_utc_ms(1795507200004LL, buf, sizeof buf);
	is(buf, "2026-11-24T08:00:00.004Z", "UTC with milliseconds");
	tz_format_utc_ms(-1, buf, sizeof buf);
	is(buf, "1969-12-31T23:59:59.999Z", "before the epoch");
}

static void
test_parse(void)
{
	static const struct {
		const char	*in;
		int64_t		 ms;
	} good[] = {
		{ "2026-11-24T08:00:00Z", 1795507200000LL },
		{ "2026-11-24T08:00:00.004Z", 1795507200004LL },
		{ "2026-11-24T08:00:00.5Z", 1795507200500LL },
		{ "2026-11-24T09:30:00+01:30", 1795507200000LL },
		{ "2026-11-24T03:00:00-05:00", 1795507200000LL },
		{ "2026-11-24 08:00:00z", 1795507200000LL },
		{ "2026-11-24t08:00:00Z", 1795507200000LL },
		{ "@1795507200", 1795507200000LL },
		{ "@0", 0 },
		{ "@-86400", -86400000LL },
		{ "24h", 1000000000000LL - 86400000 },
		{ "90", 1000000000000LL - 90000 },
		{ "2000-02-29T00:00:00Z", 951782400000LL },
	};
	static const struct {
		const char	*in;
		const char	*err;
	} bad[] = {
		{ "", "empty time" },
		{ "2026-11-24T08:00:00", "missing time zone offset (add Z or "
		    "+HH:MM)" },
		{ "2026-02-30T00:00:00Z", "date or time out of range" },
		{ "2026-13-01T00:00:00Z", "date or time out of range" },
		{ "2026-01-01T24:00:00Z", "date or time out of range" },
		{ "2026-01-01", "expected RFC 3339 (2026-11-24T08:00:00Z), "
		    "@EPOCH or a duration ago (24h)" },
		{ "2026-01-01T00:00:00+1", "expected RFC 3339 "
		    "(2026-11-24T08:00:00Z), @EPOCH or a duration ago (24h)" },
		{ "2026-01-01T00:00:00Zjunk", "expected RFC 3339 "
		    "(2026-11-24T08:00:00Z), @EPOCH or a duration ago (24h)" },
		{ "@12x", "@EPOCH must be whole seconds, e.g. @1767225600" },
		{ "@", "@EPOCH must be whole seconds, e.g. @1767225600" },
		{ "yesterday", "expected RFC 3339 (2026-11-24T08:00:00Z), "
		    "@EPOCH or a duration ago (24h)" },
	};
	const char	*errstr;
	int64_t		 ms;
	size_t		 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		ms = -42;
		ok(tz_parse_time(good[i].in, 1000000000000LL, &ms, &errstr) ==
		    0 && ms == good[i].ms, "time \"%s\"", good[i].in);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errstr = NULL;
		ok(tz_parse_time(bad[i].in, 0, &ms, &errstr) == -1,
		    "time \"%s\" is rejected", bad[i].in);
		is(errstr, bad[i].err, "  with the reason");
	}
}

int
main(void)
{
	test_tzif();
	test_posix();
	test_corrupt();
	test_load();
	test_format();
	test_parse();
	return done_testing();
}
