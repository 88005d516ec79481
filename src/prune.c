/*
 * prune.c: retention.  Deletes the runs that keep_runs and keep_days let
 * go (the rules are in store.h, struct store_retention), without ever
 * holding the event loop or the database's write lock for long.
 *
 * The work is a pass over jobs: one job after another, each pruned by
 * store_prune_runs in batches of a few hundred runs, one transaction
 * each.  A pass advances from a zero-delay timer, a step at a time: a
 * step is one batch (or one read of a page of jobs), and a timer tick
 * takes steps for about PRUNE_TICK_US, then gives the loop back, so
 * fires, child events and clients are served between any two batches.
 * The batch size follows the time a step took, aiming at PRUNE_STEP_US,
 * so a slow disk gets smaller batches.  The timer exists only while
 * there is work: an idle daemon has none.
 *
 * There is work
 *	- once after start-up: every job with runs (prune_all);
 *	- when a run ends: its job (prune_kick, from policy.c), which is
 *	  what keeps a busy job at its keep_runs;
 *	- when a job's options or the daemon's defaults change;
 *	- when a run passes keep_days: a single long timer, armed for the
 *	  earliest such moment that the passes saw (but at least
 *	  PRUNE_EXPIRY_MIN_MS ahead, so at most one such pass a day), starts
 *	  a pass over every job;
 *	- on a prune request (the protocol's prune method): a pass over
 *	  every job that counts what it deletes, or with dry_run only counts,
 *	  and calls back at its end.
 * The background work (the first four) is one pass; requests are passes
 * of their own, served in order, their steps taking turns with the
 * background's.
 *
 * A job's limits are its keep_runs and keep_days, or the daemon's
 * defaults when unset; 0 is no limit.  Ages are counted from a run's
 * fire (scheduled_at), by the wall clock.  A job's bounds (the cut below
 * its keep_runs newest runs, its latest scheduled fire) are read once
 * when a pass reaches it: runs that arrive meanwhile only make them
 * conservative.  Removed jobs are pruned too; live jobs always keep the
 * run of their latest scheduled fire, which catch-up counts from.
 *
 * This file decides when and how much; store.c decides nothing and
 * deletes what it is told.
 */

#include <sys/queue.h>

#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "job.h"
#include "log.h"
#include "prune.h"
#include "sched.h"
#include "store.h"
#include "timer.h"
#include "xmalloc.h"

#define PRUNE_PAGE		64	/* jobs read at a time */
#define PRUNE_BATCH_MIN		8
#define PRUNE_BATCH_MAX		1000
#define PRUNE_BATCH_START	64
#define PRUNE_STEP_US		2000	/* what one step should take */
#define PRUNE_TICK_US		1000	/* no new step after this in a tick */
#define PRUNE_BUSY_MS		100	/* wait this when the db is locked */
#define PRUNE_EXPIRY_MIN_MS	(INT64_C(24) * 3600 * 1000)

enum prune_status {
	PRUNE_MORE,
	PRUNE_DONE,
	PRUNE_BUSY,
	PRUNE_FAIL
};

/* A pass over jobs: the background's or a request's. */
struct prune_req {
	int			 dry_run;
	int			 all;		/* every job with runs, by id */
	int64_t			 after;		/* ... past this one */
	int64_t			*ids;		/* and these (kicked) first */
	size_t			 nids;
	size_t			 capids;
	struct store_prune_job	*page;		/* the jobs being worked */
	size_t			 npage;
	size_t			 next;		/* page[next] is the job */
	int			 working;	/* its bounds are read */
	struct store_retention	 ret;
	struct store_prune_cursor cur;		/* dry runs */
	int64_t			 keep_days_ms;
	int64_t			 runs;		/* of this job so far */
	int			 swept;		/* went over every job */
	int64_t			 started_us;
	struct prune_result	 result;
	prune_done_cb		 done;		/* NULL: background, or cancelled */
	void			*arg;
	TAILQ_ENTRY(prune_req)	 entry;
};
TAILQ_HEAD(prune_reqs, prune_req);

struct prune {
	struct event_base	*base;
	struct store		*store;
	int64_t			 keep_runs;	/* the daemon's defaults */
	int64_t			 keep_days_ms;
	struct prune_req	 bg;
	struct prune_reqs	 reqs;
	int			 turn;		/* background's, or requests' */
	struct event		*ev_step;	/* pending only while work is */
	struct event		*ev_expiry;
	int64_t			 expiry_at;	/* 0: not armed */
	size_t			 batch_delete;
	size_t			 batch_count[2]; /* by store_prune_cursor phase */
	uint64_t		 steps;
	int64_t			 longest_us;
};

static void	prune_step_cb(evutil_socket_t, short, void *);
static void	prune_expiry_cb(evutil_socket_t, short, void *);

static int64_t
prune_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
prune_defaults(struct prune *p, const struct config *conf)
{
	p->keep_runs = conf->keep_runs;
	p->keep_days_ms = conf->keep_days_ms;
}

struct prune *
prune_new(struct event_base *base, struct store *store,
    const struct config *conf)
{
	struct prune	*p;

	p = xcalloc(1, sizeof *p);
	p->base = base;
	p->store = store;
	prune_defaults(p, conf);
	TAILQ_INIT(&p->reqs);
	p->batch_delete = PRUNE_BATCH_START;
	p->batch_count[0] = p->batch_count[1] = PRUNE_BATCH_START;
	p->ev_step = evtimer_new(base, prune_step_cb, p);
	p->ev_expiry = evtimer_new(base, prune_expiry_cb, p);
	if (p->ev_step == NULL || p->ev_expiry == NULL)
		fatalx("prune: evtimer_new failed");
	return p;
}

/* Drop a pass's jobs and where it stood; keep its result. */
static void
prune_pass_clear(struct prune_req *pp)
{
	store_prune_jobs_free(pp->page, pp->npage);
	pp->page = NULL;
	pp->npage = pp->next = 0;
	pp->working = 0;
	free(pp->ids);
	pp->ids = NULL;
	pp->nids = pp->capids = 0;
	pp->all = 0;
	pp->after = 0;
}

static void
prune_result_clear(struct prune_result *res)
{
	size_t	i;

	for (i = 0; i < res->njobs; i++)
		free(res->jobs[i].name);
	free(res->jobs);
	memset(res, 0, sizeof *res);
}

static void
prune_req_free(struct prune_req *pp)
{
	prune_pass_clear(pp);
	prune_result_clear(&pp->result);
	free(pp);
}

void
prune_free(struct prune *p)
{
	struct prune_req	*pp;

	if (p == NULL)
		return;
	while ((pp = TAILQ_FIRST(&p->reqs)) != NULL) {
		TAILQ_REMOVE(&p->reqs, pp, entry);
		if (pp->done != NULL)
			pp->done(&pp->result, "sqcrond is stopping", pp->arg);
		prune_req_free(pp);
	}
	prune_pass_clear(&p->bg);
	prune_result_clear(&p->bg.result);	/* stopped mid-pass */
	event_free(p->ev_step);
	event_free(p->ev_expiry);
	free(p);
}

/* Has a pass not ended yet?  (It ends when it finds no next job.) */
static int
prune_pass_busy(const struct prune_req *pp)
{
	return pp->page != NULL || pp->nids > 0 || pp->all;
}

/* Make sure a step comes soon when there is work. */
static void
prune_schedule(struct prune *p)
{
	struct timeval	zero = { 0, 0 };

	if (!prune_pass_busy(&p->bg) && TAILQ_EMPTY(&p->reqs))
		return;
	if (!evtimer_pending(p->ev_step, NULL) &&
	    evtimer_add(p->ev_step, &zero) == -1)
		fatalx("prune: evtimer_add failed");
}

void
prune_set_config(struct prune *p, const struct config *conf)
{
	if (p->keep_runs == conf->keep_runs &&
	    p->keep_days_ms == conf->keep_days_ms)
		return;
	prune_defaults(p, conf);
	prune_all(p);
}

void
prune_all(struct prune *p)
{
	p->bg.all = 1;
	p->bg.after = 0;
	p->bg.swept = 1;
	prune_schedule(p);
}

void
prune_kick(struct prune *p, int64_t job_id)
{
	struct prune_req	*bg;
	size_t			 i;

	if (p == NULL)
		return;
	bg = &p->bg;
	for (i = 0; i < bg->nids; i++)
		if (bg->ids[i] == job_id)
			return;
	if (bg->nids == bg->capids) {
		bg->capids = bg->capids == 0 ? 16 : bg->capids * 2;
		bg->ids = xreallocarray(bg->ids, bg->capids, sizeof *bg->ids);
	}
	bg->ids[bg->nids++] = job_id;
	prune_schedule(p);
}

struct prune_req *
prune_request(struct prune *p, int dry_run, prune_done_cb done, void *arg)
{
	struct prune_req	*pp;

	pp = xcalloc(1, sizeof *pp);
	pp->dry_run = dry_run;
	pp->all = 1;
	pp->swept = 1;
	pp->result.dry_run = dry_run;
	pp->started_us = prune_mono_us();
	pp->done = done;
	pp->arg = arg;
	TAILQ_INSERT_TAIL(&p->reqs, pp, entry);
	prune_schedule(p);
	return pp;
}

void
prune_cancel(struct prune *p, struct prune_req *pp)
{
	pp->done = NULL;
	if (pp->dry_run) {
		TAILQ_REMOVE(&p->reqs, pp, entry);
		prune_req_free(pp);
	}
}

void
prune_stats(struct prune *p, uint64_t *steps, int64_t *longest_us)
{
	*steps = p->steps;
	*longest_us = p->longest_us;
}

/*
 * Keep the keep_days timer for the earliest moment a run passes its
 * job's keep_days, but at least PRUNE_EXPIRY_MIN_MS ahead: a busy job
 * is pruned when its runs end, and this pass is for the others.
 */
static void
prune_arm_expiry(struct prune *p, int64_t at)
{
	int64_t		now = sched_now(), when = at;

	if (when < now + PRUNE_EXPIRY_MIN_MS)
		when = now + PRUNE_EXPIRY_MIN_MS;
	if (p->expiry_at != 0 && p->expiry_at <= when)
		return;
	p->expiry_at = when;
	if (timer_add_ms(p->ev_expiry, when - now) == -1)
		fatalx("prune: evtimer_add failed");
}

static void
prune_expiry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct prune	*p = arg;

	p->expiry_at = 0;
	log_debug("retention: runs pass keep_days: pruning every job");
	prune_all(p);
}

/* Read the bounds of page[next], the pass's next job. */
static enum prune_status
prune_job_start(struct prune *p, struct prune_req *pp, char **cause)
{
	const struct store_prune_job	*j = &pp->page[pp->next];
	int64_t				 keep_runs, before = JOB_UNSET;
	int				 rc;

	keep_runs = j->keep_runs != JOB_UNSET ? j->keep_runs : p->keep_runs;
	pp->keep_days_ms = j->keep_days_ms != JOB_UNSET ? j->keep_days_ms :
	    p->keep_days_ms;
	if (keep_runs <= 0 && pp->keep_days_ms <= 0) {
		pp->next++;		/* keeps everything */
		return PRUNE_MORE;
	}
	if (pp->keep_days_ms > 0)
		before = sched_now() - pp->keep_days_ms;
	rc = store_prune_bounds(p->store, j->id, keep_runs > 0 ? keep_runs : 0,
	    before, !j->removed, &pp->ret, cause);
	if (rc == STORE_BUSY)
		return PRUNE_BUSY;
	if (rc < 0)
		return PRUNE_FAIL;
	store_prune_cursor_init(&pp->cur);
	pp->runs = 0;
	pp->working = 1;
	return PRUNE_MORE;
}

/* A job is done: count it, and note when its next run passes keep_days. */
static void
prune_job_done(struct prune *p, struct prune_req *pp)
{
	const struct store_prune_job	*j = &pp->page[pp->next];
	struct prune_result		*res = &pp->result;
	struct prune_count		*c;
	int64_t				 at;
	char				*cause = NULL;

	if (pp->runs > 0) {
		res->jobs = xreallocarray(res->jobs, res->njobs + 1,
		    sizeof *res->jobs);
		c = &res->jobs[res->njobs++];
		c->job_id = j->id;
		c->name = xstrdup(j->name);
		c->removed = j->removed;
		c->runs = pp->runs;
		res->total += pp->runs;
	}
	if (!pp->dry_run && pp->keep_days_ms > 0) {
		if (store_prune_oldest(p->store, &pp->ret, &at, &cause) < 0)
			free(cause);
		else if (at != JOB_UNSET)
			prune_arm_expiry(p, at + pp->keep_days_ms);
	}
	pp->working = 0;
	pp->next++;
}

/* Halve a batch that took too long, double one that was quick and full. */
static void
prune_adapt(size_t *batch, int64_t us, int full)
{
	if (us > 2 * PRUNE_STEP_US && *batch > PRUNE_BATCH_MIN)
		*batch /= 2;
	else if (full && us < PRUNE_STEP_US / 2 && *batch < PRUNE_BATCH_MAX)
		*batch *= 2;
}

/* One batch of the job the pass is on. */
static enum prune_status
prune_job_step(struct prune *p, struct prune_req *pp, char **cause)
{
	int64_t		t0, us;
	size_t		n = 0, batch, *adapt;
	int		rc, done;

	t0 = prune_mono_us();
	if (pp->dry_run) {
		/* By index (beyond keep_runs), then by rows: a size each. */
		adapt = &p->batch_count[pp->cur.phase != 0 ||
		    pp->ret.cut == JOB_UNSET];
		batch = *adapt;
		rc = store_prune_count(p->store, &pp->ret, &pp->cur, batch,
		    &pp->runs, &done, cause);
	} else {
		adapt = &p->batch_delete;
		batch = p->batch_delete;
		rc = store_prune_runs(p->store, &pp->ret, batch, &n, cause);
		pp->runs += (int64_t)n;
		done = n < batch;
	}
	us = prune_mono_us() - t0;
	p->steps++;
	if (us > p->longest_us)
		p->longest_us = us;
	if (rc == STORE_BUSY)
		return PRUNE_BUSY;
	if (rc < 0)
		return PRUNE_FAIL;
	prune_adapt(adapt, us, !done);
	if (done)
		prune_job_done(p, pp);
	return PRUNE_MORE;
}

/*
 * Find the pass's next jobs: a kicked one, else the next page of all;
 * PRUNE_DONE when there are none.
 */
static enum prune_status
prune_pass_next(struct prune *p, struct prune_req *pp, char **cause)
{
	struct store_prune_job	one;
	int			rc;

	store_prune_jobs_free(pp->page, pp->npage);
	pp->page = NULL;
	pp->npage = pp->next = 0;
	while (pp->nids > 0) {
		rc = store_prune_job(p->store, pp->ids[0], &one, cause);
		if (rc == STORE_BUSY)
			return PRUNE_BUSY;
		memmove(pp->ids, pp->ids + 1, --pp->nids * sizeof *pp->ids);
		if (rc == STORE_NOTFOUND) {
			free(*cause);
			*cause = NULL;
			continue;
		}
		if (rc < 0)
			return PRUNE_FAIL;
		pp->page = xmalloc(sizeof *pp->page);
		pp->page[0] = one;
		pp->npage = 1;
		return PRUNE_MORE;
	}
	if (!pp->all)
		return PRUNE_DONE;
	rc = store_prune_jobs(p->store, pp->after, PRUNE_PAGE, &pp->page,
	    &pp->npage, cause);
	if (rc == STORE_BUSY)
		return PRUNE_BUSY;
	if (rc < 0)
		return PRUNE_FAIL;
	if (pp->npage == 0) {
		pp->all = 0;
		return PRUNE_DONE;
	}
	pp->after = pp->page[pp->npage - 1].id;
	return PRUNE_MORE;
}

static enum prune_status
prune_pass_step(struct prune *p, struct prune_req *pp, char **cause)
{
	if (pp->working)
		return prune_job_step(p, pp, cause);
	if (pp->next < pp->npage)
		return prune_job_start(p, pp, cause);
	return prune_pass_next(p, pp, cause);
}

/* A pass ended, or failed (error). */
static void
prune_pass_end(struct prune *p, struct prune_req *pp, const char *error)
{
	int64_t	ms = (prune_mono_us() - pp->started_us) / 1000;

	if (pp != &p->bg) {
		TAILQ_REMOVE(&p->reqs, pp, entry);
		if (pp->done != NULL)
			pp->done(&pp->result, error, pp->arg);
		prune_req_free(pp);
		return;
	}
	if (error != NULL)
		log_warnx("retention stopped: %s; it starts again when a run "
		    "ends", error);
	else if (pp->swept && pp->result.total > 0)
		log_info("retention: deleted %" PRId64 " runs of %zu jobs in "
		    "%" PRId64 " ms", pp->result.total, pp->result.njobs, ms);
	else if (pp->result.total > 0)
		log_debug("retention: deleted %" PRId64 " runs of %zu jobs",
		    pp->result.total, pp->result.njobs);
	prune_pass_clear(pp);
	prune_result_clear(&pp->result);
	pp->swept = 0;
	pp->started_us = 0;
}

/* Whose turn: the background's and the first request's alternate. */
static struct prune_req *
prune_pick(struct prune *p)
{
	struct prune_req	*req = TAILQ_FIRST(&p->reqs);
	int			 bg = prune_pass_busy(&p->bg);

	p->turn = !p->turn;
	if (bg && (req == NULL || p->turn))
		return &p->bg;
	return req;
}

static void
prune_step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct prune		*p = arg;
	struct prune_req	*pp;
	struct timeval		 tv;
	int64_t			 t0 = prune_mono_us();
	char			*cause = NULL;

	do {
		if ((pp = prune_pick(p)) == NULL)
			return;
		if (pp->started_us == 0)
			pp->started_us = t0;
		switch (prune_pass_step(p, pp, &cause)) {
		case PRUNE_MORE:
			break;
		case PRUNE_DONE:
			prune_pass_end(p, pp, NULL);
			break;
		case PRUNE_BUSY:
			/* Locked by another process: come back later. */
			free(cause);
			tv.tv_sec = 0;
			tv.tv_usec = PRUNE_BUSY_MS * 1000;
			if (evtimer_add(p->ev_step, &tv) == -1)
				fatalx("prune: evtimer_add failed");
			return;
		case PRUNE_FAIL:
			prune_pass_end(p, pp, cause != NULL ? cause :
			    "database error");
			free(cause);
			cause = NULL;
			break;
		}
	} while (prune_mono_us() - t0 < PRUNE_TICK_US);
	prune_schedule(p);
}
