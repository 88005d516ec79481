/*
 * tz.h: IANA time zones without touching the process's TZ, and the time
 * formats sqcron shows and accepts (RFC 3339, @EPOCH, "24h ago").
 */
#ifndef SQCRON_TZ_H
#define SQCRON_TZ_H

#include <stddef.h>
#include <stdint.h>

#define TZ_TIME_MIN	INT64_MIN	/* "since forever" in a segment */
#define TZ_TIME_MAX	INT64_MAX	/* "until forever" in a segment */
#define TZ_RFC3339_LEN	40

struct tz;

/*
 * A stretch of time [start, end) over which a zone's UTC offset is
 * constant, in seconds since the epoch.  prev_offset is the offset in
 * force just before start (equal to offset when start is TZ_TIME_MIN).
 */
struct tz_segment {
	int64_t	start;
	int64_t	end;
	int32_t	offset;
	int32_t	prev_offset;
};

/* Load a zone by IANA name; NULL or "" means the local zone (TZ, /etc/localtime). */
struct tz	*tz_load(const char *name, char **cause);
/* Parse a zone from TZif data in memory. */
struct tz	*tz_from_tzif(const char *name, const void *, size_t, char **cause);
/* Parse a POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3". */
struct tz	*tz_from_posix(const char *name, const char *rule, char **cause);
/* The zone's name as given (or as found for the local zone). */
const char	*tz_name(const struct tz *);
void		 tz_free(struct tz *);

/* The segment of constant offset that contains instant t. */
void		 tz_segment(const struct tz *, int64_t t, struct tz_segment *);
/* UTC offset in seconds at instant t. */
int32_t		 tz_offset(const struct tz *, int64_t t);

/* "2026-03-29T03:00:00+02:00": instant t (seconds) in zone's local time. */
void		 tz_format_rfc3339(const struct tz *, int64_t t, char *, size_t);
/* "2026-11-24T08:00:00.004Z": instant in milliseconds, UTC. */
void		 tz_format_utc_ms(int64_t ms, char *, size_t);
/*
 * Parse a time as users give it: RFC 3339 with offset or Z (fraction
 * optional), "@EPOCH" seconds, or a duration meaning that long before now.
 * All values in milliseconds.
 */
int		 tz_parse_time(const char *, int64_t now_ms, int64_t *ms,
		    const char **errstr);

#endif
