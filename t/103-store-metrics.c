/*
 * 103-store-metrics: the counters behind the metrics (0005-metrics.sql)
 * and the staleness rule.
 *
 * Every way a run ends adds to its job's counters and histogram in the
 * same statement: finished runs, runs recorded already ended (skipped,
 * missed), runs found running at start (lost).  Deleting runs (retention)
 * leaves the counters, the last success and the failure streak alone.
 * A database made before 0005 starts from the runs it has.  The replay
 * counters, the open failures, and removed jobs (not listed) are
 * checked; metrics_job_stale is checked against the rule of DESIGN.md
 * section 10 case by case.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "job.h"
#include "metrics.h"
#include "store.h"
#include "xmalloc.h"
#include "tap.h"

#define T0	INT64_C(1764000000000)	/* 2025-11-24T16:00:00Z */
#define SEC	INT64_C(1000)
#define MIN	INT64_C(60000)

static char	dir[400];
static char	dbpath[512];

static void
remove_db(void)
{
	char	path[600];

	snprintf(path, sizeof path, "%s-wal", dbpath);
	unlink(path);
	snprintf(path, sizeof path, "%s-shm", dbpath);
	unlink(path);
	unlink(dbpath);
}

static void
cleanup(void)
{
	remove_db();
	rmdir(dir);
}

static int64_t
add_job(struct store *st, const char *name, int64_t now)
{
	struct job_row	 jr;
	char		*cause = NULL;
	int64_t		 id;

	store_job_row_init(&jr);
	jr.spec.name = xstrdup(name);
	jr.spec.schedule = xstrdup("@hourly");
	jr.spec.command = xstrdup("true");
	jr.source = xstrdup("api");
	if (store_job_add(st, &jr, now, &cause) != STORE_OK)
		BAIL_OUT("add %s: %s", name, cause);
	id = jr.id;
	store_job_row_clear(&jr);
	return id;
}

static void
new_run(struct run *r, int64_t job_id, int64_t at, enum run_trigger trigger,
    int attempt, enum run_state state)
{
	memset(r, 0, sizeof *r);
	r->job_id = job_id;
	r->job_version = 1;
	r->scheduled_at = at;
	r->trigger = trigger;
	r->attempt = attempt;
	r->replay_of = JOB_UNSET;
	r->state = state;
	r->exit_code = JOB_UNSET;
	r->queued_at = at;
	r->started_at = r->ended_at = r->duration_ms = JOB_UNSET;
	r->pid = r->max_rss_kb = r->user_cpu_ms = JOB_UNSET;
	r->sys_cpu_ms = r->output_bytes = JOB_UNSET;
	r->resolution = run_state_is_failure(state) ? RESOLUTION_OPEN :
	    RESOLUTION_NONE;
}

/* A run that starts at `at` and ends after duration_ms in state. */
static int64_t
run_to_end(struct store *st, int64_t job_id, int64_t at,
    enum run_trigger trigger, enum run_state state, int64_t duration_ms)
{
	struct run	 r;
	char		*cause = NULL;

	new_run(&r, job_id, at, trigger, 1, RUN_RUNNING);
	r.started_at = at;
	if (store_run_insert(st, &r, &cause) != STORE_OK)
		BAIL_OUT("insert: %s", cause);
	r.state = state;
	r.ended_at = at + duration_ms;
	r.duration_ms = duration_ms;
	r.resolution = run_state_is_failure(state) ? RESOLUTION_OPEN :
	    RESOLUTION_NONE;
	if (store_run_finish(st, &r, NULL, &cause) != STORE_OK)
		BAIL_OUT("finish: %s", cause);
	return r.id;
}

/* A run recorded already ended, never executed (skipped, missed). */
static void
record(struct store *st, int64_t job_id, int64_t at, enum run_state state)
{
	struct run	 r;
	char		*cause = NULL;

	new_run(&r, job_id, at, TRIGGER_SCHEDULE, 1, state);
	if (store_run_insert(st, &r, &cause) != STORE_OK)
		BAIL_OUT("record: %s", cause);
}

/* The metrics row of a job by name (a copy; name not kept), or -1. */
static int
metrics_of(struct store *st, const char *name, struct store_job_metrics *out)
{
	struct store_job_metrics	*list;
	size_t				 n, i;
	int				 found = -1;

	if (store_job_metrics(st, JOB_UNSET, &list, &n, NULL) != STORE_OK)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcmp(list[i].name, name) == 0) {
			*out = list[i];
			out->name = NULL;
			found = 0;
		}
	}
	store_job_metrics_free(list, n);
	return found;
}

static void
test_counters(struct store *st)
{
	struct store_job_metrics	 m;
	struct store_metric_totals	 t;
	struct store_retention		 r;
	struct store_orphan		*orphans = NULL;
	struct job_health		 h;
	struct run			 lost;
	const char			*msg;
	size_t				 norphans = 0, n;
	int64_t				 a, b, expect_le[STORE_DURATION_NBUCKETS];
	int				 i;

	a = add_job(st, "alpha", T0);
	b = add_job(st, "beta", T0);
	ok(metrics_of(st, "alpha", &m) == 0 && m.id == a,
	    "a job that never ran is listed");
	ok(m.runs[RUN_SUCCEEDED] == 0 && m.duration_count == 0 &&
	    m.last_run_at == JOB_UNSET && m.last_success_at == JOB_UNSET &&
	    m.consecutive_failures == 0 && m.created_at == T0,
	    "with zeros and no last run or success");

	run_to_end(st, a, T0 + 1 * MIN, TRIGGER_SCHEDULE, RUN_SUCCEEDED, 80);
	run_to_end(st, a, T0 + 2 * MIN, TRIGGER_SCHEDULE, RUN_SUCCEEDED, 1000);
	run_to_end(st, a, T0 + 3 * MIN, TRIGGER_SCHEDULE, RUN_FAILED, 7 * SEC);
	run_to_end(st, a, T0 + 4 * MIN, TRIGGER_MANUAL, RUN_TIMEOUT, 65 * SEC);
	run_to_end(st, a, T0 + 5 * MIN, TRIGGER_SCHEDULE, RUN_OOM, 5 * 3600 *
	    SEC);
	record(st, a, T0 + 6 * MIN, RUN_SKIPPED);
	record(st, a, T0 + 7 * MIN, RUN_MISSED);
	/* One left running, found so at the next start: lost. */
	new_run(&lost, a, T0 + 8 * MIN, TRIGGER_SCHEDULE, 1, RUN_RUNNING);
	lost.started_at = T0 + 8 * MIN;
	store_run_insert(st, &lost, NULL);
	is_int(store_runs_recover(st, T0 + 9 * MIN, "sqcrond stopped",
	    &orphans, &norphans, NULL), STORE_OK, "recover a running run");
	free(orphans);
	run_to_end(st, b, T0 + 1 * MIN, TRIGGER_SCHEDULE, RUN_SUCCEEDED, 10);

	metrics_of(st, "alpha", &m);
	is_int(m.runs[RUN_SUCCEEDED], 2, "succeeded: 2");
	is_int(m.runs[RUN_FAILED], 1, "failed: 1");
	is_int(m.runs[RUN_TIMEOUT], 1, "timeout: 1");
	is_int(m.runs[RUN_OOM], 1, "oom: 1");
	is_int(m.runs[RUN_SKIPPED], 1, "skipped: 1 (recorded ended)");
	is_int(m.runs[RUN_MISSED], 1, "missed: 1 (recorded ended)");
	is_int(m.runs[RUN_LOST], 1, "lost: 1 (marked at start)");
	is_int(m.runs[RUN_CRASHED] + m.runs[RUN_KILLED] +
	    m.runs[RUN_SPAWN_ERROR] + m.runs[RUN_QUEUED] + m.runs[RUN_RUNNING],
	    0, "nothing else");
	is_int(m.duration_count, 5, "five durations (not skipped, missed, "
	    "lost)");
	is_int(m.duration_sum_ms, 80 + 1000 + 7000 + 65000 + 5 * 3600 * 1000,
	    "their sum");
	/* 80 | 1000 | 7000 | 65000 | 5 h, against 0.1 1 5 15 60 300 ... 3h */
	expect_le[0] = 1;
	expect_le[1] = expect_le[2] = 2;
	expect_le[3] = expect_le[4] = 3;
	for (i = 5; i < STORE_DURATION_NBUCKETS; i++)
		expect_le[i] = 4;
	for (i = 0; i < STORE_DURATION_NBUCKETS; i++)
		is_int(m.duration_le[i], expect_le[i], "le %lld ms",
		    (long long)store_duration_bucket_ms[i]);
	is_int(m.last_success_at, T0 + 2 * MIN + 1000,
	    "last success: when the newest success ended");
	is_int(m.last_run_at, T0 + 5 * MIN + 5 * 3600 * SEC,
	    "last run: the newest end of a run that executed");
	store_job_health(st, a, &h, NULL);
	is_int(m.consecutive_failures, h.consecutive_failures,
	    "the streak is job health's (%lld)", (long long)
	    h.consecutive_failures);
	is_int(m.consecutive_failures, 5, "failed, timeout, oom, missed, lost "
	    "since the success");
	is_int(h.last_success_at, m.last_success_at,
	    "job health's last success is the same");

	metrics_of(st, "beta", &m);
	is_int(m.runs[RUN_SUCCEEDED], 1, "beta's counters are its own");

	is_int(store_metric_totals(st, &t, NULL), STORE_OK, "totals");
	is_int(t.open_failures, 5, "open failures: 5");
	is_int(t.replays_succeeded + t.replays_failed, 0, "no replay yet");
	/* (Not the fires' own instants: those attempts are taken.) */
	run_to_end(st, a, T0 + 3 * MIN + 1, TRIGGER_REPLAY, RUN_FAILED, 5);
	run_to_end(st, a, T0 + 4 * MIN + 1, TRIGGER_REPLAY, RUN_SUCCEEDED, 5);
	store_metric_totals(st, &t, NULL);
	is_int(t.replays_succeeded, 1, "a replay succeeded");
	is_int(t.replays_failed, 1, "a replay failed");
	metrics_of(st, "alpha", &m);
	is_int(m.consecutive_failures, 0, "the replay's success ends the "
	    "streak");

	/* Retention deletes every run of alpha: nothing counted moves. */
	memset(&r, 0, sizeof r);
	r.job_id = a;
	r.before = T0 + 100 * MIN;
	r.cut = JOB_UNSET;
	r.keep_id = JOB_UNSET;
	store_prune_runs(st, &r, 1000, &n, NULL);
	is_int((int64_t)n, 10, "prune deletes alpha's 10 runs");
	metrics_of(st, "alpha", &m);
	is_int(m.runs[RUN_SUCCEEDED], 3, "succeeded stays 3 after the prune");
	is_int(m.runs[RUN_FAILED], 2, "failed stays 2");
	is_int(m.duration_count, 7, "the histogram stays");
	is_int(m.last_success_at, T0 + 4 * MIN + 6, "the last success stays");
	store_job_health(st, a, &h, NULL);
	is_int(h.last_success_at, T0 + 4 * MIN + 6, "for job health too");
	store_metric_totals(st, &t, NULL);
	is_int(t.replays_succeeded + t.replays_failed, 2, "replays stay");
	is_int(t.open_failures, 0, "the open failures went with their runs");

	/* After the prune, a new failure is one in the streak. */
	run_to_end(st, a, T0 + 20 * MIN, TRIGGER_SCHEDULE, RUN_CRASHED, 5);
	metrics_of(st, "alpha", &m);
	is_int(m.consecutive_failures, 1, "a failure after the prune: 1");
	is_int(m.runs[RUN_CRASHED], 1, "crashed: 1");

	/* A removed job is not listed. */
	store_job_remove(st, b, T0 + 30 * MIN, NULL);
	ok(metrics_of(st, "beta", &m) == -1, "a removed job is not listed");

	is_int(store_ping(st, NULL), STORE_OK, "ping reads the database");
	is_int(store_failing(st, &msg), 0, "the store is not failing");
}

/* A database from before 0005: the counters start from its runs. */
static void
test_migration(void)
{
	struct store			*st;
	struct store_job_metrics	 m;
	struct store_metric_totals	 t;
	sqlite3				*db;
	char				*err = NULL, *cause = NULL;
	size_t				 i;

	remove_db();
	if (sqlite3_open(dbpath, &db) != SQLITE_OK)
		BAIL_OUT("sqlite3_open: %s", sqlite3_errmsg(db));
	for (i = 0; i < 4; i++) {
		if (sqlite3_exec(db, store_migrations[i].sql, NULL, NULL,
		    &err) != SQLITE_OK)
			BAIL_OUT("migration %zu: %s", i + 1, err);
	}
	if (sqlite3_exec(db, "PRAGMA user_version = 4;"
	    "INSERT INTO jobs (id, name, source, owner_uid, created_at, "
	    "updated_at, schedule, command) VALUES (1, 'old', 'api', 0, 1, "
	    "1, '@hourly', 'true');"
	    "INSERT INTO job_versions (job_id, version, created_at, source, "
	    "owner_uid, name, schedule, command) VALUES (1, 1, 1, 'api', 0, "
	    "'old', '@hourly', 'true');"
	    "INSERT INTO runs (job_id, job_version, scheduled_at, trigger, "
	    "attempt, state, queued_at, started_at, ended_at, duration_ms, "
	    "resolution) VALUES "
	    "(1, 1, 1000, 'schedule', 1, 'succeeded', 1000, 1000, 1050, 50, "
	    "NULL),"
	    "(1, 1, 2000, 'schedule', 1, 'failed', 2000, 2000, 4000, 2000, "
	    "'open'),"
	    "(1, 1, 2000, 'replay', 2, 'succeeded', 2500, 2500, 2600, 100, "
	    "NULL),"
	    "(1, 1, 3000, 'schedule', 1, 'missed', 3000, NULL, NULL, NULL, "
	    "'open'),"
	    "(1, 1, 4000, 'schedule', 1, 'running', 4000, 4000, NULL, NULL, "
	    "NULL);", NULL, NULL, &err) != SQLITE_OK)
		BAIL_OUT("old rows: %s", err);
	sqlite3_close(db);

	st = store_open(dbpath, 0, &cause);
	ok(st != NULL, "a version 4 database opens and migrates");
	if (st == NULL)
		BAIL_OUT("%s", cause);
	ok(metrics_of(st, "old", &m) == 0, "its job is listed");
	is_int(m.runs[RUN_SUCCEEDED], 2, "succeeded: 2, from its runs");
	is_int(m.runs[RUN_FAILED], 1, "failed: 1");
	is_int(m.runs[RUN_MISSED], 1, "missed: 1");
	is_int(m.runs[RUN_RUNNING], 0, "the running run is not counted");
	is_int(m.duration_count, 3, "three durations");
	is_int(m.duration_sum_ms, 2150, "their sum");
	is_int(m.duration_le[0], 2, "two of them at most 100 ms");
	is_int(m.duration_le[2], 3, "all three at most 5 s");
	is_int(m.last_success_at, 2600, "the last success");
	is_int(m.last_run_at, 4000, "the last run");
	store_metric_totals(st, &t, NULL);
	is_int(t.replays_succeeded, 1, "one replay succeeded");
	is_int(t.replays_failed, 0, "none failed");
	store_close(st);
}

static void
test_stale(void)
{
	int64_t	at;

	/* paused, created, resumed, success, stale_after, period, now */
	is_int(metrics_job_stale(0, 0, -1, -1, -1, 1000, 2000, &at), 0,
	    "a per-second job, 2 s after it was added: not stale yet");
	is_int(at, 2000, "it is at 2 s");
	is_int(metrics_job_stale(0, 0, -1, -1, -1, 1000, 2001, &at), 1,
	    "just after 2 s without a success: stale");
	is_int(metrics_job_stale(1, 0, -1, -1, -1, 1000, 99999, &at), 0,
	    "paused: never stale");
	is_int(at, JOB_UNSET, "and never will be");
	is_int(metrics_job_stale(0, 0, -1, 5000, -1, 1000, 6500, &at), 0,
	    "counted from the last success");
	is_int(at, 7000, "which moves it to 7 s");
	is_int(metrics_job_stale(0, 0, 9000, 5000, -1, 1000, 10500, &at), 0,
	    "or from a resume after it");
	is_int(at, 11000, "which moves it to 11 s");
	is_int(metrics_job_stale(0, 0, -1, -1, 60000, 1000, 59000, &at), 0,
	    "stale_after replaces twice the period");
	is_int(metrics_job_stale(0, 0, -1, -1, 60000, 1000, 60001, &at), 1,
	    "and counts");
	is_int(metrics_job_stale(0, 0, -1, -1, 0, 1000, 99999, &at), 0,
	    "stale_after 0: never");
	is_int(metrics_job_stale(0, 0, -1, -1, -1, 0, 99999, &at), 0,
	    "no period (@reboot) and no stale_after: never");
	is_int(metrics_job_stale(0, 0, -1, -1, 10000, 0, 10001, NULL), 1,
	    "@reboot with stale_after: stale when it passes");
}

int
main(void)
{
	struct store	*st;
	char		*cause = NULL;
	const char	*tmp;

	tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/sqcron-103.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		BAIL_OUT("mkdtemp %s: %s", dir, strerror(errno));
	snprintf(dbpath, sizeof dbpath, "%s/sqcron.db", dir);
	atexit(cleanup);

	st = store_open(dbpath, 0, &cause);
	if (st == NULL)
		BAIL_OUT("%s", cause);
	test_counters(st);
	store_close(st);
	test_migration();
	test_stale();
	return done_testing();
}
