/*
 * civil.h: proleptic Gregorian calendar arithmetic on day numbers.
 *
 * Days are counted from 1970-01-01 (day 0) and may be negative.  These are
 * the building blocks of tz.c and cronexpr.c, which must convert between
 * instants and wall times without touching the process's TZ or calling
 * mktime().  Header-only and pure; the algorithm splits time into 400-year
 * eras, in which the calendar repeats exactly.
 */
#ifndef SQCRON_CIVIL_H
#define SQCRON_CIVIL_H

#include <stdint.h>

/* Floor division and modulo for a positive divisor. */
static inline int64_t
civil_fdiv(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static inline int64_t
civil_fmod(int64_t a, int64_t b)
{
	return a - civil_fdiv(a, b) * b;
}

static inline int
civil_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days in month m (1-12) of year y. */
static inline int
civil_mdays(int64_t y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return m == 2 && civil_is_leap(y) ? 29 : mdays[m - 1];
}

/* Day number of y-m-d (m 1-12, d 1-31). */
static inline int64_t
civil_days(int64_t y, int m, int d)
{
	int64_t	era, yoe, doy, doe;

	y -= m <= 2;
	era = civil_fdiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Inverse of civil_days. */
static inline void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	era, doe, yoe, doy, mp;

	z += 719468;
	era = civil_fdiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Weekday of a day number: 0 Sunday ... 6 Saturday (1970-01-01 was a Thursday). */
static inline int
civil_weekday(int64_t z)
{
	return (int)civil_fmod(z + 4, 7);
}

#endif
