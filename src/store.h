/*
 * store.h: sqcrond's SQLite database (DESIGN.md sections 1, 3, 5, 8, 12).
 *
 * Every SQL statement of the project lives in store.c; callers see plain C
 * structs (job.h and the ones below), never SQL, JSON or sqlite3.
 *
 * Errors.  Every function returning int returns 0 (STORE_OK) on success or
 * one of the negative STORE_* codes, and explains a failure in *cause
 * (allocated, the caller frees; cause may be NULL when the caller does not
 * want it).  The store logs each failure it reports (log_warnx for
 * STORE_ERROR and STORE_INVALID, log_debug for the others), so callers
 * need not log it again.  Any "< 0" test catches them all; the codes say
 * what to do next:
 *
 *	STORE_BUSY	another connection holds the lock: nothing changed,
 *			try again later from a timer (the store waits at most
 *			STORE_BUSY_TIMEOUT_MS, so the event loop never stalls)
 *	STORE_CONSTRAINT a uniqueness rule refused it: the fire is already
 *			recorded, the job name is taken.  Retrying is useless.
 *	STORE_NOTFOUND	no such (live) job or run, or the run is not in a
 *			state the call applies to
 *	STORE_INVALID	the schema refused the values (a CHECK, NOT NULL or
 *			foreign key: a bug in the caller) or the call was
 *			misused.  Retrying is useless.
 *	STORE_ERROR	the database failed: disk full (at COMMIT), read-only
 *			file, I/O error, corruption.  The connection stays
 *			usable; writes may succeed later (DESIGN.md promise 6).
 *
 * Transactions.  Each call is atomic: a mutation of several rows runs in
 * one transaction (BEGIN IMMEDIATE ... COMMIT) that is rolled back when
 * any step fails, and a single-row write outside store_begin is committed
 * when the call returns (store_run_insert relies on it: the row is
 * committed before the caller forks; with durability normal a commit
 * survives a crash of sqcrond, with full a power loss too).  store_begin
 * and store_commit group several calls; inside them each call still
 * undoes its own part on failure (a savepoint), and the caller ends with
 * store_commit or store_rollback.  No call leaves a transaction open
 * behind it.
 *
 * Times are milliseconds since the epoch (UTC); the store never reads a
 * clock, callers pass "now".  Absent numbers are JOB_UNSET, absent strings
 * NULL (job.h); they are NULL in the database.
 *
 * A struct store is one connection: use it from one thread.
 */
#ifndef SQCRON_STORE_H
#define SQCRON_STORE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "job.h"

#define STORE_OK		  0
#define STORE_ERROR		(-1)
#define STORE_BUSY		(-2)
#define STORE_CONSTRAINT	(-3)
#define STORE_NOTFOUND		(-4)
#define STORE_INVALID		(-5)

/* Longest wait for a lock once open; start-up may wait longer. */
#define STORE_BUSY_TIMEOUT_MS	10

struct store;

/* A job as stored: its definition and its state. */
struct job_row {
	int64_t		 id;
	struct job_spec	 spec;
	char		*source;	/* "api" or the crontab's path */
	int		 line;		/* line in source; 0 for api */
	uid_t		 owner;
	int		 version;	/* 1, bumped by every change */
	int		 paused;
	int64_t		 paused_until;	/* JOB_UNSET: until resumed */
	char		*paused_reason;
	int64_t		 created_at;
	int64_t		 updated_at;	/* when version last changed */
	int64_t		 resumed_at;
	int64_t		 removed_at;	/* JOB_UNSET: live */
};

/* What job.list and metrics show beside the definition. */
struct job_health {
	int64_t		 job_id;
	int64_t		 last_run;	/* newest run's id; JOB_UNSET: none */
	enum run_state	 last_state;	/* valid when last_run is set */
	int64_t		 last_scheduled_at;
	int64_t		 last_success_at; /* ended_at; JOB_UNSET: never */
	/*
	 * Fires that failed since the last success and since the last
	 * resume, each counted once: a fire counts when an attempt of it
	 * ended in a failure state (missed included) and that attempt is
	 * not waiting for a retry (resolution "retrying").
	 */
	int		 consecutive_failures;
};

/* A run's kept output: head and tail are NUL-terminated for printing. */
struct store_output {
	char		*head;
	size_t		 head_len;
	char		*tail;
	size_t		 tail_len;
	int64_t		 omitted;	/* bytes dropped between them */
};

/* A run found 'running' at start-up: its process may still be alive. */
struct store_orphan {
	int64_t		 run_id;
	int64_t		 job_id;
	int64_t		 pid;		/* JOB_UNSET: never started */
	int64_t		 pid_start_time; /* /proc/PID/stat field 22 */
	int64_t		 started_at;
};

/* Bit of a run state in store_run_filter.states. */
#define STORE_STATE(s)	(1U << (s))

/* Which runs store_run_list returns, newest (highest id) first. */
struct store_run_filter {
	int64_t		 job_id;	/* JOB_UNSET: every job */
	int64_t		 owner;		/* only jobs of this uid; JOB_UNSET */
	unsigned	 states;	/* STORE_STATE bits; 0: any state */
	int64_t		 since;		/* scheduled_at >= since; JOB_UNSET */
	int64_t		 until;		/* scheduled_at < until; JOB_UNSET */
	int		 only_open;	/* resolution "open" only */
	int64_t		 before_id;	/* id < before_id (paging); JOB_UNSET */
	size_t		 limit;		/* 0: no limit */
};

/* One audit record. */
struct store_audit {
	int64_t		 id;
	int64_t		 at;
	uid_t		 uid;
	pid_t		 pid;		/* 0: unknown */
	char		*method;
	char		*params;	/* JSON text, secrets redacted */
	char		*outcome;	/* "ok" or a protocol error code */
	char		*error;		/* NULL on success */
};

/* One migration, sql/NNNN-name.sql, embedded by sql/sql2c.sh. */
struct store_migration {
	int		 version;	/* NNNN */
	const char	*name;		/* "NNNN-name" */
	const char	*sql;
};
extern const struct store_migration	store_migrations[];
extern const size_t			store_nmigrations;

/*
 * Open (creating) the database at path: WAL, foreign keys, synchronous
 * FULL when durability_full else NORMAL; apply each migration newer than
 * the file's user_version, each in its own transaction; refuse a database
 * newer than this binary or not sqcron's; prepare every statement.
 * NULL and *cause (without the path) on failure.
 */
struct store	*store_open(const char *path, int durability_full,
		    char **cause);
/* Finalize everything and close; accepts NULL. */
void		 store_close(struct store *);
/* The schema version of the open database. */
int		 store_version(struct store *);

/* Group calls in one transaction (BEGIN IMMEDIATE: may be STORE_BUSY). */
int		 store_begin(struct store *, char **cause);
/* Commit it; on failure it is rolled back (nothing stays open). */
int		 store_commit(struct store *, char **cause);
/* Roll it back; nothing to do when none is open. */
void		 store_rollback(struct store *);

/* Zero a job_row, its spec unset (job_spec_init). */
void		 store_job_row_init(struct job_row *);
/* Free what a job_row holds and zero it; accepts NULL. */
void		 store_job_row_clear(struct job_row *);
/* Free an array of n rows from store_job_list. */
void		 store_job_rows_free(struct job_row *, size_t);

/*
 * Add a job from jr's spec, source, line and owner, at version 1, with its
 * first job_versions row; sets jr's id, version and times.
 * STORE_CONSTRAINT: a live job has that name.
 */
int		 store_job_add(struct store *, struct job_row *, int64_t now,
		    char **cause);
/*
 * Replace the definition of live job jr->id with jr's spec, source, line
 * and owner.  When any of them differs, the version is bumped and recorded
 * in job_versions; when nothing differs, nothing is written.  Sets
 * jr->version and jr->updated_at.  STORE_CONSTRAINT: renamed onto a live
 * job's name; STORE_NOTFOUND: no live job with that id.
 */
int		 store_job_update(struct store *, struct job_row *,
		    int64_t now, char **cause);
/* Remove a live job: it keeps its id, its runs and history; frees name. */
int		 store_job_remove(struct store *, int64_t id, int64_t now,
		    char **cause);
/*
 * A file job's line moved (lines above it came or went) while its
 * definition stayed: set jobs.line alone, making no version.
 */
int		 store_job_set_line(struct store *, int64_t id, int line,
		    char **cause);
/* Pause a live job until until_at (JOB_UNSET: until resumed). */
int		 store_job_pause(struct store *, int64_t id, int64_t until_at,
		    const char *reason, char **cause);
/* Resume a live job; resumed_at is set when it was paused. */
int		 store_job_resume(struct store *, int64_t id, int64_t now,
		    char **cause);
/* The live job with this name into jr (initialized by the call). */
int		 store_job_get(struct store *, const char *name,
		    struct job_row *, char **cause);
/* The job with this id, live or removed. */
int		 store_job_get_id(struct store *, int64_t id, struct job_row *,
		    char **cause);
/* Version `version` of a job's definition, as recorded then. */
int		 store_job_get_version(struct store *, int64_t id,
		    int version, struct job_row *, char **cause);
/* Live jobs by name, all or owned by owner (JOB_UNSET: all). */
int		 store_job_list(struct store *, int64_t owner,
		    struct job_row **, size_t *, char **cause);
/* Give back the page cache's unused pages (after a burst of reads). */
void		 store_release_memory(struct store *);
/* Does the database answer a read?  For health checks. */
int		 store_ping(struct store *, char **cause);
/* Last run, last success and the failure streak of a job. */
int		 store_job_health(struct store *, int64_t id,
		    struct job_health *, char **cause);
/* The same for every live job, all or of owner (JOB_UNSET), by job id. */
int		 store_jobs_health(struct store *, int64_t owner,
		    struct job_health **, size_t *, char **cause);

/* A filter that matches every run (fields JOB_UNSET, states 0). */
void		 store_run_filter_init(struct store_run_filter *);
/* Free an array of n runs. */
void		 store_runs_free(struct run *, size_t);
/* Free what an output holds and zero it; accepts NULL. */
void		 store_output_clear(struct store_output *);

/*
 * Record a run from every field of r but id and job; sets r->id.  Outside
 * store_begin the row is committed on return.  STORE_CONSTRAINT: this
 * attempt of this fire (job_id, scheduled_at, attempt) is already
 * recorded, and nothing changed.
 */
int		 store_run_insert(struct store *, struct run *, char **cause);
/* A queued run is running: started_at, pid, pid_start_time. */
int		 store_run_start(struct store *, int64_t id, int64_t started_at,
		    int64_t pid, int64_t pid_start_time, char **cause);
/*
 * A live run ended: write r's state (not queued or running), exit_code,
 * signal, core_dumped, reason, ended_at, duration_ms, max_rss_kb, cpu
 * times, output_bytes and resolution, and the output when out is not NULL,
 * in one transaction.  STORE_NOTFOUND: r->id is not queued or running.
 */
int		 store_run_finish(struct store *, const struct run *,
		    const struct store_output *out, char **cause);
/* Set the resolution of one run. */
int		 store_run_set_resolution(struct store *, int64_t id,
		    enum run_resolution, char **cause);
/*
 * Mark "superseded" every attempt of the fire (job_id, scheduled_at) with
 * an id below before_id whose resolution is open or retrying: a later
 * attempt now carries the fire's resolution.  *n (may be NULL) is how many.
 */
int		 store_fire_supersede(struct store *, int64_t job_id,
		    int64_t scheduled_at, int64_t before_id, int *n,
		    char **cause);
/* One run, with its job's name. */
int		 store_run_get(struct store *, int64_t id, struct run *,
		    char **cause);
/* Runs matching f, newest first, with their jobs' names. */
int		 store_run_list(struct store *, const struct store_run_filter *,
		    struct run **, size_t *, char **cause);
/*
 * Export, a page at a time, oldest first: the runs matching f (its
 * before_id and limit are ignored) among the next `window` runs with
 * after < id <= last -- the next runs of f's job when it has one.  *next
 * is the id to go on after: *next == after when no run is left.  Work
 * and memory are bounded by window however few runs match.
 */
int		 store_run_page(struct store *, const struct store_run_filter *f,
		    int64_t after, int64_t last, size_t window, struct run **,
		    size_t *, int64_t *next, char **cause);
/* The highest run id; 0 when there is no run. */
int		 store_run_last_id(struct store *, int64_t *id, char **cause);
/*
 * A run's output; empty strings (not an error) when the run kept none.
 * STORE_NOTFOUND: no run has that id.
 */
int		 store_run_output(struct store *, int64_t id,
		    struct store_output *, char **cause);
/*
 * Start-up: in one transaction, list the runs left 'running' (*orphans,
 * free() it) and mark them 'lost' with reason, ended_at now and
 * resolution "open".  The caller then terminates the survivors whose pid
 * and pid_start_time still match.
 */
int		 store_runs_recover(struct store *, int64_t now,
		    const char *reason, struct store_orphan **orphans,
		    size_t *norphans, char **cause);
/* Queued runs, oldest scheduled_at first. */
int		 store_runs_queued(struct store *, struct run **, size_t *,
		    char **cause);
/* Failed runs whose retry is not created yet (resolution "retrying"). */
int		 store_runs_retrying(struct store *, struct run **, size_t *,
		    char **cause);
/*
 * Newest scheduled_at recorded for a job's schedule or catch-up fires
 * (triggers schedule and catchup, whatever their state), for catch-up;
 * JOB_UNSET when none.
 */
int		 store_fire_latest(struct store *, int64_t job_id,
		    int64_t *at, char **cause);
/*
 * Highest attempt recorded for the fire (job_id, scheduled_at): 0 when the
 * fire is not recorded, else the next attempt is *attempt + 1.
 */
int		 store_fire_last_attempt(struct store *, int64_t job_id,
		    int64_t scheduled_at, int *attempt, char **cause);

/*
 * Retention (DESIGN.md section 3, keep_runs and keep_days).  A run of a
 * job may be deleted, with its output, when all of these hold:
 *	- it has ended (it is not queued or running);
 *	- no replay of it is queued or running;
 *	- it is not keep_id (the job's latest scheduled fire, which catch-up
 *	  counts from at start: deleting it would record fires that ran as
 *	  missed);
 *	- and either its fire is older than `before` (scheduled_at < before:
 *	  keep_days ages a fire, with all its attempts, from when it was
 *	  due), or it is older than `cut` (not among the job's keep_runs
 *	  newest runs, by id) and it is not an open failure: an open failure
 *	  outlives keep_runs and waits for keep_days.
 * A run deleted while another's replay_of names it leaves that replay_of
 * NULL (ON DELETE SET NULL in the schema); run_output rows go with their
 * runs (ON DELETE CASCADE).
 */
struct store_retention {
	int64_t		 job_id;
	int64_t		 before;	/* JOB_UNSET: no age limit */
	int64_t		 cut;		/* JOB_UNSET: no count limit */
	int64_t		 keep_id;	/* JOB_UNSET: none */
};

/* A job as retention sees it: options unset are JOB_UNSET. */
struct store_prune_job {
	int64_t		 id;
	char		*name;
	int64_t		 keep_runs;
	int64_t		 keep_days_ms;
	int		 removed;
};

/* Where store_prune_count stands in a job (store_prune_cursor_init). */
struct store_prune_cursor {
	int		 phase;
	int64_t		 after_id;
	int64_t		 after_at;
	int64_t		 after_attempt;
};

/*
 * Jobs (live or removed) that have runs, with id > after, by id, at most
 * limit of them (free with store_prune_jobs_free).
 */
int		 store_prune_jobs(struct store *, int64_t after, size_t limit,
		    struct store_prune_job **, size_t *, char **cause);
/* One job, as store_prune_jobs has it; STORE_NOTFOUND: no such job. */
int		 store_prune_job(struct store *, int64_t id,
		    struct store_prune_job *, char **cause);
/* Free what store_prune_job(s) gave. */
void		 store_prune_jobs_free(struct store_prune_job *, size_t);
/*
 * Fill r for a job: cut from keep_runs (0: no count limit), keep_id the
 * run of its latest scheduled fire when keep_fire, before as given.
 */
int		 store_prune_bounds(struct store *, int64_t job_id,
		    int64_t keep_runs, int64_t before, int keep_fire,
		    struct store_retention *r, char **cause);
/*
 * Delete at most max runs that r lets go, oldest fires first, then
 * oldest ids; *n is how many (also on failure: a first part may be
 * done).  Fewer than max means nothing more may go now.  Outside
 * store_begin each of the two parts commits on its own.
 */
int		 store_prune_runs(struct store *, const struct store_retention *,
		    size_t max, size_t *n, char **cause);
/* Start counting a job from its beginning. */
void		 store_prune_cursor_init(struct store_prune_cursor *);
/*
 * Dry run: look at about max more candidate runs of r's job and add to
 * *n how many store_prune_runs would delete; *done when the job is
 * counted.  Each run is counted once however many rules let it go.
 */
int		 store_prune_count(struct store *, const struct store_retention *,
		    struct store_prune_cursor *, size_t max, int64_t *n,
		    int *done, char **cause);
/*
 * The scheduled_at of the job's oldest ended run other than keep_id, the
 * next to pass keep_days; JOB_UNSET when there is none.
 */
int		 store_prune_oldest(struct store *,
		    const struct store_retention *, int64_t *at, char **cause);

/* Record an audit entry; *id (may be NULL) is its id. */
int		 store_audit_insert(struct store *, int64_t at, uid_t uid,
		    pid_t pid, const char *method, const char *params,
		    const char *outcome, const char *error, int64_t *id,
		    char **cause);
/*
 * Audit entries with since <= at < until (JOB_UNSET: unbounded), made by
 * uid (JOB_UNSET: anyone), newest first, at most limit of them (0: all).
 */
int		 store_audit_list(struct store *, int64_t since, int64_t until,
		    int64_t uid, size_t limit, struct store_audit **,
		    size_t *, char **cause);
/* Free an array of n audit entries. */
void		 store_audits_free(struct store_audit *, size_t);

/* A meta value (*value allocated); STORE_NOTFOUND when unset. */
int		 store_meta_get(struct store *, const char *key, char **value,
		    char **cause);
/* Set a meta value. */
int		 store_meta_set(struct store *, const char *key,
		    const char *value, char **cause);

/*
 * For tests and diagnostics.  store_open_with is store_open with another
 * list of migrations (numbered 1..n in order).  store_run_list_plan gives
 * SQLite's EXPLAIN QUERY PLAN, one step a line, of the statement
 * store_run_list would run for f; store_prune_plan those of retention.
 */
struct store	*store_open_with(const char *path, int durability_full,
		    const struct store_migration *, size_t, char **cause);
int		 store_run_list_plan(struct store *,
		    const struct store_run_filter *, char **plan,
		    char **cause);
/* The plans of store_run_page's two statements (by_job: with a job). */
int		 store_run_page_plan(struct store *, int by_job, char **plan,
		    char **cause);
/* The plans of the retention statements, each after a "name:" line. */
int		 store_prune_plan(struct store *, char **plan, char **cause);

/*
 * Replays (DESIGN.md section 7).  A batch is one replay request that is
 * not a dry run; its key, when given, is unique (STORE_CONSTRAINT).
 */
struct store_replay_target {
	int64_t		 run_id;
	char		*status;	/* started, in_progress, ... */
	int64_t		 replay_run;	/* JOB_UNSET: none */
	int		 replay_state;	/* enum run_state, -1: none */
};
struct store_batch {
	int64_t				 id;
	int64_t				 requested_at;
	uid_t				 uid;
	pid_t				 pid;
	char				*key;
	char				*request;	/* JSON */
	int				 max_parallel;
	struct store_replay_target	*targets;
	size_t				 n;
};
/* The newest live and newest succeeded replay runs of a fire. */
int		 store_fire_replays(struct store *, int64_t job_id,
		    int64_t scheduled_at, int64_t *live, int64_t *succeeded,
		    char **cause);
int		 store_batch_add(struct store *, const struct store_batch *,
		    int64_t *id, char **cause);
/* The batch with this key and its first answer (NULL if none yet). */
int		 store_batch_by_key(struct store *, const char *key,
		    int64_t *id, char **answer, char **cause);
int		 store_batch_answer(struct store *, int64_t id,
		    const char *answer, char **cause);
int		 store_batch_target(struct store *, int64_t batch_id,
		    int64_t run_id, const char *status, int64_t replay_run,
		    char **cause);
/* A batch with its targets; free with store_batch_clear. */
int		 store_batch_get(struct store *, int64_t id,
		    struct store_batch *, char **cause);
void		 store_batch_clear(struct store_batch *);
/* The batch a replay run belongs to (JOB_UNSET: none). */
int		 store_batch_of_run(struct store *, int64_t run_id,
		    int64_t *batch_id, int *max_parallel, char **cause);
/* Resolve a fire's open attempts as acked; *n how many. */
int		 store_fire_ack(struct store *, int64_t job_id,
		    int64_t scheduled_at, int *n, char **cause);

/* Open failures of one job (status), of owner's jobs (JOB_UNSET: all). */
struct store_open_job {
	char		*job;
	int64_t		 open;		/* fires with an open failure */
	int64_t		 last_at;	/* newest such fire's scheduled_at */
};
int		 store_open_by_job(struct store *, int64_t owner,
		    struct store_open_job **, size_t *, char **cause);
void		 store_open_jobs_free(struct store_open_job *, size_t);
/* Live jobs of owner (JOB_UNSET: all), and how many of them are paused. */
int		 store_job_counts(struct store *, int64_t owner,
		    int64_t *jobs, int64_t *paused, char **cause);

/*
 * Metrics (DESIGN.md section 10; sql/0005-metrics.sql).  The counters
 * grow as runs end, in the transaction that records the end, and never
 * shrink: deleting runs leaves them alone.  The histogram of run
 * durations has these upper bounds (ms), plus +Inf (the count).
 */
#define STORE_DURATION_NBUCKETS	10
extern const int64_t	store_duration_bucket_ms[STORE_DURATION_NBUCKETS];

/* A live job as the metrics show it. */
struct store_job_metrics {
	int64_t		 id;
	char		*name;
	int		 paused;
	int64_t		 created_at;
	int64_t		 resumed_at;	/* JOB_UNSET: never */
	int64_t		 stale_after_ms; /* JOB_UNSET: the default */
	int64_t		 last_run_at;	/* ended_at; JOB_UNSET: never */
	int64_t		 last_success_at; /* ended_at; JOB_UNSET: never */
	int64_t		 consecutive_failures; /* as struct job_health's */
	int64_t		 runs[RUN_NSTATES]; /* ended runs by state */
	int64_t		 duration_count;
	int64_t		 duration_sum_ms;
	int64_t		 duration_le[STORE_DURATION_NBUCKETS]; /* cumulative */
};
/*
 * Every live job, all or of owner (JOB_UNSET), by name, in one statement
 * (free: store_job_metrics_free).
 */
int		 store_job_metrics(struct store *, int64_t owner,
		    struct store_job_metrics **, size_t *, char **cause);
void		 store_job_metrics_free(struct store_job_metrics *, size_t);
/* Daemon-wide figures. */
struct store_metric_totals {
	int64_t		 open_failures;
	int64_t		 replays_succeeded;	/* replay runs that ended so */
	int64_t		 replays_failed;	/* and in any other end state */
};
int		 store_metric_totals(struct store *,
		    struct store_metric_totals *, char **cause);
/*
 * 1 while the database is failing: a call ended in STORE_ERROR and no
 * row was written since (*msg, owned by the store, says what failed);
 * else 0.
 */
int		 store_failing(struct store *, const char **msg);

/* A group of open failures: one job, state and exit status or signal. */
struct store_failure {
	char		*job;
	enum run_state	 state;
	int64_t		 exit_code;	/* JOB_UNSET: none */
	int		 signal;	/* 0: none */
	int64_t		 count;
	int64_t		 first_at;	/* scheduled_at of the oldest fire */
	int64_t		 last_at;	/* and of the newest */
};
/*
 * Open failures of fires since `since` (JOB_UNSET: all), of owner's jobs
 * (JOB_UNSET: all), biggest first.
 */
int		 store_failures(struct store *, int64_t since, int64_t owner,
		    struct store_failure **, size_t *, char **cause);
void		 store_failures_free(struct store_failure *, size_t);

/*
 * The notification outbox (DESIGN.md section 10; outbox.c writes it,
 * notify.c delivers it).  A row is one delivery: an event to one URL,
 * with the body to POST.  Pending rows are tried when next_at comes; a
 * delivered row is deleted; a row whose attempts are spent is kept as
 * dead, the newest OUTBOX_DEAD_KEEP of them.
 */
#define OUTBOX_DEAD_KEEP	1000

struct store_outbox {
	int64_t		 id;
	int64_t		 created_at;
	char		*event;		/* "run.failed", ... */
	char		*kind;		/* "webhook" or "ping" */
	int64_t		 job_id;	/* JOB_UNSET: none */
	int64_t		 run_id;	/* JOB_UNSET: none */
	char		*url;
	char		*content_type;
	char		*body;		/* body_len bytes, NUL after them */
	size_t		 body_len;
	int		 attempts;	/* begun so far */
	int64_t		 next_at;
	char		*last_error;	/* NULL: none yet */
};
/*
 * Add a row, due at once (next_at = created_at); *id (may be NULL) is
 * its id.  Inside store_begin it commits with the caller's transaction.
 */
int		 store_outbox_add(struct store *, const struct store_outbox *,
		    int64_t *id, char **cause);
/*
 * Pending rows due at now, soonest first, at most limit of them; a row
 * waits while an older pending row of its run goes to its URL (for a
 * ping, while an older ping of its run is pending).
 */
int		 store_outbox_due(struct store *, int64_t now, size_t limit,
		    struct store_outbox **, size_t *, char **cause);
void		 store_outboxes_free(struct store_outbox *, size_t);
/* The soonest next_at of the rows that do not wait; JOB_UNSET: none. */
int		 store_outbox_next(struct store *, int64_t *at, char **cause);
/* An attempt begins: attempts + 1, and next_at (the lease) until. */
int		 store_outbox_try(struct store *, int64_t id, int64_t until,
		    char **cause);
/*
 * An attempt failed with error: the row is due again at next_at, or,
 * when next_at is JOB_UNSET, dead (at now).
 */
int		 store_outbox_fail(struct store *, int64_t id, int64_t next_at,
		    const char *error, int64_t now, char **cause);
/* Delivered: delete the row. */
int		 store_outbox_done(struct store *, int64_t id, char **cause);
/* Start-up: every pending row is due at now (leases and backoffs end). */
int		 store_outbox_rearm(struct store *, int64_t now, char **cause);
/*
 * How many rows are pending and dead (either may be NULL), of the jobs
 * of owner (JOB_UNSET: all).
 */
int		 store_outbox_count(struct store *, int64_t owner,
		    int64_t *pending, int64_t *dead, char **cause);

#endif
