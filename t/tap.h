/*
 * tap.h: a minimal Test Anything Protocol producer for sqcron's C tests.
 *
 * Header-only so every test is one file.  Output goes to stdout and is read
 * by automake's tap-driver.sh.  Nothing here allocates; failures print the
 * values compared as TAP diagnostics ("# ...") so a failing case explains
 * itself in the .log file.
 */
#ifndef SQCRON_TAP_H
#define SQCRON_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_run;
static int tap_failed;
static int tap_planned = -1;

static void tap_plan(int) __attribute__((unused));
static int tap_ok(int, const char *, ...)
    __attribute__((format(printf, 2, 3), unused));
static int tap_is_str(const char *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4), unused));
static int tap_is_int(int64_t, int64_t, const char *, ...)
    __attribute__((format(printf, 3, 4), unused));
static void tap_diag(const char *, ...)
    __attribute__((format(printf, 1, 2), unused));
static void tap_skip(int, const char *, ...)
    __attribute__((format(printf, 2, 3), unused));
static int tap_done(void) __attribute__((unused));
static void tap_bail(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn, unused));

/* Announce the number of tests up front (optional: see done_testing). */
static void
tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static void tap_vresult(int, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
tap_vresult(int pass, const char *fmt, va_list ap)
{
	char	desc[1024], *p;

	tap_run++;
	if (!pass)
		tap_failed++;
	vsnprintf(desc, sizeof desc, fmt, ap);
	/* A newline would end the TAP line: keep descriptions on one. */
	for (p = desc; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	printf("%sok %d - %s\n", pass ? "" : "not ", tap_run, desc);
	fflush(stdout);
}

/* One test: passes when cond is true. */
static int
tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vresult(cond, fmt, ap);
	va_end(ap);
	return cond;
}

/* Compare two strings (NULL equals only NULL). */
static int
tap_is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	int pass;

	if (got == NULL || want == NULL)
		pass = got == want;
	else
		pass = strcmp(got, want) == 0;
	va_start(ap, fmt);
	tap_vresult(pass, fmt, ap);
	va_end(ap);
	if (!pass) {
		printf("#      got: %s%s%s\n", got ? "'" : "", got ? got : "NULL",
		    got ? "'" : "");
		printf("# expected: %s%s%s\n", want ? "'" : "",
		    want ? want : "NULL", want ? "'" : "");
	}
	return pass;
}

/* Compare two integers. */
static int
tap_is_int(int64_t got, int64_t want, const char *fmt, ...)
{
	va_list ap;
	int pass = got == want;

	va_start(ap, fmt);
	tap_vresult(pass, fmt, ap);
	va_end(ap);
	if (!pass) {
		printf("#      got: %" PRId64 "\n", got);
		printf("# expected: %" PRId64 "\n", want);
	}
	return pass;
}

/* A diagnostic line, shown in the test's log. */
static void
tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Record n skipped tests with the reason. */
static void
tap_skip(int n, const char *fmt, ...)
{
	va_list ap;
	char why[512];

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	while (n-- > 0)
		printf("ok %d # SKIP %s\n", ++tap_run, why);
	fflush(stdout);
}

/* Finish: print the plan if none was given; exit status for main. */
static int
tap_done(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_run);
	else if (tap_planned != tap_run)
		printf("# planned %d tests but ran %d\n", tap_planned, tap_run);
	fflush(stdout);
	return tap_failed != 0 || (tap_planned >= 0 && tap_planned != tap_run);
}

/* Stop the whole test file at once. */
static void
tap_bail(const char *fmt, ...)
{
	va_list ap;

	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(1);
}

#define plan		tap_plan
#define ok		tap_ok
#define is		tap_is_str
#define is_int		tap_is_int
#define diag		tap_diag
#define skip		tap_skip
#define done_testing	tap_done
#define BAIL_OUT	tap_bail

#endif
