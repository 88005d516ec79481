/*
 * tz.c: time zones read from TZif files, and time as text.
 *
 * sqcron computes fire times in many zones in one process.  The libc way
 * (setenv("TZ") + tzset() + localtime_r) changes global state under every
 * other caller and re-reads the zone file at each switch, so this module
 * reads the zone file itself (RFC 8536, versions 1 to 4) into a table of
 * offset changes, and extends it past the last transition with the
 * POSIX TZ rule from the file's footer.  All lookups are pure functions of
 * the loaded table: no globals, no I/O after tz_load().
 *
 * Transitions that do not change the UTC offset (an abbreviation or isdst
 * change only) are dropped: to a scheduler a zone is just its offset.
 * Leap-second ("right/") zones are refused rather than misread.
 *
 * It also formats and parses the times users see: RFC 3339 with the zone's
 * offset, RFC 3339 UTC with milliseconds, "@EPOCH", and "24h" (ago).
 */

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "civil.h"
#include "duration.h"
#include "tz.h"
#include "xmalloc.h"

#define TZ_MAX_FILE	(256 * 1024)
#define TZ_MAX_TRANS	20000
#define TZ_MAX_OFFSET	(26 * 3600)
#define TZ_DEFAULT_DIR	"/usr/share/zoneinfo"

/* One end of a POSIX rule: a date form and a local time of day. */
struct tz_ruledate {
	enum { RULE_JULIAN1, RULE_JULIAN0, RULE_MONTH } kind;
	int	day;		/* Jn: 1-365; n: 0-365; M: weekday 0-6 */
	int	week;		/* M: 1-5 */
	int	month;		/* M: 1-12 */
	int32_t	time;		/* seconds after local midnight, may be <0 */
};

struct tz_rule {
	int32_t			std_offset;
	int32_t			dst_offset;
	int			has_dst;
	struct tz_ruledate	start;	/* std -> dst, in standard time */
	struct tz_ruledate	end;	/* dst -> std, in daylight time */
};

struct tz {
	char		*name;
	int32_t		 first_offset;	/* before the first transition */
	size_t		 n;
	int64_t		*at;		/* transition instants, increasing */
	int32_t		*offset;	/* offset from at[i] on */
	int		 has_rule;
	struct tz_rule	 rule;		/* after at[n - 1] (or always) */
};

static struct tz *
tz_new(const char *name)
{
	struct tz	*tz;

	tz = xcalloc(1, sizeof *tz);
	tz->name = xstrdup(name);
	return tz;
}

void
tz_free(struct tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->name);
	free(tz->at);
	free(tz->offset);
	free(tz);
}

const char *
tz_name(const struct tz *tz)
{
	return tz->name;
}

/*
 * POSIX TZ rules (the TZif footer, or a TZ variable):
 *
 *	rule   := std offset [ dst [ offset ] [ "," date [ "/" time ] "," date [ "/" time ] ] ]
 *	std    := 3+ letters | "<" [A-Za-z0-9+-]+ ">"
 *	offset := [ "+" | "-" ] hh [ ":" mm [ ":" ss ] ]   (west of UTC is positive)
 *	date   := "J" n (1-365, never Feb 29) | n (0-365) | "M" m "." w "." d
 *	time   := [ "+" | "-" ] hh [ ":" mm [ ":" ss ] ]   (hh up to 167)
 */
static const char *
tz_rule_name(const char *p)
{
	const char	*q;

	if (*p == '<') {
		for (q = p + 1; isalnum((unsigned char)*q) || *q == '+' ||
		    *q == '-'; q++)
			;
		if (*q != '>' || q - p < 4)
			return NULL;
		return q + 1;
	}
	for (q = p; isalpha((unsigned char)*q); q++)
		;
	return q - p < 3 ? NULL : q;
}

static const char *
tz_rule_num(const char *p, int lo, int hi, int *v)
{
	long	n = 0;

	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p)) {
		n = n * 10 + (*p++ - '0');
		if (n > hi)
			return NULL;
	}
	if (n < lo)
		return NULL;
	*v = (int)n;
	return p;
}

static const char *
tz_rule_hms(const char *p, int maxh, int32_t *secs)
{
	int	sign = 1, h, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if ((p = tz_rule_num(p, 0, maxh, &h)) == NULL)
		return NULL;
	if (*p == ':') {
		if ((p = tz_rule_num(p + 1, 0, 59, &m)) == NULL)
			return NULL;
		if (*p == ':' && (p = tz_rule_num(p + 1, 0, 59, &s)) == NULL)
			return NULL;
	}
	*secs = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *
tz_rule_date(const char *p, struct tz_ruledate *rd)
{
	if (*p == 'J') {
		rd->kind = RULE_JULIAN1;
		p = tz_rule_num(p + 1, 1, 365, &rd->day);
	} else if (*p == 'M') {
		rd->kind = RULE_MONTH;
		if ((p = tz_rule_num(p + 1, 1, 12, &rd->month)) == NULL ||
		    *p != '.' ||
		    (p = tz_rule_num(p + 1, 1, 5, &rd->week)) == NULL ||
		    *p != '.' ||
		    (p = tz_rule_num(p + 1, 0, 6, &rd->day)) == NULL)
			return NULL;
	} else {
		rd->kind = RULE_JULIAN0;
		p = tz_rule_num(p, 0, 365, &rd->day);
	}
	if (p == NULL)
		return NULL;
	rd->time = 2 * 3600;
	if (*p == '/')
		p = tz_rule_hms(p + 1, 167, &rd->time);
	return p;
}

static int
tz_rule_parse(const char *s, struct tz_rule *r)
{
	const char	*p;
	int32_t		 off;

	memset(r, 0, sizeof *r);
	if ((p = tz_rule_name(s)) == NULL || (p = tz_rule_hms(p, 24, &off)) ==
	    NULL)
		return -1;
	r->std_offset = -off;
	if (*p == '\0')
		return 0;
	if ((p = tz_rule_name(p)) == NULL)
		return -1;
	r->has_dst = 1;
	r->dst_offset = r->std_offset + 3600;
	if (*p != ',' && *p != '\0') {
		if ((p = tz_rule_hms(p, 24, &off)) == NULL)
			return -1;
		r->dst_offset = -off;
	}
	if (*p == '\0') {
		/* No dates: the POSIX default glibc uses (US rules). */
		p = ",M3.2.0,M11.1.0";
	}
	if (*p != ',' || (p = tz_rule_date(p + 1, &r->start)) == NULL ||
	    *p != ',' || (p = tz_rule_date(p + 1, &r->end)) == NULL ||
	    *p != '\0')
		return -1;
	return 0;
}

/* Local seconds since the epoch at which a rule date falls in year y. */
static int64_t
tz_rule_local(const struct tz_ruledate *rd, int64_t y)
{
	int64_t	days;
	int	wd1, d;

	switch (rd->kind) {
	case RULE_JULIAN1:
		days = civil_days(y, 1, 1) + rd->day - 1;
		if (civil_is_leap(y) && rd->day >= 60)
			days++;
		break;
	case RULE_JULIAN0:
		days = civil_days(y, 1, 1) + rd->day;
		break;
	default:
		wd1 = civil_weekday(civil_days(y, rd->month, 1));
		d = 1 + (rd->day - wd1 + 7) % 7 + 7 * (rd->week - 1);
		while (d > civil_mdays(y, rd->month))
			d -= 7;
		days = civil_days(y, rd->month, d);
		break;
	}
	return days * 86400 + rd->time;
}

/*
 * The segment of a rule zone around t: the rule's transitions of the
 * years around t, sorted, bracket it.
 */
static void
tz_rule_segment(const struct tz_rule *r, int64_t t, struct tz_segment *seg)
{
	int64_t	at[6], tmp_at, y, yy;
	int32_t	off[6], tmp_off;
	int	i, j, n = 0;

	if (!r->has_dst) {
		seg->start = TZ_TIME_MIN;
		seg->end = TZ_TIME_MAX;
		seg->offset = seg->prev_offset = r->std_offset;
		return;
	}
	civil_from_days(civil_fdiv(t + r->std_offset, 86400), &y, &i, &j);
	for (yy = y - 1; yy <= y + 1; yy++) {
		at[n] = tz_rule_local(&r->start, yy) - r->std_offset;
		off[n++] = r->dst_offset;
		at[n] = tz_rule_local(&r->end, yy) - r->dst_offset;
		off[n++] = r->std_offset;
	}
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && at[j - 1] > at[j]; j--) {
			tmp_at = at[j], at[j] = at[j - 1], at[j - 1] = tmp_at;
			tmp_off = off[j], off[j] = off[j - 1], off[j - 1] = tmp_off;
		}
	}
	for (i = n - 1; i >= 0 && at[i] > t; i--)
		;
	/* i >= 1 always: the transitions of year y - 1 precede t. */
	if (i < 1)
		i = 1;
	seg->start = at[i];
	seg->offset = off[i];
	seg->prev_offset = off[i - 1];
	seg->end = i + 1 < n ? at[i + 1] : TZ_TIME_MAX;
}

static uint32_t
tz_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
tz_be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)tz_be32(p) << 32 | tz_be32(p + 4));
}

struct tz *
tz_from_tzif(const char *name, const void *data, size_t len, char **cause)
{
	const unsigned char	*p = data, *end = p + len, *times, *idx;
	const unsigned char	*types;
	struct tz		*tz = NULL;
	uint32_t		 isutcnt, isstdcnt, leapcnt, timecnt, typecnt;
	uint32_t		 charcnt, i, k;
	size_t			 tsize = 4, block;
	int32_t			 utoff, last;
	int64_t			 t, prev = INT64_MIN;
	char			 footer[256];
	const unsigned char	*nl;
	int			 version;

	if (len < 44 || memcmp(p, "TZif", 4) != 0) {
		xasprintf(cause, "%s: not a TZif file", name);
		return NULL;
	}
	version = p[4] == 0 ? 1 : p[4] - '0';
	for (;;) {
		isutcnt = tz_be32(p + 20);
		isstdcnt = tz_be32(p + 24);
		leapcnt = tz_be32(p + 28);
		timecnt = tz_be32(p + 32);
		typecnt = tz_be32(p + 36);
		charcnt = tz_be32(p + 40);
		if (timecnt > TZ_MAX_TRANS || typecnt == 0 || typecnt > 256 ||
		    charcnt > 65536 || leapcnt > 1000 ||
		    (isutcnt != 0 && isutcnt != typecnt) ||
		    (isstdcnt != 0 && isstdcnt != typecnt))
			goto bad;
		block = timecnt * tsize + timecnt + typecnt * 6 + charcnt +
		    leapcnt * (tsize + 4) + isstdcnt + isutcnt;
		if ((size_t)(end - p) < 44 + block)
			goto bad;
		if (version >= 2 && tsize == 4) {
			/* Skip the 32-bit data; the 64-bit header follows. */
			p += 44 + block;
			if ((size_t)(end - p) < 44 || memcmp(p, "TZif", 4) != 0)
				goto bad;
			tsize = 8;
			continue;
		}
		break;
	}
	if (leapcnt != 0) {
		xasprintf(cause, "%s: leap-second zone files are not "
		    "supported", name);
		return NULL;
	}
	times = p + 44;
	idx = times + timecnt * tsize;
	types = idx + timecnt;

	tz = tz_new(name);
	tz->at = xreallocarray(NULL, timecnt + 1, sizeof *tz->at);
	tz->offset = xreallocarray(NULL, timecnt + 1, sizeof *tz->offset);
	for (k = 0; k < typecnt; k++) {
		utoff = (int32_t)tz_be32(types + 6 * k);
		if (utoff < -TZ_MAX_OFFSET || utoff > TZ_MAX_OFFSET ||
		    types[6 * k + 4] > 1 || types[6 * k + 5] >= charcnt)
			goto bad;
	}
	tz->first_offset = last = (int32_t)tz_be32(types);
	for (i = 0; i < timecnt; i++) {
		t = tsize == 8 ? tz_be64(times + 8 * i) :
		    (int32_t)tz_be32(times + 4 * i);
		if (i > 0 && t <= prev)
			goto bad;
		prev = t;
		if (idx[i] >= typecnt)
			goto bad;
		utoff = (int32_t)tz_be32(types + 6 * idx[i]);
		if (utoff == last)
			continue;
		tz->at[tz->n] = t;
		tz->offset[tz->n++] = last = utoff;
	}

	if (version >= 2) {
		p = types + typecnt * 6 + charcnt + leapcnt * 12 + isstdcnt +
		    isutcnt;
		if (p >= end || *p != '\n')
			goto bad;
		p++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || (size_t)(nl - p) >= sizeof footer)
			goto bad;
		memcpy(footer, p, (size_t)(nl - p));
		footer[nl - p] = '\0';
		if (footer[0] != '\0') {
			if (tz_rule_parse(footer, &tz->rule) != 0)
				goto bad;
			tz->has_rule = 1;
		}
	}
	return tz;

bad:
	tz_free(tz);
	xasprintf(cause, "%s: corrupt or unsupported TZif file", name);
	return NULL;
}

struct tz *
tz_from_posix(const char *name, const char *rule, char **cause)
{
	struct tz	*tz;
	struct tz_rule	 r;

	if (tz_rule_parse(rule, &r) != 0) {
		xasprintf(cause, "%s: invalid POSIX TZ rule", name);
		return NULL;
	}
	tz = tz_new(name);
	tz->rule = r;
	tz->has_rule = 1;
	tz->first_offset = r.std_offset;
	return tz;
}

static struct tz *
tz_utc(void)
{
	return tz_new("UTC");
}

/* IANA names: letters, digits, '/', '_', '+', '-', '.'; no ".." parts. */
static int
tz_name_valid(const char *name)
{
	const char	*p;

	if (*name == '\0' || *name == '/' || strlen(name) > 255)
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("/_+-.", *p) == NULL)
			return 0;
		if (*p == '.' && (p == name || p[-1] == '/'))
			return 0;	/* no ".", "..", hidden files */
	}
	return 1;
}

static struct tz *
tz_read_file(const char *name, const char *path, char **cause)
{
	struct tz	*tz = NULL;
	struct stat	 st;
	char		*buf = NULL;
	ssize_t		 r;
	size_t		 got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			xasprintf(cause, "unknown time zone \"%s\"", name);
		else
			xasprintf(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > TZ_MAX_FILE) {
		xasprintf(cause, "unknown time zone \"%s\"", name);
		goto out;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			xasprintf(cause, "%s: %s", path, r == 0 ?
			    "short read" : strerror(errno));
			goto out;
		}
		got += (size_t)r;
	}
	tz = tz_from_tzif(name, buf, got, cause);
out:
	free(buf);
	close(fd);
	return tz;
}

/* The local zone: TZ (":name", a name, a path, or a POSIX rule), else /etc/localtime. */
static struct tz *
tz_load_local(char **cause)
{
	const char	*env = getenv("TZ"), *p;
	char		 link[PATH_MAX];
	ssize_t		 n;
	struct tz	*tz;

	if (env != NULL && *env != '\0') {
		if (*env == ':')
			env++;
		if (*env == '/')
			return tz_read_file(env, env, cause);
		if (tz_name_valid(env) &&
		    (tz = tz_load(env, cause)) != NULL)
			return tz;
		if (isalpha((unsigned char)*env) || *env == '<') {
			free(*cause);
			*cause = NULL;
			return tz_from_posix(env, env, cause);
		}
		return NULL;
	}
	if (access("/etc/localtime", F_OK) != 0)
		return tz_utc();
	/* Name the zone after the link's target when there is one. */
	p = "localtime";
	n = readlink("/etc/localtime", link, sizeof link - 1);
	if (n > 0) {
		link[n] = '\0';
		if ((p = strstr(link, "zoneinfo/")) != NULL)
			p += strlen("zoneinfo/");
		else
			p = "localtime";
	}
	return tz_read_file(p, "/etc/localtime", cause);
}

struct tz *
tz_load(const char *name, char **cause)
{
	const char	*dir;
	char		*path;
	struct tz	*tz;

	if (name == NULL || *name == '\0')
		return tz_load_local(cause);
	if (!tz_name_valid(name)) {
		xasprintf(cause, "invalid time zone name \"%s\"", name);
		return NULL;
	}
	if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
		dir = TZ_DEFAULT_DIR;
	xasprintf(&path, "%s/%s", dir, name);
	tz = tz_read_file(name, path, cause);
	free(path);
	/* UTC needs no file: keep it working on a system without tzdata. */
	if (tz == NULL && (strcmp(name, "UTC") == 0 ||
	    strcmp(name, "Etc/UTC") == 0)) {
		free(*cause);
		*cause = NULL;
		tz = tz_new(name);
	}
	return tz;
}

void
tz_segment(const struct tz *tz, int64_t t, struct tz_segment *seg)
{
	size_t	lo = 0, hi = tz->n, mid;

	/* lo = number of transitions at or before t. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (tz->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == tz->n && tz->has_rule) {
		tz_rule_segment(&tz->rule, t, seg);
		if (tz->n > 0 && seg->start < tz->at[tz->n - 1]) {
			seg->start = tz->at[tz->n - 1];
			seg->prev_offset = tz->n > 1 ? tz->offset[tz->n - 2] :
			    tz->first_offset;
		}
		return;
	}
	if (lo == 0) {
		seg->start = TZ_TIME_MIN;
		seg->offset = seg->prev_offset = tz->first_offset;
	} else {
		seg->start = tz->at[lo - 1];
		seg->offset = tz->offset[lo - 1];
		seg->prev_offset = lo > 1 ? tz->offset[lo - 2] :
		    tz->first_offset;
	}
	seg->end = lo < tz->n ? tz->at[lo] : TZ_TIME_MAX;
	if (lo == tz->n && tz->n == 0)
		seg->end = TZ_TIME_MAX;
}

int32_t
tz_offset(const struct tz *tz, int64_t t)
{
	struct tz_segment	seg;

	tz_segment(tz, t, &seg);
	return seg.offset;
}

/* "YYYY-MM-DDTHH:MM:SS" for wall seconds w; returns characters written. */
static int
tz_format_wall(int64_t w, char *buf, size_t len)
{
	int64_t	days = civil_fdiv(w, 86400), secs = w - days * 86400, y;
	int	m, d;

	civil_from_days(days, &y, &m, &d);
	return snprintf(buf, len, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d", y,
	    m, d, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

void
tz_format_rfc3339(const struct tz *tz, int64_t t, char *buf, size_t len)
{
	int32_t	off = tz_offset(tz, t), a = off < 0 ? -off : off;
	int	n;

	/* RFC 3339 offsets have no seconds: show such instants in UTC. */
	if (a % 60 != 0) {
		n = tz_format_wall(t, buf, len);
		if (n > 0 && (size_t)n < len)
			snprintf(buf + n, len - (size_t)n, "Z");
		return;
	}
	n = tz_format_wall(t + off, buf, len);
	if (n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "%c%02d:%02d",
		    off < 0 ? '-' : '+', (int)(a / 3600), (int)(a / 60 % 60));
}

void
tz_format_utc_ms(int64_t ms, char *buf, size_t len)
{
	int64_t	s = civil_fdiv(ms, 1000);
	int	n;

	n = tz_format_wall(s, buf, len);
	if (n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ".%03dZ",
		    (int)(ms - s * 1000));
}

/* Read exactly n digits into *v; returns the rest or NULL. */
static const char *
tz_digits(const char *p, int n, int *v)
{
	*v = 0;
	while (n-- > 0) {
		if (!isdigit((unsigned char)*p))
			return NULL;
		*v = *v * 10 + (*p++ - '0');
	}
	return p;
}

/*
 * RFC 3339:  date-fullyear "-" month "-" mday ("T" | "t" | " ")
 *            hour ":" minute ":" second [ "." 1*digit ] ("Z" | "z" | ("+" | "-") hh ":" mm)
 */
static int
tz_parse_rfc3339(const char *s, int64_t *ms, const char **errstr)
{
	const char	*p = s;
	int		 y, mo, d, h, mi, sec, oh, om, frac = 0, scale = 100;
	int64_t		 secs;
	int		 sign;

	if ((p = tz_digits(p, 4, &y)) == NULL || *p++ != '-' ||
	    (p = tz_digits(p, 2, &mo)) == NULL || *p++ != '-' ||
	    (p = tz_digits(p, 2, &d)) == NULL)
		goto bad;
	if (*p != 'T' && *p != 't' && *p != ' ')
		goto bad;
	p++;
	if ((p = tz_digits(p, 2, &h)) == NULL || *p++ != ':' ||
	    (p = tz_digits(p, 2, &mi)) == NULL || *p++ != ':' ||
	    (p = tz_digits(p, 2, &sec)) == NULL)
		goto bad;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			goto bad;
		for (; isdigit((unsigned char)*p); p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > civil_mdays(y, mo) || h > 23 ||
	    mi > 59 || sec > 60) {
		*errstr = "date or time out of range";
		return -1;
	}
	if (sec == 60)
		sec = 59;	/* a leap second: the nearest representable */
	secs = civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if ((p = tz_digits(p, 2, &oh)) == NULL || *p++ != ':' ||
		    (p = tz_digits(p, 2, &om)) == NULL || oh > 23 || om > 59)
			goto bad;
		secs -= sign * (oh * 3600 + om * 60);
	} else {
		*errstr = "missing time zone offset (add Z or +HH:MM)";
		return -1;
	}
	if (*p != '\0')
		goto bad;
	*ms = secs * 1000 + frac;
	return 0;
bad:
	*errstr = "expected RFC 3339 (2026-11-24T08:00:00Z), @EPOCH or a "
	    "duration ago (24h)";
	return -1;
}

int
tz_parse_time(const char *s, int64_t now_ms, int64_t *ms, const char **errstr)
{
	const char	*p;
	int64_t		 v = 0, ago;
	int		 neg = 0;

	if (s == NULL || *s == '\0') {
		*errstr = "empty time";
		return -1;
	}
	if (*s == '@') {
		p = s + 1;
		if (*p == '-') {
			neg = 1;
			p++;
		}
		if (!isdigit((unsigned char)*p))
			goto bad_epoch;
		for (; isdigit((unsigned char)*p); p++) {
			if (v > (INT64_MAX / 1000 - 9) / 10)
				goto bad_epoch;
			v = v * 10 + (*p - '0');
		}
		if (*p != '\0')
			goto bad_epoch;
		*ms = (neg ? -v : v) * 1000;
		return 0;
	}
	if (strlen(s) >= 10 && s[4] == '-')
		return tz_parse_rfc3339(s, ms, errstr);
	if (duration_parse(s, &ago, errstr) == 0) {
		*ms = now_ms - ago;
		return 0;
	}
	*errstr = "expected RFC 3339 (2026-11-24T08:00:00Z), @EPOCH or a "
	    "duration ago (24h)";
	return -1;
bad_epoch:
	*errstr = "@EPOCH must be whole seconds, e.g. @1767225600";
	return -1;
}
