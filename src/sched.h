/*
 * sched.h: the timer of next fires over all jobs.
 */
#ifndef SQCRON_SCHED_H
#define SQCRON_SCHED_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sched;
struct tz;

/* At most this many due fires of one job are reported per wake-up. */
#define SCHED_MAX_BATCH	1000

/*
 * A due fire of a job: fire_at is the scheduled instant (ms), without
 * jitter.  newest is 1 on the job's last due fire of this wake-up (the
 * only one, unless sqcrond was down or the clock jumped).  skipped counts
 * due fires before it that were not reported because the batch limit was
 * reached (only ever non-zero on the newest fire of a long backlog).
 * now is the wall clock at wake-up.
 */
typedef void	(*sched_fire_cb)(int64_t job_id, int64_t fire_at,
		    uint64_t skipped, int newest, int64_t now, void *arg);
/* The wall clock was set (stepped); delta is new minus expected, in ms. */
typedef void	(*sched_clock_cb)(int64_t delta, void *arg);

/*
 * Around the fires of one wake-up: end 0 before the first, 1 after the
 * last (the caller may group their records in one transaction).
 */
typedef void	(*sched_batch_cb)(int end, void *arg);

struct sched	*sched_new(struct event_base *, const struct tz *,
		    sched_fire_cb, sched_clock_cb, void *arg, char **cause);
void		 sched_free(struct sched *);
void		 sched_set_batch_cb(struct sched *, sched_batch_cb);

/*
 * (Re)schedule a job: its fires strictly after `after` (ms), started
 * jitter_ms later.  zone NULL means the scheduler's default zone.
 * Returns -1 with a cause for a bad schedule or zone.  A schedule with no
 * timed fires (@reboot) is accepted and never fires.
 */
int		 sched_set(struct sched *, int64_t job_id, const char *schedule,
		    const char *zone, int64_t jitter_ms, int64_t after,
		    char **cause);
/* Stop scheduling a job (no error if unknown). */
void		 sched_remove(struct sched *, int64_t job_id);
/* The next scheduled fire instant of a job (ms), or -1. */
int64_t		 sched_next_at(const struct sched *, int64_t job_id);
/*
 * The longest gap between a job's next 50 fires, in its own zone (ms): an
 * estimate of its period, for staleness.  0 when it has no next fire.
 * Computed once per schedule and kept.
 */
int64_t		 sched_period(struct sched *, int64_t job_id);
/* Number of scheduled jobs. */
size_t		 sched_count(const struct sched *);
/* A fixed delay in [0, max) derived from the job's name (FNV-1a). */
int64_t		 sched_jitter(const char *name, int64_t max_ms);
/* Wall-clock time in ms. */
int64_t		 sched_now(void);

#endif
