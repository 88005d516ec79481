/* 001-duration: durations and sizes as users write them. */

#include <stdint.h>
#include <string.h>

#include "duration.h"
#include "tap.h"

static void
test_durations(void)
{
	static const struct {
		const char	*in;
		int64_t		 ms;
	} good[] = {
		{ "0", 0 }, { "90", 90000 }, { "90s", 90000 }, { "5m", 300000 },
		{ "1h30m", 5400000 }, { "2d", 172800000 }, { "1w", 604800000 },
		{ "250ms", 250 }, { "1m30s", 90000 }, { "30m1h", 5400000 },
		{ "1H", 3600000 }, { "1d2h3m4s5ms", 93784005 },
		{ "36500d", (int64_t)36500 * 86400000 },
	};
	static const struct {
		const char	*in;
		const char	*err;
	} bad[] = {
		{ "", "empty duration" },
		{ "m", "expected a number" },
		{ "-5s", "expected a number" },
		{ "5x", "unknown unit (expected ms, s, m, h, d or w)" },
		{ "1h1h", "unit repeated" },
		{ "1h30", "missing unit (ms, s, m, h, d, w)" },
		{ "5 m", "unknown unit (expected ms, s, m, h, d or w)" },
		{ "99999999999999999999", "number too large" },
		{ "36700d", "duration too large (at most 100 years)" },
		{ "3200000000", "duration too large (at most 100 years)" },
		{ "1.5h", "unknown unit (expected ms, s, m, h, d or w)" },
	};
	const char	*errstr;
	int64_t		 ms;
	size_t		 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		ms = -1;
		ok(duration_parse(good[i].in, &ms, &errstr) == 0 &&
		    ms == good[i].ms, "duration \"%s\" is %lld ms", good[i].in,
		    (long long)good[i].ms);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errstr = NULL;
		ok(duration_parse(bad[i].in, &ms, &errstr) == -1,
		    "duration \"%s\" is rejected", bad[i].in);
		is(errstr, bad[i].err, "  with \"%s\"", bad[i].err);
	}
}

static void
test_duration_format(void)
{
	static const struct {
		int64_t		 ms;
		const char	*out;
	} cases[] = {
		{ 0, "0s" }, { 250, "250ms" }, { 90000, "1m30s" },
		{ 5400000, "1h30m" }, { 172800000, "2d" },
		{ 604800000, "7d" }, { 93784005, "1d2h3m4s5ms" },
		{ -30000, "-30s" },
	};
	char		buf[DURATION_BUFLEN];
	const char	*errstr;
	int64_t		ms;
	size_t		i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		duration_format(cases[i].ms, buf, sizeof buf);
		is(buf, cases[i].out, "format %lld ms", (long long)cases[i].ms);
		if (cases[i].ms >= 0)
			ok(duration_parse(buf, &ms, &errstr) == 0 &&
			    ms == cases[i].ms, "  and \"%s\" reads back", buf);
	}
	duration_format(5400000, buf, 3);
	ok(strlen(buf) <= 2, "format never overflows a short buffer");
}

static void
test_sizes(void)
{
	static const struct {
		const char	*in;
		uint64_t	 bytes;
	} good[] = {
		{ "0", 0 }, { "1000", 1000 }, { "512K", 524288 },
		{ "256M", 268435456 }, { "1G", 1073741824 },
		{ "2T", 2199023255552ULL }, { "64k", 65536 }, { "1KiB", 1024 },
		{ "1MB", 1048576 }, { "100B", 100 },
	};
	static const struct {
		const char	*in;
		const char	*err;
	} bad[] = {
		{ "", "empty size" },
		{ "K", "expected a number" },
		{ "5X", "unknown unit (expected K, M, G or T)" },
		{ "1.5G", "unknown unit (expected K, M, G or T)" },
		{ "5000000T", "size too large" },
		{ "1Kx", "unknown unit (expected K, M, G or T)" },
		{ "-1", "expected a number" },
	};
	static const struct {
		uint64_t	 bytes;
		const char	*out;
	} fmt[] = {
		{ 0, "0" }, { 1000, "1000" }, { 262144, "256K" },
		{ 268435456, "256M" }, { 1073741824, "1G" }, { 1536, "1536" },
		{ 3221225472ULL, "3G" },
	};
	char		 buf[DURATION_BUFLEN];
	const char	*errstr;
	uint64_t	 b;
	size_t		 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		ok(size_parse(good[i].in, &b, &errstr) == 0 &&
		    b == good[i].bytes, "size \"%s\"", good[i].in);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errstr = NULL;
		ok(size_parse(bad[i].in, &b, &errstr) == -1,
		    "size \"%s\" is rejected", bad[i].in);
		is(errstr, bad[i].err, "  with \"%s\"", bad[i].err);
	}
	for (i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
		size_format(fmt[i].bytes, buf, sizeof buf);
		is(buf, fmt[i].out, "format %llu bytes",
		    (unsigned long long)fmt[i].bytes);
	}
}

int
main(void)
{
	test_durations();
	test_duration_format();
	test_sizes();
	return done_testing();
}
