/*
 * 002-cronexpr: the schedule parser and next-fire computation.
 *
 * Data-driven from t/data (hand-checked tables, see their headers):
 *	cronexpr-next.txt	ZONE | AFTER | SCHEDULE | EXPECTED...
 *	cronexpr-invalid.txt	SCHEDULE | MESSAGE
 * plus a brute-force cross-check in UTC and properties that must hold for
 * any schedule (strictly increasing, never the process's TZ touched).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cronexpr.h"
#include "tz.h"
#include "tap.h"

#define MAXZONES 32

static struct tz	*zones[MAXZONES];
static int		 nzones;

static struct tz *
zone(const char *name)
{
	char	*cause = NULL;
	int	 i;

	for (i = 0; i < nzones; i++)
		if (strcmp(tz_name(zones[i]), name) == 0)
			return zones[i];
	if (nzones == MAXZONES)
		BAIL_OUT("too many zones");
	if ((zones[nzones] = tz_load(name, &cause)) == NULL)
		BAIL_OUT("zone %s: %s", name, cause);
	return zones[nzones++];
}

static FILE *
open_data(const char *name)
{
	const char	*dir = getenv("SQCRON_TEST_DATA");
	char		 path[4096];
	FILE		*f;

	snprintf(path, sizeof path, "%s/%s", dir != NULL ? dir : "t/data",
	    name);
	if ((f = fopen(path, "r")) == NULL)
		BAIL_OUT("cannot open %s", path);
	return f;
}

/* Split "a | b | c" in place into at most n fields; returns the count. */
static int
split(char *line, char **field, int n)
{
	int	 i = 0;
	char	*sep;

	line[strcspn(line, "\r\n")] = '\0';
	while (i < n) {
		field[i++] = line;
		if ((sep = strstr(line, " | ")) == NULL)
			break;
		*sep = '\0';
		line = sep + 3;
	}
	return i;
}

static void
test_next_table(void)
{
	FILE		*f = open_data("cronexpr-next.txt");
	char		 line[2048], *field[4], *exp, *save, err[CRONEXPR_ERRLEN];
	char		 got[TZ_RFC3339_LEN];
	const char	*errstr;
	struct cronexpr	 ce;
	struct tz	*tz;
	int64_t		 ms, t;
	int		 lineno = 0, cases = 0, k;

	while (fgets(line, sizeof line, f) != NULL) {
		lineno++;
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (split(line, field, 4) != 4)
			BAIL_OUT("cronexpr-next.txt:%d: expected 4 fields",
			    lineno);
		cases++;
		tz = zone(field[0]);
		if (tz_parse_time(field[1], 0, &ms, &errstr) != 0)
			BAIL_OUT("cronexpr-next.txt:%d: %s", lineno, errstr);
		if (cronexpr_parse(&ce, field[2], err, sizeof err) != 0) {
			ok(0, "line %d: %s parses (%s)", lineno, field[2], err);
			continue;
		}
		t = ms / 1000;
		k = 0;
		for (exp = strtok_r(field[3], " ", &save); exp != NULL;
		    exp = strtok_r(NULL, " ", &save)) {
			k++;
			if (cronexpr_next(&ce, tz, t, &t) != 0) {
				ok(0, "line %d: %s in %s, fire %d: none found",
				    lineno, field[2], field[0], k);
				break;
			}
			tz_format_rfc3339(tz, t, got, sizeof got);
			is(got, exp, "line %d: '%s' in %s after %s, fire %d",
			    lineno, field[2], field[0], field[1], k);
		}
	}
	fclose(f);
	ok(cases >= 150, "next-fire table has %d cases (at least 150)", cases);
}

static void
test_invalid_table(void)
{
	FILE		*f = open_data("cronexpr-invalid.txt");
	static char	 empty[1];
	char		 line[2048], *field[2], err[CRONEXPR_ERRLEN];
	struct cronexpr	 ce;
	int		 lineno = 0, cases = 0;

	while (fgets(line, sizeof line, f) != NULL) {
		lineno++;
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (split(line, field, 2) != 2)
			BAIL_OUT("cronexpr-invalid.txt:%d: expected 2 fields",
			    lineno);
		cases++;
		if (strcmp(field[0], "(empty)") == 0)
			field[0] = empty;
		err[0] = '\0';
		if (!ok(cronexpr_parse(&ce, field[0], err, sizeof err) == -1,
		    "line %d: '%s' is rejected", lineno, field[0]))
			continue;
		is(err, field[1], "line %d: message", lineno);
	}
	fclose(f);
	ok(cases >= 40, "invalid table has %d cases (at least 40)", cases);
}

static void
test_properties(void)
{
	static const char *const exprs[] = {
		"*/7 3-5 * * *", "0 0 13 * 5", "15 10 L * *",
		"0 12 * * 5L", "30 8 * * 1#2", "*/15 * * * * *",
		"0 0 29 2 *", "0 */5 1,15 * mon-fri", "@every 90s",
		"59 23 31 12 *", "0 9 * * 1-5", "*/10 * * * *",
		"0 0 * * 0#5", "0 30 2 * * *",
	};
	static const char *const zn[] = {
		"UTC", "Europe/Berlin", "America/New_York",
		"Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata",
		"Australia/Sydney",
	};
	struct cronexpr	 ce;
	char		 err[CRONEXPR_ERRLEN];
	const char	*tzenv = getenv("TZ");
	int64_t		 t, prev;
	size_t		 i, j;
	int		 k, bad = 0;

	for (i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
		if (cronexpr_parse(&ce, exprs[i], err, sizeof err) != 0)
			BAIL_OUT("%s: %s", exprs[i], err);
		for (j = 0; j < sizeof zn / sizeof zn[0]; j++) {
			t = 1767225600;	/* 2026-01-01 */
			for (k = 0; k < 400; k++) {
				prev = t;
				if (cronexpr_next(&ce, zone(zn[j]), prev, &t) ||
				    t <= prev) {
					bad++;
					diag("%s in %s after %lld: %lld",
					    exprs[i], zn[j], (long long)prev,
					    (long long)t);
					break;
				}
			}
		}
	}
	ok(bad == 0, "fires strictly increase over 400 fires, 14 schedules x "
	    "7 zones");
	ok((tzenv == NULL && getenv("TZ") == NULL) ||
	    (tzenv != NULL && getenv("TZ") != NULL &&
	    strcmp(tzenv, getenv("TZ")) == 0), "TZ is never changed");
}

/*
 * Brute force in UTC: walk minute by minute over wall time with gmtime_r
 * and compare each match with cronexpr_next.  Independent of the jumping
 * search in cronexpr.c.
 */
struct bf {
	int	sec[60], min[60], hour[24], dom[32], mon[13], dow[7];
	int	domstar, dowstar;
};

static int
bf_match(const struct bf *b, int64_t w)
{
	time_t		tt = (time_t)w;
	struct tm	tm;
	int		d, wd;

	gmtime_r(&tt, &tm);
	d = b->dom[tm.tm_mday];
	wd = b->dow[tm.tm_wday];
	if (!b->sec[tm.tm_sec] || !b->min[tm.tm_min] || !b->hour[tm.tm_hour] ||
	    !b->mon[tm.tm_mon + 1])
		return 0;
	return b->domstar || b->dowstar ? d && wd : d || wd;
}

static void
test_brute_force(void)
{
	struct cronexpr	 ce;
	struct bf	 b;
	char		 expr[256], err[CRONEXPR_ERRLEN];
	int64_t		 t, w, got;
	unsigned	 seed = 12345;
	int		 n, i, k, bad = 0;

#define RND(n) ((int)((seed = seed * 1103515245 + 12345) >> 16) % (n))
	for (n = 0; n < 300; n++) {
		memset(&b, 0, sizeof b);
		/* minute: a value or a step; hour: a small range or *. */
		int m0 = RND(60), ms = 1 + RND(30), h0 = RND(24);
		int h1 = h0 + RND(24 - h0), dm = 1 + RND(31), wd = RND(7);
		int domk = RND(3), dowk = RND(3), mon = 1 + RND(12);
		int monk = RND(2);
		char domf[16], dowf[16], monf[16];

		for (i = m0; i < 60; i += ms)
			b.min[i] = 1;
		b.sec[0] = 1;
		for (i = h0; i <= h1; i++)
			b.hour[i] = 1;
		if (domk == 0) {
			snprintf(domf, sizeof domf, "*");
			for (i = 1; i <= 31; i++)
				b.dom[i] = 1;
			b.domstar = 1;
		} else if (domk == 1) {
			snprintf(domf, sizeof domf, "%d", dm);
			b.dom[dm] = 1;
		} else {
			snprintf(domf, sizeof domf, "*/2");
			for (i = 1; i <= 31; i += 2)
				b.dom[i] = 1;
			b.domstar = 1;
		}
		if (dowk == 0) {
			snprintf(dowf, sizeof dowf, "*");
			for (i = 0; i < 7; i++)
				b.dow[i] = 1;
			b.dowstar = 1;
		} else if (dowk == 1) {
			snprintf(dowf, sizeof dowf, "%d", wd);
			b.dow[wd] = 1;
		} else {
			snprintf(dowf, sizeof dowf, "%d-%d", wd, 6);
			for (i = wd; i <= 6; i++)
				b.dow[i] = 1;
		}
		if (monk == 0) {
			snprintf(monf, sizeof monf, "*");
			for (i = 1; i <= 12; i++)
				b.mon[i] = 1;
		} else {
			snprintf(monf, sizeof monf, "%d-12", mon);
			for (i = mon; i <= 12; i++)
				b.mon[i] = 1;
		}
		snprintf(expr, sizeof expr, "%d/%d %d-%d %s %s %s", m0, ms, h0,
		    h1, domf, monf, dowf);
		if (cronexpr_parse(&ce, expr, err, sizeof err) != 0)
			continue;	/* e.g. "31" in months without it */
		t = 1767225600 + (int64_t)RND(86400 * 365);
		for (k = 0; k < 3; k++) {
			if (cronexpr_next(&ce, zone("UTC"), t, &got) != 0) {
				bad++;
				break;
			}
			/* The brute force: minute by minute, then exact. */
			for (w = (t / 60 + 1) * 60; !bf_match(&b, w) &&
			    w < got + 60; w += 60)
				;
			if (w != got) {
				diag("%s after %lld: got %lld, brute force "
				    "%lld", expr, (long long)t,
				    (long long)got, (long long)w);
				bad++;
				break;
			}
			t = got;
		}
	}
	ok(bad == 0, "300 random schedules agree with a minute-by-minute "
	    "brute force in UTC");
}

int
main(void)
{
	int	i;

	test_next_table();
	test_invalid_table();
	test_properties();
	test_brute_force();
	for (i = 0; i < nzones; i++)
		tz_free(zones[i]);
	return done_testing();
}
