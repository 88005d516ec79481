/*
 * sched.c: one timer for the earliest next fire over a heap of jobs.
 *
 * The clocks.  There are three, and each has one job:
 *
 *   - Fire instants are wall-clock (CLOCK_REALTIME) milliseconds: a
 *     schedule names wall times, computed as instants by cronexpr in the
 *     job's zone.  DST never moves the clock; it only changes which
 *     instants a schedule names, and cronexpr has already accounted for
 *     it, so nothing here knows about zones beyond passing one along.
 *   - The timer is a timerfd on CLOCK_REALTIME with TFD_TIMER_ABSTIME, so
 *     it expires when the wall clock reaches the fire, however the clock
 *     got there (slewed by NTP, or set).  libevent's own timers run on
 *     the monotonic clock and would fire late or early after a step.
 *   - CLOCK_MONOTONIC measures how far the wall clock was stepped: the
 *     timerfd is armed with TFD_TIMER_CANCEL_ON_SET, so any set of the
 *     clock wakes us with ECANCELED; comparing both clocks with the pair
 *     saved at the last arming gives the step.
 *
 * After a step forward, fires between the old and the new time are due
 * at once and are all reported, oldest first (at most SCHED_MAX_BATCH per
 * job per wake-up, the newest always; the count of the rest is passed
 * along), and the policy layer decides what to record and run.  After a
 * step backward the next fire of each job stays where it was: instants
 * already fired are never fired again, so the wall times repeated by the
 * step do not re-run anything.
 *
 * The daemon is silent when idle: the timerfd is armed for the earliest
 * fire only (or far away when there is none, still to hear clock steps),
 * and nothing here polls.
 */

#include <sys/timerfd.h>

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cronexpr.h"
#include "log.h"
#include "sched.h"
#include "tz.h"
#include "xmalloc.h"

#define SCHED_IDLE_MS	((int64_t)366 * 86400 * 1000)
#define SCHED_NBUCKETS	1024
/* After a huge forward step, count at most this many skipped fires. */
#define SCHED_MAX_COUNT	1000000

struct sched_zone {
	struct tz		*tz;
	struct sched_zone	*next;
};

struct sched_entry {
	int64_t			 job_id;
	struct cronexpr		 ce;
	const struct tz		*tz;
	int64_t			 jitter_ms;
	int64_t			 fire_at;	/* next fire instant, or -1 */
	int64_t			 period_ms;	/* sched_period, 0: not yet */
	size_t			 heap_idx;	/* or SIZE_MAX: not queued */
	int			 removed;	/* removed during its callback */
	struct sched_entry	*hnext;		/* hash chain */
};

struct sched {
	struct event_base	*base;
	const struct tz		*default_tz;
	sched_fire_cb		 fire_cb;
	sched_clock_cb		 clock_cb;
	sched_batch_cb		 batch_cb;
	void			*arg;
	int			 tfd;
	struct event		*ev;
	int64_t			 armed_real;	/* clocks when last armed */
	int64_t			 armed_mono;
	struct sched_entry	*buckets[SCHED_NBUCKETS];
	struct sched_entry	**heap;
	size_t			 nheap;
	size_t			 heapsz;
	size_t			 count;
	struct sched_zone	*zones;
	struct sched_entry	*firing;	/* entry in a callback */
};

static int64_t
sched_clock_ms(clockid_t id)
{
	struct timespec	ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sched_now(void)
{
	return sched_clock_ms(CLOCK_REALTIME);
}

int64_t
sched_jitter(const char *name, int64_t max_ms)
{
	uint64_t	h = 14695981039346656037ULL;

	if (max_ms <= 0)
		return 0;
	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 1099511628211ULL;
	}
	return (int64_t)(h % (uint64_t)max_ms);
}

/* When the entry should start: its fire plus jitter. */
static int64_t
sched_start_at(const struct sched_entry *e)
{
	return e->fire_at + e->jitter_ms;
}

static void
sched_heap_swap(struct sched *s, size_t a, size_t b)
{
	struct sched_entry	*t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->heap_idx = a;
	s->heap[b]->heap_idx = b;
}

static void
sched_heap_up(struct sched *s, size_t i)
{
	while (i > 0 && sched_start_at(s->heap[(i - 1) / 2]) >
	    sched_start_at(s->heap[i])) {
		sched_heap_swap(s, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
sched_heap_down(struct sched *s, size_t i)
{
	size_t	l, r, m;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < s->nheap && sched_start_at(s->heap[l]) <
		    sched_start_at(s->heap[m]))
			m = l;
		if (r < s->nheap && sched_start_at(s->heap[r]) <
		    sched_start_at(s->heap[m]))
			m = r;
		if (m == i)
			return;
		sched_heap_swap(s, i, m);
		i = m;
	}
}

static void
sched_heap_push(struct sched *s, struct sched_entry *e)
{
	if (s->nheap == s->heapsz) {
		s->heapsz = s->heapsz == 0 ? 64 : s->heapsz * 2;
		s->heap = xreallocarray(s->heap, s->heapsz, sizeof *s->heap);
	}
	e->heap_idx = s->nheap;
	s->heap[s->nheap++] = e;
	sched_heap_up(s, e->heap_idx);
}

static void
sched_heap_remove(struct sched *s, struct sched_entry *e)
{
	size_t	i = e->heap_idx;

	if (i == SIZE_MAX)
		return;
	e->heap_idx = SIZE_MAX;
	if (i == --s->nheap)
		return;
	s->heap[i] = s->heap[s->nheap];
	s->heap[i]->heap_idx = i;
	sched_heap_down(s, i);
	sched_heap_up(s, i);
}

static struct sched_entry **
sched_slot(struct sched *s, int64_t job_id)
{
	struct sched_entry	**p;

	p = &s->buckets[(uint64_t)job_id % SCHED_NBUCKETS];
	while (*p != NULL && (*p)->job_id != job_id)
		p = &(*p)->hnext;
	return p;
}

/* Arm the timerfd for the earliest start (or far away to hear steps). */
static void
sched_arm(struct sched *s)
{
	struct itimerspec	its;
	int64_t			at;

	s->armed_real = sched_clock_ms(CLOCK_REALTIME);
	s->armed_mono = sched_clock_ms(CLOCK_MONOTONIC);
	if (s->nheap > 0)
		at = sched_start_at(s->heap[0]);
	else
		at = s->armed_real + SCHED_IDLE_MS;
	/* A zero it_value would disarm: a past instant fires at once. */
	if (at <= 0)
		at = 1;
	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = (time_t)(at / 1000);
	its.it_value.tv_nsec = (long)(at % 1000) * 1000000;
	if (timerfd_settime(s->tfd, TFD_TIMER_ABSTIME |
	    TFD_TIMER_CANCEL_ON_SET, &its, NULL) == -1)
		log_warn("timerfd_settime");
}

/* The next fire of e strictly after t (ms), or -1. */
static int64_t
sched_next(const struct sched_entry *e, int64_t t)
{
	int64_t	next;

	/* Fires are whole seconds: after t ms is after floor(t / 1000). */
	if (cronexpr_next(&e->ce, e->tz, t >= 0 ? t / 1000 :
	    -((-t + 999) / 1000), &next) != 0)
		return -1;
	return next * 1000;
}

/*
 * Report e's due fires, oldest first, and queue its next.  The callback
 * may call sched_set or sched_remove for this job.
 */
static void
sched_fire_entry(struct sched *s, struct sched_entry *e, int64_t now)
{
	int64_t		f = e->fire_at, next;
	uint64_t	skipped = 0, reported = 0;

	s->firing = e;
	for (;;) {
		next = sched_next(e, f);
		if (next == -1 || next + e->jitter_ms > now) {
			e->fire_at = next;
			s->fire_cb(e->job_id, f, skipped, 1, now, s->arg);
			break;
		}
		if (reported < SCHED_MAX_BATCH - 1) {
			s->fire_cb(e->job_id, f, 0, 0, now, s->arg);
			reported++;
			if (e->removed)
				break;
		} else if (++skipped >= SCHED_MAX_COUNT) {
			/*
			 * A step of years over a per-second job: stop
			 * counting and jump to the last hour before now.
			 */
			next = sched_next(e, now - e->jitter_ms - 3600000);
			if (next == -1 || next <= f)
				next = sched_next(e, f);
		}
		f = next;
	}
	s->firing = NULL;
	if (e->removed) {
		free(e);
		return;
	}
	if (e->heap_idx == SIZE_MAX && e->fire_at != -1)
		sched_heap_push(s, e);
}

static void
sched_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched		*s = arg;
	struct sched_entry	*e;
	uint64_t		 expirations;
	int64_t			 now, mono, delta;
	int			 due;

	if (read(fd, &expirations, sizeof expirations) == -1) {
		if (errno == ECANCELED) {
			now = sched_clock_ms(CLOCK_REALTIME);
			mono = sched_clock_ms(CLOCK_MONOTONIC);
			delta = now - (s->armed_real + (mono - s->armed_mono));
			log_info("wall clock stepped by %+lld ms",
			    (long long)delta);
			if (s->clock_cb != NULL)
				s->clock_cb(delta, s->arg);
		} else if (errno != EAGAIN && errno != EINTR)
			log_warn("timerfd read");
	}
	now = sched_clock_ms(CLOCK_REALTIME);
	due = s->nheap > 0 && sched_start_at(s->heap[0]) <= now;
	if (due && s->batch_cb != NULL)
		s->batch_cb(0, s->arg);
	while (s->nheap > 0 && sched_start_at(s->heap[0]) <= now) {
		e = s->heap[0];
		sched_heap_remove(s, e);
		sched_fire_entry(s, e, now);
	}
	if (due && s->batch_cb != NULL)
		s->batch_cb(1, s->arg);
	sched_arm(s);
}

void
sched_set_batch_cb(struct sched *s, sched_batch_cb cb)
{
	s->batch_cb = cb;
}

struct sched *
sched_new(struct event_base *base, const struct tz *default_tz,
    sched_fire_cb fire_cb, sched_clock_cb clock_cb, void *arg, char **cause)
{
	struct sched	*s;

	s = xcalloc(1, sizeof *s);
	s->base = base;
	s->default_tz = default_tz;
	s->fire_cb = fire_cb;
	s->clock_cb = clock_cb;
	s->arg = arg;
	s->tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->tfd == -1) {
		xasprintf(cause, "timerfd_create: %s", strerror(errno));
		free(s);
		return NULL;
	}
	s->ev = event_new(base, s->tfd, EV_READ | EV_PERSIST, sched_timer_cb,
	    s);
	if (s->ev == NULL || event_add(s->ev, NULL) == -1) {
		xasprintf(cause, "cannot watch the timerfd");
		if (s->ev != NULL)
			event_free(s->ev);
		close(s->tfd);
		free(s);
		return NULL;
	}
	sched_arm(s);
	return s;
}

void
sched_free(struct sched *s)
{
	struct sched_entry	*e, *next;
	struct sched_zone	*z, *znext;
	size_t			 i;

	if (s == NULL)
		return;
	for (i = 0; i < SCHED_NBUCKETS; i++) {
		for (e = s->buckets[i]; e != NULL; e = next) {
			next = e->hnext;
			free(e);
		}
	}
	for (z = s->zones; z != NULL; z = znext) {
		znext = z->next;
		tz_free(z->tz);
		free(z);
	}
	free(s->heap);
	event_free(s->ev);
	close(s->tfd);
	free(s);
}

/* A zone by name, loaded once and kept for the scheduler's life. */
static const struct tz *
sched_zone(struct sched *s, const char *name, char **cause)
{
	struct sched_zone	*z;
	struct tz		*tz;

	if (name == NULL || *name == '\0')
		return s->default_tz;
	for (z = s->zones; z != NULL; z = z->next)
		if (strcmp(tz_name(z->tz), name) == 0)
			return z->tz;
	if ((tz = tz_load(name, cause)) == NULL)
		return NULL;
	z = xcalloc(1, sizeof *z);
	z->tz = tz;
	z->next = s->zones;
	s->zones = z;
	return tz;
}

int
sched_set(struct sched *s, int64_t job_id, const char *schedule,
    const char *zone, int64_t jitter_ms, int64_t after, char **cause)
{
	struct sched_entry	**slot, *e;
	struct cronexpr		 ce;
	const struct tz		*tz;
	char			 err[CRONEXPR_ERRLEN];
	int64_t			 old_min;

	if (cronexpr_parse(&ce, schedule, err, sizeof err) != 0) {
		xasprintf(cause, "invalid schedule: %s", err);
		return -1;
	}
	if ((tz = sched_zone(s, zone, cause)) == NULL)
		return -1;
	old_min = s->nheap > 0 ? sched_start_at(s->heap[0]) : -1;
	slot = sched_slot(s, job_id);
	if ((e = *slot) == NULL) {
		e = xcalloc(1, sizeof *e);
		e->job_id = job_id;
		e->heap_idx = SIZE_MAX;
		*slot = e;
		s->count++;
	} else
		sched_heap_remove(s, e);
	e->period_ms = 0;
	e->ce = ce;
	e->tz = tz;
	e->jitter_ms = jitter_ms > 0 ? jitter_ms : 0;
	e->fire_at = sched_next(e, after);
	/* Inside its own callback the entry is queued when that returns. */
	if (e->fire_at != -1 && e != s->firing)
		sched_heap_push(s, e);
	if (s->firing == NULL && (s->nheap > 0 ?
	    sched_start_at(s->heap[0]) : -1) != old_min)
		sched_arm(s);
	return 0;
}

void
sched_remove(struct sched *s, int64_t job_id)
{
	struct sched_entry	**slot, *e;

	slot = sched_slot(s, job_id);
	if ((e = *slot) == NULL)
		return;
	*slot = e->hnext;
	s->count--;
	sched_heap_remove(s, e);
	if (e == s->firing) {
		e->removed = 1;		/* freed when its callback returns */
		return;
	}
	free(e);
	if (s->firing == NULL)
		sched_arm(s);
}

int64_t
sched_next_at(const struct sched *s, int64_t job_id)
{
	const struct sched_entry	*e;

	e = s->buckets[(uint64_t)job_id % SCHED_NBUCKETS];
	while (e != NULL && e->job_id != job_id)
		e = e->hnext;
	return e != NULL ? e->fire_at : -1;
}

int64_t
sched_period(struct sched *s, int64_t job_id)
{
	struct sched_entry	*e;
	int64_t			 t, next, gap = 0;
	int			 i;

	e = *sched_slot(s, job_id);
	if (e == NULL || e->fire_at == -1)
		return 0;
	if (e->period_ms != 0)
		return e->period_ms;
	t = e->fire_at / 1000;
	for (i = 0; i < 50; i++) {
		if (cronexpr_next(&e->ce, e->tz, t, &next) != 0)
			break;
		if (next - t > gap)
			gap = next - t;
		t = next;
	}
	e->period_ms = gap * 1000;
	return e->period_ms;
}

size_t
sched_count(const struct sched *s)
{
	return s->count;
}
