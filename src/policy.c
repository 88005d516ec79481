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
#include "log.h"
#include "memlimit.h"
#include "policy.h"
#include "prune.h"
#include "runner.h"
#include "sched.h"
#include "store.h"
#include "tz.h"
#include "xmalloc.h"

/* A fire this late at wake-up (beyond its jitter) is missed, not run. */
#define POLICY_LATE_MS		2000
#define POLICY_NBUCKETS		1024

struct pwaiter {
	policy_done_cb		 cb;
	void			*arg;
	struct pwaiter		*next;
};

struct prun {
	struct policy		*policy;
	struct run		 run;		/* as recorded */
	int			 started;	/* handed to the runner */
	int			 hold;		/* waits for its job's run */
	struct runner_result	 failed;	/* spawn failed before a child */
	struct pwaiter		*waiters;
	TAILQ_ENTRY(prun)	 entry;		/* live or queue list */
};
TAILQ_HEAD(prun_list, prun);

/*
 * What a fire needs to know of a job without asking the store; the rest
 * of its definition is read when a run starts (10,000 jobs stay small).
 */
struct pjob {
	int64_t			 id;
	char			*name;
	int			 version;
	int			 paused;
	int			 overlap;	/* OVERLAP_*, default applied */
	int64_t			 jitter_ms;	/* this job's fixed delay */
	int			 nlive;		/* queued + running runs */
	struct pjob		*next;		/* hash chain */
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
	struct event		*ev_shutdown;
	void			(*shutdown_done)(void *);
	void			*shutdown_arg;
};

static void	policy_fire_cb(int64_t, int64_t, uint64_t, int64_t, void *);
static void	policy_clock_cb(int64_t, void *);
static void	policy_run_done_cb(const struct runner_result *, void *);
static void	policy_start_queued(struct policy *);
static void	policy_batch_cb(int, void *);
static int	policy_slots_full(const struct policy *);

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
	size_t		 i;

	if (p == NULL)
		return;
	while ((pr = TAILQ_FIRST(&p->running)) != NULL) {
		TAILQ_REMOVE(&p->running, pr, entry);
		policy_prun_free(pr);
	}
	while ((pr = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, pr, entry);
		policy_prun_free(pr);
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
policy_set_config(struct policy *p, const struct config *conf)
{
	p->conf = conf;
	policy_start_queued(p);
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
	rc = store_run_insert(p->store, &r, &cause);
	if (rc == STORE_CONSTRAINT)
		log_debug("%s: fire %" PRId64 " already recorded",
		    pj->name, fire_at);
	else if (rc < 0)
		log_warnx("%s: cannot record a %s run: %s", pj->name,
		    run_state_name(state), cause);
	free(cause);
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
 * A run that could not be handed to the runner ends as spawn_error, from
 * the loop like any other report, never inside its caller.
 */
static void
policy_spawn_failed(struct policy *p, struct prun *pr, const char *why)
{
	struct timeval	 zero = { 0, 0 };
	struct runner_result	*res = &pr->failed;

	memset(res, 0, sizeof *res);
	res->run_id = pr->run.id;
	res->state = RUN_SPAWN_ERROR;
	res->exit_code = JOB_UNSET;
	snprintf(res->reason, sizeof res->reason, "%s", why);
	res->started_at = res->ended_at = policy_now();
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
	char			*cause = NULL;
	pid_t			 pid = 0;
	int			 rc;

	pr->started = 1;
	TAILQ_INSERT_TAIL(&p->running, pr, entry);
	p->nrunning++;
	if (pj == NULL) {
		/* Removed while queued: the run ends without executing. */
		policy_spawn_failed(p, pr, "the job was removed before the run "
		    "could start");
		return;
	}
	/* The definition in force now (the runner copies what it keeps). */
	if (store_job_get_id(p->store, pj->id, &row, &cause) < 0) {
		policy_spawn_failed(p, pr, cause != NULL ? cause :
		    "cannot read the job's definition");
		free(cause);
		return;
	}
	js = &row.spec;
	memset(&rj, 0, sizeof rj);
	rj.run_id = pr->run.id;
	rj.job = js->name;
	rj.command = js->command;
	rj.user = js->user;
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
	rc = runner_spawn(p->runner, &rj, policy_run_done_cb, NULL, pr, &pid,
	    &cause);
	store_job_row_clear(&row);
	if (rc == -1) {
		policy_spawn_failed(p, pr, cause);
		free(cause);
		return;
	}
	pr->run.state = RUN_RUNNING;
	pr->run.pid = pid;
	if (pid > 0 && store_run_start(p->store, pr->run.id, policy_now(), pid,
	    memlimit_pid_start_time(pid), &cause) < 0) {
		log_warnx("%s: run %" PRId64 ": cannot record its start: %s",
		    pj->name, pr->run.id, cause);
		free(cause);
	}
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
		if (pr->hold && policy_job_running(p, pr->run.job_id))
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
    enum run_trigger trigger, int hold, int64_t now, char **cause)
{
	struct prun	*pr;
	int		 queue, rc;

	queue = hold || p->stopping || policy_slots_full(p);
	pr = xcalloc(1, sizeof *pr);
	pr->policy = p;
	pr->hold = hold;
	policy_run_init(&pr->run, pj, fire_at, trigger, queue ? RUN_QUEUED :
	    RUN_RUNNING, now);
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
    int64_t now, void *arg)
{
	struct policy	*p = arg;
	struct pjob	*pj = policy_job(p, job_id);
	struct prun	*live, *pr;
	char		 reason[256], *cause = NULL;
	int64_t		 late;
	int		 overlap, nqueued = 0;

	if (pj == NULL || pj->paused || p->stopping)
		return;
	late = now - fire_at - pj->jitter_ms;
	if (late > POLICY_LATE_MS) {
		if (skipped > 0)
			snprintf(reason, sizeof reason, "missed: due %" PRId64
			    " s earlier, while sqcrond was not running or the "
			    "clock jumped; %" PRIu64 " earlier fires were not "
			    "recorded one by one", late / 1000, skipped);
		else
			snprintf(reason, sizeof reason, "missed: due %" PRId64
			    " s earlier, while sqcrond was not running or the "
			    "clock jumped", late / 1000);
		policy_record(p, pj, fire_at, TRIGGER_SCHEDULE, RUN_MISSED,
		    reason, now);
		return;
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
	/* overlap=queue: wait behind the live run, whatever the slots. */
	if (policy_new_run(p, pj, fire_at, TRIGGER_SCHEDULE,
	    overlap == OVERLAP_QUEUE && pj->nlive > 0, now, &cause) == NULL)
		goto fail;
	return;
fail:
	log_warnx("%s: fire not run: %s", pj->name, cause);
	free(cause);
}

/* The runner's report: complete the record, then start what waits. */
static void
policy_run_done_cb(const struct runner_result *res, void *arg)
{
	struct prun		*pr = arg;
	struct policy		*p = pr->policy;
	struct pjob		*pj;
	struct store_output	 out;
	char			*cause = NULL;

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
	memset(&out, 0, sizeof out);
	out.head = (char *)(uintptr_t)res->output;
	out.head_len = res->output != NULL ? res->output_len : 0;
	if (store_run_finish(p->store, &pr->run, &out, &cause) < 0) {
		log_warnx("%s: run %" PRId64 " ended %s but cannot be recorded: "
		    "%s", pr->run.job, pr->run.id, run_state_name(res->state),
		    cause);
		free(cause);
	}
	if (res->state == RUN_SUCCEEDED)
		log_debug("%s: run %" PRId64 " succeeded", pr->run.job,
		    pr->run.id);
	else
		log_info("%s: run %" PRId64 " %s: %s", pr->run.job, pr->run.id,
		    run_state_name(res->state), res->reason);
	if ((pj = policy_job(p, pr->run.job_id)) != NULL)
		pj->nlive--;
	prune_kick(p->prune, pr->run.job_id);
	policy_notify(pr);
	policy_prun_free(pr);
	policy_start_queued(p);
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
	pj->version = row.version;
	pj->paused = row.paused;
	pj->overlap = row.spec.overlap != JOB_UNSET ? row.spec.overlap :
	    OVERLAP_SKIP;
	pj->jitter_ms = sched_jitter(row.spec.name,
	    policy_def(row.spec.jitter_ms, 0));
	if (pj->paused) {
		sched_remove(p->sched, job_id);
		rc = 0;
	} else
		rc = sched_set(p->sched, job_id, row.spec.schedule,
		    row.spec.timezone, pj->jitter_ms, after, cause);
	store_job_row_clear(&row);
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

	if (store_runs_recover(p->store, now, "lost: sqcrond stopped while "
	    "it ran", &orphans, &n, cause) < 0)
		return -1;
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
	/* The full rows were only needed to schedule: return their pages. */
	malloc_trim(0);

	if (store_runs_queued(p->store, &queued, &n, cause) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		pr = xcalloc(1, sizeof *pr);
		pr->policy = p;
		pr->run = queued[i];
		memset(&queued[i], 0, sizeof queued[i]);
		if ((pj = policy_job(p, pr->run.job_id)) != NULL)
			pj->nlive++;
		policy_enqueue(p, pr);
	}
	store_runs_free(queued, n);
	if (p->nqueued > 0)
		log_info("%d queued runs waiting again", p->nqueued);
	policy_start_queued(p);
	return 0;
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
		pr = policy_new_run(p, pj, now + i, TRIGGER_MANUAL, 0, now,
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
	struct timeval	tv;

	p->stopping = 1;
	if (p->nrunning == 0) {
		done(arg);
		return;
	}
	log_info("waiting up to %" PRId64 " ms for %d running jobs",
	    timeout_ms, p->nrunning);
	p->shutdown_done = done;
	p->shutdown_arg = arg;
	tv.tv_sec = (time_t)(timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	p->ev_shutdown = evtimer_new(p->base, policy_shutdown_cb, p);
	if (p->ev_shutdown == NULL || evtimer_add(p->ev_shutdown, &tv) == -1)
		policy_shutdown_cb(-1, 0, p);
}
