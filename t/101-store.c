/*
 * 101-store: the store against a real database in a temporary directory.
 *
 * Jobs, versions, runs, output, recovery, audit and meta round-trip field
 * by field; constraints answer with their codes and change nothing; a
 * lock held by another connection makes writes fail fast with STORE_BUSY
 * and succeed once released; run.list filters, pages and uses its
 * indexes; retention deletes what keep_runs and keep_days let go, in
 * batches, and its dry run counts the same.  A second sqlite3 handle on the same file checks what the
 * store wrote and that it never leaves a transaction open.
 */

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "job.h"
#include "store.h"
#include "xmalloc.h"
#include "tap.h"

#define T0	INT64_C(1764000000000)	/* 2025-11-24T16:00:00Z */
#define MIN	INT64_C(60000)

static char	 dir[400];		/* $TMPDIR/sqcron-101.XXXXXX */
static char	 dbpath[512];
static sqlite3	*raw;		/* the test's own connection */

static int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One number from the test's own connection; -1 on error. */
static int64_t
raw_int(const char *sql)
{
	sqlite3_stmt	*s;
	int64_t		 v = -1;

	if (sqlite3_prepare_v2(raw, sql, -1, &s, NULL) != SQLITE_OK) {
		diag("%s: %s", sql, sqlite3_errmsg(raw));
		return -1;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int
raw_exec(const char *sql)
{
	char	*err = NULL;
	int	 rc;

	if ((rc = sqlite3_exec(raw, sql, NULL, NULL, &err)) != SQLITE_OK) {
		diag("%s: %s", sql, err);
		sqlite3_free(err);
	}
	return rc;
}

/* Can another connection take the write lock now?  (Then releases it.) */
static int
lock_is_free(void)
{
	int	rc;

	sqlite3_busy_timeout(raw, 0);
	rc = sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		sqlite3_exec(raw, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_busy_timeout(raw, 2000);
	return rc == SQLITE_OK;
}

/* One string from the test's own connection (static), or NULL. */
static const char *
raw_text(const char *sql)
{
	static char	 buf[256];
	sqlite3_stmt	*s;
	const char	*v = NULL;

	if (sqlite3_prepare_v2(raw, sql, -1, &s, NULL) != SQLITE_OK)
		return NULL;
	if (sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_text(s, 0) != NULL) {
		snprintf(buf, sizeof buf, "%s",
		    (const char *)sqlite3_column_text(s, 0));
		v = buf;
	}
	sqlite3_finalize(s);
	return v;
}

static char **
env_of(size_t n, ...)
{
	va_list	  ap;
	char	**env;
	size_t	  i;

	env = xreallocarray(NULL, n, sizeof *env);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		env[i] = xstrdup(va_arg(ap, const char *));
	va_end(ap);
	return env;
}

/* A spec with every option set, to values that are easy to get wrong. */
static void
full_spec(struct job_spec *js, const char *name)
{
	job_spec_init(js);
	js->name = xstrdup(name);
	js->schedule = xstrdup("*/5 9-17 * * mon-fri");
	js->command = xstrdup("pg_dump 'db' \"x\" \\ | gzip > /b/$(date +%F)"
	    "; echo '); DROP TABLE jobs; --'");
	js->timezone = xstrdup("Europe/Berlin");
	js->user = xstrdup("postgres");
	js->nenv = 5;
	js->env = env_of(5, "A=1", "MULTI=line1\nline2", "BS=back\\slash\\n",
	    "EMPTY=", "UTF8=\xc3\xa9t\xc3\xa9");
	js->workdir = xstrdup("/var/tmp");
	js->timeout_ms = 600000;
	js->memory = INT64_C(64) << 20;
	js->cpu_ms = 30000;
	js->nofile = 1024;
	js->nproc = 64;
	js->nice = -5;
	js->rlimit_as = INT64_C(8) << 30;
	js->kill_grace_ms = 5000;
	js->kill_orphans = 0;
	js->overlap = OVERLAP_QUEUE;
	js->retries = 3;
	js->backoff_ms = 30000;
	js->backoff_max_ms = 3600000;
	js->no_retry_exit = xstrdup("2,64-78");
	js->catchup = CATCHUP_ALL;
	js->starting_deadline_ms = 120000;
	js->jitter_ms = 15000;
	js->output_max = 262144;
	js->keep_runs = 1000;
	js->keep_days_ms = INT64_C(90) * 86400000;
	js->pause_after = 5;
	js->stale_after_ms = INT64_C(2) * 86400000;
	js->notify = xstrdup("https://a.example/h,https://b.example/h");
	js->notify_on = xstrdup("run.failed,run.dead");
	js->ping_url = xstrdup("https://hc.example/ping/abc");
	js->mailto = xstrdup("ops@example.com");
	js->description = xstrdup("nightly backup; it's \"important\"");
	js->stdin_data = xstrdup("line1\nline2\n");
}

/* Every field of a spec, one test each. */
static void
spec_is(const struct job_spec *got, const struct job_spec *want,
    const char *what)
{
	size_t	i, n;

	is(got->name, want->name, "%s: name", what);
	is(got->schedule, want->schedule, "%s: schedule", what);
	is(got->command, want->command, "%s: command", what);
	is(got->timezone, want->timezone, "%s: timezone", what);
	is(got->user, want->user, "%s: user", what);
	is_int((int64_t)got->nenv, (int64_t)want->nenv, "%s: nenv", what);
	n = got->nenv < want->nenv ? got->nenv : want->nenv;
	for (i = 0; i < n; i++)
		is(got->env[i], want->env[i], "%s: env[%zu]", what, i);
	is(got->workdir, want->workdir, "%s: workdir", what);
	is_int(got->timeout_ms, want->timeout_ms, "%s: timeout", what);
	is_int(got->memory, want->memory, "%s: memory", what);
	is_int(got->cpu_ms, want->cpu_ms, "%s: cpu", what);
	is_int(got->nofile, want->nofile, "%s: nofile", what);
	is_int(got->nproc, want->nproc, "%s: nproc", what);
	is_int(got->nice, want->nice, "%s: nice", what);
	is_int(got->rlimit_as, want->rlimit_as, "%s: rlimit_as", what);
	is_int(got->kill_grace_ms, want->kill_grace_ms, "%s: kill_grace",
	    what);
	is_int(got->kill_orphans, want->kill_orphans, "%s: kill_orphans",
	    what);
	is_int(got->overlap, want->overlap, "%s: overlap", what);
	is_int(got->retries, want->retries, "%s: retries", what);
	is_int(got->backoff_ms, want->backoff_ms, "%s: backoff", what);
	is_int(got->backoff_max_ms, want->backoff_max_ms, "%s: backoff_max",
	    what);
	is(got->no_retry_exit, want->no_retry_exit, "%s: no_retry_exit",
	    what);
	is_int(got->catchup, want->catchup, "%s: catchup", what);
	is_int(got->starting_deadline_ms, want->starting_deadline_ms,
	    "%s: starting_deadline", what);
	is_int(got->jitter_ms, want->jitter_ms, "%s: jitter", what);
	is_int(got->output_max, want->output_max, "%s: output_max", what);
	is_int(got->keep_runs, want->keep_runs, "%s: keep_runs", what);
	is_int(got->keep_days_ms, want->keep_days_ms, "%s: keep_days", what);
	is_int(got->pause_after, want->pause_after, "%s: pause_after", what);
	is_int(got->stale_after_ms, want->stale_after_ms, "%s: stale_after",
	    what);
	is(got->notify, want->notify, "%s: notify", what);
	is(got->notify_on, want->notify_on, "%s: notify_on", what);
	is(got->ping_url, want->ping_url, "%s: ping_url", what);
	is(got->mailto, want->mailto, "%s: mailto", what);
	is(got->description, want->description, "%s: description", what);
	is(got->stdin_data, want->stdin_data, "%s: stdin_data", what);
}

/* Every field of a run, one test each. */
static void
run_is(const struct run *got, const struct run *want, const char *what)
{
	is_int(got->id, want->id, "%s: id", what);
	is_int(got->job_id, want->job_id, "%s: job_id", what);
	is(got->job, want->job, "%s: job", what);
	is_int(got->job_version, want->job_version, "%s: job_version", what);
	is_int(got->scheduled_at, want->scheduled_at, "%s: scheduled_at",
	    what);
	is(run_trigger_name(got->trigger), run_trigger_name(want->trigger),
	    "%s: trigger", what);
	is_int(got->attempt, want->attempt, "%s: attempt", what);
	is_int(got->replay_of, want->replay_of, "%s: replay_of", what);
	is(run_state_name(got->state), run_state_name(want->state),
	    "%s: state", what);
	is_int(got->exit_code, want->exit_code, "%s: exit_code", what);
	is_int(got->signal, want->signal, "%s: signal", what);
	is_int(got->core_dumped, want->core_dumped, "%s: core_dumped", what);
	is(got->reason, want->reason, "%s: reason", what);
	is_int(got->queued_at, want->queued_at, "%s: queued_at", what);
	is_int(got->started_at, want->started_at, "%s: started_at", what);
	is_int(got->ended_at, want->ended_at, "%s: ended_at", what);
	is_int(got->duration_ms, want->duration_ms, "%s: duration_ms", what);
	is_int(got->pid, want->pid, "%s: pid", what);
	is_int(got->max_rss_kb, want->max_rss_kb, "%s: max_rss_kb", what);
	is_int(got->user_cpu_ms, want->user_cpu_ms, "%s: user_cpu_ms", what);
	is_int(got->sys_cpu_ms, want->sys_cpu_ms, "%s: sys_cpu_ms", what);
	is_int(got->output_bytes, want->output_bytes, "%s: output_bytes",
	    what);
	is(run_resolution_name(got->resolution),
	    run_resolution_name(want->resolution), "%s: resolution", what);
}

/* A fresh queued run of a fire: the shape the scheduler records. */
static void
new_run(struct run *r, int64_t job_id, int version, int64_t at,
    enum run_trigger trigger, int attempt)
{
	memset(r, 0, sizeof *r);
	r->id = JOB_UNSET;
	r->job_id = job_id;
	r->job_version = version;
	r->scheduled_at = at;
	r->trigger = trigger;
	r->attempt = attempt;
	r->replay_of = JOB_UNSET;
	r->state = RUN_QUEUED;
	r->exit_code = JOB_UNSET;
	r->queued_at = at;
	r->started_at = r->ended_at = r->duration_ms = JOB_UNSET;
	r->pid = r->max_rss_kb = r->user_cpu_ms = JOB_UNSET;
	r->sys_cpu_ms = r->output_bytes = JOB_UNSET;
	r->resolution = RESOLUTION_NONE;
}

/* Record an ended run in one go (catch-up, skipped, a test fixture). */
static int64_t
add_run(struct store *st, int64_t job_id, int version, int64_t at,
    enum run_trigger trigger, int attempt, enum run_state state,
    enum run_resolution res)
{
	struct run	 r;
	char		*cause = NULL;

	new_run(&r, job_id, version, at, trigger, attempt);
	r.state = state;
	r.resolution = res;
	if (state != RUN_QUEUED && state != RUN_RUNNING)
		r.ended_at = at + 1000;
	if (store_run_insert(st, &r, &cause) != STORE_OK)
		BAIL_OUT("add_run: %s", cause);
	return r.id;
}

static void
test_jobs(struct store *st, int64_t *job_a, int64_t *job_b)
{
	struct job_row	 jr, got, v1, other, *rows;
	struct job_spec	 want1;
	size_t		 n;
	char		*cause = NULL;
	int		 rc;

	/* add: every option round-trips */
	store_job_row_init(&jr);
	full_spec(&jr.spec, "backup.db-1");
	jr.source = xstrdup("api");
	jr.owner = 1000;
	rc = store_job_add(st, &jr, T0, &cause);
	is_int(rc, STORE_OK, "add a job with every option");
	if (rc != STORE_OK)
		BAIL_OUT("cannot add a job: %s", cause);
	ok(jr.id > 0, "add sets the id");
	is_int(jr.version, 1, "a new job is version 1");
	*job_a = jr.id;

	is_int(store_job_get(st, "backup.db-1", &got, NULL), STORE_OK,
	    "get the job by name");
	spec_is(&got.spec, &jr.spec, "get by name");
	is_int(got.id, jr.id, "get: id");
	is(got.source, "api", "get: source");
	is_int(got.line, 0, "get: line of an api job is 0");
	is_int(got.owner, 1000, "get: owner");
	is_int(got.version, 1, "get: version");
	is_int(got.paused, 0, "get: not paused");
	is_int(got.paused_until, JOB_UNSET, "get: paused_until unset");
	is(got.paused_reason, NULL, "get: no pause reason");
	is_int(got.created_at, T0, "get: created_at");
	is_int(got.updated_at, T0, "get: updated_at");
	is_int(got.resumed_at, JOB_UNSET, "get: never resumed");
	is_int(got.removed_at, JOB_UNSET, "get: live");
	store_job_row_clear(&got);
	is_int(raw_int("SELECT count(*) FROM job_versions WHERE version = 1"),
	    1, "add records version 1 in job_versions");
	is_int(raw_int("SELECT count(*) FROM jobs WHERE env LIKE "
	    "'A=1' || char(10) || 'MULTI=line1\\nline2' || char(10) || '%'"),
	    1, "env is stored one NAME=VALUE a line, newlines escaped");

	/* a job from a file, every option unset */
	store_job_row_init(&other);
	other.spec.name = xstrdup("cron.d-min");
	other.spec.schedule = xstrdup("@reboot");
	other.spec.command = xstrdup("true");
	other.source = xstrdup("/etc/cron.d/min");
	other.line = 7;
	other.owner = 0;
	is_int(store_job_add(st, &other, T0 + 1, NULL), STORE_OK,
	    "add a job with every option unset");
	*job_b = other.id;
	is_int(store_job_get_id(st, other.id, &got, NULL), STORE_OK,
	    "get it by id");
	spec_is(&got.spec, &other.spec, "unset options stay unset");
	ok(got.spec.env == NULL, "no env is a NULL env");
	is(got.source, "/etc/cron.d/min", "file job: source");
	is_int(got.line, 7, "file job: line");
	is_int(got.owner, 0, "file job: owner root");
	store_job_row_clear(&got);

	/* the name is taken: constraint, nothing changed, nothing open */
	store_job_row_init(&got);
	full_spec(&got.spec, "backup.db-1");
	got.source = xstrdup("api");
	is_int(store_job_add(st, &got, T0, &cause), STORE_CONSTRAINT,
	    "a live job's name cannot be added again");
	ok(cause != NULL && strstr(cause, "add job") != NULL,
	    "with a cause: %s", cause != NULL ? cause : "(none)");
	free(cause);
	cause = NULL;
	is_int(raw_int("SELECT count(*) FROM jobs"), 2, "no job was added");
	is_int(raw_int("SELECT count(*) FROM job_versions"), 2,
	    "no version was recorded");
	ok(lock_is_free(), "no transaction is left open after the failure");
	free(got.spec.name);
	got.spec.name = xstrdup("bad name!");
	is_int(store_job_add(st, &got, T0, &cause), STORE_INVALID,
	    "a name the schema refuses is STORE_INVALID");
	is(cause, "add job: CHECK constraint failed: valid_name",
	    "and the cause names the rule");
	free(cause);
	cause = NULL;
	store_job_row_clear(&got);

	/* update: version bump, snapshot of both versions */
	job_spec_copy(&want1, &jr.spec);
	free(jr.spec.command);
	jr.spec.command = xstrdup("pg_dumpall | zstd > /b/all.zst");
	jr.spec.timeout_ms = JOB_UNSET;
	jr.spec.nice = 10;
	jr.spec.overlap = OVERLAP_SKIP;
	free(jr.spec.env[1]);
	jr.spec.env[1] = xstrdup("MULTI=changed");
	is_int(store_job_update(st, &jr, T0 + MIN, NULL), STORE_OK,
	    "update the job");
	is_int(jr.version, 2, "update bumps the version");
	is_int(jr.updated_at, T0 + MIN, "update sets updated_at");
	is_int(store_job_get(st, "backup.db-1", &got, NULL), STORE_OK,
	    "get the updated job");
	spec_is(&got.spec, &jr.spec, "after update");
	is_int(got.version, 2, "stored version is 2");
	is_int(got.created_at, T0, "created_at unchanged by update");
	store_job_row_clear(&got);
	is_int(store_job_get_version(st, jr.id, 1, &v1, NULL), STORE_OK,
	    "version 1 is kept");
	spec_is(&v1.spec, &want1, "version 1 snapshot");
	is_int(v1.version, 1, "snapshot 1: version");
	is_int(v1.created_at, T0, "snapshot 1: when");
	store_job_row_clear(&v1);
	is_int(store_job_get_version(st, jr.id, 2, &v1, NULL), STORE_OK,
	    "version 2 is recorded");
	spec_is(&v1.spec, &jr.spec, "version 2 snapshot");
	store_job_row_clear(&v1);

	is_int(store_job_update(st, &jr, T0 + 2 * MIN, NULL), STORE_OK,
	    "update with the same definition");
	is_int(jr.version, 2, "an unchanged definition keeps its version");
	is_int(store_job_get_version(st, jr.id, 3, &v1, &cause),
	    STORE_NOTFOUND, "and records no new version");
	free(cause);
	cause = NULL;
	store_job_row_clear(&v1);

	free(jr.spec.name);
	jr.spec.name = xstrdup("cron.d-min");
	jr.spec.retries = 9;
	is_int(store_job_update(st, &jr, T0 + 3 * MIN, NULL),
	    STORE_CONSTRAINT, "renaming onto a live job's name is refused");
	is_int(raw_int("SELECT version FROM jobs WHERE name = 'backup.db-1'"),
	    2, "the refused update changed nothing");
	is_int(raw_int("SELECT count(*) FROM job_versions"), 3,
	    "and recorded no version");
	ok(lock_is_free(), "no transaction left open");
	free(jr.spec.name);
	jr.spec.name = xstrdup("backup.db-1");
	jr.spec.retries = 3;

	other.id = 999;
	is_int(store_job_update(st, &other, T0, NULL), STORE_NOTFOUND,
	    "updating a job that does not exist: STORE_NOTFOUND");
	other.id = *job_b;

	/* pause, resume */
	is_int(store_job_pause(st, jr.id, T0 + 60 * MIN, "quarantined: 5 "
	    "failures", NULL), STORE_OK, "pause until a time");
	store_job_get(st, "backup.db-1", &got, NULL);
	is_int(got.paused, 1, "paused");
	is_int(got.paused_until, T0 + 60 * MIN, "paused_until");
	is(got.paused_reason, "quarantined: 5 failures", "paused_reason");
	is_int(got.version, 2, "pausing makes no version");
	store_job_row_clear(&got);
	is_int(store_job_resume(st, jr.id, T0 + 10 * MIN, NULL), STORE_OK,
	    "resume");
	store_job_get(st, "backup.db-1", &got, NULL);
	is_int(got.paused, 0, "resumed: not paused");
	is_int(got.paused_until, JOB_UNSET, "resumed: no paused_until");
	is(got.paused_reason, NULL, "resumed: no reason");
	is_int(got.resumed_at, T0 + 10 * MIN, "resumed_at set");
	store_job_row_clear(&got);
	is_int(store_job_resume(st, jr.id, T0 + 20 * MIN, NULL), STORE_OK,
	    "resuming a running job is a no-op");
	is_int(raw_int("SELECT resumed_at FROM jobs WHERE name = "
	    "'backup.db-1'"), T0 + 10 * MIN, "that keeps resumed_at");
	is_int(store_job_pause(st, 999, JOB_UNSET, NULL, NULL), STORE_NOTFOUND,
	    "pausing no job: STORE_NOTFOUND");

	/* list, owner filter */
	is_int(store_job_list(st, JOB_UNSET, &rows, &n, NULL), STORE_OK,
	    "list jobs");
	is_int((int64_t)n, 2, "two live jobs");
	if (n == 2) {
		is(rows[0].spec.name, "backup.db-1", "sorted by name (1)");
		is(rows[1].spec.name, "cron.d-min", "sorted by name (2)");
		is(rows[0].spec.env != NULL ? rows[0].spec.env[1] : NULL,
		    "MULTI=changed", "listed jobs carry their spec");
	}
	store_job_rows_free(rows, n);
	store_job_list(st, 1000, &rows, &n, NULL);
	ok(n == 1 && strcmp(rows[0].spec.name, "backup.db-1") == 0,
	    "owner filter: uid 1000 owns one job");
	store_job_rows_free(rows, n);

	/* remove: history stays, the name is free again */
	is_int(store_job_remove(st, other.id, T0 + 30 * MIN, NULL), STORE_OK,
	    "remove a job");
	is_int(store_job_get(st, "cron.d-min", &got, &cause), STORE_NOTFOUND,
	    "a removed job is not found by name");
	is(cause, "no live job is named cron.d-min", "cause names the job");
	free(cause);
	cause = NULL;
	store_job_row_clear(&got);
	is_int(store_job_get_id(st, other.id, &got, NULL), STORE_OK,
	    "but is by id");
	is_int(got.removed_at, T0 + 30 * MIN, "with removed_at");
	store_job_row_clear(&got);
	store_job_list(st, JOB_UNSET, &rows, &n, NULL);
	is_int((int64_t)n, 1, "list shows live jobs only");
	store_job_rows_free(rows, n);
	is_int(store_job_remove(st, other.id, T0, NULL), STORE_NOTFOUND,
	    "removing it again: STORE_NOTFOUND");
	is_int(store_job_update(st, &other, T0, NULL), STORE_NOTFOUND,
	    "updating a removed job: STORE_NOTFOUND");
	store_job_row_clear(&got);
	store_job_row_init(&got);
	got.spec.name = xstrdup("cron.d-min");
	got.spec.schedule = xstrdup("@hourly");
	got.spec.command = xstrdup("echo again");
	got.source = xstrdup("api");
	is_int(store_job_add(st, &got, T0 + 31 * MIN, NULL), STORE_OK,
	    "a new job may take a removed job's name");
	ok(got.id != other.id, "as a new job (new id)");
	store_job_row_clear(&got);

	job_spec_clear(&want1);
	store_job_row_clear(&jr);
	store_job_row_clear(&other);
}

static void
test_runs(struct store *st, int64_t job, int64_t job_b)
{
	struct run		 r, want, got, *runs;
	struct store_run_filter	 f;
	struct store_output	 out, o;
	size_t			 n;
	char			*cause = NULL;
	int64_t			 id, id2;
	int			 attempt;
	static const char	 head[] = "start\0\x01\xff\x80 binary\n";
	static const char	 tail[] = "\xfe\0end\r\n";

	/* a run with every field set, inserted whole */
	new_run(&want, job, 2, T0 + 5 * MIN, TRIGGER_CATCHUP, 1);
	want.state = RUN_CRASHED;
	want.exit_code = 139;
	want.signal = 11;
	want.core_dumped = 1;
	want.reason = xstrdup("SIGSEGV, core dumped");
	want.queued_at = T0 + 5 * MIN + 1;
	want.started_at = T0 + 5 * MIN + 2;
	want.ended_at = T0 + 5 * MIN + 1502;
	want.duration_ms = 1500;
	want.pid = 4242;
	want.max_rss_kb = 70123;
	want.user_cpu_ms = 1234;
	want.sys_cpu_ms = 56;
	want.output_bytes = INT64_C(5) << 32;
	want.resolution = RESOLUTION_OPEN;
	is_int(store_run_insert(st, &want, &cause), STORE_OK,
	    "insert a run with every field");
	ok(want.id > 0, "insert sets the id");
	want.job = xstrdup("backup.db-1");
	is_int(store_run_get(st, want.id, &got, NULL), STORE_OK, "get it");
	run_is(&got, &want, "full run");
	run_clear(&got);

	/* the life of a run: queued, running, finished with output */
	new_run(&r, job, 2, T0 + 10 * MIN, TRIGGER_SCHEDULE, 1);
	is_int(store_run_insert(st, &r, NULL), STORE_OK, "insert a queued run");
	ok(r.id > want.id, "ids increase");
	is_int(store_run_start(st, r.id, T0 + 10 * MIN + 3, 31337,
	    987654321, NULL), STORE_OK, "mark it started");
	is_int(raw_int("SELECT pid_start_time FROM runs WHERE state = "
	    "'running'"), 987654321, "pid_start_time is kept");
	r.state = RUN_FAILED;
	r.exit_code = 3;
	r.core_dumped = 0x80;		/* WCOREDUMP's true */
	r.reason = xstrdup("exit status 3");
	r.ended_at = T0 + 10 * MIN + 2003;
	r.duration_ms = 2000;
	r.max_rss_kb = 1024;
	r.user_cpu_ms = 10;
	r.sys_cpu_ms = 2;
	r.output_bytes = 100000;
	r.resolution = RESOLUTION_OPEN;
	out.head = (char *)(uintptr_t)head;
	out.head_len = sizeof head - 1;
	out.tail = (char *)(uintptr_t)tail;
	out.tail_len = sizeof tail - 1;
	out.omitted = 99982;
	is_int(store_run_finish(st, &r, &out, NULL), STORE_OK,
	    "finish it with output");
	r.started_at = T0 + 10 * MIN + 3;
	r.pid = 31337;
	r.core_dumped = 1;
	r.job = xstrdup("backup.db-1");
	is_int(store_run_get(st, r.id, &got, NULL), STORE_OK, "get it");
	run_is(&got, &r, "finished run");
	run_clear(&got);
	is_int(store_run_output(st, r.id, &o, NULL), STORE_OK, "get output");
	ok(o.head_len == sizeof head - 1 &&
	    memcmp(o.head, head, o.head_len) == 0,
	    "head round-trips, NUL and high bytes included");
	ok(o.tail_len == sizeof tail - 1 &&
	    memcmp(o.tail, tail, o.tail_len) == 0, "tail round-trips");
	is_int(o.omitted, 99982, "omitted round-trips");
	ok(o.head[o.head_len] == '\0', "head is NUL-terminated");
	store_output_clear(&o);
	is_int(store_run_output(st, want.id, &o, NULL), STORE_OK,
	    "a run without output");
	ok(o.head_len == 0 && o.tail_len == 0 && o.omitted == 0 &&
	    o.head != NULL && o.head[0] == '\0' && o.tail != NULL &&
	    o.tail[0] == '\0', "has empty output (empty strings)");
	store_output_clear(&o);
	is_int(store_run_output(st, 999999, &o, NULL), STORE_NOTFOUND,
	    "output of no run: STORE_NOTFOUND");

	is_int(store_run_finish(st, &r, NULL, NULL), STORE_NOTFOUND,
	    "finishing an ended run: STORE_NOTFOUND");
	is_int(store_run_start(st, r.id, T0, 1, 1, NULL), STORE_NOTFOUND,
	    "starting an ended run: STORE_NOTFOUND");
	r.state = RUN_RUNNING;
	is_int(store_run_finish(st, &r, NULL, NULL), STORE_INVALID,
	    "finishing into a live state: STORE_INVALID");
	ok(lock_is_free(), "no transaction left open");

	/* the same fire twice: constraint, nothing changes */
	new_run(&got, job, 2, T0 + 10 * MIN, TRIGGER_SCHEDULE, 1);
	is_int(store_run_insert(st, &got, &cause), STORE_CONSTRAINT,
	    "recording a fire's attempt twice: STORE_CONSTRAINT");
	ok(cause != NULL && strstr(cause, "UNIQUE") != NULL,
	    "cause: %s", cause != NULL ? cause : "(none)");
	free(cause);
	cause = NULL;
	is_int(got.id, JOB_UNSET, "no id was given");
	is_int(raw_int("SELECT count(*) FROM runs"), 2, "no row was added");
	is_int(raw_int("SELECT max(seq) FROM sqlite_sequence WHERE name = "
	    "'runs'"), r.id, "and no id was used up");

	/* attempts of a fire */
	store_fire_last_attempt(st, job, T0 + 10 * MIN, &attempt, NULL);
	is_int(attempt, 1, "the fire has one attempt");
	store_fire_last_attempt(st, job, T0 + 11 * MIN, &attempt, NULL);
	is_int(attempt, 0, "an unrecorded fire has none");
	new_run(&got, job, 2, T0 + 10 * MIN, TRIGGER_RETRY, 2);
	got.state = RUN_FAILED;
	got.ended_at = T0 + 11 * MIN;
	got.resolution = RESOLUTION_OPEN;
	is_int(store_run_insert(st, &got, NULL), STORE_OK,
	    "a retry is the next attempt of the fire");
	store_fire_last_attempt(st, job, T0 + 10 * MIN, &attempt, NULL);
	is_int(attempt, 2, "the fire has two attempts");
	is_int(store_fire_supersede(st, job, T0 + 10 * MIN, got.id, &attempt,
	    NULL), STORE_OK, "supersede earlier attempts");
	is_int(attempt, 1, "one attempt superseded");
	is_int(raw_int("SELECT count(*) FROM runs WHERE resolution = "
	    "'superseded'"), 1, "it is marked");
	is_int(store_run_set_resolution(st, want.id, RESOLUTION_ACKED, NULL),
	    STORE_OK, "set a resolution");
	is_int(raw_int("SELECT count(*) FROM runs WHERE resolution = "
	    "'acked'"), 1, "it is set");
	is_int(store_run_set_resolution(st, 999999, RESOLUTION_ACKED, NULL),
	    STORE_NOTFOUND, "resolution of no run: STORE_NOTFOUND");

	new_run(&got, job, 99, T0 + 12 * MIN, TRIGGER_SCHEDULE, 1);
	is_int(store_run_insert(st, &got, &cause), STORE_INVALID,
	    "a run of a version that does not exist: STORE_INVALID");
	free(cause);
	cause = NULL;
	new_run(&got, job_b, 1, T0 + 12 * MIN, TRIGGER_SCHEDULE, 0);
	is_int(store_run_insert(st, &got, NULL), STORE_INVALID,
	    "attempt 0: STORE_INVALID");

	/* catch-up reference: schedule and catch-up fires only */
	id = add_run(st, job, 2, T0 + 40 * MIN, TRIGGER_MANUAL, 1,
	    RUN_SUCCEEDED, RESOLUTION_NONE);
	store_fire_latest(st, job, &id2, NULL);
	is_int(id2, T0 + 10 * MIN, "latest fire ignores manual runs");
	store_fire_latest(st, job_b, &id2, NULL);
	is_int(id2, JOB_UNSET, "a job without fires has none");

	/* list: newest first */
	store_run_filter_init(&f);
	f.job_id = job;
	is_int(store_run_list(st, &f, &runs, &n, NULL), STORE_OK,
	    "list a job's runs");
	ok(n == 4 && runs[0].id == id && runs[3].id == want.id,
	    "newest first");
	ok(n > 0 && strcmp(runs[0].job, "backup.db-1") == 0,
	    "with the job's name");
	store_runs_free(runs, n);
	run_clear(&want);
	run_clear(&r);
}

/* Show a query plan in the test's log, a line a step. */
static void
diag_plan(const char *plan)
{
	const char	*p, *nl;

	for (p = plan; p != NULL && *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		diag("  %.*s", (int)(nl - p), p);
	}
}

/*
 * Export pages: windows of 7 runs walk every match once, oldest first,
 * up to the last id given, whatever the filter lets through.
 */
static void
test_page(struct store *st, int64_t jb, size_t total)
{
	struct store_run_filter	 f;
	struct run		*page;
	size_t			 n, seen, i, pages;
	int64_t			 after, next, last, prev;
	int			 sorted, k, good;
	char			*plan = NULL, sql[128];

	last = -1;
	k = store_run_last_id(st, &last, NULL);
	ok(k == STORE_OK && last == raw_int("SELECT max(id) FROM runs"),
	    "the last run id (%" PRId64 ")", last);
	for (k = 0; k < 3; k++) {
		store_run_filter_init(&f);
		if (k == 1)
			f.job_id = jb;
		if (k == 2)
			f.states = STORE_STATE(RUN_MISSED);
		f.before_id = 5;	/* ignored */
		f.limit = 1;		/* ignored */
		after = 0;
		seen = pages = 0;
		prev = 0;
		sorted = good = 1;
		while (pages < 1000) {
			if (store_run_page(st, &f, after, last, 7, &page, &n,
			    &next, NULL) != STORE_OK)
				break;
			pages++;
			sorted &= n <= 7;
			for (i = 0; i < n; i++) {
				sorted &= page[i].id > prev && page[i].id <= next;
				prev = page[i].id;
				good &= (k != 1 || page[i].job_id == jb) &&
				    (k != 2 || page[i].state == RUN_MISSED) &&
				    page[i].job != NULL;
			}
			seen += n;
			store_runs_free(page, n);
			if (next == after)
				break;
			after = next;
		}
		if (k == 0)
			ok(seen == total && sorted && good, "export pages: "
			    "every run once, oldest first (%zu in %zu pages)",
			    seen, pages);
		else if (k == 1) {
			snprintf(sql, sizeof sql, "SELECT count(*) FROM runs "
			    "WHERE job_id = %" PRId64, jb);
			ok(seen == (size_t)raw_int(sql) && sorted && good,
			    "export pages of one job (%zu)", seen);
		}
		else
			ok(seen == (size_t)raw_int("SELECT count(*) FROM runs "
			    "WHERE state = 'missed'") && sorted && good,
			    "export pages with a state filter (%zu)", seen);
	}
	store_run_filter_init(&f);
	ok(store_run_page(st, &f, last, last, 7, &page, &n, &next, NULL) ==
	    STORE_OK && n == 0 && next == last, "nothing after the last id");
	store_runs_free(page, n);
	ok(store_run_page(st, &f, 0, 3, 100, &page, &n, &next, NULL) ==
	    STORE_OK && next <= 3 && (n == 0 || page[n - 1].id <= 3),
	    "nothing beyond the last id given");
	store_runs_free(page, n);

	store_run_page_plan(st, 0, &plan, NULL);
	ok(plan != NULL && strstr(plan, "INTEGER PRIMARY KEY (rowid>? AND "
	    "rowid<?)") != NULL && strstr(plan, "TEMP B-TREE") == NULL,
	    "export pages: through the primary key, no sort");
	diag_plan(plan);
	free(plan);
	plan = NULL;
	store_run_page_plan(st, 1, &plan, NULL);
	ok(plan != NULL && strstr(plan, "INDEX runs_job (job_id=? AND "
	    "id>? AND id<?)") != NULL && strstr(plan, "TEMP B-TREE") ==
	    NULL, "export pages of a job: index runs_job, no sort");
	diag_plan(plan);
	free(plan);
}

/* Many runs over two jobs, then every filter and paging. */
/* What status and failures show a peer that is not an admin. */
static void
test_list_owner(struct store *st)
{
	struct store_failure	*fl;
	struct store_open_job	*oj;
	size_t			 n, i;
	int64_t			 jobs, paused;
	int			 k;

	is_int(store_failures(st, JOB_UNSET, 1000, &fl, &n, NULL), STORE_OK,
	    "failures of one owner");
	k = 1;
	for (i = 0; i < n; i++)
		k &= strcmp(fl[i].job, "backup.db-1") == 0;
	ok(n > 0 && k, "only uid 1000's job among the failures (%zu)", n);
	store_failures_free(fl, n);
	store_failures(st, JOB_UNSET, 4242, &fl, &n, NULL);
	is_int((int64_t)n, 0, "none for an owner without jobs");
	store_failures_free(fl, n);
	store_open_by_job(st, 1000, &oj, &n, NULL);
	ok(n == 1 && strcmp(oj[0].job, "backup.db-1") == 0,
	    "open failures by job: only uid 1000's");
	store_open_jobs_free(oj, n);
	store_open_by_job(st, JOB_UNSET, &oj, &n, NULL);
	is_int((int64_t)n, 2, "every job's open failures for admins");
	store_open_jobs_free(oj, n);
	is_int(store_job_counts(st, 1000, &jobs, &paused, NULL), STORE_OK,
	    "count one owner's jobs");
	is_int(jobs, 1, "uid 1000 has one live job");
	store_job_counts(st, 4242, &jobs, &paused, NULL);
	is_int(jobs, 0, "uid 4242 none");
}

static void
test_list(struct store *st, int64_t ja, int64_t jb)
{
	struct store_run_filter	 f;
	struct run		*runs, *page;
	size_t			 n, np, total, i;
	int64_t			 before, expect;
	int			 k, sorted;
	char			*plan = NULL;
	static const enum run_state cycle[] = {
		RUN_SUCCEEDED, RUN_FAILED, RUN_TIMEOUT, RUN_OOM, RUN_SKIPPED,
		RUN_MISSED,
	};

	for (k = 0; k < 60; k++) {
		enum run_state	s = cycle[k % 6];

		add_run(st, k % 2 ? jb : ja, k % 2 ? 1 : 2,
		    T0 + (1000 + k) * MIN, TRIGGER_SCHEDULE, 1, s,
		    run_state_is_failure(s) ? RESOLUTION_OPEN :
		    RESOLUTION_NONE);
	}
	store_run_filter_init(&f);
	store_run_list(st, &f, &runs, &total, NULL);
	sorted = 1;
	for (i = 1; i < total; i++)
		sorted &= runs[i - 1].id > runs[i].id;
	ok(total == (size_t)raw_int("SELECT count(*) FROM runs") && sorted,
	    "no filter: every run, newest first (%zu)", total);
	store_runs_free(runs, total);

	store_run_filter_init(&f);
	f.job_id = jb;
	store_run_list(st, &f, &runs, &n, NULL);
	is_int((int64_t)n, 30, "filter by job");
	store_runs_free(runs, n);

	store_run_filter_init(&f);
	f.states = STORE_STATE(RUN_OOM) | STORE_STATE(RUN_TIMEOUT);
	f.since = T0 + 1000 * MIN;
	store_run_list(st, &f, &runs, &n, NULL);
	k = 1;
	for (i = 0; i < n; i++)
		k &= runs[i].state == RUN_OOM || runs[i].state == RUN_TIMEOUT;
	ok(n == 20 && k, "filter by a set of states (%zu)", n);
	store_runs_free(runs, n);

	store_run_filter_init(&f);
	f.since = T0 + 1010 * MIN;
	f.until = T0 + 1020 * MIN;
	store_run_list(st, &f, &runs, &n, NULL);
	ok(n == 10 && runs[0].scheduled_at == T0 + 1019 * MIN &&
	    runs[9].scheduled_at == T0 + 1010 * MIN,
	    "since <= scheduled_at < until");
	store_runs_free(runs, n);

	store_run_filter_init(&f);
	f.only_open = 1;
	f.since = T0 + 1000 * MIN;
	store_run_list(st, &f, &runs, &n, NULL);
	k = 1;
	for (i = 0; i < n; i++)
		k &= runs[i].resolution == RESOLUTION_OPEN;
	ok(n == 40 && k, "only open failures (%zu)", n);
	store_runs_free(runs, n);

	store_run_filter_init(&f);
	f.only_open = 1;
	f.job_id = jb;
	f.states = STORE_STATE(RUN_MISSED);
	f.since = T0 + 1000 * MIN;
	store_run_list(st, &f, &runs, &n, NULL);
	is_int((int64_t)n, 10, "job + open + state combine");
	store_runs_free(runs, n);

	store_run_filter_init(&f);
	f.owner = 1000;
	store_run_list(st, &f, &runs, &n, NULL);
	k = 1;
	for (i = 0; i < n; i++)
		k &= runs[i].job_id == ja;
	ok(n > 0 && k, "owner filter: only uid 1000's job");
	store_runs_free(runs, n);
	test_list_owner(st);

	store_run_filter_init(&f);
	f.limit = 7;
	store_run_list(st, &f, &runs, &n, NULL);
	is_int((int64_t)n, 7, "limit");
	store_runs_free(runs, n);

	/* paging by before_id walks every run exactly once */
	store_run_filter_init(&f);
	f.limit = 9;
	np = 0;
	before = INT64_MAX;
	expect = INT64_MAX;
	sorted = 1;
	for (k = 0; k <= 100; k++) {	/* a page that does not advance stops */
		f.before_id = before == INT64_MAX ? JOB_UNSET : before;
		store_run_list(st, &f, &page, &n, NULL);
		for (i = 0; i < n; i++) {
			sorted &= page[i].id < expect;
			expect = page[i].id;
		}
		np += n;
		if (n > 0)
			before = page[n - 1].id;
		store_runs_free(page, n);
		if (n < f.limit || !sorted)
			break;
	}
	ok(np == total && sorted, "paging: %zu runs in pages of 9", np);

	/* each access path uses its index */
	store_run_filter_init(&f);
	f.job_id = ja;
	f.since = T0;
	store_run_list_plan(st, &f, &plan, NULL);
	ok(plan != NULL &&
	    strstr(plan, "SEARCH r USING INDEX runs_job") != NULL &&
	    strstr(plan, "TEMP B-TREE") == NULL,
	    "a job's runs: index runs_job, no sort");
	diag_plan(plan);
	free(plan);
	plan = NULL;
	store_run_filter_init(&f);
	f.only_open = 1;
	store_run_list_plan(st, &f, &plan, NULL);
	ok(plan != NULL && strstr(plan, "INDEX runs_open") != NULL &&
	    strstr(plan, "TEMP B-TREE") == NULL,
	    "open failures: index runs_open, no sort");
	diag_plan(plan);
	free(plan);
	plan = NULL;
	store_run_filter_init(&f);
	f.states = STORE_STATE(RUN_RUNNING);
	store_run_list_plan(st, &f, &plan, NULL);
	ok(plan != NULL && strstr(plan, "INDEX runs_live") != NULL,
	    "live runs: index runs_live");
	diag_plan(plan);
	free(plan);
	plan = NULL;
	store_run_filter_init(&f);
	f.since = T0;
	f.until = T0 + 60 * MIN;
	store_run_list_plan(st, &f, &plan, NULL);
	ok(plan != NULL && strstr(plan, "INDEX runs_scheduled") != NULL,
	    "a range of fires: index runs_scheduled");
	diag_plan(plan);
	free(plan);
	plan = NULL;
	store_run_filter_init(&f);
	f.states = STORE_STATE(RUN_FAILED);
	store_run_list_plan(st, &f, &plan, NULL);
	ok(plan != NULL &&
	    strstr(plan, "SEARCH r USING INTEGER PRIMARY KEY") != NULL &&
	    strstr(plan, "TEMP B-TREE") == NULL,
	    "everything else: by id, no sort");
	diag_plan(plan);
	free(plan);

	test_page(st, jb, total);
}

static void
test_health(struct store *st)
{
	struct job_row		 jr;
	struct job_health	 h;
	int64_t			 id, ok_id;

	store_job_row_init(&jr);
	jr.spec.name = xstrdup("flaky");
	jr.spec.schedule = xstrdup("@hourly");
	jr.spec.command = xstrdup("false");
	jr.source = xstrdup("api");
	store_job_add(st, &jr, T0, NULL);
	is_int(store_job_health(st, jr.id, &h, NULL), STORE_OK,
	    "health of a job that never ran");
	ok(h.last_run == JOB_UNSET && h.last_success_at == JOB_UNSET &&
	    h.consecutive_failures == 0, "no last run, success or failures");

	add_run(st, jr.id, 1, T0 + 1 * MIN, TRIGGER_SCHEDULE, 1, RUN_FAILED,
	    RESOLUTION_OPEN);
	ok_id = add_run(st, jr.id, 1, T0 + 2 * MIN, TRIGGER_SCHEDULE, 1,
	    RUN_SUCCEEDED, RESOLUTION_NONE);
	add_run(st, jr.id, 1, T0 + 3 * MIN, TRIGGER_SCHEDULE, 1, RUN_FAILED,
	    RESOLUTION_SUPERSEDED);
	add_run(st, jr.id, 1, T0 + 3 * MIN, TRIGGER_RETRY, 2, RUN_OOM,
	    RESOLUTION_OPEN);
	add_run(st, jr.id, 1, T0 + 4 * MIN, TRIGGER_SCHEDULE, 1, RUN_SKIPPED,
	    RESOLUTION_NONE);
	add_run(st, jr.id, 1, T0 + 5 * MIN, TRIGGER_SCHEDULE, 1, RUN_MISSED,
	    RESOLUTION_OPEN);
	id = add_run(st, jr.id, 1, T0 + 6 * MIN, TRIGGER_SCHEDULE, 1,
	    RUN_TIMEOUT, RESOLUTION_RETRYING);
	store_job_health(st, jr.id, &h, NULL);
	is_int(h.last_run, id, "last run is the newest");
	is(run_state_name(h.last_state), "timeout", "with its state");
	is_int(h.last_scheduled_at, T0 + 6 * MIN, "and its fire");
	is_int(h.last_success_at, T0 + 2 * MIN + 1000,
	    "last success: when it ended (run %lld)", (long long)ok_id);
	is_int(h.consecutive_failures, 2, "failed fires since: two (a retried "
	    "fire once, a missed one; not a skip or a pending retry)");
	store_job_pause(st, jr.id, JOB_UNSET, "test", NULL);
	store_job_resume(st, jr.id, T0 + 100 * MIN, NULL);
	store_job_health(st, jr.id, &h, NULL);
	is_int(h.consecutive_failures, 0, "a resume starts the count again");
	is_int(store_job_health(st, 424242, &h, NULL), STORE_NOTFOUND,
	    "health of no job: STORE_NOTFOUND");
	store_job_row_clear(&jr);
}

static void
test_recover(struct store *st, int64_t job)
{
	struct run		 r, *runs;
	struct store_orphan	*o;
	size_t			 n;
	int64_t			 a, b, q1, q2, q3;

	new_run(&r, job, 2, T0 + 500 * MIN, TRIGGER_SCHEDULE, 1);
	store_run_insert(st, &r, NULL);
	a = r.id;
	store_run_start(st, a, T0 + 500 * MIN + 5, 1111, 555, NULL);
	new_run(&r, job, 2, T0 + 501 * MIN, TRIGGER_SCHEDULE, 1);
	store_run_insert(st, &r, NULL);
	b = r.id;
	store_run_start(st, b, T0 + 501 * MIN + 5, 2222, 666, NULL);
	new_run(&r, job, 2, T0 + 503 * MIN, TRIGGER_SCHEDULE, 1);
	store_run_insert(st, &r, NULL);
	q3 = r.id;
	new_run(&r, job, 2, T0 + 502 * MIN, TRIGGER_SCHEDULE, 1);
	store_run_insert(st, &r, NULL);
	q2 = r.id;
	new_run(&r, job, 2, T0 + 499 * MIN, TRIGGER_MANUAL, 1);
	store_run_insert(st, &r, NULL);
	q1 = r.id;

	is_int(store_runs_recover(st, T0 + 600 * MIN, "lost: sqcrond "
	    "restarted", &o, &n, NULL), STORE_OK, "recover");
	is_int((int64_t)n, 2, "two runs were left running");
	if (n == 2) {
		ok(o[0].run_id == a && o[0].pid == 1111 &&
		    o[0].pid_start_time == 555 &&
		    o[0].started_at == T0 + 500 * MIN + 5,
		    "first: run, pid, start time");
		ok(o[1].run_id == b && o[1].pid == 2222 &&
		    o[1].pid_start_time == 666, "second: run, pid, start time");
	}
	free(o);
	store_run_get(st, a, &r, NULL);
	is(run_state_name(r.state), "lost", "they are lost");
	is(r.reason, "lost: sqcrond restarted", "with the reason");
	is_int(r.ended_at, T0 + 600 * MIN, "ended when recovered");
	is(run_resolution_name(r.resolution), "open", "and open");
	run_clear(&r);
	store_runs_recover(st, T0 + 601 * MIN, "again", &o, &n, NULL);
	is_int((int64_t)n, 0, "recovering again finds none");
	free(o);

	is_int(store_runs_queued(st, &runs, &n, NULL), STORE_OK,
	    "list queued runs");
	ok(n == 3 && runs[0].id == q1 && runs[1].id == q2 &&
	    runs[2].id == q3, "oldest scheduled_at first");
	store_runs_free(runs, n);
}

static void
test_audit_meta(struct store *st)
{
	struct store_audit	*a;
	size_t			 n;
	int64_t			 id;
	char			*v = NULL, *cause = NULL;

	is_int(store_audit_insert(st, T0, 1000, 4321, "job.add",
	    "{\"name\":\"x\",\"env\":{\"TOKEN\":\"***\"}}", "ok", NULL, &id,
	    NULL), STORE_OK, "audit an addition");
	ok(id > 0, "audit id");
	store_audit_insert(st, T0 + MIN, 0, 1, "job.remove",
	    "{\"name\":\"x\"}", "permission_denied", "not yours", NULL, NULL);
	store_audit_insert(st, T0 + 2 * MIN, 0, 0, "reload", NULL, "ok", NULL,
	    NULL, NULL);
	is_int(store_audit_list(st, T0 + MIN, JOB_UNSET, JOB_UNSET, 0, &a, &n,
	    NULL),
	    STORE_OK, "list since a time");
	ok(n == 2 && strcmp(a[0].method, "reload") == 0 &&
	    strcmp(a[1].method, "job.remove") == 0, "newest first");
	if (n == 2) {
		is_int(a[1].at, T0 + MIN, "at");
		is_int(a[1].uid, 0, "uid");
		is_int(a[1].pid, 1, "pid");
		is(a[1].params, "{\"name\":\"x\"}", "params");
		is(a[1].outcome, "permission_denied", "outcome");
		is(a[1].error, "not yours", "error");
		is(a[0].params, NULL, "no params is NULL");
		is_int(a[0].pid, 0, "unknown pid is 0");
	}
	store_audits_free(a, n);
	store_audit_list(st, JOB_UNSET, JOB_UNSET, JOB_UNSET, 1, &a, &n,
	    NULL);
	ok(n == 1 && strcmp(a[0].method, "reload") == 0, "limit");
	store_audits_free(a, n);
	store_audit_list(st, JOB_UNSET, JOB_UNSET, 1000, 0, &a, &n, NULL);
	ok(n == 1 && a[0].uid == 1000 && strcmp(a[0].method, "job.add") == 0,
	    "only one uid's entries");
	store_audits_free(a, n);

	is_int(store_meta_get(st, "boot_id", &v, &cause), STORE_NOTFOUND,
	    "unset meta: STORE_NOTFOUND");
	free(cause);
	is_int(store_meta_set(st, "boot_id", "a1b2-c3", NULL), STORE_OK,
	    "set meta");
	store_meta_get(st, "boot_id", &v, NULL);
	is(v, "a1b2-c3", "get it back");
	free(v);
	store_meta_set(st, "boot_id", "d4e5", NULL);
	store_meta_get(st, "boot_id", &v, NULL);
	is(v, "d4e5", "overwrite it");
	free(v);
}

static void
test_transactions(struct store *st, int64_t job)
{
	struct run	 r;
	struct job_row	 jr;
	char		*cause = NULL;
	int64_t		 before;

	before = raw_int("SELECT count(*) FROM runs");
	is_int(store_begin(st, NULL), STORE_OK, "begin");
	is_int(store_begin(st, &cause), STORE_INVALID,
	    "begin inside begin: STORE_INVALID");
	free(cause);
	cause = NULL;
	new_run(&r, job, 2, T0 + 900 * MIN, TRIGGER_SCHEDULE, 1);
	store_run_insert(st, &r, NULL);
	new_run(&r, job, 2, T0 + 901 * MIN, TRIGGER_SCHEDULE, 1);
	store_run_insert(st, &r, NULL);
	store_rollback(st);
	is_int(raw_int("SELECT count(*) FROM runs"), before,
	    "rollback undoes both inserts");
	ok(lock_is_free(), "and ends the transaction");

	store_begin(st, NULL);
	new_run(&r, job, 2, T0 + 900 * MIN, TRIGGER_SCHEDULE, 1);
	store_run_insert(st, &r, NULL);
	store_job_row_init(&jr);
	full_spec(&jr.spec, "backup.db-1");
	jr.source = xstrdup("api");
	is_int(store_job_add(st, &jr, T0, NULL), STORE_CONSTRAINT,
	    "a failing call inside a transaction");
	ok(!lock_is_free(), "leaves the caller's transaction open");
	is_int(store_commit(st, NULL), STORE_OK, "commit");
	is_int(raw_int("SELECT count(*) FROM runs"), before + 1,
	    "the insert before the failure is kept");
	is_int(raw_int("SELECT count(*) FROM job_versions WHERE job_id NOT IN "
	    "(SELECT id FROM jobs)"), 0, "the failed call left no half");
	is_int(store_commit(st, &cause), STORE_INVALID,
	    "commit without begin: STORE_INVALID");
	free(cause);
	store_rollback(st);
	store_job_row_clear(&jr);
}

static void
test_busy(struct store *st, int64_t job)
{
	struct run	 r;
	struct job_row	 jr;
	char		*cause = NULL;
	int64_t		 t, before;
	int		 rc;

	before = raw_int("SELECT count(*) FROM runs");
	if (raw_exec("BEGIN IMMEDIATE") != SQLITE_OK)
		BAIL_OUT("cannot take the write lock");
	new_run(&r, job, 2, T0 + 950 * MIN, TRIGGER_SCHEDULE, 1);
	t = mono_ms();
	rc = store_run_insert(st, &r, &cause);
	t = mono_ms() - t;
	is_int(rc, STORE_BUSY, "a write while another holds the lock: BUSY");
	ok(t < 100, "and fast: %lld ms", (long long)t);
	diag("cause: %s", cause != NULL ? cause : "(none)");
	free(cause);
	cause = NULL;
	store_job_row_init(&jr);
	jr.spec.name = xstrdup("while-locked");
	jr.spec.schedule = xstrdup("@daily");
	jr.spec.command = xstrdup("true");
	jr.source = xstrdup("api");
	t = mono_ms();
	rc = store_job_add(st, &jr, T0, NULL);
	t = mono_ms() - t;
	ok(rc == STORE_BUSY && t < 100, "a transaction of several writes: "
	    "BUSY in %lld ms", (long long)t);
	is_int(store_begin(st, NULL), STORE_BUSY, "store_begin: BUSY");
	store_job_row_clear(&jr);
	is_int(store_job_get(st, "backup.db-1", &jr, NULL), STORE_OK,
	    "reads still work under WAL");
	store_job_row_clear(&jr);
	raw_exec("COMMIT");

	is_int(store_run_insert(st, &r, NULL), STORE_OK,
	    "the write succeeds once the lock is released");
	is_int(raw_int("SELECT count(*) FROM runs"), before + 1,
	    "exactly once");
}

/* A job with only what a job must have; its id. */
static int64_t
add_job(struct store *st, const char *name)
{
	struct job_row	 jr;
	char		*cause = NULL;
	int64_t		 id;

	store_job_row_init(&jr);
	jr.spec.name = xstrdup(name);
	jr.spec.schedule = xstrdup("@hourly");
	jr.spec.command = xstrdup("true");
	jr.source = xstrdup("api");
	if (store_job_add(st, &jr, T0, &cause) != STORE_OK)
		BAIL_OUT("add_job %s: %s", name, cause);
	id = jr.id;
	store_job_row_clear(&jr);
	return id;
}

/* The dry-run count of a job, max runs at a time. */
static int64_t
prune_count(struct store *st, const struct store_retention *r, size_t max)
{
	struct store_prune_cursor	 c;
	int64_t				 n = 0;
	int				 done = 0, i;

	store_prune_cursor_init(&c);
	for (i = 0; i < 10000 && !done; i++)
		if (store_prune_count(st, r, &c, max, &n, &done, NULL) < 0)
			return -1;
	return done ? n : -1;
}

/* Delete what r lets go, max at a time; how many went. */
static int64_t
prune_all(struct store *st, const struct store_retention *r, size_t max,
    int *batches)
{
	size_t	n;
	int64_t	total = 0;
	int	i;

	for (i = 0; i < 10000; i++) {
		if (store_prune_runs(st, r, max, &n, NULL) < 0)
			return -1;
		total += (int64_t)n;
		if (n < max)
			break;
	}
	if (batches != NULL)
		*batches = i + 1;
	return total;
}

/* Runs of a job still there, from the test's own connection. */
static int64_t
runs_of(int64_t job)
{
	char	sql[128];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE job_id = "
	    "%lld", (long long)job);
	return raw_int(sql);
}

static int64_t
run_exists(int64_t id)
{
	char	sql[128];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE id = %lld",
	    (long long)id);
	return raw_int(sql);
}

/*
 * Retention: keep_runs and keep_days, live runs, open failures, replays,
 * the latest scheduled fire, dry-run counts, batches and query plans.
 */
static void
test_prune(struct store *st)
{
	struct store_retention	 r;
	struct store_prune_job	*jobs, one;
	struct store_output	 out;
	struct run		 run;
	size_t			 n, i;
	int64_t			 job, fjob, mjob, empty, id[22], at, got;
	int64_t			 base = T0 + 5000 * MIN;
	int			 k, batches, found, ok_plan;
	char			*plan = NULL, sql[256], *p, *q;

	/*
	 * job: 21 runs.  k = 2 running, 3 and 7 open failures, 5 a failure
	 * whose replay (21) is queued, 4 replayed by 18, 1 with output.
	 */
	job = add_job(st, "prune-me");
	for (k = 1; k <= 20; k++) {
		new_run(&run, job, 1, base + k * MIN, TRIGGER_MANUAL, 1);
		switch (k) {
		case 2:
			run.state = RUN_RUNNING;
			break;
		case 1:
			break;
		case 3:
		case 5:
		case 7:
			run.state = RUN_FAILED;
			run.resolution = k == 5 ? RESOLUTION_SUPERSEDED :
			    RESOLUTION_OPEN;
			run.ended_at = base + k * MIN + 100;
			break;
		case 18:
			run.trigger = TRIGGER_REPLAY;
			run.replay_of = id[4];
			/* FALLTHROUGH */
		default:
			run.state = RUN_SUCCEEDED;
			run.ended_at = base + k * MIN + 100;
			break;
		}
		if (store_run_insert(st, &run, NULL) != STORE_OK)
			BAIL_OUT("prune: cannot insert run %d", k);
		id[k] = run.id;
	}
	new_run(&run, job, 1, base + 5 * MIN, TRIGGER_REPLAY, 2);
	run.replay_of = id[5];
	store_run_insert(st, &run, NULL);
	id[21] = run.id;
	new_run(&run, job, 1, base + MIN, TRIGGER_MANUAL, 1);
	run.id = id[1];
	run.state = RUN_SUCCEEDED;
	run.ended_at = base + MIN + 50;
	memset(&out, 0, sizeof out);
	out.head = (char *)(uintptr_t)"some output\n";
	out.head_len = 12;
	is_int(store_run_finish(st, &run, &out, NULL), STORE_OK,
	    "prune: a run with output");
	snprintf(sql, sizeof sql, "SELECT count(*) FROM run_output WHERE "
	    "run_id = %lld", (long long)id[1]);
	is_int(raw_int(sql), 1, "prune: its output is stored");

	/* keep_runs = 5: the newest five stay (17..21), and 2, 3, 5, 7 */
	is_int(store_prune_bounds(st, job, 5, JOB_UNSET, 0, &r, NULL),
	    STORE_OK, "bounds for keep_runs 5");
	is_int(r.cut, id[17], "the cut is the fifth newest run");
	is_int(r.keep_id, JOB_UNSET, "no latest fire asked for");
	is_int(prune_count(st, &r, 5), 12, "dry run: 12 runs would go "
	    "(16 beyond the newest 5, less a live one, two open failures "
	    "and one whose replay is queued)");
	is_int(prune_count(st, &r, 1000), 12, "the same in one chunk");
	is_int(runs_of(job), 21, "a dry run deletes nothing");
	is_int(prune_all(st, &r, 5, &batches), 12, "prune deletes those 12");
	is_int(batches, 3, "in batches of at most 5 (5, 5, 2)");
	is_int(runs_of(job), 9, "nine runs are left");
	ok(run_exists(id[2]) && run_exists(id[3]) && run_exists(id[5]) &&
	    run_exists(id[7]) && run_exists(id[17]) && run_exists(id[21]),
	    "the live run, open failures, a run being replayed and the "
	    "newest five stay");
	ok(!run_exists(id[1]) && !run_exists(id[4]) && !run_exists(id[16]),
	    "older ended runs went");
	is_int(raw_int(sql), 0, "their output went with them");
	store_run_get(st, id[18], &run, NULL);
	is_int(run.replay_of, JOB_UNSET, "a replay of a deleted run keeps "
	    "its row, replay_of now null");
	run_clear(&run);
	is_int(prune_count(st, &r, 5), 0, "nothing more would go");
	is_int(prune_all(st, &r, 5, NULL), 0, "and nothing more goes");

	/* keep_days: fires before k = 8 go, open failures too */
	is_int(store_prune_bounds(st, job, 0, base + 8 * MIN, 0, &r, NULL),
	    STORE_OK, "bounds for an age limit only");
	is_int(r.cut, JOB_UNSET, "keep_runs 0: no cut");
	is_int(prune_count(st, &r, 2), 2, "dry run: the two old open "
	    "failures would go (not the live run, nor the run being "
	    "replayed, nor the queued replay)");
	is_int(prune_all(st, &r, 100, NULL), 2, "and they go");
	ok(!run_exists(id[3]) && !run_exists(id[7]) && run_exists(id[2]) &&
	    run_exists(id[5]) && run_exists(id[21]), "open failures outlive "
	    "keep_runs but not keep_days; live runs stay");
	is_int(store_prune_oldest(st, &r, &at, NULL), STORE_OK, "oldest");
	is_int(at, base + 5 * MIN, "the oldest ended run left is 5's fire");

	/* once they end, they go too */
	new_run(&run, job, 1, base + 2 * MIN, TRIGGER_MANUAL, 1);
	run.id = id[2];
	run.state = RUN_FAILED;
	run.ended_at = base + 30 * MIN;
	run.resolution = RESOLUTION_OPEN;
	store_run_finish(st, &run, NULL, NULL);
	run.id = id[21];
	run.state = RUN_SUCCEEDED;
	run.resolution = RESOLUTION_NONE;
	store_run_finish(st, &run, NULL, NULL);
	is_int(prune_count(st, &r, 1000), 3, "dry run: three once ended");
	is_int(prune_all(st, &r, 1000, NULL), 3, "pruned");
	is_int(runs_of(job), 4, "four runs left (17..20)");

	/* the latest scheduled fire stays when asked, whatever its age */
	fjob = add_job(st, "prune-fire");
	for (k = 0; k < 6; k++)
		id[k] = add_run(st, fjob, 1, base + k * MIN, k < 3 ?
		    TRIGGER_SCHEDULE : TRIGGER_MANUAL, 1, RUN_SUCCEEDED,
		    RESOLUTION_NONE);
	store_prune_bounds(st, fjob, 1, base + 100 * MIN, 1, &r, NULL);
	is_int(r.keep_id, id[2], "keep_id: the run of the latest scheduled "
	    "fire");
	is_int(prune_count(st, &r, 2), 5, "dry run: all but that one");
	is_int(prune_all(st, &r, 2, NULL), 5, "pruned");
	ok(runs_of(fjob) == 1 && run_exists(id[2]), "it alone is left");
	store_fire_latest(st, fjob, &at, NULL);
	is_int(at, base + 2 * MIN, "catch-up still finds the latest fire");
	store_prune_oldest(st, &r, &at, NULL);
	is_int(at, JOB_UNSET, "and nothing is waiting to pass keep_days");
	store_prune_bounds(st, fjob, 1, base + 100 * MIN, 0, &r, NULL);
	is_int(prune_all(st, &r, 2, NULL), 1, "without keep_fire it goes "
	    "(a removed job)");

	/* both rules: the dry run counts each run once, as prune deletes */
	mjob = add_job(st, "prune-mixed");
	for (k = 0; k < 40; k++)
		add_run(st, mjob, 1, base + (k % 2 ? 40 - k : k) * MIN,
		    TRIGGER_MANUAL, 1, k % 5 == 0 ? RUN_FAILED : RUN_SUCCEEDED,
		    k % 5 == 0 ? RESOLUTION_OPEN : RESOLUTION_NONE);
	store_prune_bounds(st, mjob, 10, base + 15 * MIN, 0, &r, NULL);
	got = prune_count(st, &r, 3);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE job_id = "
	    "%lld AND (scheduled_at < %lld OR (id < %lld AND resolution IS "
	    "NOT 'open'))", (long long)mjob, (long long)r.before,
	    (long long)r.cut);
	is_int(got, raw_int(sql), "dry run (chunks of 3): %lld, as the rule "
	    "says", (long long)got);
	is_int(prune_all(st, &r, 7, NULL), got, "prune deletes as many");
	is_int(prune_count(st, &r, 3), 0, "and then none would go");

	/* the jobs retention walks: those with runs, live or removed */
	empty = add_job(st, "prune-empty");
	store_job_remove(st, fjob, T0 + MIN, NULL);
	is_int(store_prune_jobs(st, 0, 0, &jobs, &n, NULL), STORE_OK,
	    "list jobs to prune");
	found = 0;
	for (i = 0; i < n; i++) {
		if (jobs[i].id == empty)
			found |= 1;
		if (jobs[i].id == job && strcmp(jobs[i].name, "prune-me") == 0 &&
		    jobs[i].keep_runs == JOB_UNSET && !jobs[i].removed)
			found |= 2;
		if (i > 0 && jobs[i].id <= jobs[i - 1].id)
			found |= 4;
	}
	is_int(found, 2, "jobs with runs, by id, options unset as unset");
	store_prune_jobs_free(jobs, n);
	store_prune_jobs(st, job, 1, &jobs, &n, NULL);
	ok(n == 1 && jobs[0].id == mjob, "after an id, limit 1");
	store_prune_jobs_free(jobs, n);
	is_int(store_prune_job(st, fjob, &one, NULL), STORE_OK, "one job");
	ok(one.removed && strcmp(one.name, "prune-fire") == 0,
	    "a removed job is still there for retention");
	free(one.name);
	is_int(store_prune_job(st, 424242, &one, NULL), STORE_NOTFOUND,
	    "no such job: STORE_NOTFOUND");

	/* every statement uses an index: no full scan of runs */
	is_int(store_prune_plan(st, &plan, NULL), STORE_OK, "prune plans");
	ok_plan = plan != NULL && strstr(plan, "SCAN r\n") == NULL &&
	    strstr(plan, "SCAN runs\n") == NULL &&
	    strstr(plan, "SCAN j\n") == NULL;
	ok(ok_plan, "no full scan in any retention statement");
	p = plan != NULL ? strstr(plan, "delete old:\n") : NULL;
	q = plan != NULL ? strstr(plan, "delete many:\n") : NULL;
	ok(p != NULL && q != NULL && strstr(p, "sqlite_autoindex_runs_1 "
	    "(job_id=? AND scheduled_at<?)") != NULL && strstr(q,
	    "runs_prunable (job_id=? AND id<?)") != NULL, "deletes by age use "
	    "the fires' index, beyond keep_runs the index runs_prunable");
	ok(plan != NULL && strstr(plan, "run_output USING INTEGER PRIMARY "
	    "KEY") != NULL && strstr(plan, "runs_replay_of (replay_of=?)") !=
	    NULL, "their cascades use indexes too");
	diag_plan(plan);
	free(plan);
}

static void
cleanup(void)
{
	static const char *const files[] = { "sqcron.db", "sqcron.db-wal",
	    "sqcron.db-shm" };
	char	path[600];
	size_t	i;

	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int
main(void)
{
	struct store	*st;
	char		*cause = NULL;
	const char	*tmp;
	int64_t		 ja, jb;

	tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/sqcron-101.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		BAIL_OUT("mkdtemp %s: %s", dir, strerror(errno));
	atexit(cleanup);
	snprintf(dbpath, sizeof dbpath, "%s/sqcron.db", dir);

	st = store_open(dbpath, 0, &cause);
	ok(st != NULL, "open a new database");
	if (st == NULL)
		BAIL_OUT("%s", cause);
	is_int(store_version(st), (int64_t)store_nmigrations,
	    "at the newest schema version");
	if (sqlite3_open(dbpath, &raw) != SQLITE_OK)
		BAIL_OUT("sqlite3_open: %s", sqlite3_errmsg(raw));
	sqlite3_busy_timeout(raw, 2000);
	is(raw_text("PRAGMA journal_mode"), "wal", "the database is in WAL mode");

	test_jobs(st, &ja, &jb);
	test_runs(st, ja, jb);
	test_list(st, ja, jb);
	test_health(st);
	test_recover(st, ja);
	test_audit_meta(st);
	test_transactions(st, ja);
	test_busy(st, ja);
	test_prune(st);

	is_int(raw_int("SELECT count(*) FROM pragma_foreign_key_check"), 0,
	    "no dangling foreign keys");
	store_close(st);
	sqlite3_close(raw);
	return done_testing();
}
