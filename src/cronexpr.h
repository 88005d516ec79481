/*
 * cronexpr.h: cron schedules and their next fire instant in a time zone.
 */
#ifndef SQCRON_CRONEXPR_H
#define SQCRON_CRONEXPR_H

#include <stddef.h>
#include <stdint.h>

struct tz;

#define CRONEXPR_ERRLEN		256
#define CRONEXPR_MAXLEN		1024

enum cronexpr_kind {
	CRONEXPR_FIELDS,	/* five or six fields, or a macro for them */
	CRONEXPR_EVERY,		/* @every DURATION */
	CRONEXPR_REBOOT,	/* @reboot: no timed fires */
};

#define CRONEXPR_HOUR_STAR	0x01	/* hour field begins with '*' */
#define CRONEXPR_DOM_STAR	0x02
#define CRONEXPR_DOW_STAR	0x04
#define CRONEXPR_DOM_LAST	0x08	/* "L" in day-of-month */

/* A parsed schedule: plain data, copyable, no allocation. */
struct cronexpr {
	enum cronexpr_kind	kind;
	int			flags;
	uint64_t		sec;		/* bits 0-59 */
	uint64_t		min;		/* bits 0-59 */
	uint32_t		hour;		/* bits 0-23 */
	uint32_t		dom;		/* bits 1-31 */
	uint16_t		mon;		/* bits 1-12 */
	uint8_t			dow;		/* bits 0-6, Sunday 0 */
	uint8_t			dow_last;	/* "5L": last such weekday */
	uint8_t			dow_nth[7];	/* "5#3": bits 1-5 per weekday */
	int64_t			every;		/* @every, in seconds */
};

/*
 * Parse a schedule.  On error returns -1 and writes a message naming the
 * field and the reason into err ("field 2 (hour): 24 is out of range 0-23").
 */
int	cronexpr_parse(struct cronexpr *, const char *, char *err, size_t);
/*
 * The first fire instant strictly after `after` (seconds since the epoch)
 * in zone tz.  Returns 0 and sets *next, or -1 when there is none (an
 * @reboot schedule, or none before the year 9999).
 */
int	cronexpr_next(const struct cronexpr *, const struct tz *,
	    int64_t after, int64_t *next);

#endif
