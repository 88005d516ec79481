/*
 * bench-next: how fast is the time engine?
 *
 * Computes 10,000 next fires (and then 100,000) over a mix of schedules
 * and zones with DST, and prints the elapsed time and the cost of one
 * call.  For comparison it times the libc way of reading one zone's
 * local time: setenv("TZ") + tzset() + localtime_r per call, which is
 * what a scheduler that switches zones through TZ would pay.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cronexpr.h"
#include "tz.h"

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(void)
{
	static const char *const exprs[] = {
		"*/5 * * * *", "30 2 * * *", "0 9 * * mon-fri", "0 0 L * *",
		"15 10 * * 5L", "0 12 * * 1#2", "*/15 * * * * *",
		"0 0 29 2 *", "@hourly", "@every 90s", "0 */2 1,15 * *",
		"45 1 * * *",
	};
	static const char *const zn[] = {
		"UTC", "Europe/Berlin", "America/New_York",
		"Australia/Lord_Howe", "America/Santiago", "Australia/Sydney",
		"Asia/Kolkata", "America/Los_Angeles",
	};
	struct cronexpr	 ce[sizeof exprs / sizeof exprs[0]];
	struct tz	*tz[sizeof zn / sizeof zn[0]];
	char		 err[CRONEXPR_ERRLEN], *cause;
	size_t		 ne = sizeof exprs / sizeof exprs[0];
	size_t		 nz = sizeof zn / sizeof zn[0], i;
	int64_t		 t, sum = 0;
	struct tm	 tm;
	time_t		 tt;
	double		 t0, el;
	int		 runs[] = { 10000, 100000 }, r, k;

	for (i = 0; i < ne; i++)
		if (cronexpr_parse(&ce[i], exprs[i], err, sizeof err) != 0) {
			fprintf(stderr, "%s: %s\n", exprs[i], err);
			return 1;
		}
	t0 = now();
	for (i = 0; i < nz; i++)
		if ((tz[i] = tz_load(zn[i], &cause)) == NULL) {
			fprintf(stderr, "%s\n", cause);
			return 1;
		}
	printf("loading %zu zones: %.3f ms\n", nz, (now() - t0) * 1e3);

	for (r = 0; r < 2; r++) {
		t0 = now();
		for (k = 0; k < runs[r]; k++) {
			/* Spread the start over 2026, across DST changes. */
			t = 1767225600 + (int64_t)(k % 8760) * 3600 + k % 3600;
			if (cronexpr_next(&ce[k % ne], tz[(k / ne) % nz], t,
			    &t) == 0)
				sum += t;
		}
		el = now() - t0;
		printf("%d next fires over %zu schedules x %zu zones: "
		    "%.1f ms (%.2f us each)\n", runs[r], ne, nz, el * 1e3,
		    el * 1e6 / runs[r]);
	}

	t0 = now();
	for (k = 0; k < 10000; k++) {
		setenv("TZ", zn[k % nz], 1);
		tzset();
		tt = 1767225600 + k;
		localtime_r(&tt, &tm);
	}
	el = now() - t0;
	printf("for comparison, 10000 libc zone switches (setenv TZ + tzset + "
	    "localtime_r): %.1f ms (%.2f us each)\n", el * 1e3,
	    el * 1e6 / 10000);
	for (i = 0; i < nz; i++)
		tz_free(tz[i]);
	return sum == 0;
}
