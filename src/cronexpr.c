/*
 * cronexpr.c: parse cron schedules and compute their next fire instant.
 *
 * Pure: no I/O, no allocation, no globals.  A schedule becomes a set of
 * bitsets (one per field) plus the flags that classic cron keeps
 * (DOM_STAR, DOW_STAR) and that the daylight-saving rules need
 * (HOUR_STAR).  Zones come in as a loaded struct tz (tz.c), so computing
 * in many zones never touches the process's TZ.
 *
 * Grammar (names and L are case-insensitive):
 *
 *	schedule := fields5 | fields6 | macro
 *	fields5  := minute hour dom month dow
 *	fields6  := second minute hour dom month dow
 *	field    := element ( "," element )*
 *	element  := "*" [ "/" step ]
 *	          | value [ "-" value ] [ "/" step ]	(A/S means A-max/S)
 *	          | "L"					(day-of-month only)
 *	          | value "L"				(day-of-week: last in month)
 *	          | value "#" 1-5			(day-of-week: nth in month)
 *	value    := number | month name (jan-dec) | weekday name (sun-sat)
 *	macro    := "@yearly" | "@annually" | "@monthly" | "@weekly"
 *	          | "@daily" | "@midnight" | "@hourly" | "@reboot"
 *	          | "@every" DURATION
 *
 * Day-of-week 7 is Sunday, like 0.  When both day fields are restricted
 * (neither begins with "*") a day matches if either does; otherwise both
 * must, as in Vixie cron.
 *
 * The clocks.  Fire instants are seconds since the epoch (UTC).  Matching
 * happens on wall time, "wall seconds": local civil time counted as if it
 * were UTC, so plain calendar arithmetic applies.  A zone is a sequence of
 * segments of constant UTC offset; inside one, wall = instant + offset.
 * Daylight saving, following ISC/Vixie cron:
 *
 *   - hour field beginning with "*" (elapsed mode): fire at every instant
 *     whose wall time matches.  Wall times inside a spring-forward gap
 *     never occur, and a repeated hour fires again.
 *   - otherwise (wall mode): every matching wall time fires exactly once,
 *     at its first occurrence; one that falls in a gap fires at the first
 *     instant after the gap, the transition itself.  Several such times
 *     collapse into that single instant, since one instant fires once.
 *
 * Both walk the segments forward from the search start, keeping in wall
 * mode the highest wall time already passed, so that a wall time repeated
 * after a fall-back is not fired twice.
 */

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "civil.h"
#include "cronexpr.h"
#include "duration.h"
#include "tz.h"

/* Searches end at 10000-01-01 (wall), well past any real schedule. */
#define WALL_MAX	((int64_t)2932897 * 86400)
#define WALL_MIN	(-WALL_MAX)
#define ELEM_MAX	64

struct cronexpr_field {
	const char		*name;
	int			 min;
	int			 max;
	const char *const	*names;
	int			 names_base;
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL
};
static const char *const day_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW };

static const struct cronexpr_field fields[] = {
	{ "second", 0, 59, NULL, 0 },
	{ "minute", 0, 59, NULL, 0 },
	{ "hour", 0, 23, NULL, 0 },
	{ "day-of-month", 1, 31, NULL, 0 },
	{ "month", 1, 12, month_names, 1 },
	{ "day-of-week", 0, 7, day_names, 0 },
};

/* Where a field is being parsed, for error messages. */
struct cronexpr_pstate {
	char				*err;
	size_t				 errlen;
	int				 pos;	/* field number as the user sees it */
	const struct cronexpr_field	*f;
	int				 which;	/* F_* */
};

static int	cronexpr_parse_fields(struct cronexpr *, const char *, char *,
		    size_t);

static int
cronexpr_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
cronexpr_ferror(struct cronexpr_pstate *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
cronexpr_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* An error in the current field: "field 2 (hour): ...". */
static int
cronexpr_ferror(struct cronexpr_pstate *ps, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(ps->err, ps->errlen, "field %d (%s): ", ps->pos,
	    ps->f->name);
	if (n < 0 || (size_t)n >= ps->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Lowest set bit at or above from, or -1. */
static int
cronexpr_bit_next(uint64_t bits, int from)
{
	if (from >= 64)
		return -1;
	bits &= ~0ULL << from;
	return bits == 0 ? -1 : __builtin_ctzll(bits);
}

/* A number or a name; *p advances past it. */
static int
cronexpr_value(struct cronexpr_pstate *ps, const char **p, const char *elem,
    int *v)
{
	const char	*s = *p;
	char		 word[ELEM_MAX];
	long		 n = 0;
	size_t		 len = 0;
	int		 i;

	if (isdigit((unsigned char)*s)) {
		while (isdigit((unsigned char)*s)) {
			if (n < 1000000)
				n = n * 10 + (*s - '0');
			s++;
		}
		if (n < ps->f->min || n > ps->f->max)
			return cronexpr_ferror(ps, "%.*s is out of range %d-%d",
			    (int)(s - *p), *p, ps->f->min, ps->f->max);
		*p = s;
		*v = (int)n;
		return 0;
	}
	while (len < sizeof word - 1 && isalpha((unsigned char)s[len])) {
		word[len] = (char)tolower((unsigned char)s[len]);
		len++;
	}
	word[len] = '\0';
	/* A weekday name may carry L ("friL"): names are three letters. */
	if (ps->which == F_DOW && len == 4 && word[3] == 'l')
		word[--len] = '\0';
	if (len == 0) {
		if (s > elem && s[-1] == '-')
			return cronexpr_ferror(ps, "\"%s\": expected a value "
			    "after \"-\"", elem);
		if (*s == '?')
			return cronexpr_ferror(ps, "\"?\" is not supported: "
			    "use \"*\"");
		return cronexpr_ferror(ps, "unexpected character '%c' in "
		    "\"%s\"", *s, elem);
	}
	if (ps->f->names == NULL) {
		if (strcmp(word, "l") == 0)
			return cronexpr_ferror(ps, "L is allowed only in "
			    "day-of-month (L) and day-of-week (5L)");
		return cronexpr_ferror(ps, "\"%s\" is not a number", elem);
	}
	for (i = 0; ps->f->names[i] != NULL; i++) {
		if (strcmp(word, ps->f->names[i]) == 0) {
			*v = i + ps->f->names_base;
			*p = s + len;
			return 0;
		}
	}
	return cronexpr_ferror(ps, "unknown name \"%.*s\" (expected %s-%s)",
	    (int)len, s, ps->f->names[0], ps->f->names[i - 1]);
}

/* The step after a '/': 1 up to the field's width. */
static int
cronexpr_step(struct cronexpr_pstate *ps, const char **p, const char *elem,
    int *step)
{
	const char	*s = *p;
	int		 width = ps->f->max - ps->f->min + 1;
	long		 n = 0;

	if (ps->which == F_DOW)
		width = 7;
	if (!isdigit((unsigned char)*s))
		return cronexpr_ferror(ps, "\"%s\": expected a number after "
		    "\"/\"", elem);
	while (isdigit((unsigned char)*s)) {
		if (n < 1000000)
			n = n * 10 + (*s - '0');
		s++;
	}
	if (n < 1 || n > width)
		return cronexpr_ferror(ps, "step %ld is out of range 1-%d", n,
		    width);
	*step = (int)n;
	*p = s;
	return 0;
}

/* One list element into the field's bits (and the L/# extras). */
static int
cronexpr_element(struct cronexpr_pstate *ps, struct cronexpr *ce,
    const char *elem, uint64_t *bits)
{
	const char	*p = elem;
	int		 lo, hi, step = 1, v, n, top, ranged = 0;

	/* '*' and the weekday top exclude 7: it only repeats Sunday. */
	top = ps->which == F_DOW ? 6 : ps->f->max;
	if (*p == '*') {
		lo = ps->f->min;
		hi = top;
		p++;
		if (*p == '/') {
			p++;
			if (cronexpr_step(ps, &p, elem, &step) != 0)
				return -1;
		}
		goto end;
	}
	if ((p[0] == 'L' || p[0] == 'l') && ps->which == F_DOM) {
		if (p[1] != '\0')
			return cronexpr_ferror(ps, "\"%s\": L (last day) takes "
			    "no range, step or offset", elem);
		ce->flags |= CRONEXPR_DOM_LAST;
		return 0;
	}
	if (cronexpr_value(ps, &p, elem, &lo) != 0)
		return -1;
	hi = lo;
	if (*p == '-') {
		p++;
		if (cronexpr_value(ps, &p, elem, &hi) != 0)
			return -1;
		if (hi < lo)
			return cronexpr_ferror(ps, "range %d-%d is backwards",
			    lo, hi);
		ranged = 1;
	}
	if (*p == '/') {
		p++;
		if (cronexpr_step(ps, &p, elem, &step) != 0)
			return -1;
		if (!ranged)
			hi = lo > top ? lo : top;	/* "A/S" */
	} else if (*p == 'L' || *p == 'l') {
		if (ps->which != F_DOW)
			return cronexpr_ferror(ps, "L is allowed only in "
			    "day-of-month (L) and day-of-week (5L)");
		if (hi != lo)
			return cronexpr_ferror(ps, "\"%s\": L needs a single "
			    "weekday (5L)", elem);
		if (*++p != '\0')
			return cronexpr_ferror(ps, "unexpected character '%c' "
			    "in \"%s\"", *p, elem);
		ce->dow_last |= 1U << (lo % 7);
		return 0;
	} else if (*p == '#') {
		if (ps->which != F_DOW)
			return cronexpr_ferror(ps, "# is allowed only in "
			    "day-of-week (5#3)");
		if (hi != lo)
			return cronexpr_ferror(ps, "\"%s\": # needs a single "
			    "weekday (5#3)", elem);
		p++;
		if (!isdigit((unsigned char)*p))
			return cronexpr_ferror(ps, "\"%s\": expected a number "
			    "after \"#\"", elem);
		for (n = 0; isdigit((unsigned char)*p) && n < 1000; p++)
			n = n * 10 + (*p - '0');
		if (n < 1 || n > 5)
			return cronexpr_ferror(ps, "#%d is out of range 1-5",
			    n);
		if (*p != '\0')
			return cronexpr_ferror(ps, "unexpected character '%c' "
			    "in \"%s\"", *p, elem);
		ce->dow_nth[lo % 7] |= 1U << n;
		return 0;
	}
end:
	if (*p != '\0') {
		if (*p == '?')
			return cronexpr_ferror(ps, "\"?\" is not supported: "
			    "use \"*\"");
		if (*p == 'L' || *p == 'l' || *p == '#')
			return cronexpr_ferror(ps, "\"%s\": %c cannot follow a "
			    "range or step", elem, *p);
		return cronexpr_ferror(ps, "unexpected character '%c' in "
		    "\"%s\"", *p, elem);
	}
	for (v = lo; v <= hi; v += step)
		*bits |= 1ULL << (ps->which == F_DOW ? v % 7 : v);
	return 0;
}

/* A whole field: a comma-separated list of elements. */
static int
cronexpr_field(struct cronexpr_pstate *ps, struct cronexpr *ce,
    const char *text, uint64_t *bits)
{
	char		 elem[ELEM_MAX];
	const char	*p = text, *comma;
	size_t		 len;

	*bits = 0;
	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0)
			return cronexpr_ferror(ps, "empty list element in "
			    "\"%s\"", text);
		if (len >= sizeof elem)
			return cronexpr_ferror(ps, "list element too long");
		memcpy(elem, p, len);
		elem[len] = '\0';
		if (cronexpr_element(ps, ce, elem, bits) != 0)
			return -1;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 0;
}

/* Does day y-m-d (day number days) match the day fields? */
static int
cronexpr_day(const struct cronexpr *ce, int64_t y, int m, int d, int64_t days)
{
	int	mdays = civil_mdays(y, m), wd = civil_weekday(days);
	int	dom_ok, dow_ok;

	dom_ok = (ce->dom >> d & 1) ||
	    ((ce->flags & CRONEXPR_DOM_LAST) && d == mdays);
	dow_ok = (ce->dow >> wd & 1) ||
	    ((ce->dow_last >> wd & 1) && d + 7 > mdays) ||
	    (ce->dow_nth[wd] >> ((d - 1) / 7 + 1) & 1);
	if (ce->flags & (CRONEXPR_DOM_STAR | CRONEXPR_DOW_STAR))
		return dom_ok && dow_ok;
	return dom_ok || dow_ok;
}

/*
 * The first matching wall time in [from, to), or -1.  Jumps a month,
 * day, hour or minute at a time, so a search costs at most a few steps
 * per day of the range.
 */
static int64_t
cronexpr_match(const struct cronexpr *ce, int64_t from, int64_t to)
{
	int64_t	days, secs, y, w;
	int	m, d, H, M, S, n;

	if (from >= to)
		return -1;
	days = civil_fdiv(from, 86400);
	secs = from - days * 86400;
	civil_from_days(days, &y, &m, &d);
	H = (int)(secs / 3600);
	M = (int)(secs / 60 % 60);
	S = (int)(secs % 60);
	for (;;) {
		if (days * 86400 + H * 3600 + M * 60 + S >= to)
			return -1;
		if (!(ce->mon >> m & 1)) {
			if ((n = cronexpr_bit_next(ce->mon, m + 1)) < 0) {
				y++;
				n = cronexpr_bit_next(ce->mon, 1);
			}
			m = n;
			d = 1;
			H = M = S = 0;
			days = civil_days(y, m, 1);
			continue;
		}
		if (!cronexpr_day(ce, y, m, d, days))
			goto next_day;
		if ((n = cronexpr_bit_next(ce->hour, H)) < 0)
			goto next_day;
		if (n != H) {
			H = n;
			M = S = 0;
		}
		if ((n = cronexpr_bit_next(ce->min, M)) < 0) {
			M = S = 0;
			if (++H > 23)
				goto next_day;
			continue;
		}
		if (n != M) {
			M = n;
			S = 0;
		}
		if ((n = cronexpr_bit_next(ce->sec, S)) < 0) {
			S = 0;
			if (++M > 59) {
				M = 0;
				if (++H > 23)
					goto next_day;
			}
			continue;
		}
		S = n;
		w = days * 86400 + H * 3600 + M * 60 + S;
		return w < to ? w : -1;
next_day:
		days++;
		H = M = S = 0;
		if (++d > civil_mdays(y, m)) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
}

/* Reject schedules whose day fields can never agree with the months. */
static int
cronexpr_check_fires(const struct cronexpr *ce, char *err, size_t errlen)
{
	static const int maxdays[] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	int64_t		 from = civil_days(2000, 1, 1) * 86400;
	int		 m, d, nmon = 0, ndom = 0, lastm = 0, lastd = 0;

	if (cronexpr_match(ce, from, from + (int64_t)146097 * 86400) >= 0)
		return 0;
	for (m = 1; m <= 12; m++)
		if (ce->mon >> m & 1)
			nmon++, lastm = m;
	for (d = 1; d <= 31; d++)
		if (ce->dom >> d & 1)
			ndom++, lastd = d;
	if (nmon == 1 && ndom == 1 && !(ce->flags & CRONEXPR_DOM_LAST) &&
	    lastd > maxdays[lastm])
		return cronexpr_error(err, errlen, "can never fire: "
		    "day-of-month %d never occurs in %s", lastd,
		    month_names[lastm - 1]);
	if (ce->dow == 0x7f)
		return cronexpr_error(err, errlen, "can never fire: no "
		    "selected day-of-month occurs in the selected months");
	return cronexpr_error(err, errlen, "can never fire: no date matches "
	    "the day-of-month, month and day-of-week fields together");
}

static const struct {
	const char	*name;
	const char	*fields;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

static int
cronexpr_parse_macro(struct cronexpr *ce, const char *s, char *err,
    size_t errlen)
{
	const char	*errstr;
	char		 word[16], arg[CRONEXPR_MAXLEN + 1];
	size_t		 len, i;
	int64_t		 ms;

	for (len = 0; s[len] != '\0' && !isspace((unsigned char)s[len]); len++)
		;
	if (len >= sizeof word)
		len = sizeof word - 1;
	for (i = 0; i < len; i++)
		word[i] = (char)tolower((unsigned char)s[i]);
	word[len] = '\0';
	s += len;
	while (isspace((unsigned char)*s))
		s++;
	snprintf(arg, sizeof arg, "%s", s);

	if (strcmp(word, "@every") == 0) {
		if (*arg == '\0')
			return cronexpr_error(err, errlen, "@every needs a "
			    "duration, e.g. @every 5m");
		if (strpbrk(arg, " \t") != NULL)
			return cronexpr_error(err, errlen, "unexpected text "
			    "after @every %.*s", (int)strcspn(arg, " \t"),
			    arg);
		if (duration_parse(arg, &ms, &errstr) != 0)
			return cronexpr_error(err, errlen, "@every: bad "
			    "duration \"%s\": %s", arg, errstr);
		if (ms < 1000)
			return cronexpr_error(err, errlen, "@every: duration "
			    "must be at least 1s");
		if (ms % 1000 != 0)
			return cronexpr_error(err, errlen, "@every: duration "
			    "must be whole seconds");
		ce->kind = CRONEXPR_EVERY;
		ce->every = ms / 1000;
		return 0;
	}
	if (*arg != '\0')
		return cronexpr_error(err, errlen, "unexpected text after %s",
		    word);
	if (strcmp(word, "@reboot") == 0) {
		ce->kind = CRONEXPR_REBOOT;
		return 0;
	}
	for (i = 0; i < sizeof macros / sizeof macros[0]; i++) {
		if (strcmp(word, macros[i].name) == 0)
			return cronexpr_parse_fields(ce, macros[i].fields, err,
			    errlen);
	}
	return cronexpr_error(err, errlen, "unknown macro \"%s\" (expected "
	    "@yearly, @annually, @monthly, @weekly, @daily, @midnight, "
	    "@hourly, @reboot or @every DURATION)", word);
}

static int
cronexpr_parse_fields(struct cronexpr *ce, const char *s, char *err,
    size_t errlen)
{
	struct cronexpr_pstate	 ps;
	char			 buf[CRONEXPR_MAXLEN + 1], *tok[7], *p;
	uint64_t		 bits[6];
	int			 n = 0, i, first;

	snprintf(buf, sizeof buf, "%s", s);
	for (p = buf; *p != '\0';) {
		while (isspace((unsigned char)*p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n < 7)
			tok[n] = p;
		n++;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
	}
	if (n != 5 && n != 6) {
		return cronexpr_error(err, errlen, "expected 5 or 6 fields, "
		    "got %d", n);
	}
	first = n == 5 ? F_MIN : F_SEC;
	bits[F_SEC] = 1;
	ps.err = err;
	ps.errlen = errlen;
	for (i = 0; i < n; i++) {
		ps.pos = i + 1;
		ps.which = first + i;
		ps.f = &fields[ps.which];
		if (cronexpr_field(&ps, ce, tok[i], &bits[ps.which]) != 0)
			return -1;
	}
	ce->kind = CRONEXPR_FIELDS;
	ce->sec = bits[F_SEC];
	ce->min = bits[F_MIN];
	ce->hour = (uint32_t)bits[F_HOUR];
	ce->dom = (uint32_t)bits[F_DOM];
	ce->mon = (uint16_t)bits[F_MON];
	ce->dow = (uint8_t)bits[F_DOW];
	if (tok[n - 4][0] == '*')
		ce->flags |= CRONEXPR_HOUR_STAR;
	if (tok[n - 3][0] == '*')
		ce->flags |= CRONEXPR_DOM_STAR;
	if (tok[n - 1][0] == '*')
		ce->flags |= CRONEXPR_DOW_STAR;
	return cronexpr_check_fires(ce, err, errlen);
}

int
cronexpr_parse(struct cronexpr *ce, const char *s, char *err, size_t errlen)
{
	char	buf[CRONEXPR_MAXLEN + 1];
	size_t	len;

	memset(ce, 0, sizeof *ce);
	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0)
		return cronexpr_error(err, errlen, "empty schedule");
	if (len > CRONEXPR_MAXLEN)
		return cronexpr_error(err, errlen, "schedule too long (at most "
		    "%d characters)", CRONEXPR_MAXLEN);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (*buf == '@')
		return cronexpr_parse_macro(ce, buf, err, errlen);
	return cronexpr_parse_fields(ce, buf, err, errlen);
}

static int64_t
cronexpr_max(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

int
cronexpr_next(const struct cronexpr *ce, const struct tz *tz, int64_t after,
    int64_t *next)
{
	struct tz_segment	seg;
	int64_t			t0, s, e, from, to, w, maxwall;
	int			wall_mode;

	if (after >= WALL_MAX)
		return -1;
	if (after < WALL_MIN)
		after = WALL_MIN;
	switch (ce->kind) {
	case CRONEXPR_REBOOT:
		return -1;
	case CRONEXPR_EVERY:
		*next = (civil_fdiv(after, ce->every) + 1) * ce->every;
		return 0;
	case CRONEXPR_FIELDS:
		break;
	}

	t0 = after + 1;
	wall_mode = !(ce->flags & CRONEXPR_HOUR_STAR);
	tz_segment(tz, t0, &seg);
	maxwall = seg.start == TZ_TIME_MIN ? WALL_MIN :
	    seg.start + seg.prev_offset;
	for (;;) {
		s = seg.start;
		e = seg.end;
		to = e == TZ_TIME_MAX || e >= WALL_MAX ? WALL_MAX :
		    e + seg.offset;
		if (!wall_mode) {
			from = cronexpr_max(s == TZ_TIME_MIN ? WALL_MIN : s,
			    t0) + seg.offset;
		} else {
			/* Wall times skipped by a gap fire as it ends, at s. */
			if (s != TZ_TIME_MIN && s > after &&
			    s + seg.offset > maxwall &&
			    cronexpr_match(ce, maxwall, s + seg.offset) >= 0) {
				*next = s;
				return 0;
			}
			from = cronexpr_max(maxwall, t0 + seg.offset);
			if (s != TZ_TIME_MIN)
				from = cronexpr_max(from, s + seg.offset);
			maxwall = cronexpr_max(maxwall, to);
		}
		if ((w = cronexpr_match(ce, from, to)) >= 0) {
			*next = w - seg.offset;
			return 0;
		}
		if (to >= WALL_MAX || e <= s)
			return -1;
		tz_segment(tz, e, &seg);
	}
}
