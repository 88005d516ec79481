/*
 * policy.h: what happens when a fire is due and when a run ends.
 */
#ifndef SQCRON_POLICY_H
#define SQCRON_POLICY_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "job.h"

struct config;
struct event_base;
struct outbox;
struct policy;
struct prune;
struct runner;
struct store;
struct tz;

/* Called when a run ends (or at once for a run that never executes). */
typedef void	(*policy_done_cb)(const struct run *, void *);
/* Called with each piece of a live run's output, as it is read. */
typedef void	(*policy_output_cb)(const char *, size_t, void *);

/*
 * What happened, for whoever listens (events.subscribe).  Pointers are
 * valid only during the callback.
 */
enum policy_event_type {
	POLICY_RUN_STARTED,	/* its child was forked */
	POLICY_RUN_ENDED,	/* it ended, or was recorded skipped or missed */
	POLICY_JOB_RECOVERED,	/* a success after failed fires */
	POLICY_JOB_PAUSED,	/* quarantined after pause_after failures */
	POLICY_JOB_RESUMED,	/* its pause --until ended */
	POLICY_REPLAY_PROGRESS,	/* a run of a replay batch ended */
};
struct policy_event {
	enum policy_event_type	 type;
	int64_t			 job_id;
	const char		*job;		/* its name */
	const struct run	*run;		/* run events, or NULL */
	int64_t			 batch;		/* replay progress, or JOB_UNSET */
	const char		*reason;	/* job events, or NULL */
};
typedef void	(*policy_event_cb)(const struct policy_event *, void *);
/* Called when a run that wrote output ends: the output as kept. */
typedef void	(*policy_kept_output_cb)(const struct run *, const char *,
		    size_t, void *);

/* prune (may be NULL) hears of every run that ends. */
struct policy	*policy_new(struct event_base *, struct store *,
		    struct runner *, struct prune *, const struct config *,
		    const struct tz *, char **cause);
void		 policy_free(struct policy *);
/*
 * Start-up: runs left running become lost (survivors are terminated),
 * queued runs are queued again, every live job is scheduled and the
 * fires missed while sqcrond was down are recorded.
 */
int		 policy_start(struct policy *, char **cause);
/* Hear of the output of every run that wrote some (mail). */
void		 policy_set_kept_output_cb(struct policy *,
		    policy_kept_output_cb, void *);
/*
 * @reboot, once per boot: unless boot_id is the one recorded by the last
 * call, run every live, unpaused @reboot job now (trigger reboot), and
 * record boot_id in the same transaction.  After policy_start.
 */
int		 policy_reboot(struct policy *, const char *boot_id,
		    char **cause);
/* Where run and job events go (outbox.h); NULL: nowhere. */
void		 policy_set_outbox(struct policy *, struct outbox *);
/*
 * cb(arg) is called after a change that metrics show: a run ended or was
 * recorded ended (skipped, missed), a job was (re)loaded or removed.
 */
void		 policy_set_changed_cb(struct policy *, void (*cb)(void *),
		    void *arg);
/* A new configuration (after SIGHUP). */
void		 policy_set_config(struct policy *, const struct config *);
/* A job was added, changed, paused or resumed in the store: reload it. */
int		 policy_job_changed(struct policy *, int64_t job_id,
		    char **cause);
/* A job was removed: stop scheduling it (its live runs go on). */
void		 policy_job_removed(struct policy *, int64_t job_id);
/*
 * Run a job now (trigger=manual).  *run (cleared by the caller with
 * run_clear) is the new run as recorded; done, when not NULL, is called
 * once when it ends.
 */
int		 policy_trigger(struct policy *, int64_t job_id,
		    policy_done_cb done, void *arg, struct run *run,
		    char **cause);
/* Forget a done callback (its client went away). */
void		 policy_unwait(struct policy *, int64_t run_id,
		    policy_done_cb, void *arg);
/*
 * Follow a live (queued or running) run: *sofar (the caller frees) is
 * what it wrote until now, as runner_output keeps it; then output sees
 * every piece it writes after, and done is called once when it ends,
 * after its last piece.  Nothing is lost or seen twice between *sofar and
 * the pieces.  -1: the run is not live (read the store instead).
 * policy_unwait(run_id, done, arg) stops following.
 */
int		 policy_follow(struct policy *, int64_t run_id,
		    policy_output_cb output, policy_done_cb done, void *arg,
		    char **sofar, size_t *len);
/*
 * The one listener of events (NULL: none).  Without one, nothing is
 * computed for it.
 */
void		 policy_set_event_cb(struct policy *, policy_event_cb, void *);
/*
 * Replay the fire of target (a run): a new attempt with trigger replay,
 * replay_of = target, through max_running and at most max_parallel live
 * runs of the batch (JOB_UNSET: none).  The caller checked the rules of
 * DESIGN.md section 7; the store refuses a second live replay of a fire
 * (STORE_CONSTRAINT in the cause).  *run is the new run (run_clear).
 */
int		 policy_replay(struct policy *, const struct run *target,
		    int64_t batch, int max_parallel, struct run *run,
		    char **cause);
/*
 * Kill a live run on request: a running one gets SIGTERM, SIGKILL after
 * kill_grace, and ends killed with "killed by WHO"; a queued one ends
 * killed without starting.  -1 with *cause when the run is not live.
 */
int		 policy_kill(struct policy *, int64_t run_id, const char *who,
		    char **cause);
/* The next fire of a job (ms), or -1 (paused, @reboot, unknown). */
int64_t		 policy_next_at(struct policy *, int64_t job_id);
/* sched_period of a scheduled job; 0 when paused or not scheduled. */
int64_t		 policy_period(struct policy *, int64_t job_id);
/* Runs executing, and runs waiting for a slot. */
int		 policy_running(struct policy *);
int		 policy_queued(struct policy *);
/* The same, of the live jobs that owner owns. */
void		 policy_live_owned(struct policy *, uid_t owner,
		    int *running, int *queued);
/*
 * Stop: schedule nothing more, give running jobs timeout_ms to finish,
 * then kill them ("shutdown"); done is called when none is left.
 */
void		 policy_shutdown(struct policy *, int64_t timeout_ms,
		    void (*done)(void *), void *arg);

#endif
