/*
 * policy.c: from a due fire to a recorded run, and from a finished run to
 * its record.
 *
 * The scheduler hands due fires here; this decides what each one
 * becomes (a run, a skipped or missed record, a queued run), records it
 * in the store, and hands runnable runs to the runner.  When the runner
 * reports how a run ended, the record is completed and the next queued
 * run may start.  Every run row is committed before its child is forked
 * (promise 1 of DESIGN.md), so a crash never leaves an execution without
 * a record: at the next start such runs become `lost`.
 *
 * Kept in memory: each live job's definition (a copy of its store row)
 * and each live run (queued or running).  The store stays the truth; the
 * copies are refreshed whenever the API changes a job.
 *
 * What is decided here in this release: overlap (skip, queue, replace,
 * allow), the max_running limit with a queue ordered by scheduled_at,
 * fires that come late (the daemon was down, or the clock jumped) are
 * recorded `missed`, and resolutions (a failed run is `open`); each run
 * that ends is handed to retention (prune.c).  Retries, catch-up runs
 * and quarantine arrive with the failure policies.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "jobspec.h"
#include "log.h"
#include "memlimit.h"
#include "outbox.h"
#include "policy.h"
#include "prune.h"
#include "runner.h"
#include "sched.h"
#include "store.h"
#include "timer.h"
#include "tz.h"
#include "xmalloc.h"

/* A fire this late at wake-up (beyond its jitter) is missed, not run. */
#define POLICY_LATE_MS		2000
/* Fires later than this read the job's starting_deadline and catchup. */
#define POLICY_CHECK_LATE_MS	50
#define POLICY_BACKOFF_MAX_MS	(3600 * 1000)	/* backoff_max unset */
#define POLICY_NBUCKETS		1024

struct pwaiter {
	policy_done_cb		 cb;
	policy_output_cb	 output;	/* followers only */
	void			*arg;
	struct pwaiter		*next;
};

struct prun {
	struct policy		*policy;
	struct run		 run;		/* as recorded */
	int			 started;	/* handed to the runner */
	int			 hold;		/* waits for its job's run */
	struct runner_result	 failed;	/* spawn failed before a child */
	int64_t			 batch;		/* replay batch, or JOB_UNSET */
	int			 max_parallel;	/* of the batch */
	struct pwaiter		*waiters;
	TAILQ_ENTRY(prun)	 entry;		/* live or queue list */
};
TAILQ_HEAD(prun_list, prun);

/* A retry waiting for its backoff: the failed attempt stays "retrying". */
struct pretry {
	struct policy		*policy;
	int64_t			 failed_id;	/* the attempt that failed */
	int64_t			 job_id;
	int64_t			 scheduled_at;	/* of the fire */
	int			 attempt;	/* the retry's */
	struct event		*ev;
	TAILQ_ENTRY(pretry)	 entry;
};
TAILQ_HEAD(pretry_list, pretry);

/* A pause with an end (sqcron pause --until): resumed by a timer. */
struct ppause {
	struct policy		*policy;
	int64_t			 job_id;
	struct event		*ev;
	TAILQ_ENTRY(ppause)	 entry;
};
TAILQ_HEAD(ppause_list, ppause);

/*
 * What a fire needs to know of a job without asking the store; the rest
 * of its definition is read when a run starts (10,000 jobs stay small).
 */
struct pjob {
	int64_t			 id;
	char			*name;
	uid_t			 owner;
	int			 version;
	int			 paused;
	int			 pause_after;	/* JOB_UNSET: never paused */
	int			 overlap;	/* OVERLAP_*, default applied */
	int64_t			 jitter_ms;	/* this job's fixed delay */
	int			 nlive;		/* queued + running runs */
	struct pjob		*next;		/* hash chain */
};

/* A forked child whose start is not recorded yet. */
struct pstart {
	int64_t			 run_id;
	int64_t			 started_at;
	int64_t			 pid_start;
	pid_t			 pid;
};

struct policy {
	struct event_base	*base;
	struct store		*store;
	struct runner		*runner;
	struct prune		*prune;
	const struct config	*conf;
	const struct tz		*tz;
	struct sched		*sched;
	struct pjob		*jobs[POLICY_NBUCKETS];
	struct prun_list	 running;
	struct prun_list	 queue;		/* oldest scheduled_at first */
	int			 nrunning;
	int			 nqueued;
	int			 stopping;
	/*
	 * The fires of one scheduler wake-up are recorded in one transaction
	 * and spawned after its commit (a burst of 1,000 commits once, not
	 * 2,000 times); pending holds them meanwhile.
	 */
	int			 batching;
	struct prun_list	 pending;
	int			 npending;
	/*
	 * Children forked since the last turn of the loop, whose starts are
	 * recorded together (the spawners report them one by one).
	 */
	struct pstart		*starts;
	size_t			 nstarts;
	size_t			 starts_size;
	struct event		*ev_starts;
	struct pretry_list	 retries;
	int64_t			 backlog_job;	/* older fires just reported */
	int64_t			 late_job;	/* policy_too_late's job, */
	int64_t			 late_deadline;	/* its starting_deadline */
	int			 late_catchup;	/* and catchup rule */
	struct ppause_list	 pauses;
	struct event		*ev_shutdown;
	void			(*shutdown_done)(void *);
	void			*shutdown_arg;
	policy_event_cb		 event_cb;
	void			*event_arg;
	policy_kept_output_cb	 kept_cb;	/* runs that wrote output */
	void			*kept_arg;
	struct outbox		*outbox;	/* events to notify, or NULL */
	void			(*changed_cb)(void *);	/* metrics */
	void			*changed_arg;
};

static void	policy_fire_cb(int64_t, int64_t, uint64_t, int, int64_t,
		    void *);
static void	policy_clock_cb(int64_t, void *);
static void	policy_run_done_cb(const struct runner_result *, void *);
static void	policy_run_start_cb(int64_t, pid_t, int64_t, int64_t, void *);
static void	policy_starts_flush(struct policy *);
static void	policy_run_output_cb(int64_t, const char *, size_t, void *);
static void	policy_start_queued(struct policy *);
static void	policy_batch_cb(int, void *);
static void	policy_retry_free(struct pretry *);
static void	policy_pause_arm(struct policy *, int64_t, int64_t);
static int	policy_load_job(struct policy *, int64_t, int64_t, char **);
static void	policy_quarantine(struct policy *, int64_t);
static int	policy_slots_full(const struct policy *);
static int	policy_batch_live(struct policy *, int64_t);
static struct prun *policy_new_run_of(struct policy *, struct pjob *, int64_t,
		    enum run_trigger, int, int, int64_t, int64_t, int64_t, int,
		    char **);
static int	policy_too_late(struct policy *, const struct pjob *, int64_t,
		    int *);

static int64_t
policy_now(void)
{
	return sched_now();
}

static struct pjob **
policy_slot(struct policy *p, int64_t job_id)
{
	struct pjob	**pp = &p->jobs[(uint64_t)job_id % POLICY_NBUCKETS];

	while (*pp != NULL && (*pp)->id != job_id)
		pp = &(*pp)->next;
	return pp;
}

static struct pjob *
policy_job(struct policy *p, int64_t job_id)
{
	return *policy_slot(p, job_id);
}

static void
policy_job_free(struct pjob *pj)
{
	free(pj->name);
	free(pj);
}

/* Tell the listener, if any. */
static void
policy_emit(struct policy *p, enum policy_event_type type, int64_t job_id,
    const char *job, const struct run *run, int64_t batch,
    const char *reason)
{
	struct policy_event	ev;

	if (p->event_cb == NULL)
		return;
	memset(&ev, 0, sizeof ev);
	ev.type = type;
	ev.job_id = job_id;
	ev.job = job;
	ev.run = run;
	ev.batch = batch;
	ev.reason = reason;
	p->event_cb(&ev, p->event_arg);
}

struct policy *
policy_new(struct event_base *base, struct store *store,
    struct runner *runner, struct prune *prune, const struct config *conf,
    const struct tz *tz, char **cause)
{
	struct policy	*p;

	p = xcalloc(1, sizeof *p);
	p->base = base;
	p->store = store;
	p->runner = runner;
	p->prune = prune;
	p->conf = conf;
	p->tz = tz;
	TAILQ_INIT(&p->running);
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->pending);
	TAILQ_INIT(&p->retries);
	p->backlog_job = -1;
	p->late_job = -1;
	TAILQ_INIT(&p->pauses);
	p->sched = sched_new(base, tz, policy_fire_cb, policy_clock_cb, p,
	    cause);
	if (p->sched == NULL) {
		free(p);
		return NULL;
	}
	sched_set_batch_cb(p->sched, policy_batch_cb);
	return p;
}

static void
policy_prun_free(struct prun *pr)
{
	struct pwaiter	*w, *next;

	for (w = pr->waiters; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	run_clear(&pr->run);
	free(pr);
}

void
policy_free(struct policy *p)
{
	struct pjob	*pj, *next;
	struct prun	*pr;
	struct pretry	*rt;
	struct ppause	*pp;
	size_t		 i;

	if (p == NULL)
		return;
	policy_starts_flush(p);	/* they are lost at the next start */
	free(p->starts);
	if (p->ev_starts != NULL)
		event_free(p->ev_starts);
	while ((pr = TAILQ_FIRST(&p->running)) != NULL) {
		TAILQ_REMOVE(&p->running, pr, entry);
		policy_prun_free(pr);
	}
	while ((pr = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, pr, entry);
		policy_prun_free(pr);
	}
	while ((pp = TAILQ_FIRST(&p->pauses)) != NULL) {
		TAILQ_REMOVE(&p->pauses, pp, entry);
		event_free(pp->ev);
		free(pp);
	}
	/* Waiting retries stay "retrying" in the store for the next start. */
	while ((rt = TAILQ_FIRST(&p->retries)) != NULL) {
		TAILQ_REMOVE(&p->retries, rt, entry);
		policy_retry_free(rt);
	}
	for (i = 0; i < POLICY_NBUCKETS; i++) {
		for (pj = p->jobs[i]; pj != NULL; pj = next) {
			next = pj->next;
			policy_job_free(pj);
		}
	}
	if (p->ev_shutdown != NULL)
		event_free(p->ev_shutdown);
	sched_free(p->sched);
	free(p);
}

void
policy_set_kept_output_cb(struct policy *p, policy_kept_output_cb cb,
    void *arg)
{
	p->kept_cb = cb;
	p->kept_arg = arg;
}

void
policy_set_outbox(struct policy *p, struct outbox *ob)
{
	p->outbox = ob;
}

void
policy_set_config(struct policy *p, const struct config *conf)
{
	p->conf = conf;
	policy_start_queued(p);
}

void
policy_set_changed_cb(struct policy *p, void (*cb)(void *), void *arg)
{
	p->changed_cb = cb;
	p->changed_arg = arg;
}

/* What the metrics show changed (policy_set_changed_cb). */
static void
policy_changed(struct policy *p)
{
	if (p->changed_cb != NULL)
		p->changed_cb(p->changed_arg);
}

/* Tell everyone waiting for a run that it ended. */
static void
policy_notify(struct prun *pr)
{
	struct pwaiter	*w;

	while ((w = pr->waiters) != NULL) {
		pr->waiters = w->next;
		w->cb(&pr->run, w->arg);
		free(w);
	}
}

/* A first attempt of a fire, every measurement unset. */
static void
policy_run_init(struct run *r, const struct pjob *pj, int64_t fire_at,
    enum run_trigger trigger, enum run_state state, int64_t now)
{
	memset(r, 0, sizeof *r);
	r->job_id = pj->id;
	r->job_version = pj->version;
	r->scheduled_at = fire_at;
	r->trigger = trigger;
	r->attempt = 1;
	r->replay_of = JOB_UNSET;
	r->state = state;
	r->exit_code = JOB_UNSET;
	r->queued_at = now;
	r->started_at = r->ended_at = r->duration_ms = JOB_UNSET;
	r->pid = r->max_rss_kb = r->user_cpu_ms = r->sys_cpu_ms = JOB_UNSET;
	r->output_bytes = JOB_UNSET;
	r->resolution = state == RUN_MISSED ? RESOLUTION_OPEN :
	    RESOLUTION_NONE;
}

/*
 * Record a run that never executes (skipped, missed) and, for a missed
 * one, leave it open: it is a failure nobody has looked at.
 */
static void
policy_record(struct policy *p, struct pjob *pj, int64_t fire_at,
    enum run_trigger trigger, enum run_state state, const char *reason,
    int64_t now)
{
	struct run	r;
	char		*cause = NULL;
	int		 rc;

	policy_run_init(&r, pj, fire_at, trigger, state, now);
	r.reason = (char *)(uintptr_t)reason;
	r.job = pj->name;
	rc = store_run_insert(p->store, &r, &cause);
	if (rc == STORE_CONSTRAINT)
		log_debug("%s: fire %" PRId64 " already recorded",
		    pj->name, fire_at);
	else if (rc < 0)
		log_warnx("%s: cannot record a %s run: %s", pj->name,
		    run_state_name(state), cause);
	else
		policy_emit(p, POLICY_RUN_ENDED, pj->id, pj->name, &r,
		    JOB_UNSET, NULL);
	free(cause);
	policy_changed(p);
}

/* The daemon's default for an unset numeric option. */
static int64_t
policy_def(int64_t v, int64_t def)
{
	return v != JOB_UNSET ? v : def;
}

static void
policy_failed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct prun	*pr = arg;

	policy_run_done_cb(&pr->failed, pr);
}

/*
 * A run that is not handed to the runner ends as spawn_error (it could
 * not be) or missed (too late), from the loop like any other report,
 * never inside its caller.
 */
static void
policy_spawn_end(struct policy *p, struct prun *pr, enum run_state state,
    const char *why)
{
	struct timeval	 zero = { 0, 0 };
	struct runner_result	*res = &pr->failed;

	memset(res, 0, sizeof *res);
	res->run_id = pr->run.id;
	res->state = state;
	res->exit_code = JOB_UNSET;
	snprintf(res->reason, sizeof res->reason, "%s", why);
	res->started_at = res->ended_at = policy_now();
	if (state != RUN_SPAWN_ERROR)	/* missed, killed: never started */
		res->started_at = res->duration_ms = JOB_UNSET;
	res->max_rss_kb = res->user_cpu_ms = res->sys_cpu_ms = JOB_UNSET;
	res->output_bytes = 0;
	if (event_base_once(p->base, -1, EV_TIMEOUT, policy_failed_cb, pr,
	    &zero) == -1)
		fatalx("event_base_once failed");
}

/* Hand a recorded run to the runner. */
static void
policy_spawn(struct policy *p, struct prun *pr)
{
	struct pjob		*pj = policy_job(p, pr->run.job_id);
	const struct config	*c = p->conf;
	const struct job_spec	*js;
	struct job_row		 row;
	struct runner_job	 rj;
	char			*cause = NULL, why[256];
	int64_t			 late;
	int			 rc;

	pr->started = 1;
	TAILQ_INSERT_TAIL(&p->running, pr, entry);
	p->nrunning++;
	if (pj == NULL) {
		/* Removed while queued: the run ends without executing. */
		policy_spawn_end(p, pr, RUN_SPAWN_ERROR, "the job was "
		    "removed before the run could start");
		return;
	}
	/* The definition in force now (the runner copies what it keeps). */
	if (store_job_get_id(p->store, pj->id, &row, &cause) < 0) {
		policy_spawn_end(p, pr, RUN_SPAWN_ERROR, cause != NULL ? cause :
		    "cannot read the job's definition");
		free(cause);
		return;
	}
	js = &row.spec;
	/* A fire that waited in the queue past its starting_deadline. */
	late = policy_now() - pr->run.scheduled_at - pj->jitter_ms;
	if (pr->run.trigger == TRIGGER_SCHEDULE &&
	    js->starting_deadline_ms != JOB_UNSET &&
	    late > js->starting_deadline_ms) {
		snprintf(why, sizeof why, "missed: not started within "
		    "starting_deadline (%" PRId64 ".%03d s late, waiting in "
		    "the queue)", late / 1000, (int)(late % 1000));
		store_job_row_clear(&row);
		policy_spawn_end(p, pr, RUN_MISSED, why);
		return;
	}
	memset(&rj, 0, sizeof rj);
	rj.run_id = pr->run.id;
	rj.job = js->name;
	rj.command = js->command;
	rj.user = js->user;
	rj.owner = row.owner;
	rj.workdir = js->workdir;
	rj.env = js->env;
	rj.nenv = js->nenv;
	rj.stdin_data = js->stdin_data;
	rj.timeout_ms = policy_def(js->timeout_ms, c->timeout_ms);
	rj.kill_grace_ms = policy_def(js->kill_grace_ms, c->kill_grace_ms);
	rj.memory = policy_def(js->memory, (int64_t)c->memory);
	rj.cpu_ms = js->cpu_ms;
	rj.nofile = js->nofile;
	rj.nproc = js->nproc;
	rj.rlimit_as = js->rlimit_as;
	rj.nice = js->nice;
	rj.kill_orphans = js->kill_orphans != JOB_UNSET ? js->kill_orphans :
	    strncmp(js->schedule, "@reboot", 7) != 0;
	rj.output_max = policy_def(js->output_max, (int64_t)c->output_max);
	rj.scheduled_at = pr->run.scheduled_at;
	rj.attempt = pr->run.attempt;
	rj.trigger = run_trigger_name(pr->run.trigger);
	rj.replay_of = pr->run.replay_of;
	pr->run.state = RUN_RUNNING;
	rc = runner_spawn(p->runner, &rj, policy_run_done_cb,
	    policy_run_start_cb, policy_run_output_cb, pr, &cause);
	store_job_row_clear(&row);
	if (rc == -1) {
		policy_spawn_end(p, pr, RUN_SPAWN_ERROR, cause);
		free(cause);
	}
}

/* Record the starts of the children forked since the last call. */
static void
policy_starts_flush(struct policy *p)
{
	struct pstart	*ps;
	char		*cause = NULL;
	size_t		 i;
	int		 grouped;

	if (p->nstarts == 0)
		return;
	grouped = store_begin(p->store, NULL) == 0;
	for (i = 0; i < p->nstarts; i++) {
		ps = &p->starts[i];
		if (store_run_start(p->store, ps->run_id, ps->started_at,
		    ps->pid, ps->pid_start, &cause) < 0) {
			log_warnx("run %" PRId64 ": cannot record its start: "
			    "%s", ps->run_id, cause);
			free(cause);
			cause = NULL;
		} else
			outbox_run_started(p->outbox, ps->run_id,
			    ps->started_at);
	}
	p->nstarts = 0;
	if (grouped && store_commit(p->store, &cause) < 0) {
		log_warnx("cannot record the start of runs: %s", cause);
		free(cause);
	}
}

static void
policy_starts_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	policy_starts_flush(arg);
}

/* A run's child exists: its start is recorded on the next loop turn. */
static void
policy_run_start_cb(int64_t run_id, pid_t pid, int64_t started_at,
    int64_t pid_start, void *arg)
{
	struct prun	*pr = arg;
	struct policy	*p = pr->policy;
	struct pstart	*ps;

	pr->run.pid = pid;
	pr->run.started_at = started_at;
	if (p->nstarts == p->starts_size) {
		p->starts_size = p->starts_size == 0 ? 16 : p->starts_size * 2;
		p->starts = xreallocarray(p->starts, p->starts_size,
		    sizeof *p->starts);
	}
	ps = &p->starts[p->nstarts++];
	ps->run_id = run_id;
	ps->pid = pid;
	ps->started_at = started_at;
	ps->pid_start = pid_start;
	if (p->ev_starts == NULL)
		p->ev_starts = evtimer_new(p->base, policy_starts_cb, p);
	if (!evtimer_pending(p->ev_starts, NULL))
		event_active(p->ev_starts, EV_TIMEOUT, 0);
	policy_emit(p, POLICY_RUN_STARTED, pr->run.job_id, pr->run.job,
	    &pr->run, JOB_UNSET, NULL);
}

/* Is a run of this job executing? */
static int
policy_job_running(struct policy *p, int64_t job_id)
{
	struct prun	*pr;

	TAILQ_FOREACH(pr, &p->running, entry)
		if (pr->run.job_id == job_id)
			return 1;
	return 0;
}

/* Runs of a replay batch executing now (max_parallel bounds them). */
static int
policy_batch_live(struct policy *p, int64_t batch)
{
	struct prun	*pr;
	int		 n = 0;

	TAILQ_FOREACH(pr, &p->running, entry)
		n += pr->batch == batch;
	TAILQ_FOREACH(pr, &p->pending, entry)
		n += pr->batch == batch;
	return n;
}

/* Are max_running runs executing or about to (recorded in a batch)? */
static int
policy_slots_full(const struct policy *p)
{
	return p->nrunning + p->npending >= p->conf->max_running;
}

/*
 * Start queued runs, oldest fire first, while there are free slots; a
 * run held for overlap=queue waits until its job's run has ended.
 */
static void
policy_start_queued(struct policy *p)
{
	struct prun	*pr, *next;

	for (pr = TAILQ_FIRST(&p->queue); pr != NULL; pr = next) {
		next = TAILQ_NEXT(pr, entry);
		if (p->stopping || policy_slots_full(p))
			return;
		if (pr->batch != JOB_UNSET) {
			if (policy_batch_live(p, pr->batch) >= pr->max_parallel)
				continue;
		} else if (pr->hold && policy_job_running(p, pr->run.job_id))
			continue;
		TAILQ_REMOVE(&p->queue, pr, entry);
		p->nqueued--;
		policy_spawn(p, pr);
	}
}

/* Queue a run in scheduled_at order. */
static void
policy_enqueue(struct policy *p, struct prun *pr)
{
	struct prun	*at;

	TAILQ_FOREACH(at, &p->queue, entry)
		if (at->run.scheduled_at > pr->run.scheduled_at)
			break;
	if (at != NULL)
		TAILQ_INSERT_BEFORE(at, pr, entry);
	else
		TAILQ_INSERT_TAIL(&p->queue, pr, entry);
	p->nqueued++;
}

/*
 * Record a new run of a fire (committed before anything is forked) and
 * start it, or queue it when max_running are busy.
 */
static struct prun *
policy_new_run(struct policy *p, struct pjob *pj, int64_t fire_at,
    enum run_trigger trigger, int attempt, int hold, int64_t now,
    char **cause)
{
	return policy_new_run_of(p, pj, fire_at, trigger, attempt, hold, now,
	    JOB_UNSET, JOB_UNSET, 0, cause);
}

/* policy_new_run, for a replay of run replay_of in a batch. */
static struct prun *
policy_new_run_of(struct policy *p, struct pjob *pj, int64_t fire_at,
    enum run_trigger trigger, int attempt, int hold, int64_t now,
    int64_t replay_of, int64_t batch, int max_parallel, char **cause)
{
	struct prun	*pr;
	int		 queue, rc;

	if (batch != JOB_UNSET && policy_batch_live(p, batch) >= max_parallel)
		hold = 1;
	queue = hold || p->stopping || policy_slots_full(p);
	pr = xcalloc(1, sizeof *pr);
	pr->policy = p;
	pr->hold = hold;
	pr->batch = batch;
	pr->max_parallel = max_parallel;
	policy_run_init(&pr->run, pj, fire_at, trigger, queue ? RUN_QUEUED :
	    RUN_RUNNING, now);
	pr->run.attempt = attempt;
	pr->run.replay_of = replay_of;
	pr->run.job = xstrdup(pj->name);
	if (!queue)
		pr->run.started_at = now;
	if ((rc = store_run_insert(p->store, &pr->run, cause)) < 0) {
		policy_prun_free(pr);
		if (rc == STORE_CONSTRAINT) {
			free(*cause);
			xasprintf(cause, "this fire of %s is already recorded",
			    pj->name);
		}
		return NULL;
	}
	pj->nlive++;
	if (queue)
		policy_enqueue(p, pr);
	else if (p->batching) {
		TAILQ_INSERT_TAIL(&p->pending, pr, entry);
		p->npending++;
	} else
		policy_spawn(p, pr);
	return pr;
}

/* Start a batch of fires; without one (busy store) each commits alone. */
static void
policy_batch_begin(struct policy *p)
{
	char	*cause = NULL;

	if (store_begin(p->store, &cause) == 0)
		p->batching = 1;
	else {
		log_debug("fires recorded one by one: %s", cause);
		free(cause);
	}
}

/* Commit the batch, then start its runs (their starts in one commit). */
static void
policy_batch_end(struct policy *p)
{
	struct pjob	*pj;
	struct prun	*pr;
	char		*cause = NULL;
	int		 grouped;

	if (!p->batching)
		return;
	p->batching = 0;
	if (store_commit(p->store, &cause) < 0) {
		log_warnx("%d fires not run: cannot record them: %s",
		    p->npending, cause);
		free(cause);
		while ((pr = TAILQ_FIRST(&p->pending)) != NULL) {
			TAILQ_REMOVE(&p->pending, pr, entry);
			if ((pj = policy_job(p, pr->run.job_id)) != NULL)
				pj->nlive--;
			policy_prun_free(pr);
		}
		p->npending = 0;
		return;
	}
	if (TAILQ_EMPTY(&p->pending))
		return;
	grouped = store_begin(p->store, NULL) == 0;
	while ((pr = TAILQ_FIRST(&p->pending)) != NULL) {
		TAILQ_REMOVE(&p->pending, pr, entry);
		p->npending--;
		policy_spawn(p, pr);
	}
	if (grouped && store_commit(p->store, &cause) < 0) {
		log_warnx("cannot record the start of runs: %s", cause);
		free(cause);
	}
}

static void
policy_batch_cb(int end, void *arg)
{
	struct policy	*p = arg;

	p->late_job = -1;	/* the config may change before the next */
	if (end)
		policy_batch_end(p);
	else
		policy_batch_begin(p);
}

/* The newest live run of a job, or NULL. */
static struct prun *
policy_live_run(struct policy *p, int64_t job_id)
{
	struct prun	*pr, *found = NULL;

	TAILQ_FOREACH(pr, &p->running, entry)
		if (pr->run.job_id == job_id)
			found = pr;
	TAILQ_FOREACH(pr, &p->queue, entry)
		if (pr->run.job_id == job_id)
			found = pr;
	TAILQ_FOREACH(pr, &p->pending, entry)
		if (pr->run.job_id == job_id)
			found = pr;
	return found;
}

static void
policy_fire_cb(int64_t job_id, int64_t fire_at, uint64_t skipped,
    int newest, int64_t now, void *arg)
{
	struct policy	*p = arg;
	struct pjob	*pj = policy_job(p, job_id);
	struct prun	*live, *pr;
	char		 reason[256], *cause = NULL;
	int64_t		 late;
	size_t		 len;
	int		 overlap, nqueued = 0, catchup, backlog, in_time;

	if (pj == NULL || pj->paused || p->stopping)
		return;
	/*
	 * Several fires of a job in one wake-up are a backlog (sqcrond was
	 * down, the clock jumped): the older ones follow the catchup rule,
	 * the newest one too when it is late, and otherwise runs now, as the
	 * catch-up run when the rule is latest or all.
	 */
	late = now - fire_at - pj->jitter_ms;
	backlog = !newest || skipped > 0 || p->backlog_job == job_id;
	p->backlog_job = newest ? -1 : job_id;
	if (late > POLICY_CHECK_LATE_MS || backlog) {
		catchup = policy_too_late(p, pj, late, &in_time);
		if (newest && in_time)
			catchup = backlog && catchup != CATCHUP_SKIP ?
			    CATCHUP_LATEST : -1;
		else if (catchup == CATCHUP_LATEST && !newest)
			catchup = CATCHUP_SKIP;
		if (catchup == CATCHUP_SKIP) {
			snprintf(reason, sizeof reason, "missed: due %" PRId64
			    ".%03d s earlier%s", late / 1000,
			    (int)(late % 1000), late > POLICY_LATE_MS ?
			    ", while sqcrond was not running or the clock "
			    "jumped" : "");
			len = strlen(reason);
			if (skipped > 0)
				snprintf(reason + len, sizeof reason - len,
				    "; %" PRIu64 " earlier fires were not "
				    "recorded one by one", skipped);
			policy_record(p, pj, fire_at, TRIGGER_SCHEDULE,
			    RUN_MISSED, reason, now);
			if (newest)	/* counts the whole backlog at once */
				policy_quarantine(p, job_id);
			return;
		}
		if (catchup == CATCHUP_LATEST || catchup == CATCHUP_ALL) {
			if (skipped > 0)
				log_info("%s: %" PRIu64 " fires before %" PRId64
				    " were neither recorded nor run (more than "
				    "%d at once)", pj->name, skipped, fire_at,
				    SCHED_MAX_BATCH);
			/* Each in turn, oldest first, whatever overlap says. */
			if (policy_new_run(p, pj, fire_at, TRIGGER_CATCHUP, 1,
			    pj->nlive > 0, now, &cause) == NULL)
				goto fail;
			return;
		}
	}

	/* A second fire of a job in one batch: its first run starts first. */
	if (pj->nlive > 0 && p->batching) {
		TAILQ_FOREACH(pr, &p->pending, entry)
			if (pr->run.job_id == job_id)
				break;
		if (pr != NULL) {
			policy_batch_end(p);
			policy_batch_begin(p);
		}
	}
	overlap = pj->overlap;
	if (pj->nlive > 0 && overlap != OVERLAP_ALLOW) {
		live = policy_live_run(p, job_id);
		switch (overlap) {
		case OVERLAP_QUEUE:
			TAILQ_FOREACH(pr, &p->queue, entry)
				if (pr->run.job_id == job_id)
					nqueued++;
			if (nqueued == 0)
				break;	/* keep at most one queued */
			/* FALLTHROUGH */
		case OVERLAP_SKIP:
			snprintf(reason, sizeof reason, "skipped: run %" PRId64
			    " was still %s (overlap=%s)",
			    live != NULL ? live->run.id : 0,
			    live != NULL && live->started ? "running" :
			    "queued", job_overlap_name(overlap));
			policy_record(p, pj, fire_at, TRIGGER_SCHEDULE,
			    RUN_SKIPPED, reason, now);
			return;
		case OVERLAP_REPLACE:
			/* A replacement waits for the kill already. */
			TAILQ_FOREACH(pr, &p->queue, entry)
				if (pr->run.job_id == job_id)
					break;
			if (pr != NULL) {
				snprintf(reason, sizeof reason, "skipped: run "
				    "%" PRId64 " already replaces the live run "
				    "(overlap=replace)", pr->run.id);
				policy_record(p, pj, fire_at, TRIGGER_SCHEDULE,
				    RUN_SKIPPED, reason, now);
				return;
			}
			TAILQ_FOREACH(pr, &p->running, entry) {
				if (pr->run.job_id != job_id)
					continue;
				snprintf(reason, sizeof reason, "replaced by "
				    "the fire of %s (overlap=replace)",
				    pj->name);
				runner_kill(p->runner, pr->run.id, reason);
			}
			break;
		}
	}
	/*
	 * overlap=queue: wait behind the live run, whatever the slots;
	 * replace: until the killed run is gone (at most kill_grace).
	 */
	if (policy_new_run(p, pj, fire_at, TRIGGER_SCHEDULE, 1,
	    (overlap == OVERLAP_QUEUE || overlap == OVERLAP_REPLACE) &&
	    pj->nlive > 0, now, &cause) == NULL)
		goto fail;
	return;
fail:
	log_warnx("%s: fire not run: %s", pj->name, cause);
	free(cause);
}

/*
 * The delay before retrying a fire whose attempt `failed` failed:
 * backoff doubled for each earlier attempt, capped at backoff_max, then
 * +-10% so that jobs failing together do not retry together.
 */
static int64_t
policy_retry_delay(int64_t backoff, int64_t backoff_max, int failed,
    int jitter)
{
	int64_t	d = backoff;
	int	i;

	for (i = 1; i < failed && d < backoff_max; i++)
		d *= 2;
	if (d > backoff_max)
		d = backoff_max;
	if (jitter)
		d += d * ((int64_t)arc4random_uniform(2001) - 1000) / 10000;
	return d;
}

/*
 * Is this ended attempt retried?  Failures that are the job's own
 * (failed, timeout, oom, crashed, spawn_error) while attempts remain and
 * its exit status is not final.  Never killed (someone asked), lost (the
 * daemon died: look first), missed or skipped, nor replays.
 */
static int
policy_retry_wanted(const struct policy *p, const struct run *r,
    const struct job_spec *js)
{
	int64_t	retries = policy_def(js->retries, p->conf->retries);

	switch (r->state) {
	case RUN_FAILED:
	case RUN_TIMEOUT:
	case RUN_OOM:
	case RUN_CRASHED:
	case RUN_SPAWN_ERROR:
		break;
	default:
		return 0;
	}
	if (r->trigger == TRIGGER_REPLAY || r->attempt > retries)
		return 0;
	if (r->exit_code != JOB_UNSET && jobspec_exit_in(js->no_retry_exit,
	    (int)r->exit_code))
		return 0;
	return 1;
}

static void
policy_retry_free(struct pretry *rt)
{
	if (rt->ev != NULL)
		event_free(rt->ev);
	free(rt);
}

/* The backoff is over: record the retry as a new attempt of the fire. */
static void
policy_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pretry	*rt = arg;
	struct policy	*p = rt->policy;
	struct pjob	*pj = policy_job(p, rt->job_id);
	struct prun	*pr = NULL;
	char		*cause = NULL;
	int		 grouped;

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&p->retries, rt, entry);
	if (pj == NULL || pj->paused)
		xasprintf(&cause, "the job is %s", pj == NULL ? "removed" :
		    "paused");
	else {
		/* Behind a live run of the job, whatever the overlap rule. */
		pr = policy_new_run(p, pj, rt->scheduled_at, TRIGGER_RETRY,
		    rt->attempt, pj->nlive > 0, policy_now(), &cause);
	}
	if (pr != NULL) {
		if (store_fire_supersede(p->store, rt->job_id,
		    rt->scheduled_at, pr->run.id, NULL, NULL) < 0)
			log_warnx("run %" PRId64 ": cannot mark it superseded",
			    rt->failed_id);
	} else {
		/* Nothing more happens by itself: it needs attention. */
		log_info("run %" PRId64 ": not retried: %s", rt->failed_id,
		    cause);
		grouped = store_begin(p->store, NULL) == 0;
		if (store_run_set_resolution(p->store, rt->failed_id,
		    RESOLUTION_OPEN, NULL) == 0)
			outbox_run_dead(p->outbox, rt->failed_id, policy_now());
		if (grouped)
			store_commit(p->store, NULL);
	}
	free(cause);
	policy_retry_free(rt);
}

/* Retry the fire of failed run r in delay_ms. */
static void
policy_retry_arm(struct policy *p, const struct run *r, int64_t delay_ms)
{
	struct pretry	*rt;

	rt = xcalloc(1, sizeof *rt);
	rt->policy = p;
	rt->failed_id = r->id;
	rt->job_id = r->job_id;
	rt->scheduled_at = r->scheduled_at;
	rt->attempt = r->attempt + 1;
	rt->ev = evtimer_new(p->base, policy_retry_cb, rt);
	timer_add_ms(rt->ev, delay_ms);
	TAILQ_INSERT_TAIL(&p->retries, rt, entry);
}

/*
 * Decide on a retry of an ended attempt before it is recorded: when one
 * follows, the attempt's resolution is "retrying" and the retry is armed.
 */
static void
policy_retry_maybe(struct policy *p, struct run *r)
{
	struct job_row	 row;
	int64_t		 delay;

	if (!run_state_is_failure(r->state) || r->state == RUN_MISSED)
		return;
	if (store_job_get_id(p->store, r->job_id, &row, NULL) < 0)
		return;
	if (row.removed_at == JOB_UNSET && !row.paused &&
	    policy_retry_wanted(p, r, &row.spec)) {
		delay = policy_retry_delay(policy_def(row.spec.backoff_ms,
		    p->conf->backoff_ms), policy_def(row.spec.backoff_max_ms,
		    POLICY_BACKOFF_MAX_MS), r->attempt, 1);
		r->resolution = RESOLUTION_RETRYING;
		policy_retry_arm(p, r, delay);
		log_info("%s: run %" PRId64 ": attempt %d in %" PRId64 " ms",
		    r->job, r->id, r->attempt + 1, delay);
	}
	store_job_row_clear(&row);
}

/*
 * The job's catchup rule (CATCHUP_*), and in *in_time whether a fire
 * `late` ms past its time may still start as usual: within its
 * starting_deadline, or within POLICY_LATE_MS when it has none.
 */
static int
policy_too_late(struct policy *p, const struct pjob *pj, int64_t late,
    int *in_time)
{
	struct job_row	 row;
	int64_t		 deadline = JOB_UNSET;
	int		 catchup;

	/* A backlog reports one job's fires in a row: read it once. */
	if (p->late_job == pj->id) {
		deadline = p->late_deadline;
		catchup = p->late_catchup;
		goto known;
	}
	catchup = p->conf->catchup == CONFIG_CATCHUP_ALL ? CATCHUP_ALL :
	    p->conf->catchup == CONFIG_CATCHUP_LATEST ? CATCHUP_LATEST :
	    CATCHUP_SKIP;
	if (store_job_get_id(p->store, pj->id, &row, NULL) == 0) {
		deadline = row.spec.starting_deadline_ms;
		if (row.spec.catchup != JOB_UNSET)
			catchup = row.spec.catchup;
		store_job_row_clear(&row);
	}
	p->late_job = pj->id;
	p->late_deadline = deadline;
	p->late_catchup = catchup;
known:
	*in_time = deadline != JOB_UNSET ? late <= deadline :
	    late <= POLICY_LATE_MS;
	return catchup;
}

/* The runner's report: complete the record, then start what waits. */
static void
policy_run_done_cb(const struct runner_result *res, void *arg)
{
	struct prun		*pr = arg;
	struct policy		*p = pr->policy;
	struct pjob		*pj;
	struct store_output	 out;
	struct job_health	 h;
	char			*cause = NULL;
	int			 recovered = 0, grouped;

	policy_starts_flush(p);	/* its start first */
	TAILQ_REMOVE(&p->running, pr, entry);
	p->nrunning--;
	pr->run.state = res->state;
	pr->run.exit_code = res->exit_code;
	pr->run.signal = res->signal;
	pr->run.core_dumped = res->core_dumped;
	free(pr->run.reason);
	pr->run.reason = res->reason[0] != '\0' ? xstrdup(res->reason) : NULL;
	pr->run.started_at = res->started_at;
	pr->run.ended_at = res->ended_at;
	pr->run.duration_ms = res->duration_ms;
	if (res->pid > 0)
		pr->run.pid = res->pid;
	pr->run.max_rss_kb = res->max_rss_kb;
	pr->run.user_cpu_ms = res->user_cpu_ms;
	pr->run.sys_cpu_ms = res->sys_cpu_ms;
	pr->run.output_bytes = res->output_bytes;
	pr->run.resolution = run_state_is_failure(res->state) ?
	    RESOLUTION_OPEN : RESOLUTION_NONE;
	if (!p->stopping)
		policy_retry_maybe(p, &pr->run);
	/* Only a listener needs to know whether this success ends failures. */
	memset(&h, 0, sizeof h);
	if (p->event_cb != NULL && res->state == RUN_SUCCEEDED &&
	    store_job_health(p->store, pr->run.job_id, &h, NULL) == 0)
		recovered = h.consecutive_failures > 0;
	memset(&out, 0, sizeof out);
	out.head = (char *)(uintptr_t)res->output;
	out.head_len = res->output != NULL ? res->output_len : 0;
	/* Its events are recorded with its end, or not at all. */
	if ((grouped = store_begin(p->store, NULL) == 0))
		outbox_run_ended(p->outbox, &pr->run, res->output,
		    res->output_len, res->ended_at);
	if (store_run_finish(p->store, &pr->run, &out, &cause) < 0) {
		log_warnx("%s: run %" PRId64 " ended %s but cannot be recorded: "
		    "%s", pr->run.job, pr->run.id, run_state_name(res->state),
		    cause);
		free(cause);
		cause = NULL;
		if (grouped)
			store_rollback(p->store);
	} else if (grouped && store_commit(p->store, &cause) < 0) {
		log_warnx("%s: run %" PRId64 " ended %s but cannot be recorded: "
		    "%s", pr->run.job, pr->run.id, run_state_name(res->state),
		    cause);
		free(cause);
		cause = NULL;
	}
	if (p->kept_cb != NULL && res->output != NULL && res->output_len > 0)
		p->kept_cb(&pr->run, res->output, res->output_len, p->kept_arg);
	if (res->state == RUN_SUCCEEDED)
		log_debug("%s: run %" PRId64 " succeeded", pr->run.job,
		    pr->run.id);
	else
		log_info("%s: run %" PRId64 " %s: %s", pr->run.job, pr->run.id,
		    run_state_name(res->state), res->reason);
	if ((pj = policy_job(p, pr->run.job_id)) != NULL)
		pj->nlive--;
	if (pr->run.resolution == RESOLUTION_OPEN)
		policy_quarantine(p, pr->run.job_id);
	if (pr->run.trigger == TRIGGER_REPLAY &&
	    pr->run.state == RUN_SUCCEEDED && pr->run.replay_of != JOB_UNSET &&
	    store_run_set_resolution(p->store, pr->run.replay_of,
	    RESOLUTION_REPLAYED, &cause) < 0) {
		log_warnx("run %" PRId64 ": cannot mark it replayed: %s",
		    pr->run.replay_of, cause);
		free(cause);
		cause = NULL;
	}
	policy_emit(p, POLICY_RUN_ENDED, pr->run.job_id, pr->run.job, &pr->run,
	    JOB_UNSET, NULL);
	if (recovered)
		policy_emit(p, POLICY_JOB_RECOVERED, pr->run.job_id,
		    pr->run.job, &pr->run, JOB_UNSET, NULL);
	if (pr->batch != JOB_UNSET)
		policy_emit(p, POLICY_REPLAY_PROGRESS, pr->run.job_id,
		    pr->run.job, &pr->run, pr->batch, NULL);
	prune_kick(p->prune, pr->run.job_id);
	policy_notify(pr);
	policy_prun_free(pr);
	policy_start_queued(p);
	policy_changed(p);
	if (p->stopping && p->nrunning == 0 && p->shutdown_done != NULL) {
		void	(*done)(void *) = p->shutdown_done;

		p->shutdown_done = NULL;
		done(p->shutdown_arg);
	}
}

static void
policy_clock_cb(int64_t delta, void *arg)
{
	if (delta < -POLICY_LATE_MS)
		log_info("the clock went back %" PRId64 " s: fires already "
		    "recorded are not run again", -delta / 1000);
	else if (delta > POLICY_LATE_MS)
		log_info("the clock jumped %" PRId64 " s forward: fires in "
		    "between are recorded as missed", delta / 1000);
}

/* The end of a timed pause: resume the job if it is still paused. */
static void
policy_pause_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ppause	*pp = arg;
	struct policy	*p = pp->policy;
	struct job_row	 row;
	int64_t		 now = policy_now(), job_id = pp->job_id;
	char		*cause = NULL;

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&p->pauses, pp, entry);
	event_free(pp->ev);
	free(pp);
	if (store_job_get_id(p->store, job_id, &row, NULL) < 0)
		return;
	if (row.removed_at == JOB_UNSET && row.paused &&
	    row.paused_until != JOB_UNSET) {
		if (row.paused_until > now)	/* paused again, later */
			policy_pause_arm(p, job_id, row.paused_until);
		else if (store_job_resume(p->store, job_id, now, &cause) < 0 ||
		    policy_load_job(p, job_id, now, &cause) < 0) {
			log_warnx("%s: cannot resume: %s", row.spec.name,
			    cause);
			free(cause);
		} else {
			log_info("%s: resumed: its pause ended", row.spec.name);
			policy_emit(p, POLICY_JOB_RESUMED, job_id,
			    row.spec.name, NULL, JOB_UNSET, "its pause ended");
		}
	}
	store_job_row_clear(&row);
}

/* Resume job_id at `until` (ms); replaces an earlier timer of the job. */
static void
policy_pause_arm(struct policy *p, int64_t job_id, int64_t until)
{
	struct ppause	*pp;
	int64_t		 ms = until - policy_now();

	TAILQ_FOREACH(pp, &p->pauses, entry)
		if (pp->job_id == job_id)
			break;
	if (pp == NULL) {
		pp = xcalloc(1, sizeof *pp);
		pp->policy = p;
		pp->job_id = job_id;
		pp->ev = evtimer_new(p->base, policy_pause_cb, pp);
		TAILQ_INSERT_TAIL(&p->pauses, pp, entry);
	}
	timer_add_ms(pp->ev, ms);
}

/*
 * Quarantine: after pause_after consecutive failed fires the job is
 * paused, and says why.  Called when a fire has failed for good.
 */
static void
policy_quarantine(struct policy *p, int64_t job_id)
{
	struct job_health	 h;
	struct job_row		 row;
	struct pjob		*pj;
	char			 reason[160], params[200], *cause = NULL;
	int			 grouped;

	if ((pj = policy_job(p, job_id)) == NULL ||
	    pj->pause_after == JOB_UNSET || pj->paused)
		return;
	if (store_job_get_id(p->store, job_id, &row, NULL) < 0)
		return;
	if (row.spec.pause_after == JOB_UNSET || row.paused ||
	    row.removed_at != JOB_UNSET)
		goto out;
	memset(&h, 0, sizeof h);
	if (store_job_health(p->store, job_id, &h, NULL) < 0 ||
	    h.consecutive_failures < row.spec.pause_after)
		goto out;
	snprintf(reason, sizeof reason, "quarantined: %d consecutive failed "
	    "fires (pause_after = %d)", (int)h.consecutive_failures,
	    row.spec.pause_after);
	/* The pause and its event in one transaction (or the fires'). */
	grouped = !p->batching && store_begin(p->store, NULL) == 0;
	if (store_job_pause(p->store, job_id, JOB_UNSET, reason, &cause) == 0)
		outbox_job_event(p->outbox, job_id, CONFIG_EVENT_JOB_PAUSED,
		    reason, policy_now());
	else if (grouped) {
		store_rollback(p->store);
		grouped = 0;
	}
	if (cause != NULL || (grouped && store_commit(p->store, &cause) < 0) ||
	    policy_load_job(p, job_id, policy_now(), &cause) < 0) {
		log_warnx("%s: cannot pause: %s", row.spec.name, cause);
		free(cause);
		goto out;
	}
	log_warnx("%s: %s", row.spec.name, reason);
	policy_emit(p, POLICY_JOB_PAUSED, job_id, row.spec.name, NULL,
	    JOB_UNSET, reason);
	/* In the audit log as sqcrond's own change (names are plain). */
	snprintf(params, sizeof params, "{\"name\":\"%s\",\"by\":"
	    "\"pause_after\"}", row.spec.name);
	store_audit_insert(p->store, policy_now(), geteuid(), getpid(),
	    "job.pause", params, "ok", reason, NULL, NULL);
out:
	store_job_row_clear(&row);
}

/* (Re)load a job from the store and (re)schedule it from `after`. */
static int
policy_load_job(struct policy *p, int64_t job_id, int64_t after, char **cause)
{
	struct pjob	**slot = policy_slot(p, job_id), *pj = *slot;
	struct job_row	 row;
	int		 rc;

	if ((rc = store_job_get_id(p->store, job_id, &row, cause)) < 0)
		return -1;
	if (row.removed_at != JOB_UNSET) {
		store_job_row_clear(&row);
		policy_job_removed(p, job_id);
		return 0;
	}
	if (pj == NULL) {
		pj = xcalloc(1, sizeof *pj);
		pj->id = job_id;
		*slot = pj;
	} else
		free(pj->name);
	pj->name = xstrdup(row.spec.name);
	pj->owner = row.owner;
	pj->version = row.version;
	pj->paused = row.paused;
	pj->pause_after = row.spec.pause_after;
	p->late_job = -1;	/* policy_too_late reads the job again */
	pj->overlap = row.spec.overlap != JOB_UNSET ? row.spec.overlap :
	    OVERLAP_SKIP;
	pj->jitter_ms = sched_jitter(row.spec.name,
	    policy_def(row.spec.jitter_ms, 0));
	if (pj->paused) {
		sched_remove(p->sched, job_id);
		rc = 0;
		if (row.paused_until != JOB_UNSET)
			policy_pause_arm(p, job_id, row.paused_until);
	} else
		rc = sched_set(p->sched, job_id, row.spec.schedule,
		    row.spec.timezone, pj->jitter_ms, after, cause);
	store_job_row_clear(&row);
	policy_changed(p);
	return rc;
}

int
policy_job_changed(struct policy *p, int64_t job_id, char **cause)
{
	return policy_load_job(p, job_id, policy_now(), cause);
}

void
policy_job_removed(struct policy *p, int64_t job_id)
{
	struct pjob	**slot = policy_slot(p, job_id), *pj = *slot;

	sched_remove(p->sched, job_id);
	policy_changed(p);
	if (pj == NULL)
		return;
	*slot = pj->next;
	policy_job_free(pj);
}

/* Terminate a job left running by a previous daemon, if it is the same process. */
static void
policy_kill_survivor(const struct store_orphan *o)
{
	int64_t	start;

	if (o->pid <= 0)
		return;
	start = memlimit_pid_start_time((pid_t)o->pid);
	if (start == -1 || start != o->pid_start_time)
		return;		/* gone, or the pid was reused */
	log_info("run %" PRId64 ": terminating pid %" PRId64 " left running "
	    "by the previous sqcrond", o->run_id, o->pid);
	/* The child called setsid(): its group is its pid. */
	if (kill(-(pid_t)o->pid, SIGKILL) == -1)
		(void)kill((pid_t)o->pid, SIGKILL);
}

/*
 * Retries that were waiting when the previous sqcrond stopped: each is
 * due its backoff after its failed attempt ended (no jitter this time),
 * at once if that moment passed while sqcrond was down.
 */
static int
policy_start_retries(struct policy *p, int64_t now, char **cause)
{
	struct run	*runs = NULL;
	struct job_row	 row;
	size_t		 n, i;
	int64_t		 due;

	if (store_runs_retrying(p->store, &runs, &n, cause) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		due = runs[i].ended_at != JOB_UNSET ? runs[i].ended_at : now;
		if (store_job_get_id(p->store, runs[i].job_id, &row,
		    NULL) == 0) {
			due += policy_retry_delay(policy_def(row.spec.backoff_ms,
			    p->conf->backoff_ms),
			    policy_def(row.spec.backoff_max_ms,
			    POLICY_BACKOFF_MAX_MS), runs[i].attempt, 0);
			store_job_row_clear(&row);
		}
		policy_retry_arm(p, &runs[i], due - now);
	}
	if (n > 0)
		log_info("%zu retries waiting again", n);
	store_runs_free(runs, n);
	return 0;
}

int
policy_start(struct policy *p, char **cause)
{
	struct store_orphan	*orphans = NULL;
	struct job_row		*rows = NULL;
	struct run		*queued = NULL;
	struct prun		*pr;
	struct pjob		*pj;
	size_t			 n, i;
	int64_t			 now = policy_now(), after;
	char			*jcause = NULL;
	int			 grouped;

	/* Lost runs and their events, in one transaction. */
	grouped = store_begin(p->store, NULL) == 0;
	if (store_runs_recover(p->store, now, "lost: sqcrond stopped while "
	    "it ran", &orphans, &n, cause) < 0) {
		store_rollback(p->store);
		return -1;
	}
	for (i = 0; i < n; i++)
		outbox_run_recorded(p->outbox, orphans[i].run_id, now);
	if (grouped && store_commit(p->store, cause) < 0) {
		free(orphans);
		return -1;
	}
	for (i = 0; i < n; i++)
		policy_kill_survivor(&orphans[i]);
	if (n > 0)
		log_info("%zu runs left running by the previous sqcrond are "
		    "now lost", n);
	free(orphans);

	if (store_job_list(p->store, JOB_UNSET, &rows, &n, cause) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		/* Fires since the last recorded one are due now: missed. */
		after = now;
		if (store_fire_latest(p->store, rows[i].id, &after, NULL) < 0 ||
		    after == JOB_UNSET)
			after = rows[i].resumed_at != JOB_UNSET &&
			    rows[i].resumed_at > rows[i].created_at ?
			    rows[i].resumed_at : rows[i].created_at;
		if (policy_load_job(p, rows[i].id, after, &jcause) == -1) {
			log_warnx("%s: not scheduled: %s", rows[i].spec.name,
			    jcause);
			free(jcause);
			jcause = NULL;
		}
	}
	store_job_rows_free(rows, n);
	/*
	 * The full rows, and the pages of the jobs table they came from,
	 * were only needed to schedule: give that memory back.
	 */
	store_release_memory(p->store);
	malloc_trim(0);

	if (store_runs_queued(p->store, &queued, &n, cause) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		pr = xcalloc(1, sizeof *pr);
		pr->policy = p;
		pr->run = queued[i];
		pr->batch = JOB_UNSET;
		memset(&queued[i], 0, sizeof queued[i]);
		if (pr->run.trigger == TRIGGER_REPLAY)
			store_batch_of_run(p->store, pr->run.id, &pr->batch,
			    &pr->max_parallel, NULL);
		if ((pj = policy_job(p, pr->run.job_id)) != NULL)
			pj->nlive++;
		policy_enqueue(p, pr);
	}
	store_runs_free(queued, n);
	if (p->nqueued > 0)
		log_info("%d queued runs waiting again", p->nqueued);
	if (policy_start_retries(p, now, cause) < 0)
		return -1;
	policy_start_queued(p);
	return 0;
}

int
policy_reboot(struct policy *p, const char *boot_id, char **cause)
{
	struct job_row	*rows = NULL;
	struct pjob	*pj;
	char		*last = NULL, *jcause = NULL;
	size_t		 n, i;
	int64_t		 now = policy_now();
	int		 rc, nrun = 0;

	if ((rc = store_meta_get(p->store, "boot_id", &last, cause)) < 0 &&
	    rc != STORE_NOTFOUND)
		return -1;
	free(*cause);
	*cause = NULL;
	if (last != NULL && strcmp(last, boot_id) == 0) {
		log_info("@reboot jobs ran for this boot already (boot id %s)",
		    boot_id);
		free(last);
		return 0;
	}
	free(last);
	if (store_job_list(p->store, JOB_UNSET, &rows, &n, cause) < 0)
		return -1;
	/* The runs and the boot id commit together, before any starts. */
	policy_batch_begin(p);
	for (i = 0; i < n; i++) {
		if (strncmp(rows[i].spec.schedule, "@reboot", 7) != 0 ||
		    (pj = policy_job(p, rows[i].id)) == NULL || pj->paused)
			continue;
		if (policy_new_run(p, pj, now, TRIGGER_REBOOT, 1, 0, now,
		    &jcause) == NULL) {
			log_warnx("%s: @reboot not run: %s", pj->name, jcause);
			free(jcause);
			jcause = NULL;
		} else
			nrun++;
	}
	store_job_rows_free(rows, n);
	if (store_meta_set(p->store, "boot_id", boot_id, &jcause) < 0) {
		log_warnx("the boot id is not recorded: @reboot jobs may run "
		    "again at the next start: %s", jcause);
		free(jcause);
	}
	policy_batch_end(p);
	log_info("new boot (boot id %s): %d @reboot jobs started", boot_id,
	    nrun);
	return 0;
}

int
policy_replay(struct policy *p, const struct run *target, int64_t batch,
    int max_parallel, struct run *run, char **cause)
{
	struct pjob	*pj = policy_job(p, target->job_id);
	struct prun	*pr;
	int		 attempt = 0;

	if (pj == NULL) {
		xasprintf(cause, "its job is removed");
		return -1;
	}
	if (p->stopping) {
		xasprintf(cause, "sqcrond is shutting down");
		return -1;
	}
	if (store_fire_last_attempt(p->store, target->job_id,
	    target->scheduled_at, &attempt, cause) < 0)
		return -1;
	pr = policy_new_run_of(p, pj, target->scheduled_at, TRIGGER_REPLAY,
	    attempt + 1, 0, policy_now(), target->id, batch,
	    max_parallel > 0 ? max_parallel : 1, cause);
	if (pr == NULL)
		return -1;
	if (store_fire_supersede(p->store, target->job_id,
	    target->scheduled_at, pr->run.id, NULL, NULL) < 0)
		log_warnx("run %" PRId64 ": cannot mark it superseded",
		    target->id);
	memset(run, 0, sizeof *run);
	*run = pr->run;
	run->job = xstrdup(pr->run.job);
	run->reason = NULL;
	return 0;
}

int
policy_kill(struct policy *p, int64_t run_id, const char *who, char **cause)
{
	struct prun	*pr;
	char		 reason[200];

	TAILQ_FOREACH(pr, &p->running, entry) {
		if (pr->run.id != run_id)
			continue;
		if (runner_kill(p->runner, run_id, who) == -1) {
			xasprintf(cause, "run %" PRId64 " is not running yet",
			    run_id);
			return -1;
		}
		return 0;
	}
	TAILQ_FOREACH(pr, &p->queue, entry) {
		if (pr->run.id != run_id)
			continue;
		/* Never started: it ends killed, from the loop. */
		TAILQ_REMOVE(&p->queue, pr, entry);
		p->nqueued--;
		TAILQ_INSERT_TAIL(&p->running, pr, entry);
		p->nrunning++;
		pr->started = 1;
		snprintf(reason, sizeof reason, "%s before it started", who);
		policy_spawn_end(p, pr, RUN_KILLED, reason);
		return 0;
	}
	xasprintf(cause, "run %" PRId64 " is not queued or running", run_id);
	return -1;
}

int
policy_trigger(struct policy *p, int64_t job_id, policy_done_cb done,
    void *arg, struct run *run, char **cause)
{
	struct pjob	*pj = policy_job(p, job_id);
	struct prun	*pr = NULL;
	struct pwaiter	*w;
	int64_t		 now = policy_now();
	int		 i;

	if (pj == NULL) {
		xasprintf(cause, "no such job");
		return -1;
	}
	if (p->stopping) {
		xasprintf(cause, "sqcrond is shutting down");
		return -1;
	}
	/* A manual fire is the moment of the request; one per millisecond. */
	for (i = 0; i < 5 && pr == NULL; i++) {
		free(*cause);
		*cause = NULL;
		pr = policy_new_run(p, pj, now + i, TRIGGER_MANUAL, 1, 0, now,
		    cause);
	}
	if (pr == NULL)
		return -1;
	free(*cause);
	*cause = NULL;
	memset(run, 0, sizeof *run);
	*run = pr->run;
	run->job = xstrdup(pr->run.job);
	run->reason = pr->run.reason != NULL ? xstrdup(pr->run.reason) : NULL;
	if (done != NULL) {
		w = xcalloc(1, sizeof *w);
		w->cb = done;
		w->arg = arg;
		w->next = pr->waiters;
		pr->waiters = w;
	}
	return 0;
}

void
policy_unwait(struct policy *p, int64_t run_id, policy_done_cb cb, void *arg)
{
	struct prun_list	*lists[2] = { &p->running, &p->queue };
	struct prun		*pr;
	struct pwaiter		**wp, *w;
	int			 i;

	for (i = 0; i < 2; i++) {
		TAILQ_FOREACH(pr, lists[i], entry) {
			if (pr->run.id != run_id)
				continue;
			for (wp = &pr->waiters; (w = *wp) != NULL;) {
				if (w->cb == cb && w->arg == arg) {
					*wp = w->next;
					free(w);
				} else
					wp = &w->next;
			}
		}
	}
}

/* The runner read output of a run: hand it to the run's followers. */
static void
policy_run_output_cb(int64_t run_id, const char *buf, size_t len, void *arg)
{
	struct prun	*pr = arg;
	struct pwaiter	*w;

	(void)run_id;
	for (w = pr->waiters; w != NULL; w = w->next) {
		if (w->output != NULL)
			w->output(buf, len, w->arg);
	}
}

int
policy_follow(struct policy *p, int64_t run_id, policy_output_cb output,
    policy_done_cb done, void *arg, char **sofar, size_t *len)
{
	struct prun_list	*lists[2] = { &p->running, &p->queue };
	struct prun		*pr = NULL;
	struct pwaiter		*w;
	int			 i;

	for (i = 0; i < 2 && pr == NULL; i++) {
		TAILQ_FOREACH(pr, lists[i], entry)
			if (pr->run.id == run_id)
				break;
	}
	if (pr == NULL)
		return -1;
	/*
	 * The loop runs one callback at a time: what the runner kept until
	 * now, then every read after it, meet without a gap or overlap.
	 */
	*sofar = runner_output(p->runner, run_id, len);
	if (*sofar == NULL) {		/* queued, or never forked */
		*sofar = xstrdup("");
		*len = 0;
	}
	w = xcalloc(1, sizeof *w);
	w->cb = done;
	w->output = output;
	w->arg = arg;
	w->next = pr->waiters;
	pr->waiters = w;
	return 0;
}

void
policy_set_event_cb(struct policy *p, policy_event_cb cb, void *arg)
{
	p->event_cb = cb;
	p->event_arg = arg;
}

int64_t
policy_next_at(struct policy *p, int64_t job_id)
{
	struct pjob	*pj = policy_job(p, job_id);

	if (pj == NULL || pj->paused)
		return -1;
	return sched_next_at(p->sched, job_id);
}

int64_t
policy_period(struct policy *p, int64_t job_id)
{
	struct pjob	*pj = policy_job(p, job_id);

	if (pj == NULL || pj->paused)
		return 0;
	return sched_period(p->sched, job_id);
}

int
policy_running(struct policy *p)
{
	return p->nrunning;
}

int
policy_queued(struct policy *p)
{
	return p->nqueued;
}

void
policy_live_owned(struct policy *p, uid_t owner, int *running, int *queued)
{
	struct prun	*pr;
	struct pjob	*pj;

	*running = *queued = 0;
	TAILQ_FOREACH(pr, &p->running, entry) {
		if ((pj = policy_job(p, pr->run.job_id)) != NULL &&
		    pj->owner == owner)
			(*running)++;
	}
	TAILQ_FOREACH(pr, &p->queue, entry) {
		if ((pj = policy_job(p, pr->run.job_id)) != NULL &&
		    pj->owner == owner)
			(*queued)++;
	}
}

static void
policy_shutdown_cb(evutil_socket_t fd, short what, void *arg)
{
	struct policy	*p = arg;
	int		 n;

	n = runner_kill_all(p->runner, "shutdown");
	log_info("shutdown_timeout reached: killing %d running jobs", n);
}

void
policy_shutdown(struct policy *p, int64_t timeout_ms, void (*done)(void *),
    void *arg)
{

	p->stopping = 1;
	if (p->nrunning == 0) {
		done(arg);
		return;
	}
	log_info("waiting up to %" PRId64 " ms for %d running jobs",
	    timeout_ms, p->nrunning);
	p->shutdown_done = done;
	p->shutdown_arg = arg;
	p->ev_shutdown = evtimer_new(p->base, policy_shutdown_cb, p);
	if (p->ev_shutdown == NULL ||
	    timer_add_ms(p->ev_shutdown, timeout_ms) == -1)
		policy_shutdown_cb(-1, 0, p);
}
