/*
 * store.c: every SQL statement of sqcrond, its migrations, and nothing
 * else that touches sqlite3 (store.h).
 *
 * Shape, after flux-core's content-sqlite.c: the SQL is named constants at
 * the top of this file; store_open prepares each statement once; every
 * call binds, steps and resets, on every path (a statement left unreset
 * would hold a read transaction open and stall WAL checkpoints); values
 * are always bound, never formatted into SQL; and one helper,
 * store_report, turns every failure into a STORE_* code, a cause and a
 * log line.
 *
 * Rows and structs meet through two tables, spec_fields and run_fields:
 * one row per column, with its C type and offset.  Binding and reading
 * walk them, and store_open checks that the column lists below name the
 * same columns in the same order, so adding an option is a migration, a
 * word in SPEC_COLS and a row in spec_fields.
 *
 * Locking: sqcrond's event loop must never wait long on SQLite, so once
 * open the busy timeout is STORE_BUSY_TIMEOUT_MS and a locked database
 * answers STORE_BUSY; the caller keeps the record and retries from a
 * timer.  Writes of several statements take the write lock first (BEGIN
 * IMMEDIATE), so they either fail before changing anything or hold the
 * lock to the end.
 *
 * This file does not decide anything: which state a run ends in, when a
 * retry is due or what to replay is policy's; it records and answers.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "job.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

/* PRAGMA application_id of an sqcron database ('SQCR'), set by 0001. */
#define STORE_APPLICATION_ID	0x53514352
/* Start-up may wait for a lock: the event loop is not running yet. */
#define STORE_OPEN_BUSY_TIMEOUT_MS 5000

/*
 * Set-up, run once by store_open.  PRAGMAs take no bound parameters, so
 * the one that needs a number (user_version) is formatted from the
 * migration table, never from a caller's text.
 */
#define SQL_JOURNAL_WAL		"PRAGMA journal_mode = WAL"
#define SQL_SYNC_NORMAL		"PRAGMA synchronous = NORMAL"
#define SQL_SYNC_FULL		"PRAGMA synchronous = FULL"
#define SQL_FOREIGN_KEYS_ON	"PRAGMA foreign_keys = ON"
#define SQL_FOREIGN_KEYS_OFF	"PRAGMA foreign_keys = OFF"
#define SQL_TRUSTED_SCHEMA_OFF	"PRAGMA trusted_schema = OFF"
/*
 * 512 KiB of page cache (SQLite's default is 2 MiB): the kernel's page
 * cache holds the file anyway, and an idle daemon with 10,000 jobs should
 * stay under 8 MB; index lookups need a handful of pages.
 */
#define SQL_CACHE_SIZE		"PRAGMA cache_size = -512"
/*
 * A checkpoint copies the WAL into the database and syncs it inside the
 * commit that takes the WAL past this many pages, holding the event
 * loop meanwhile.  SQLite's 1000 pages (4 MB) made that 40-50 ms when
 * retention deleted in bulk (contrib/bench/bench-prune); 250 pages keep
 * it to about a quarter, for a few per cent more syncs.
 */
#define SQL_WAL_AUTOCHECKPOINT	"PRAGMA wal_autocheckpoint = 250"
#define SQL_USER_VERSION	"PRAGMA user_version"
#define SQL_SET_USER_VERSION	"PRAGMA user_version = %d"
#define SQL_APPLICATION_ID	"PRAGMA application_id"
#define SQL_SCHEMA_OBJECTS	"SELECT count(*) FROM sqlite_schema"
#define SQL_FOREIGN_KEY_CHECK	"PRAGMA foreign_key_check"
#define SQL_EXPLAIN		"EXPLAIN QUERY PLAN %s"

/* Transactions: a call's own, or a savepoint inside the caller's. */
#define SQL_BEGIN		"BEGIN IMMEDIATE"
#define SQL_COMMIT		"COMMIT"
#define SQL_ROLLBACK		"ROLLBACK"
#define SQL_SAVEPOINT		"SAVEPOINT store_call"
#define SQL_RELEASE		"RELEASE store_call"
#define SQL_ROLLBACK_TO		"ROLLBACK TO store_call"

/*
 * A job's definition: the columns of spec_fields, in its order, bound as
 * ?1 to ?35 wherever a spec is written.
 */
#define SPEC_COLS \
	"name, schedule, command, timezone, user, env, workdir, " \
	"timeout_ms, memory, cpu_ms, nofile, nproc, nice, rlimit_as, " \
	"kill_grace_ms, kill_orphans, overlap, retries, backoff_ms, " \
	"backoff_max_ms, no_retry_exit, catchup, starting_deadline_ms, " \
	"jitter_ms, output_max, keep_runs, keep_days_ms, pause_after, " \
	"stale_after_ms, notify, notify_on, ping_url, mailto, description, " \
	"stdin_data"
#define SPEC_PARAMS \
	"?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, " \
	"?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, " \
	"?29, ?30, ?31, ?32, ?33, ?34, ?35"
#define SPEC_NPARAMS		35
/* Where the job's own columns go: the first JOB_NCOLS of a job select. */
#define JOB_COLS \
	"id, source, line, owner_uid, version, paused, paused_until, " \
	"paused_reason, created_at, updated_at, resumed_at, removed_at, " \
	SPEC_COLS
#define JOB_NCOLS		12

#define SQL_JOB_INSERT \
	"INSERT INTO jobs (" SPEC_COLS ", source, line, owner_uid, " \
	"created_at, updated_at) VALUES (" SPEC_PARAMS ", ?36, ?37, ?38, " \
	"?39, ?39)"
/* The row job_versions keeps of the job's current version. */
#define SQL_JOB_SNAPSHOT \
	"INSERT INTO job_versions (job_id, version, created_at, source, " \
	"line, owner_uid, " SPEC_COLS ") SELECT id, version, updated_at, " \
	"source, line, owner_uid, " SPEC_COLS " FROM jobs WHERE id = ?1"
/* Only when something differs: an unchanged definition keeps its version. */
#define SQL_JOB_UPDATE \
	"UPDATE jobs SET (" SPEC_COLS ", source, line, owner_uid) = (" \
	SPEC_PARAMS ", ?36, ?37, ?38), version = version + 1, " \
	"updated_at = ?39 WHERE id = ?40 AND removed_at IS NULL AND (" \
	SPEC_COLS ", source, line, owner_uid) IS NOT (" SPEC_PARAMS ", " \
	"?36, ?37, ?38)"
#define SQL_JOB_VERSION \
	"SELECT version, updated_at FROM jobs " \
	"WHERE id = ?1 AND removed_at IS NULL"
#define SQL_JOB_REMOVE \
	"UPDATE jobs SET removed_at = ?2 WHERE id = ?1 AND removed_at IS NULL"
#define SQL_JOB_SET_LINE \
	"UPDATE jobs SET line = ?2 WHERE id = ?1 AND removed_at IS NULL"
#define SQL_JOB_PAUSE \
	"UPDATE jobs SET paused = 1, paused_until = ?2, paused_reason = ?3 " \
	"WHERE id = ?1 AND removed_at IS NULL"
#define SQL_JOB_RESUME \
	"UPDATE jobs SET resumed_at = CASE WHEN paused THEN ?2 " \
	"ELSE resumed_at END, paused = 0, paused_until = NULL, " \
	"paused_reason = NULL WHERE id = ?1 AND removed_at IS NULL"
#define SQL_JOB_GET \
	"SELECT " JOB_COLS " FROM jobs WHERE name = ?1 AND removed_at IS NULL"
#define SQL_JOB_GET_ID \
	"SELECT " JOB_COLS " FROM jobs WHERE id = ?1"
#define SQL_JOB_GET_VERSION \
	"SELECT job_id, source, line, owner_uid, version, 0, NULL, NULL, " \
	"created_at, created_at, NULL, NULL, " SPEC_COLS \
	" FROM job_versions WHERE job_id = ?1 AND version = ?2"
/* The database answers: a page of it is read (from the cache, mostly). */
#define SQL_PING \
	"SELECT count(*) FROM (SELECT 1 FROM jobs LIMIT 1)"
#define SQL_JOB_LIST \
	"SELECT " JOB_COLS " FROM jobs WHERE removed_at IS NULL " \
	"AND (?1 IS NULL OR owner_uid = ?1) ORDER BY name"
/*
 * Last run, last success, and the failure streak (store.h, struct
 * job_health): fires in a failure state recorded after the last success
 * and the last resume, not waiting for a retry, each fire once.  The
 * last success comes from job_metrics (0005), so that deleting its run
 * changes neither it nor the streak.
 */
#define SQL_FAILURE_STREAK \
	"CASE WHEN l.id IS NULL OR l.state = 'succeeded' THEN 0 ELSE " \
	"(SELECT count(DISTINCT f.scheduled_at) FROM runs AS f " \
	"WHERE f.job_id = j.id AND f.id > coalesce(m.last_success_run, 0) " \
	"AND f.state IN ('failed', 'timeout', 'oom', 'crashed', 'killed', " \
	"'lost', 'spawn_error', 'missed') " \
	"AND f.resolution IS NOT 'retrying' " \
	"AND f.queued_at >= coalesce(j.resumed_at, 0)) END "
/* Job j, its newest run l and its metrics m (the streak's FROM). */
#define SQL_HEALTH_FROM \
	"FROM jobs AS j " \
	"LEFT JOIN runs AS l ON l.id = " \
	"(SELECT max(id) FROM runs WHERE job_id = j.id) " \
	"LEFT JOIN job_metrics AS m ON m.job_id = j.id "
#define SQL_HEALTH_COLS \
	"SELECT j.id, l.id, l.state, l.scheduled_at, m.last_success_at, " \
	SQL_FAILURE_STREAK SQL_HEALTH_FROM
#define SQL_JOB_HEALTH \
	SQL_HEALTH_COLS "WHERE j.id = ?1"
/* The same for every live job (of one owner), in one statement. */
#define SQL_JOBS_HEALTH \
	SQL_HEALTH_COLS "WHERE j.removed_at IS NULL " \
	"AND (?1 IS NULL OR j.owner_uid = ?1) ORDER BY j.id"

/*
 * A run: the columns of run_fields after id and job, in its order.  Left
 * unqualified so that one list serves the insert and the selects (which
 * join jobs: no other column name is shared).
 */
#define RUN_COLS \
	"job_id, job_version, scheduled_at, trigger, attempt, replay_of, " \
	"state, exit_code, signal, core_dumped, reason, queued_at, " \
	"started_at, ended_at, duration_ms, pid, max_rss_kb, user_cpu_ms, " \
	"sys_cpu_ms, output_bytes, resolution"
#define RUN_SELECT \
	"SELECT r.id, j.name AS job, " RUN_COLS \
	" FROM runs AS r JOIN jobs AS j ON j.id = r.job_id"
#define SQL_RUN_INSERT \
	"INSERT INTO runs (" RUN_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, " \
	"?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, " \
	"?21)"
#define RUN_NPARAMS		21
#define SQL_RUN_START \
	"UPDATE runs SET state = 'running', started_at = ?2, pid = ?3, " \
	"pid_start_time = ?4 WHERE id = ?1 AND state IN ('queued', 'running')"
#define SQL_RUN_FINISH \
	"UPDATE runs SET state = ?2, exit_code = ?3, signal = ?4, " \
	"core_dumped = ?5, reason = ?6, ended_at = ?7, duration_ms = ?8, " \
	"max_rss_kb = ?9, user_cpu_ms = ?10, sys_cpu_ms = ?11, " \
	"output_bytes = ?12, resolution = ?13 " \
	"WHERE id = ?1 AND state IN ('queued', 'running')"
#define SQL_OUTPUT_PUT \
	"INSERT INTO run_output (run_id, head, tail, omitted) " \
	"VALUES (?1, ?2, ?3, ?4) ON CONFLICT (run_id) DO UPDATE SET " \
	"head = excluded.head, tail = excluded.tail, omitted = excluded.omitted"
#define SQL_RUN_RESOLVE \
	"UPDATE runs SET resolution = ?2 WHERE id = ?1"
#define SQL_FIRE_SUPERSEDE \
	"UPDATE runs SET resolution = 'superseded' WHERE job_id = ?1 " \
	"AND scheduled_at = ?2 AND id < ?3 " \
	"AND resolution IN ('open', 'retrying')"
#define SQL_RUN_GET \
	RUN_SELECT " WHERE r.id = ?1"
#define SQL_OUTPUT_GET \
	"SELECT o.head, o.tail, o.omitted FROM runs AS r " \
	"LEFT JOIN run_output AS o ON o.run_id = r.id WHERE r.id = ?1"

/*
 * run.list: one statement per access path, chosen by store_run_list_stmt;
 * each leads with the terms its index serves and carries every filter
 * after, with "+" on columns that must not pick another index.  Unset
 * bounds are bound as the widest integers; ?2 is ",state,state,".
 */
#define RUN_WHERE \
	" AND (?1 IS NULL OR +r.job_id = ?1)" \
	" AND (?2 IS NULL OR instr(?2, ',' || r.state || ',') > 0)" \
	" AND +r.scheduled_at >= ?3 AND +r.scheduled_at < ?4" \
	" AND +r.id < ?5" \
	" AND (?6 = 0 OR +r.resolution = 'open')" \
	" AND (?7 IS NULL OR j.owner_uid = ?7)"
#define RUN_FILTER \
	RUN_WHERE " ORDER BY r.id DESC LIMIT ?8"
#define SQL_RUNS_BY_JOB \
	RUN_SELECT " WHERE r.job_id = ?1 AND r.id < ?5" RUN_FILTER
#define SQL_RUNS_OPEN \
	RUN_SELECT " WHERE r.resolution = 'open' AND r.id < ?5" RUN_FILTER
#define SQL_RUNS_LIVE \
	RUN_SELECT " WHERE r.state IN ('queued', 'running')" RUN_FILTER
#define SQL_RUNS_BY_TIME \
	RUN_SELECT " WHERE r.scheduled_at >= ?3 AND r.scheduled_at < ?4" \
	RUN_FILTER
#define SQL_RUNS_ALL \
	RUN_SELECT " WHERE r.id < ?5" RUN_FILTER
/*
 * Export pages (store_run_page), oldest first: the end of the next
 * window of ?4 runs after ?2 (of job ?1), then the runs of the window
 * that pass the filter, through the primary key or runs_job.  ?8 (the
 * limit) is unused: the window bounds a page.
 */
#define SQL_PAGE_END \
	"SELECT max(id) FROM (SELECT id FROM runs WHERE id > ?2 AND id <= ?3 " \
	"ORDER BY id LIMIT ?4)"
#define SQL_PAGE_END_JOB \
	"SELECT max(id) FROM (SELECT id FROM runs WHERE job_id = ?1 " \
	"AND id > ?2 AND id <= ?3 ORDER BY id LIMIT ?4)"
#define SQL_RUNS_PAGE \
	RUN_SELECT " WHERE r.id > ?9 AND r.id <= ?10" RUN_WHERE " ORDER BY r.id"
#define SQL_RUNS_PAGE_JOB \
	RUN_SELECT " WHERE r.job_id = ?1 AND r.id > ?9 AND r.id <= ?10" \
	RUN_WHERE " ORDER BY r.id"
#define SQL_RUN_LAST_ID \
	"SELECT coalesce(max(id), 0) FROM runs"

/* Start-up; "state IN (...)" selects the partial index runs_live. */
#define SQL_RUNS_RUNNING \
	"SELECT id, job_id, pid, pid_start_time, started_at FROM runs " \
	"WHERE state IN ('queued', 'running') AND state = 'running' " \
	"ORDER BY id"
#define SQL_RUNS_LOSE \
	"UPDATE runs SET state = 'lost', reason = ?1, ended_at = ?2, " \
	"resolution = 'open' " \
	"WHERE state IN ('queued', 'running') AND state = 'running'"
#define SQL_RUNS_QUEUED \
	RUN_SELECT " WHERE r.state IN ('queued', 'running') " \
	"AND r.state = 'queued' ORDER BY r.scheduled_at, r.id"
/* Failed attempts whose retry was not created yet (runs_retrying). */
#define SQL_RUNS_RETRYING \
	RUN_SELECT " WHERE r.resolution = 'retrying' ORDER BY r.id"
#define SQL_FIRE_LATEST \
	"SELECT scheduled_at FROM runs WHERE job_id = ?1 " \
	"AND trigger IN ('schedule', 'catchup') " \
	"ORDER BY scheduled_at DESC LIMIT 1"
#define SQL_FIRE_LAST_ATTEMPT \
	"SELECT max(attempt) FROM runs WHERE job_id = ?1 AND scheduled_at = ?2"

/* Replays (0003-replay.sql). */
#define SQL_FIRE_REPLAYS \
	"SELECT id, state FROM runs WHERE job_id = ?1 AND scheduled_at = ?2 " \
	"AND trigger = 'replay' ORDER BY id DESC"
#define SQL_BATCH_INSERT \
	"INSERT INTO replay_batches (requested_at, uid, pid, key, request, " \
	"max_parallel) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
#define SQL_BATCH_BY_KEY \
	"SELECT id, answer FROM replay_batches WHERE key = ?1"
#define SQL_BATCH_ANSWER \
	"UPDATE replay_batches SET answer = ?2 WHERE id = ?1"
#define SQL_BATCH_GET \
	"SELECT id, requested_at, uid, key, request, max_parallel " \
	"FROM replay_batches WHERE id = ?1"
#define SQL_TARGET_INSERT \
	"INSERT INTO replay_targets (batch_id, run_id, status, replay_run) " \
	"VALUES (?1, ?2, ?3, ?4)"
#define SQL_TARGETS_GET \
	"SELECT t.run_id, t.status, t.replay_run, r.state " \
	"FROM replay_targets AS t LEFT JOIN runs AS r ON r.id = t.replay_run " \
	"WHERE t.batch_id = ?1 ORDER BY t.run_id"
#define SQL_BATCH_OF_RUN \
	"SELECT b.id, b.max_parallel FROM replay_targets AS t " \
	"JOIN replay_batches AS b ON b.id = t.batch_id WHERE t.replay_run = ?1"
/* Open failures per job (status), of owner ?1's jobs or all; runs_open. */
#define SQL_OPEN_BY_JOB \
	"SELECT j.name, count(*), max(r.scheduled_at) FROM runs AS r " \
	"JOIN jobs AS j ON j.id = r.job_id WHERE r.resolution = 'open' " \
	"AND (?1 IS NULL OR j.owner_uid = ?1) " \
	"GROUP BY r.job_id ORDER BY j.name"
/*
 * Open failures grouped by job, state and exit status or signal, for
 * fires since ?1 (the runbooks' failure pattern analysis), of owner ?2's
 * jobs or all.
 */
#define SQL_FAILURES \
	"SELECT j.name, r.state, r.exit_code, r.signal, count(*), " \
	"min(r.scheduled_at), max(r.scheduled_at) FROM runs AS r " \
	"JOIN jobs AS j ON j.id = r.job_id " \
	"WHERE r.resolution = 'open' AND r.scheduled_at >= ?1 " \
	"AND (?2 IS NULL OR j.owner_uid = ?2) " \
	"GROUP BY r.job_id, r.state, r.exit_code, r.signal " \
	"ORDER BY count(*) DESC, j.name"
#define SQL_JOB_COUNTS \
	"SELECT count(*), coalesce(sum(paused), 0) FROM jobs " \
	"WHERE removed_at IS NULL AND (?1 IS NULL OR owner_uid = ?1)"
#define SQL_FIRE_ACK \
	"UPDATE runs SET resolution = 'acked' WHERE job_id = ?1 " \
	"AND scheduled_at = ?2 AND resolution IN ('open', 'retrying')"
/*
 * Retention (store.h, struct store_retention).  "r.state NOT IN
 * ('queued', 'running') AND r.resolution IS NOT 'open'" word for word
 * selects the partial index runs_prunable (0004): the runs keep_runs may
 * delete, by job and id.  The age rule walks the job's fires in the
 * index of UNIQUE (job_id, scheduled_at, attempt).  Deletes go through
 * "id IN (SELECT ... LIMIT)", so one batch is bounded; SQLite then
 * deletes run_output rows (cascade) and clears replay_of of replays
 * (runs_replay_of) for each run.
 */
#define PRUNE_ENDED	"r.state NOT IN ('queued', 'running')"
#define PRUNE_NOT_OPEN	"r.resolution IS NOT 'open'"
#define PRUNE_REPLAYING \
	"EXISTS (SELECT 1 FROM runs AS l WHERE l.replay_of = r.id " \
	"AND l.state IN ('queued', 'running'))"
#define PRUNE_JOB_COLS \
	"SELECT j.id, j.name, j.keep_runs, j.keep_days_ms, " \
	"j.removed_at IS NOT NULL FROM jobs AS j"
#define SQL_PRUNE_JOBS \
	PRUNE_JOB_COLS " WHERE j.id > ?1 " \
	"AND EXISTS (SELECT 1 FROM runs WHERE job_id = j.id) " \
	"ORDER BY j.id LIMIT ?2"
#define SQL_PRUNE_JOB \
	PRUNE_JOB_COLS " WHERE j.id = ?1"
/* The job's keep_runs-th newest run (?2 is keep_runs - 1). */
#define SQL_PRUNE_CUT \
	"SELECT id FROM runs WHERE job_id = ?1 ORDER BY id DESC " \
	"LIMIT 1 OFFSET ?2"
/* The run of the latest scheduled fire, as store_fire_latest finds it. */
#define SQL_PRUNE_FIRE \
	"SELECT id FROM runs WHERE job_id = ?1 " \
	"AND trigger IN ('schedule', 'catchup') " \
	"ORDER BY scheduled_at DESC LIMIT 1"
/* ?1 job, ?2 before, ?3 keep_id, ?4 batch. */
#define SQL_PRUNE_DELETE_OLD \
	"DELETE FROM runs WHERE id IN (SELECT r.id FROM runs AS r " \
	"WHERE r.job_id = ?1 AND r.scheduled_at < ?2 AND " PRUNE_ENDED \
	" AND r.id IS NOT ?3 AND NOT " PRUNE_REPLAYING \
	" ORDER BY r.scheduled_at LIMIT ?4)"
/* ?1 job, ?2 cut, ?3 keep_id, ?4 batch. */
#define SQL_PRUNE_DELETE_MANY \
	"DELETE FROM runs WHERE id IN (SELECT r.id FROM runs AS r " \
	"WHERE r.job_id = ?1 AND r.id < ?2 AND " PRUNE_ENDED " AND " \
	PRUNE_NOT_OPEN " AND r.id IS NOT ?3 AND NOT " PRUNE_REPLAYING \
	" ORDER BY r.id LIMIT ?4)"
/* Dry run, beyond keep_runs: ?5 runs after id ?4; how many, the last. */
#define SQL_PRUNE_COUNT_MANY \
	"SELECT count(*), max(id) FROM (SELECT r.id FROM runs AS r " \
	"WHERE r.job_id = ?1 AND r.id < ?2 AND r.id > ?4 AND " PRUNE_ENDED \
	" AND " PRUNE_NOT_OPEN " AND r.id IS NOT ?3 AND NOT " \
	PRUNE_REPLAYING " ORDER BY r.id LIMIT ?5)"
/*
 * Dry run, old fires: ?7 runs after (?4, ?5) in (scheduled_at, attempt)
 * order, each with 1 when it goes and SQL_PRUNE_COUNT_MANY did not count
 * it (?6 is the cut, or the smallest integer when there is none).
 */
#define SQL_PRUNE_COUNT_OLD \
	"SELECT r.scheduled_at, r.attempt, " PRUNE_ENDED \
	" AND r.id IS NOT ?3 AND NOT " PRUNE_REPLAYING \
	" AND (r.id >= ?6 OR r.resolution IS 'open') FROM runs AS r " \
	"WHERE r.job_id = ?1 AND r.scheduled_at < ?2 " \
	"AND (r.scheduled_at, r.attempt) > (?4, ?5) " \
	"ORDER BY r.scheduled_at, r.attempt LIMIT ?7"
/* ?1 job, ?2 keep_id. */
#define SQL_PRUNE_OLDEST \
	"SELECT r.scheduled_at FROM runs AS r WHERE r.job_id = ?1 AND " \
	PRUNE_ENDED " AND r.id IS NOT ?2 ORDER BY r.scheduled_at LIMIT 1"

#define SQL_AUDIT_INSERT \
	"INSERT INTO audit (at, uid, pid, method, params, outcome, error) " \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
#define SQL_AUDIT_LIST \
	"SELECT id, at, uid, pid, method, params, outcome, error FROM audit " \
	"WHERE at >= ?1 AND at < ?2 AND (?4 IS NULL OR uid = ?4) " \
	"ORDER BY at DESC, id DESC LIMIT ?3"

/*
 * The notification outbox (0006-outbox.sql).  "state = 'pending'" word
 * for word selects the partial indexes outbox_due and outbox_run.  A row
 * is ready when no older pending row of its run goes to the same place:
 * its URL, or for a ping the job's ping_url (URL/start, URL, URL/fail),
 * so that a run's events reach a receiver in order.
 */
#define OUTBOX_COLS \
	"id, created_at, event, kind, job_id, run_id, url, content_type, " \
	"body, attempts, next_at, last_error"
#define SQL_OUTBOX_ADD \
	"INSERT INTO outbox (created_at, event, kind, job_id, run_id, url, " \
	"content_type, body, next_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, " \
	"?8, ?1)"
#define OUTBOX_READY \
	"o.state = 'pending' AND NOT EXISTS (SELECT 1 FROM outbox AS b " \
	"WHERE b.run_id = o.run_id AND b.state = 'pending' " \
	"AND b.id < o.id AND b.kind = o.kind " \
	"AND (o.kind = 'ping' OR b.url = o.url))"
#define SQL_OUTBOX_DUE \
	"SELECT " OUTBOX_COLS " FROM outbox AS o WHERE " OUTBOX_READY \
	" AND o.next_at <= ?1 ORDER BY o.next_at, o.id LIMIT ?2"
#define SQL_OUTBOX_NEXT \
	"SELECT o.next_at FROM outbox AS o WHERE " OUTBOX_READY \
	" ORDER BY o.next_at LIMIT 1"
#define SQL_OUTBOX_TRY \
	"UPDATE outbox SET attempts = attempts + 1, next_at = ?2 " \
	"WHERE id = ?1 AND state = 'pending'"
#define SQL_OUTBOX_RETRY \
	"UPDATE outbox SET next_at = ?2, last_error = ?3 " \
	"WHERE id = ?1 AND state = 'pending'"
#define SQL_OUTBOX_KILL \
	"UPDATE outbox SET state = 'dead', dead_at = ?2, last_error = ?3 " \
	"WHERE id = ?1 AND state = 'pending'"
/* Dead rows beyond the newest ?1. */
#define SQL_OUTBOX_TRIM \
	"DELETE FROM outbox WHERE state = 'dead' AND id <= (SELECT id " \
	"FROM outbox WHERE state = 'dead' ORDER BY id DESC LIMIT 1 " \
	"OFFSET ?1)"
#define SQL_OUTBOX_DONE \
	"DELETE FROM outbox WHERE id = ?1"
#define SQL_OUTBOX_REARM \
	"UPDATE outbox SET next_at = ?1 WHERE state = 'pending' " \
	"AND next_at > ?1"
/* ?1 an owner's jobs only, or NULL. */
#define SQL_OUTBOX_COUNT \
	"SELECT count(*) FILTER (WHERE o.state = 'pending'), " \
	"count(*) FILTER (WHERE o.state = 'dead') FROM outbox AS o " \
	"WHERE ?1 IS NULL OR EXISTS (SELECT 1 FROM jobs AS j " \
	"WHERE j.id = o.job_id AND j.owner_uid = ?1)"

/*
 * Metrics (0005-metrics.sql): every live job with its counters and its
 * failure streak in one statement, whatever the number of jobs.  The
 * state columns are in enum run_state order from succeeded, the buckets
 * in store_duration_bucket_ms's.
 */
#define METRIC_STATE_COLS \
	"m.succeeded, m.failed, m.timeout, m.oom, m.crashed, m.killed, " \
	"m.lost, m.spawn_error, m.skipped, m.missed"
#define METRIC_NSTATES		10
#define METRIC_LE_COLS \
	"m.le_100ms, m.le_1s, m.le_5s, m.le_15s, m.le_1m, m.le_5m, " \
	"m.le_15m, m.le_30m, m.le_1h, m.le_3h"
#define SQL_JOB_METRICS \
	"SELECT j.id, j.name, j.paused, j.created_at, j.resumed_at, " \
	"j.stale_after_ms, m.last_run_at, m.last_success_at, " \
	SQL_FAILURE_STREAK ", " METRIC_STATE_COLS ", m.duration_count, " \
	"m.duration_sum_ms, " METRIC_LE_COLS " " SQL_HEALTH_FROM \
	"WHERE j.removed_at IS NULL AND (?1 IS NULL OR j.owner_uid = ?1) " \
	"ORDER BY j.name"
#define METRIC_NCOLS		9	/* before the state columns */
/* Open failures through runs_open; the replay counters. */
#define SQL_METRIC_TOTALS \
	"SELECT (SELECT count(*) FROM runs WHERE resolution = 'open'), " \
	"(SELECT count FROM replay_metrics WHERE result = 'succeeded'), " \
	"(SELECT count FROM replay_metrics WHERE result = 'failed')"

#define SQL_META_GET \
	"SELECT value FROM meta WHERE key = ?1"
#define SQL_META_SET \
	"INSERT INTO meta (key, value) VALUES (?1, ?2) " \
	"ON CONFLICT (key) DO UPDATE SET value = excluded.value"

enum store_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_JOB_INSERT,
	ST_JOB_SNAPSHOT,
	ST_JOB_UPDATE,
	ST_JOB_VERSION,
	ST_JOB_REMOVE,
	ST_JOB_SET_LINE,
	ST_JOB_PAUSE,
	ST_JOB_RESUME,
	ST_JOB_GET,
	ST_JOB_GET_ID,
	ST_JOB_GET_VERSION,
	ST_JOB_LIST,
	ST_PING,
	ST_JOB_HEALTH,
	ST_JOBS_HEALTH,
	ST_RUN_INSERT,
	ST_RUN_START,
	ST_RUN_FINISH,
	ST_OUTPUT_PUT,
	ST_RUN_RESOLVE,
	ST_FIRE_SUPERSEDE,
	ST_RUN_GET,
	ST_OUTPUT_GET,
	ST_RUNS_BY_JOB,
	ST_RUNS_OPEN,
	ST_RUNS_LIVE,
	ST_RUNS_BY_TIME,
	ST_RUNS_ALL,
	ST_PAGE_END,
	ST_PAGE_END_JOB,
	ST_RUNS_PAGE,
	ST_RUNS_PAGE_JOB,
	ST_RUN_LAST_ID,
	ST_RUNS_RUNNING,
	ST_RUNS_LOSE,
	ST_RUNS_QUEUED,
	ST_RUNS_RETRYING,
	ST_FIRE_LATEST,
	ST_FIRE_LAST_ATTEMPT,
	ST_PRUNE_JOBS,
	ST_PRUNE_JOB,
	ST_PRUNE_CUT,
	ST_PRUNE_FIRE,
	ST_PRUNE_DELETE_OLD,
	ST_PRUNE_DELETE_MANY,
	ST_PRUNE_COUNT_MANY,
	ST_PRUNE_COUNT_OLD,
	ST_PRUNE_OLDEST,
	ST_AUDIT_INSERT,
	ST_AUDIT_LIST,
	ST_JOB_METRICS,
	ST_METRIC_TOTALS,
	ST_META_GET,
	ST_META_SET,
	ST_FIRE_REPLAYS,
	ST_BATCH_INSERT,
	ST_BATCH_BY_KEY,
	ST_BATCH_ANSWER,
	ST_BATCH_GET,
	ST_TARGET_INSERT,
	ST_TARGETS_GET,
	ST_BATCH_OF_RUN,
	ST_FIRE_ACK,
	ST_OPEN_BY_JOB,
	ST_JOB_COUNTS,
	ST_FAILURES,
	ST_OUTBOX_ADD,
	ST_OUTBOX_DUE,
	ST_OUTBOX_NEXT,
	ST_OUTBOX_TRY,
	ST_OUTBOX_RETRY,
	ST_OUTBOX_KILL,
	ST_OUTBOX_TRIM,
	ST_OUTBOX_DONE,
	ST_OUTBOX_REARM,
	ST_OUTBOX_COUNT,
	ST_COUNT
};

static const char *const store_sql[ST_COUNT] = {
	[ST_BEGIN] = SQL_BEGIN,
	[ST_COMMIT] = SQL_COMMIT,
	[ST_ROLLBACK] = SQL_ROLLBACK,
	[ST_SAVEPOINT] = SQL_SAVEPOINT,
	[ST_RELEASE] = SQL_RELEASE,
	[ST_ROLLBACK_TO] = SQL_ROLLBACK_TO,
	[ST_JOB_INSERT] = SQL_JOB_INSERT,
	[ST_JOB_SNAPSHOT] = SQL_JOB_SNAPSHOT,
	[ST_JOB_UPDATE] = SQL_JOB_UPDATE,
	[ST_JOB_VERSION] = SQL_JOB_VERSION,
	[ST_JOB_REMOVE] = SQL_JOB_REMOVE,
	[ST_JOB_SET_LINE] = SQL_JOB_SET_LINE,
	[ST_JOB_PAUSE] = SQL_JOB_PAUSE,
	[ST_JOB_RESUME] = SQL_JOB_RESUME,
	[ST_JOB_GET] = SQL_JOB_GET,
	[ST_JOB_GET_ID] = SQL_JOB_GET_ID,
	[ST_JOB_GET_VERSION] = SQL_JOB_GET_VERSION,
	[ST_JOB_LIST] = SQL_JOB_LIST,
	[ST_PING] = SQL_PING,
	[ST_JOB_HEALTH] = SQL_JOB_HEALTH,
	[ST_JOBS_HEALTH] = SQL_JOBS_HEALTH,
	[ST_RUN_INSERT] = SQL_RUN_INSERT,
	[ST_RUN_START] = SQL_RUN_START,
	[ST_RUN_FINISH] = SQL_RUN_FINISH,
	[ST_OUTPUT_PUT] = SQL_OUTPUT_PUT,
	[ST_RUN_RESOLVE] = SQL_RUN_RESOLVE,
	[ST_FIRE_SUPERSEDE] = SQL_FIRE_SUPERSEDE,
	[ST_RUN_GET] = SQL_RUN_GET,
	[ST_OUTPUT_GET] = SQL_OUTPUT_GET,
	[ST_RUNS_BY_JOB] = SQL_RUNS_BY_JOB,
	[ST_RUNS_OPEN] = SQL_RUNS_OPEN,
	[ST_RUNS_LIVE] = SQL_RUNS_LIVE,
	[ST_RUNS_BY_TIME] = SQL_RUNS_BY_TIME,
	[ST_RUNS_ALL] = SQL_RUNS_ALL,
	[ST_PAGE_END] = SQL_PAGE_END,
	[ST_PAGE_END_JOB] = SQL_PAGE_END_JOB,
	[ST_RUNS_PAGE] = SQL_RUNS_PAGE,
	[ST_RUNS_PAGE_JOB] = SQL_RUNS_PAGE_JOB,
	[ST_RUN_LAST_ID] = SQL_RUN_LAST_ID,
	[ST_RUNS_RUNNING] = SQL_RUNS_RUNNING,
	[ST_RUNS_LOSE] = SQL_RUNS_LOSE,
	[ST_RUNS_QUEUED] = SQL_RUNS_QUEUED,
	[ST_RUNS_RETRYING] = SQL_RUNS_RETRYING,
	[ST_FIRE_LATEST] = SQL_FIRE_LATEST,
	[ST_FIRE_LAST_ATTEMPT] = SQL_FIRE_LAST_ATTEMPT,
	[ST_PRUNE_JOBS] = SQL_PRUNE_JOBS,
	[ST_PRUNE_JOB] = SQL_PRUNE_JOB,
	[ST_PRUNE_CUT] = SQL_PRUNE_CUT,
	[ST_PRUNE_FIRE] = SQL_PRUNE_FIRE,
	[ST_PRUNE_DELETE_OLD] = SQL_PRUNE_DELETE_OLD,
	[ST_PRUNE_DELETE_MANY] = SQL_PRUNE_DELETE_MANY,
	[ST_PRUNE_COUNT_MANY] = SQL_PRUNE_COUNT_MANY,
	[ST_PRUNE_COUNT_OLD] = SQL_PRUNE_COUNT_OLD,
	[ST_PRUNE_OLDEST] = SQL_PRUNE_OLDEST,
	[ST_AUDIT_INSERT] = SQL_AUDIT_INSERT,
	[ST_AUDIT_LIST] = SQL_AUDIT_LIST,
	[ST_JOB_METRICS] = SQL_JOB_METRICS,
	[ST_METRIC_TOTALS] = SQL_METRIC_TOTALS,
	[ST_META_GET] = SQL_META_GET,
	[ST_META_SET] = SQL_META_SET,
	[ST_FIRE_REPLAYS] = SQL_FIRE_REPLAYS,
	[ST_BATCH_INSERT] = SQL_BATCH_INSERT,
	[ST_BATCH_BY_KEY] = SQL_BATCH_BY_KEY,
	[ST_BATCH_ANSWER] = SQL_BATCH_ANSWER,
	[ST_BATCH_GET] = SQL_BATCH_GET,
	[ST_TARGET_INSERT] = SQL_TARGET_INSERT,
	[ST_TARGETS_GET] = SQL_TARGETS_GET,
	[ST_BATCH_OF_RUN] = SQL_BATCH_OF_RUN,
	[ST_FIRE_ACK] = SQL_FIRE_ACK,
	[ST_OPEN_BY_JOB] = SQL_OPEN_BY_JOB,
	[ST_JOB_COUNTS] = SQL_JOB_COUNTS,
	[ST_FAILURES] = SQL_FAILURES,
	[ST_OUTBOX_ADD] = SQL_OUTBOX_ADD,
	[ST_OUTBOX_DUE] = SQL_OUTBOX_DUE,
	[ST_OUTBOX_NEXT] = SQL_OUTBOX_NEXT,
	[ST_OUTBOX_TRY] = SQL_OUTBOX_TRY,
	[ST_OUTBOX_RETRY] = SQL_OUTBOX_RETRY,
	[ST_OUTBOX_KILL] = SQL_OUTBOX_KILL,
	[ST_OUTBOX_TRIM] = SQL_OUTBOX_TRIM,
	[ST_OUTBOX_DONE] = SQL_OUTBOX_DONE,
	[ST_OUTBOX_REARM] = SQL_OUTBOX_REARM,
	[ST_OUTBOX_COUNT] = SQL_OUTBOX_COUNT,
};

/* How a struct field is kept in a column. */
enum store_type {
	F_STR,		/* char *; NULL */
	F_I64,		/* int64_t; JOB_UNSET is NULL */
	F_INT,		/* int; JOB_UNSET is NULL */
	F_NICE,		/* int; JOB_NICE_UNSET is NULL */
	F_BOOL,		/* int 0 or 1, never NULL */
	F_SIGNAL,	/* int; 0 is NULL */
	F_OVERLAP,	/* int OVERLAP_* by name; JOB_UNSET is NULL */
	F_CATCHUP,	/* int CATCHUP_* by name; JOB_UNSET is NULL */
	F_ENV,		/* char **env + size_t nenv, lines (store_env_encode) */
	F_STATE,	/* enum run_state by name */
	F_TRIGGER,	/* enum run_trigger by name */
	F_RESOLUTION	/* enum run_resolution by name; NONE is NULL */
};

struct store_field {
	const char	*column;
	enum store_type	 type;
	size_t		 off;
};

#define SPEC_FIELD(f, t) { #f, t, offsetof(struct job_spec, f) }
static const struct store_field spec_fields[] = {
	SPEC_FIELD(name, F_STR),
	SPEC_FIELD(schedule, F_STR),
	SPEC_FIELD(command, F_STR),
	SPEC_FIELD(timezone, F_STR),
	SPEC_FIELD(user, F_STR),
	SPEC_FIELD(env, F_ENV),
	SPEC_FIELD(workdir, F_STR),
	SPEC_FIELD(timeout_ms, F_I64),
	SPEC_FIELD(memory, F_I64),
	SPEC_FIELD(cpu_ms, F_I64),
	SPEC_FIELD(nofile, F_I64),
	SPEC_FIELD(nproc, F_I64),
	SPEC_FIELD(nice, F_NICE),
	SPEC_FIELD(rlimit_as, F_I64),
	SPEC_FIELD(kill_grace_ms, F_I64),
	SPEC_FIELD(kill_orphans, F_INT),
	SPEC_FIELD(overlap, F_OVERLAP),
	SPEC_FIELD(retries, F_INT),
	SPEC_FIELD(backoff_ms, F_I64),
	SPEC_FIELD(backoff_max_ms, F_I64),
	SPEC_FIELD(no_retry_exit, F_STR),
	SPEC_FIELD(catchup, F_CATCHUP),
	SPEC_FIELD(starting_deadline_ms, F_I64),
	SPEC_FIELD(jitter_ms, F_I64),
	SPEC_FIELD(output_max, F_I64),
	SPEC_FIELD(keep_runs, F_I64),
	SPEC_FIELD(keep_days_ms, F_I64),
	SPEC_FIELD(pause_after, F_INT),
	SPEC_FIELD(stale_after_ms, F_I64),
	SPEC_FIELD(notify, F_STR),
	SPEC_FIELD(notify_on, F_STR),
	SPEC_FIELD(ping_url, F_STR),
	SPEC_FIELD(mailto, F_STR),
	SPEC_FIELD(description, F_STR),
	SPEC_FIELD(stdin_data, F_STR),
};
#define NSPEC	(sizeof spec_fields / sizeof spec_fields[0])

/* id and job are read only; the rest is RUN_COLS. */
#define RUN_FIELD(f, t) { #f, t, offsetof(struct run, f) }
static const struct store_field run_fields[] = {
	RUN_FIELD(id, F_I64),
	RUN_FIELD(job, F_STR),
	RUN_FIELD(job_id, F_I64),
	RUN_FIELD(job_version, F_INT),
	RUN_FIELD(scheduled_at, F_I64),
	RUN_FIELD(trigger, F_TRIGGER),
	RUN_FIELD(attempt, F_INT),
	RUN_FIELD(replay_of, F_I64),
	RUN_FIELD(state, F_STATE),
	RUN_FIELD(exit_code, F_INT),
	RUN_FIELD(signal, F_SIGNAL),
	RUN_FIELD(core_dumped, F_BOOL),
	RUN_FIELD(reason, F_STR),
	RUN_FIELD(queued_at, F_I64),
	RUN_FIELD(started_at, F_I64),
	RUN_FIELD(ended_at, F_I64),
	RUN_FIELD(duration_ms, F_I64),
	RUN_FIELD(pid, F_I64),
	RUN_FIELD(max_rss_kb, F_I64),
	RUN_FIELD(user_cpu_ms, F_I64),
	RUN_FIELD(sys_cpu_ms, F_I64),
	RUN_FIELD(output_bytes, F_I64),
	RUN_FIELD(resolution, F_RESOLUTION),
};
#define NRUN	(sizeof run_fields / sizeof run_fields[0])
#define RUN_NREAD_ONLY	2	/* id, job */

_Static_assert(NSPEC == SPEC_NPARAMS, "SPEC_PARAMS and spec_fields differ");
_Static_assert(NRUN - RUN_NREAD_ONLY == RUN_NPARAMS,
    "SQL_RUN_INSERT and run_fields differ");

struct store {
	sqlite3		*db;
	sqlite3_stmt	*stmt[ST_COUNT];
	int		 version;
	/* The last STORE_ERROR, and the rows written until then. */
	char		*error;
	int64_t		 error_changes;
};

static int	store_report(int, char **, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	store_vreport(int, char **, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

/* Turn an SQLite result code into a STORE_* code. */
static int
store_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return STORE_CONSTRAINT;
		return STORE_INVALID;
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_MISUSE:
	case SQLITE_TOOBIG:
		return STORE_INVALID;
	default:
		return STORE_ERROR;
	}
}

/*
 * The one place a failure is reported: hand the message to the caller in
 * *cause (when wanted) and log it, loudly when it is not something the
 * caller expects and handles (busy, taken, missing).  Returns code.
 */
static int
store_report(int code, char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	code = store_vreport(code, cause, fmt, ap);
	va_end(ap);
	return code;
}

static int
store_vreport(int code, char **cause, const char *fmt, va_list ap)
{
	char	*msg;

	xvasprintf(&msg, fmt, ap);
	if (code == STORE_ERROR || code == STORE_INVALID)
		log_warnx("store: %s", msg);
	else
		log_debug("store: %s", msg);
	if (cause != NULL)
		*cause = msg;
	else
		free(msg);
	return code;
}

/* Report SQLite's error rc while doing what. */
static int
store_fail(struct store *st, int rc, char **cause, const char *what)
{
	const char	*msg;

	if (sqlite3_extended_errcode(st->db) == rc)
		msg = sqlite3_errmsg(st->db);
	else
		msg = sqlite3_errstr(rc);
	if (store_code(rc) == STORE_ERROR) {	/* for store_failing */
		free(st->error);
		xasprintf(&st->error, "%s: %s", what, msg);
		st->error_changes = sqlite3_total_changes64(st->db);
	}
	return store_report(store_code(rc), cause, "%s: %s", what, msg);
}

/*
 * Bind helpers: each does nothing once *rc holds an error, so a run of
 * binds is checked once at its end.
 */
static void
store_bind_null(sqlite3_stmt *s, int i, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_null(s, i);
}

static void
store_bind_text(sqlite3_stmt *s, int i, const char *v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	if (v == NULL)
		*rc = sqlite3_bind_null(s, i);
	else
		*rc = sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* A number; JOB_UNSET is NULL. */
static void
store_bind_i64(sqlite3_stmt *s, int i, int64_t v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	if (v == JOB_UNSET)
		*rc = sqlite3_bind_null(s, i);
	else
		*rc = sqlite3_bind_int64(s, i, v);
}

/* A number always present (bounds, counts). */
static void
store_bind_int64(sqlite3_stmt *s, int i, int64_t v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_int64(s, i, v);
}

static void
store_bind_blob(sqlite3_stmt *s, int i, const void *v, size_t len, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	if (v == NULL || len == 0)
		*rc = sqlite3_bind_zeroblob(s, i, 0);
	else
		*rc = sqlite3_bind_blob64(s, i, v, len, SQLITE_STATIC);
}

/* A string column, allocated, or NULL. */
static char *
store_column_str(sqlite3_stmt *s, int i)
{
	const char	*v;

	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return NULL;
	v = (const char *)sqlite3_column_text(s, i);
	return xstrdup(v != NULL ? v : "");
}

/* A number column; NULL is JOB_UNSET. */
static int64_t
store_column_i64(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return JOB_UNSET;
	return sqlite3_column_int64(s, i);
}

/* A blob column, allocated with a NUL after it. */
static char *
store_column_blob(sqlite3_stmt *s, int i, size_t *len)
{
	const void	*v;
	char		*p;
	int		 n;

	v = sqlite3_column_blob(s, i);
	n = sqlite3_column_bytes(s, i);
	*len = n > 0 ? (size_t)n : 0;
	p = xmalloc(*len + 1);
	if (*len > 0)
		memcpy(p, v, *len);
	p[*len] = '\0';
	return p;
}

/*
 * env as one column: "NAME=VALUE" lines in order, "\" written "\\" and a
 * newline "\n", so every value round-trips.  No entries is NULL.
 */
static char *
store_env_encode(char *const *env, size_t nenv)
{
	size_t		 i, len;
	char		*out, *p;
	const char	*s;

	if (nenv == 0)
		return NULL;
	len = 1;
	for (i = 0; i < nenv; i++)
		len += 2 * strlen(env[i]) + 1;
	p = out = xmalloc(len);
	for (i = 0; i < nenv; i++) {
		if (i > 0)
			*p++ = '\n';
		for (s = env[i]; *s != '\0'; s++) {
			if (*s == '\\' || *s == '\n') {
				*p++ = '\\';
				*p++ = *s == '\n' ? 'n' : '\\';
			} else
				*p++ = *s;
		}
	}
	*p = '\0';
	return out;
}

static void
store_env_decode(const char *text, char ***envp, size_t *nenvp)
{
	char		**env, *entry, *p;
	size_t		  nenv, i;
	const char	 *s;

	nenv = 1;
	for (s = text; *s != '\0'; s++) {
		if (*s == '\n')
			nenv++;
	}
	env = xreallocarray(NULL, nenv, sizeof *env);
	s = text;
	for (i = 0; i < nenv; i++) {
		p = entry = xmalloc(strlen(s) + 1);
		for (; *s != '\0' && *s != '\n'; s++) {
			if (*s == '\\' && s[1] == 'n') {
				*p++ = '\n';
				s++;
			} else if (*s == '\\' && s[1] == '\\') {
				*p++ = '\\';
				s++;
			} else
				*p++ = *s;
		}
		*p = '\0';
		env[i] = entry;
		if (*s == '\n')
			s++;
	}
	*envp = env;
	*nenvp = nenv;
}

/* Bind field f of the struct at base as parameter i. */
static void
store_bind_field(sqlite3_stmt *s, int i, const struct store_field *f,
    const void *base, int *rc)
{
	const char	*p = (const char *)base + f->off;
	int		 v;
	char		*env;
	const struct job_spec *js;

	if (*rc != SQLITE_OK)
		return;
	switch (f->type) {
	case F_STR:
		store_bind_text(s, i, *(char *const *)p, rc);
		break;
	case F_I64:
		store_bind_i64(s, i, *(const int64_t *)p, rc);
		break;
	case F_INT:
		store_bind_i64(s, i, *(const int *)p, rc);
		break;
	case F_NICE:
		v = *(const int *)p;
		if (v == JOB_NICE_UNSET)
			store_bind_null(s, i, rc);
		else
			store_bind_int64(s, i, v, rc);
		break;
	case F_BOOL:		/* any true value, e.g. WCOREDUMP's 0x80 */
		store_bind_int64(s, i, *(const int *)p != 0, rc);
		break;
	case F_SIGNAL:
		v = *(const int *)p;
		if (v == 0)
			store_bind_null(s, i, rc);
		else
			store_bind_int64(s, i, v, rc);
		break;
	case F_OVERLAP:
		v = *(const int *)p;
		store_bind_text(s, i, v == JOB_UNSET ? NULL :
		    job_overlap_name((enum job_overlap)v), rc);
		break;
	case F_CATCHUP:
		v = *(const int *)p;
		store_bind_text(s, i, v == JOB_UNSET ? NULL :
		    job_catchup_name((enum job_catchup)v), rc);
		break;
	case F_ENV:
		js = base;
		if ((env = store_env_encode(js->env, js->nenv)) == NULL)
			*rc = sqlite3_bind_null(s, i);
		else
			*rc = sqlite3_bind_text(s, i, env, -1, free);
		break;
	case F_STATE:
		store_bind_text(s, i,
		    run_state_name(*(const enum run_state *)p), rc);
		break;
	case F_TRIGGER:
		store_bind_text(s, i,
		    run_trigger_name(*(const enum run_trigger *)p), rc);
		break;
	case F_RESOLUTION:
		store_bind_text(s, i,
		    run_resolution_name(*(const enum run_resolution *)p), rc);
		break;
	}
}

/* Read column i into field f of the struct at base. */
static void
store_column_field(sqlite3_stmt *s, int i, const struct store_field *f,
    void *base)
{
	char		*p = (char *)base + f->off;
	const char	*text;
	int		 isnull;
	enum job_overlap overlap;
	enum job_catchup catchup;
	struct job_spec	*js;

	isnull = sqlite3_column_type(s, i) == SQLITE_NULL;
	text = (const char *)sqlite3_column_text(s, i);
	switch (f->type) {
	case F_STR:
		*(char **)p = store_column_str(s, i);
		break;
	case F_I64:
		*(int64_t *)p = store_column_i64(s, i);
		break;
	case F_INT:
		*(int *)p = isnull ? JOB_UNSET : sqlite3_column_int(s, i);
		break;
	case F_NICE:
		*(int *)p = isnull ? JOB_NICE_UNSET : sqlite3_column_int(s, i);
		break;
	case F_BOOL:
	case F_SIGNAL:
		*(int *)p = isnull ? 0 : sqlite3_column_int(s, i);
		break;
	case F_OVERLAP:
		if (isnull || job_overlap_parse(text, &overlap) != 0)
			*(int *)p = JOB_UNSET;
		else
			*(int *)p = overlap;
		break;
	case F_CATCHUP:
		if (isnull || job_catchup_parse(text, &catchup) != 0)
			*(int *)p = JOB_UNSET;
		else
			*(int *)p = catchup;
		break;
	case F_ENV:
		js = base;
		if (!isnull)
			store_env_decode(text, &js->env, &js->nenv);
		break;
	case F_STATE:
		if (isnull || run_state_parse(text, (enum run_state *)p) != 0)
			*(enum run_state *)p = RUN_LOST;
		break;
	case F_TRIGGER:
		if (isnull ||
		    run_trigger_parse(text, (enum run_trigger *)p) != 0)
			*(enum run_trigger *)p = TRIGGER_SCHEDULE;
		break;
	case F_RESOLUTION:
		if (isnull ||
		    run_resolution_parse(text, (enum run_resolution *)p) != 0)
			*(enum run_resolution *)p = RESOLUTION_NONE;
		break;
	}
}

/* Bind a spec as ?1 to ?35. */
static void
store_bind_spec(sqlite3_stmt *s, const struct job_spec *js, int *rc)
{
	size_t	i;

	for (i = 0; i < NSPEC; i++)
		store_bind_field(s, (int)i + 1, &spec_fields[i], js, rc);
}

/* A job row from a statement selecting JOB_COLS. */
static void
store_column_job(sqlite3_stmt *s, struct job_row *jr)
{
	size_t	i;

	store_job_row_init(jr);
	jr->id = sqlite3_column_int64(s, 0);
	jr->source = store_column_str(s, 1);
	jr->line = sqlite3_column_int(s, 2);
	jr->owner = (uid_t)sqlite3_column_int64(s, 3);
	jr->version = sqlite3_column_int(s, 4);
	jr->paused = sqlite3_column_int(s, 5);
	jr->paused_until = store_column_i64(s, 6);
	jr->paused_reason = store_column_str(s, 7);
	jr->created_at = store_column_i64(s, 8);
	jr->updated_at = store_column_i64(s, 9);
	jr->resumed_at = store_column_i64(s, 10);
	jr->removed_at = store_column_i64(s, 11);
	for (i = 0; i < NSPEC; i++)
		store_column_field(s, JOB_NCOLS + (int)i, &spec_fields[i],
		    &jr->spec);
}

/* A run from a statement selecting RUN_SELECT's columns. */
static void
store_column_run(sqlite3_stmt *s, struct run *r)
{
	size_t	i;

	memset(r, 0, sizeof *r);
	for (i = 0; i < NRUN; i++)
		store_column_field(s, (int)i, &run_fields[i], r);
}

/* Reset a statement and drop its bindings, so none is left to dangle. */
static void
store_reset(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Step a statement that returns no rows, and reset it. */
static int
store_exec(struct store *st, enum store_stmt id, char **cause,
    const char *what)
{
	sqlite3_stmt	*s = st->stmt[id];
	int		 rc, ret = STORE_OK;

	if ((rc = sqlite3_step(s)) != SQLITE_DONE)
		ret = store_fail(st, rc, cause, what);
	store_reset(s);
	return ret;
}

/*
 * This call's transaction: BEGIN IMMEDIATE (so a busy database fails here,
 * before anything changed), or a savepoint inside the caller's
 * store_begin, so that a failing call undoes only its own part.
 */
static int
store_tx_begin(struct store *st, int *nested, char **cause)
{
	*nested = !sqlite3_get_autocommit(st->db);
	return store_exec(st, *nested ? ST_SAVEPOINT : ST_BEGIN, cause,
	    "begin transaction");
}

/*
 * End this call's transaction: commit when ret is STORE_OK, else (or when
 * the commit fails) undo it.  Returns the call's final code.
 */
static int
store_tx_end(struct store *st, int nested, int ret, char **cause)
{
	if (ret == STORE_OK) {
		ret = store_exec(st, nested ? ST_RELEASE : ST_COMMIT, cause,
		    "commit");
		if (ret == STORE_OK)
			return STORE_OK;
	}
	if (sqlite3_get_autocommit(st->db))
		return ret;	/* SQLite already rolled it all back */
	if (nested) {
		store_exec(st, ST_ROLLBACK_TO, NULL, "rollback to savepoint");
		store_exec(st, ST_RELEASE, NULL, "release savepoint");
	} else
		store_exec(st, ST_ROLLBACK, NULL, "rollback");
	return ret;
}

int
store_begin(struct store *st, char **cause)
{
	if (!sqlite3_get_autocommit(st->db)) {
		return store_report(STORE_INVALID, cause,
		    "begin: a transaction is already open");
	}
	return store_exec(st, ST_BEGIN, cause, "begin transaction");
}

int
store_commit(struct store *st, char **cause)
{
	int	ret;

	if (sqlite3_get_autocommit(st->db)) {
		return store_report(STORE_INVALID, cause,
		    "commit: no transaction is open");
	}
	ret = store_exec(st, ST_COMMIT, cause, "commit");
	if (ret != STORE_OK && !sqlite3_get_autocommit(st->db))
		store_exec(st, ST_ROLLBACK, NULL, "rollback");
	return ret;
}

void
store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		store_exec(st, ST_ROLLBACK, NULL, "rollback");
}

/*
 * Open-time helper: run a one-off statement, prepared here and finalized.
 * Returns 1 when it gave a row (its first column in *num or *str), 0 when
 * none, -1 on error.
 */
static int
store_open_query(sqlite3 *db, const char *sql, int64_t *num, char **str,
    char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;
	const char	*text;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		xasprintf(cause, "%s (%s)", sqlite3_errmsg(db), sql);
		return -1;
	}
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (num != NULL)
			*num = sqlite3_column_int64(s, 0);
		if (str != NULL) {
			text = (const char *)sqlite3_column_text(s, 0);
			*str = xstrdup(text != NULL ? text : "");
		}
	} else if (rc != SQLITE_DONE) {
		xasprintf(cause, "%s (%s)", sqlite3_errmsg(db), sql);
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW;
}

static int
store_open_exec(sqlite3 *db, const char *sql, char **cause)
{
	return store_open_query(db, sql, NULL, NULL, cause) < 0 ? -1 : 0;
}

/*
 * Apply migration m: its SQL and the new user_version in one transaction,
 * checked for dangling foreign keys before the commit (migrations run with
 * enforcement off, as SQLite's table-rebuild procedure requires).
 */
static int
store_migrate(sqlite3 *db, const struct store_migration *m, char **cause)
{
	char	*sql, *err = NULL, *msg = NULL;
	int	 ret = -1, bad;

	if (sqlite3_exec(db, SQL_BEGIN, NULL, NULL, &err) != SQLITE_OK)
		goto out;
	if (sqlite3_exec(db, m->sql, NULL, NULL, &err) != SQLITE_OK)
		goto out;
	xasprintf(&sql, SQL_SET_USER_VERSION, m->version);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		free(sql);
		goto out;
	}
	free(sql);
	if ((bad = store_open_query(db, SQL_FOREIGN_KEY_CHECK, NULL, NULL,
	    &msg)) < 0)
		goto out;
	if (bad) {
		xasprintf(&msg, "it leaves rows with dangling foreign keys");
		goto out;
	}
	if (sqlite3_exec(db, SQL_COMMIT, NULL, NULL, &err) != SQLITE_OK)
		goto out;
	ret = 0;
out:
	if (ret != 0) {
		xasprintf(cause, "migration %s (schema version %d) failed: %s",
		    m->name, m->version, msg != NULL ? msg :
		    err != NULL ? err : sqlite3_errmsg(db));
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, SQL_ROLLBACK, NULL, NULL, NULL);
	}
	sqlite3_free(err);
	free(msg);
	return ret;
}

/* Check that a migration list is numbered 1, 2, ... n. */
static int
store_check_migrations(const struct store_migration *m, size_t n,
    char **cause)
{
	size_t	i;

	if (n == 0 || n > INT32_MAX) {
		xasprintf(cause, "internal error: %zu migrations", n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (m[i].version != (int)i + 1 || m[i].name == NULL ||
		    m[i].sql == NULL) {
			xasprintf(cause, "internal error: migration %zu is "
			    "numbered %d", i + 1, m[i].version);
			return -1;
		}
	}
	return 0;
}

/*
 * Bring the database to the newest migration, or refuse it: newer than
 * this binary, or not an sqcron database.
 */
static int
store_upgrade(struct store *st, const struct store_migration *m, size_t n,
    char **cause)
{
	int64_t	 version, appid, objects;
	size_t	 i;

	version = appid = objects = 0;
	if (store_open_query(st->db, SQL_USER_VERSION, &version, NULL,
	    cause) < 0 ||
	    store_open_query(st->db, SQL_APPLICATION_ID, &appid, NULL,
	    cause) < 0 ||
	    store_open_query(st->db, SQL_SCHEMA_OBJECTS, &objects, NULL,
	    cause) < 0)
		return -1;
	if (version == 0 && objects != 0) {
		xasprintf(cause, "not an sqcron database: it has tables but "
		    "no schema version");
		return -1;
	}
	if (version != 0 && appid != STORE_APPLICATION_ID) {
		xasprintf(cause, "not an sqcron database (application_id "
		    "%" PRId64 ")", appid);
		return -1;
	}
	if (version > (int64_t)n || version < 0) {
		xasprintf(cause, "database schema version %" PRId64 " is newer "
		    "than this sqcrond (knows up to %zu): upgrade sqcrond",
		    version, n);
		return -1;
	}
	for (i = (size_t)version; i < n; i++) {
		if (store_migrate(st->db, &m[i], cause) != 0)
			return -1;
		log_info("store: applied migration %s", m[i].name);
	}
	st->version = (int)n;
	return 0;
}

/*
 * Check that the column lists above and the field tables agree, name by
 * name, so that a column added to one and not the other fails at start.
 */
static int
store_check_columns(struct store *st, char **cause)
{
	sqlite3_stmt	*s;
	const char	*name;
	size_t		 i;

	s = st->stmt[ST_JOB_GET];
	if (sqlite3_column_count(s) != JOB_NCOLS + (int)NSPEC)
		goto bad;
	for (i = 0; i < NSPEC; i++) {
		name = sqlite3_column_name(s, JOB_NCOLS + (int)i);
		if (name == NULL || strcmp(name, spec_fields[i].column) != 0)
			goto bad;
	}
	s = st->stmt[ST_RUN_GET];
	if (sqlite3_column_count(s) != (int)NRUN)
		goto bad;
	for (i = 0; i < NRUN; i++) {
		name = sqlite3_column_name(s, (int)i);
		if (name == NULL || strcmp(name, run_fields[i].column) != 0)
			goto bad;
	}
	return 0;
bad:
	xasprintf(cause, "internal error: the store's column lists and "
	    "field tables differ");
	return -1;
}

/*
 * Before SQLite's first use: no bulk page-cache allocation.  By default
 * every page cache, including the one of each temporary b-tree a sorting
 * query opens, starts by allocating and touching room for 100 pages;
 * with a burst of 1,000 fires that was a fifth of the daemon's time in
 * page faults and heap growth and shrinkage.  Pages are allocated as they
 * are used instead.  (SQLITE_MISUSE after initialisation: harmless.)
 */
static void
store_configure_library(void)
{
	static int	 done;

	if (done)
		return;
	done = 1;
	(void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

struct store *
store_open_with(const char *path, int durability_full,
    const struct store_migration *m, size_t n, char **cause)
{
	struct store	*st;
	char		*mode = NULL;
	int		 flags, i, errnum;

	if (store_check_migrations(m, n, cause) != 0)
		return NULL;
	store_configure_library();
	st = xcalloc(1, sizeof *st);
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		if (st->db == NULL)
			xasprintf(cause, "cannot open database: out of memory");
		else if ((errnum = sqlite3_system_errno(st->db)) != 0) {
			xasprintf(cause, "cannot open database: %s: %s",
			    sqlite3_errmsg(st->db), strerror(errnum));
		} else {
			xasprintf(cause, "cannot open database: %s",
			    sqlite3_errmsg(st->db));
		}
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
	sqlite3_busy_timeout(st->db, STORE_OPEN_BUSY_TIMEOUT_MS);

	if (store_open_query(st->db, SQL_JOURNAL_WAL, NULL, &mode,
	    cause) < 0)
		goto fail;
	if (mode != NULL && strcmp(mode, "wal") != 0) {
		log_warnx("store: journal mode is %s, not wal (read-only "
		    "database or file system?)", mode);
	}
	free(mode);
	if (store_open_exec(st->db, durability_full ? SQL_SYNC_FULL :
	    SQL_SYNC_NORMAL, cause) != 0 ||
	    store_open_exec(st->db, SQL_TRUSTED_SCHEMA_OFF, cause) != 0 ||
	    store_open_exec(st->db, SQL_CACHE_SIZE, cause) != 0 ||
	    store_open_exec(st->db, SQL_WAL_AUTOCHECKPOINT, cause) != 0 ||
	    store_open_exec(st->db, SQL_FOREIGN_KEYS_OFF, cause) != 0)
		goto fail;
	if (store_upgrade(st, m, n, cause) != 0)
		goto fail;
	if (store_open_exec(st->db, SQL_FOREIGN_KEYS_ON, cause) != 0)
		goto fail;

	for (i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
		    SQLITE_OK) {
			xasprintf(cause, "internal error: preparing "
			    "statement %d: %s", i, sqlite3_errmsg(st->db));
			goto fail;
		}
	}
	if (store_check_columns(st, cause) != 0)
		goto fail;
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	return st;
fail:
	store_close(st);
	return NULL;
}

struct store *
store_open(const char *path, int durability_full, char **cause)
{
	return store_open_with(path, durability_full, store_migrations,
	    store_nmigrations, cause);
}

void
store_release_memory(struct store *st)
{
	sqlite3_db_release_memory(st->db);
}

void
store_close(struct store *st)
{
	int	i;

	if (st == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("store: close: %s", sqlite3_errmsg(st->db));
	free(st->error);
	free(st);
}

int
store_version(struct store *st)
{
	return st->version;
}

void
store_job_row_init(struct job_row *jr)
{
	memset(jr, 0, sizeof *jr);
	job_spec_init(&jr->spec);
	jr->id = JOB_UNSET;
	jr->paused_until = JOB_UNSET;
	jr->created_at = JOB_UNSET;
	jr->updated_at = JOB_UNSET;
	jr->resumed_at = JOB_UNSET;
	jr->removed_at = JOB_UNSET;
}

void
store_job_row_clear(struct job_row *jr)
{
	if (jr == NULL)
		return;
	job_spec_clear(&jr->spec);
	free(jr->source);
	free(jr->paused_reason);
	store_job_row_init(jr);
}

/*
 * Step s, whose bindings are in place (rc is their result), reading each
 * row with row() into a growing array of zeroed elements of size bytes.
 * On a failure what was read is released with free_all() and nothing is
 * returned.  Resets s.  The calls that list rows all go through here.
 */
static int
store_read_array(struct store *st, sqlite3_stmt *s, int rc, size_t size,
    void (*row)(sqlite3_stmt *, void *), void (*free_all)(void *, size_t),
    void **arrayp, size_t *np, char **cause, const char *what)
{
	char	*array = NULL;
	size_t	 n = 0, cap = 0;
	int	 ret = STORE_OK;

	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		if ((rc = sqlite3_step(s)) != SQLITE_ROW)
			break;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			array = xreallocarray(array, cap, size);
		}
		memset(array + n * size, 0, size);
		row(s, array + n * size);
		n++;
	}
	if (rc != SQLITE_DONE) {
		ret = store_fail(st, rc, cause, what);
		free_all(array, n);
		array = NULL;
		n = 0;
	}
	store_reset(s);
	*arrayp = array;
	*np = n;
	return ret;
}

void
store_job_rows_free(struct job_row *rows, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		store_job_row_clear(&rows[i]);
	free(rows);
}

/* Bind a job's spec and ?36 source, ?37 line, ?38 owner, ?39 now. */
static void
store_bind_job(sqlite3_stmt *s, const struct job_row *jr, int64_t now,
    int *rc)
{
	store_bind_spec(s, &jr->spec, rc);
	store_bind_text(s, 36, jr->source, rc);
	store_bind_i64(s, 37, jr->line > 0 ? jr->line : JOB_UNSET, rc);
	store_bind_int64(s, 38, jr->owner, rc);
	store_bind_int64(s, 39, now, rc);
}

/* Record the job's current version in job_versions. */
static int
store_job_snapshot(struct store *st, int64_t id, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_SNAPSHOT];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	store_bind_int64(s, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "record job version");
	store_reset(s);
	return ret;
}

int
store_job_add(struct store *st, struct job_row *jr, int64_t now,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_INSERT];
	int		 rc = SQLITE_OK, ret, nested;
	int64_t		 id = JOB_UNSET;

	if ((ret = store_tx_begin(st, &nested, cause)) != STORE_OK)
		return ret;
	store_bind_job(s, jr, now, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		ret = store_fail(st, rc, cause, "add job");
		store_reset(s);
		goto out;
	}
	store_reset(s);
	id = sqlite3_last_insert_rowid(st->db);
	ret = store_job_snapshot(st, id, cause);
out:
	if ((ret = store_tx_end(st, nested, ret, cause)) == STORE_OK) {
		jr->id = id;
		jr->version = 1;
		jr->paused = 0;
		jr->created_at = jr->updated_at = now;
		jr->resumed_at = jr->removed_at = JOB_UNSET;
	}
	return ret;
}

int
store_job_update(struct store *st, struct job_row *jr, int64_t now,
    char **cause)
{
	sqlite3_stmt	*s;
	int		 rc = SQLITE_OK, ret, nested, changed;
	int		 version = 0;
	int64_t		 updated_at = JOB_UNSET;

	if ((ret = store_tx_begin(st, &nested, cause)) != STORE_OK)
		return ret;
	s = st->stmt[ST_JOB_UPDATE];
	store_bind_job(s, jr, now, &rc);
	store_bind_int64(s, 40, jr->id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		ret = store_fail(st, rc, cause, "update job");
		store_reset(s);
		goto out;
	}
	store_reset(s);
	changed = sqlite3_changes(st->db) > 0;
	if (changed && (ret = store_job_snapshot(st, jr->id, cause)) != 0)
		goto out;

	s = st->stmt[ST_JOB_VERSION];
	rc = SQLITE_OK;
	store_bind_int64(s, 1, jr->id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		version = sqlite3_column_int(s, 0);
		updated_at = store_column_i64(s, 1);
	} else if (rc == SQLITE_DONE) {
		ret = store_report(STORE_NOTFOUND, cause,
		    "update job: no live job has id %" PRId64, jr->id);
	} else
		ret = store_fail(st, rc, cause, "update job");
	store_reset(s);
out:
	if ((ret = store_tx_end(st, nested, ret, cause)) == STORE_OK) {
		jr->version = version;
		jr->updated_at = updated_at;
	}
	return ret;
}

/*
 * Step a one-row write that must change a row (else STORE_NOTFOUND with
 * "what: notfound"), and reset it.  Bindings are already in place.
 */
static int
store_write_one(struct store *st, sqlite3_stmt *s, int rc, char **cause,
    const char *what, const char *notfound, int64_t id)
{
	int	ret = STORE_OK;

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, what);
	else if (sqlite3_changes(st->db) == 0) {
		ret = store_report(STORE_NOTFOUND, cause, "%s: %s %" PRId64,
		    what, notfound, id);
	}
	store_reset(s);
	return ret;
}

int
store_job_remove(struct store *st, int64_t id, int64_t now, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_REMOVE];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, id, &rc);
	store_bind_int64(s, 2, now, &rc);
	return store_write_one(st, s, rc, cause, "remove job",
	    "no live job has id", id);
}

int
store_job_set_line(struct store *st, int64_t id, int line, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_SET_LINE];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, id, &rc);
	store_bind_int64(s, 2, line, &rc);
	return store_write_one(st, s, rc, cause, "set job line",
	    "no live job has id", id);
}

int
store_job_pause(struct store *st, int64_t id, int64_t until_at,
    const char *reason, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_PAUSE];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, id, &rc);
	store_bind_i64(s, 2, until_at, &rc);
	store_bind_text(s, 3, reason, &rc);
	return store_write_one(st, s, rc, cause, "pause job",
	    "no live job has id", id);
}

int
store_job_resume(struct store *st, int64_t id, int64_t now, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_RESUME];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, id, &rc);
	store_bind_int64(s, 2, now, &rc);
	return store_write_one(st, s, rc, cause, "resume job",
	    "no live job has id", id);
}

/*
 * Step a statement selecting one job into jr; reset it.  No row is
 * STORE_NOTFOUND, explained by the format that follows.
 */
static int __attribute__((format(printf, 6, 7)))
store_read_job(struct store *st, sqlite3_stmt *s, int rc, struct job_row *jr,
    char **cause, const char *fmt, ...)
{
	va_list	ap;
	int	ret = STORE_OK;

	store_job_row_init(jr);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		store_column_job(s, jr);
	else if (rc == SQLITE_DONE) {
		va_start(ap, fmt);
		ret = store_vreport(STORE_NOTFOUND, cause, fmt, ap);
		va_end(ap);
	} else
		ret = store_fail(st, rc, cause, "get job");
	store_reset(s);
	return ret;
}

int
store_job_get(struct store *st, const char *name, struct job_row *jr,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_GET];
	int		 rc = SQLITE_OK;

	store_bind_text(s, 1, name, &rc);
	return store_read_job(st, s, rc, jr, cause, "no live job is named %s",
	    name);
}

int
store_job_get_id(struct store *st, int64_t id, struct job_row *jr,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_GET_ID];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, id, &rc);
	return store_read_job(st, s, rc, jr, cause, "no job has id %" PRId64,
	    id);
}

int
store_job_get_version(struct store *st, int64_t id, int version,
    struct job_row *jr, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_GET_VERSION];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, id, &rc);
	store_bind_int64(s, 2, version, &rc);
	return store_read_job(st, s, rc, jr, cause,
	    "job %" PRId64 " has no version %d", id, version);
}

static void
store_row_job(sqlite3_stmt *s, void *p)
{
	store_column_job(s, p);
}

static void
store_free_jobs(void *rows, size_t n)
{
	store_job_rows_free(rows, n);
}

int
store_job_list(struct store *st, int64_t owner, struct job_row **rowsp,
    size_t *np, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_LIST];
	void		*rows;
	int		 rc = SQLITE_OK, ret;

	store_bind_i64(s, 1, owner, &rc);
	ret = store_read_array(st, s, rc, sizeof **rowsp, store_row_job,
	    store_free_jobs, &rows, np, cause, "list jobs");
	*rowsp = rows;
	return ret;
}

/* Rows of plain values: nothing inside to free. */
static void
store_free_plain(void *array, size_t n)
{
	(void)n;
	free(array);
}

int
store_ping(struct store *st, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_PING];
	int		 rc, ret = STORE_OK;

	if ((rc = sqlite3_step(s)) != SQLITE_ROW)
		ret = store_fail(st, rc, cause, "ping");
	store_reset(s);
	return ret;
}

static void
store_row_health(sqlite3_stmt *s, void *p)
{
	struct job_health	*h = p;
	const char		*state;

	h->job_id = sqlite3_column_int64(s, 0);
	h->last_run = store_column_i64(s, 1);
	state = (const char *)sqlite3_column_text(s, 2);
	if (state == NULL || run_state_parse(state, &h->last_state))
		h->last_state = RUN_QUEUED;
	h->last_scheduled_at = store_column_i64(s, 3);
	h->last_success_at = store_column_i64(s, 4);
	h->consecutive_failures = sqlite3_column_int(s, 5);
}

int
store_job_health(struct store *st, int64_t id, struct job_health *h,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_HEALTH];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	memset(h, 0, sizeof *h);
	h->last_run = h->last_scheduled_at = h->last_success_at = JOB_UNSET;
	store_bind_int64(s, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		store_row_health(s, h);
	else if (rc == SQLITE_DONE) {
		ret = store_report(STORE_NOTFOUND, cause,
		    "job health: no job has id %" PRId64, id);
	} else
		ret = store_fail(st, rc, cause, "job health");
	store_reset(s);
	return ret;
}

int
store_jobs_health(struct store *st, int64_t owner, struct job_health **hp,
    size_t *np, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOBS_HEALTH];
	int		 rc = SQLITE_OK;

	store_bind_i64(s, 1, owner, &rc);
	return store_read_array(st, s, rc, sizeof **hp, store_row_health,
	    store_free_plain, (void **)hp, np, cause, "jobs' health");
}

void
store_run_filter_init(struct store_run_filter *f)
{
	memset(f, 0, sizeof *f);
	f->job_id = JOB_UNSET;
	f->owner = JOB_UNSET;
	f->since = JOB_UNSET;
	f->until = JOB_UNSET;
	f->before_id = JOB_UNSET;
}

void
store_runs_free(struct run *runs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		run_clear(&runs[i]);
	free(runs);
}

void
store_output_clear(struct store_output *o)
{
	if (o == NULL)
		return;
	free(o->head);
	free(o->tail);
	memset(o, 0, sizeof *o);
}

int
store_run_insert(struct store *st, struct run *r, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_RUN_INSERT];
	int		 rc = SQLITE_OK, ret = STORE_OK;
	size_t		 i;

	for (i = RUN_NREAD_ONLY; i < NRUN; i++) {
		store_bind_field(s, (int)(i - RUN_NREAD_ONLY) + 1,
		    &run_fields[i], r, &rc);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "record run");
	else
		r->id = sqlite3_last_insert_rowid(st->db);
	store_reset(s);
	return ret;
}

int
store_run_start(struct store *st, int64_t id, int64_t started_at,
    int64_t pid, int64_t pid_start_time, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_RUN_START];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, id, &rc);
	store_bind_i64(s, 2, started_at, &rc);
	store_bind_i64(s, 3, pid, &rc);
	store_bind_i64(s, 4, pid_start_time, &rc);
	return store_write_one(st, s, rc, cause, "start run",
	    "no queued or running run has id", id);
}

int
store_run_finish(struct store *st, const struct run *r,
    const struct store_output *out, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc = SQLITE_OK, ret, nested;

	if (r->state == RUN_QUEUED || r->state == RUN_RUNNING) {
		return store_report(STORE_INVALID, cause, "finish run %" PRId64
		    ": %s is not an end state", r->id,
		    run_state_name(r->state));
	}
	if ((ret = store_tx_begin(st, &nested, cause)) != STORE_OK)
		return ret;
	s = st->stmt[ST_RUN_FINISH];
	store_bind_int64(s, 1, r->id, &rc);
	store_bind_text(s, 2, run_state_name(r->state), &rc);
	store_bind_i64(s, 3, r->exit_code, &rc);
	store_bind_i64(s, 4, r->signal != 0 ? r->signal : JOB_UNSET, &rc);
	store_bind_int64(s, 5, r->core_dumped != 0, &rc);
	store_bind_text(s, 6, r->reason, &rc);
	store_bind_i64(s, 7, r->ended_at, &rc);
	store_bind_i64(s, 8, r->duration_ms, &rc);
	store_bind_i64(s, 9, r->max_rss_kb, &rc);
	store_bind_i64(s, 10, r->user_cpu_ms, &rc);
	store_bind_i64(s, 11, r->sys_cpu_ms, &rc);
	store_bind_i64(s, 12, r->output_bytes, &rc);
	store_bind_text(s, 13, run_resolution_name(r->resolution), &rc);
	ret = store_write_one(st, s, rc, cause, "finish run",
	    "no queued or running run has id", r->id);
	if (ret != STORE_OK || out == NULL)
		goto out;

	s = st->stmt[ST_OUTPUT_PUT];
	rc = SQLITE_OK;
	store_bind_int64(s, 1, r->id, &rc);
	store_bind_blob(s, 2, out->head, out->head_len, &rc);
	store_bind_blob(s, 3, out->tail, out->tail_len, &rc);
	store_bind_int64(s, 4, out->omitted, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "record run output");
	store_reset(s);
out:
	return store_tx_end(st, nested, ret, cause);
}

int
store_run_set_resolution(struct store *st, int64_t id,
    enum run_resolution res, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_RUN_RESOLVE];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, id, &rc);
	store_bind_text(s, 2, run_resolution_name(res), &rc);
	return store_write_one(st, s, rc, cause, "set resolution",
	    "no run has id", id);
}

int
store_fire_supersede(struct store *st, int64_t job_id, int64_t scheduled_at,
    int64_t before_id, int *n, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_FIRE_SUPERSEDE];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	store_bind_int64(s, 1, job_id, &rc);
	store_bind_int64(s, 2, scheduled_at, &rc);
	store_bind_int64(s, 3, before_id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "supersede attempts");
	else if (n != NULL)
		*n = sqlite3_changes(st->db);
	store_reset(s);
	return ret;
}

int
store_run_get(struct store *st, int64_t id, struct run *r, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_RUN_GET];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	memset(r, 0, sizeof *r);
	store_bind_int64(s, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		store_column_run(s, r);
	else if (rc == SQLITE_DONE) {
		ret = store_report(STORE_NOTFOUND, cause,
		    "no run has id %" PRId64, id);
	} else
		ret = store_fail(st, rc, cause, "get run");
	store_reset(s);
	return ret;
}

static void
store_row_run(sqlite3_stmt *s, void *p)
{
	store_column_run(s, p);
}

static void
store_free_runs(void *runs, size_t n)
{
	store_runs_free(runs, n);
}

/* Step s, collecting every row as a run; reset it. */
static int
store_read_runs(struct store *st, sqlite3_stmt *s, int rc,
    struct run **runsp, size_t *np, char **cause, const char *what)
{
	void	*runs;
	int	 ret;

	ret = store_read_array(st, s, rc, sizeof **runsp, store_row_run,
	    store_free_runs, &runs, np, cause, what);
	*runsp = runs;
	return ret;
}

/* The access path for a filter: the most selective index it can use. */
static enum store_stmt
store_run_list_stmt(const struct store_run_filter *f)
{
	const unsigned	live = STORE_STATE(RUN_QUEUED) |
			    STORE_STATE(RUN_RUNNING);

	if (f->job_id != JOB_UNSET)
		return ST_RUNS_BY_JOB;
	if (f->only_open)
		return ST_RUNS_OPEN;
	if (f->states != 0 && (f->states & ~live) == 0)
		return ST_RUNS_LIVE;
	if (f->since != JOB_UNSET || f->until != JOB_UNSET)
		return ST_RUNS_BY_TIME;
	return ST_RUNS_ALL;
}

/* Bind a filter to one of the ST_RUNS_* statements (RUN_FILTER). */
static void
store_bind_filter(sqlite3_stmt *s, const struct store_run_filter *f,
    char *states, size_t size, int *rc)
{
	size_t	i, len;

	store_bind_i64(s, 1, f->job_id, rc);
	if (f->states == 0)
		store_bind_null(s, 2, rc);
	else {
		xstrlcpy(states, ",", size);
		for (i = 0; i < RUN_NSTATES; i++) {
			if ((f->states & STORE_STATE(i)) == 0)
				continue;
			len = strlen(states);
			snprintf(states + len, size - len, "%s,",
			    run_state_name((enum run_state)i));
		}
		store_bind_text(s, 2, states, rc);
	}
	store_bind_int64(s, 3, f->since != JOB_UNSET ? f->since : INT64_MIN,
	    rc);
	store_bind_int64(s, 4, f->until != JOB_UNSET ? f->until : INT64_MAX,
	    rc);
	store_bind_int64(s, 5, f->before_id != JOB_UNSET ? f->before_id :
	    INT64_MAX, rc);
	store_bind_int64(s, 6, f->only_open != 0, rc);
	store_bind_i64(s, 7, f->owner, rc);
	store_bind_int64(s, 8, f->limit == 0 || f->limit > INT64_MAX ? -1 :
	    (int64_t)f->limit, rc);
}

/* Room for ",name," of every state. */
#define STORE_STATES_MAX	256

int
store_run_list(struct store *st, const struct store_run_filter *f,
    struct run **runsp, size_t *np, char **cause)
{
	sqlite3_stmt	*s = st->stmt[store_run_list_stmt(f)];
	char		 states[STORE_STATES_MAX];
	int		 rc = SQLITE_OK;

	store_bind_filter(s, f, states, sizeof states, &rc);
	return store_read_runs(st, s, rc, runsp, np, cause, "list runs");
}

int
store_run_page(struct store *st, const struct store_run_filter *filter,
    int64_t after, int64_t last, size_t window, struct run **runsp,
    size_t *np, int64_t *next, char **cause)
{
	struct store_run_filter	 f = *filter;
	sqlite3_stmt		*s;
	char			 states[STORE_STATES_MAX];
	int			 rc = SQLITE_OK, ret = STORE_OK;

	*runsp = NULL;
	*np = 0;
	*next = after;
	f.before_id = JOB_UNSET;
	f.limit = 0;
	s = st->stmt[f.job_id != JOB_UNSET ? ST_PAGE_END_JOB : ST_PAGE_END];
	if (f.job_id != JOB_UNSET)
		store_bind_int64(s, 1, f.job_id, &rc);
	store_bind_int64(s, 2, after, &rc);
	store_bind_int64(s, 3, last, &rc);
	store_bind_int64(s, 4, window > 0 && window < INT64_MAX ?
	    (int64_t)window : 1, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(s, 0) != SQLITE_NULL)
			*next = sqlite3_column_int64(s, 0);
	} else
		ret = store_fail(st, rc, cause, "export: next page");
	store_reset(s);
	if (ret != STORE_OK || *next == after)
		return ret;

	s = st->stmt[f.job_id != JOB_UNSET ? ST_RUNS_PAGE_JOB : ST_RUNS_PAGE];
	rc = SQLITE_OK;
	store_bind_filter(s, &f, states, sizeof states, &rc);
	store_bind_int64(s, 9, after, &rc);
	store_bind_int64(s, 10, *next, &rc);
	ret = store_read_runs(st, s, rc, runsp, np, cause, "export: page");
	if (ret != STORE_OK)
		*next = after;
	return ret;
}

int
store_run_last_id(struct store *st, int64_t *id, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_RUN_LAST_ID];
	int		 rc, ret = STORE_OK;

	*id = 0;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	else
		ret = store_fail(st, rc, cause, "last run id");
	store_reset(s);
	return ret;
}

/* Append the query plan of s, a step a line, to *out. */
static int
store_explain(struct store *st, sqlite3_stmt *stmt, char **out, char **cause)
{
	sqlite3_stmt	*s = NULL;
	char		*sql, *next;
	const char	*detail;
	int		 rc;

	xasprintf(&sql, SQL_EXPLAIN, sqlite3_sql(stmt));
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return store_fail(st, rc, cause, "explain");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		detail = (const char *)sqlite3_column_text(s, 3);
		xasprintf(&next, "%s%s\n", *out, detail != NULL ? detail : "");
		free(*out);
		*out = next;
	}
	if (rc != SQLITE_DONE)
		rc = store_fail(st, rc, cause, "explain");
	else
		rc = STORE_OK;
	sqlite3_finalize(s);
	return rc;
}

int
store_run_list_plan(struct store *st, const struct store_run_filter *f,
    char **plan, char **cause)
{
	char	*out = xstrdup("");
	int	 rc;

	if ((rc = store_explain(st, st->stmt[store_run_list_stmt(f)], &out,
	    cause)) != STORE_OK) {
		free(out);
		return rc;
	}
	*plan = out;
	return STORE_OK;
}

int
store_run_page_plan(struct store *st, int by_job, char **plan, char **cause)
{
	char	*out = xstrdup("");
	int	 rc;

	if ((rc = store_explain(st, st->stmt[by_job ? ST_PAGE_END_JOB :
	    ST_PAGE_END], &out, cause)) != STORE_OK ||
	    (rc = store_explain(st, st->stmt[by_job ? ST_RUNS_PAGE_JOB :
	    ST_RUNS_PAGE], &out, cause)) != STORE_OK) {
		free(out);
		return rc;
	}
	*plan = out;
	return STORE_OK;
}

int
store_run_output(struct store *st, int64_t id, struct store_output *o,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_OUTPUT_GET];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	memset(o, 0, sizeof *o);
	store_bind_int64(s, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		o->head = store_column_blob(s, 0, &o->head_len);
		o->tail = store_column_blob(s, 1, &o->tail_len);
		o->omitted = sqlite3_column_int64(s, 2);
	} else if (rc == SQLITE_DONE) {
		ret = store_report(STORE_NOTFOUND, cause,
		    "no run has id %" PRId64, id);
	} else
		ret = store_fail(st, rc, cause, "get run output");
	store_reset(s);
	return ret;
}

int
store_runs_recover(struct store *st, int64_t now, const char *reason,
    struct store_orphan **orphansp, size_t *np, char **cause)
{
	sqlite3_stmt		*s;
	struct store_orphan	*o = NULL;
	size_t			 n = 0, cap = 0;
	int			 rc = SQLITE_OK, ret, nested;

	*orphansp = NULL;
	*np = 0;
	if ((ret = store_tx_begin(st, &nested, cause)) != STORE_OK)
		return ret;
	s = st->stmt[ST_RUNS_RUNNING];
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			o = xreallocarray(o, cap, sizeof *o);
		}
		o[n].run_id = sqlite3_column_int64(s, 0);
		o[n].job_id = sqlite3_column_int64(s, 1);
		o[n].pid = store_column_i64(s, 2);
		o[n].pid_start_time = store_column_i64(s, 3);
		o[n].started_at = store_column_i64(s, 4);
		n++;
	}
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "list running runs");
	store_reset(s);
	if (ret != STORE_OK)
		goto out;

	s = st->stmt[ST_RUNS_LOSE];
	rc = SQLITE_OK;
	store_bind_text(s, 1, reason, &rc);
	store_bind_int64(s, 2, now, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "mark runs lost");
	store_reset(s);
out:
	if ((ret = store_tx_end(st, nested, ret, cause)) != STORE_OK) {
		free(o);
		return ret;
	}
	*orphansp = o;
	*np = n;
	return STORE_OK;
}

int
store_runs_queued(struct store *st, struct run **runsp, size_t *np,
    char **cause)
{
	return store_read_runs(st, st->stmt[ST_RUNS_QUEUED], SQLITE_OK,
	    runsp, np, cause, "list queued runs");
}

int
store_runs_retrying(struct store *st, struct run **runsp, size_t *np,
    char **cause)
{
	return store_read_runs(st, st->stmt[ST_RUNS_RETRYING], SQLITE_OK,
	    runsp, np, cause, "list runs waiting for a retry");
}

/* Step a statement returning at most one number; JOB_UNSET when none. */
static int
store_read_i64(struct store *st, sqlite3_stmt *s, int rc, int64_t *v,
    char **cause, const char *what)
{
	int	ret = STORE_OK;

	*v = JOB_UNSET;
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*v = store_column_i64(s, 0);
	else if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, what);
	store_reset(s);
	return ret;
}

int
store_fire_latest(struct store *st, int64_t job_id, int64_t *at,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_FIRE_LATEST];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, job_id, &rc);
	return store_read_i64(st, s, rc, at, cause, "latest fire");
}

int
store_fire_last_attempt(struct store *st, int64_t job_id,
    int64_t scheduled_at, int *attempt, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_FIRE_LAST_ATTEMPT];
	int		 rc = SQLITE_OK, ret;
	int64_t		 v;

	store_bind_int64(s, 1, job_id, &rc);
	store_bind_int64(s, 2, scheduled_at, &rc);
	ret = store_read_i64(st, s, rc, &v, cause, "fire attempts");
	*attempt = ret == STORE_OK && v != JOB_UNSET ? (int)v : 0;
	return ret;
}

/* A job row of SQL_PRUNE_JOBS / SQL_PRUNE_JOB. */
static void
store_column_prune_job(sqlite3_stmt *s, struct store_prune_job *j)
{
	j->id = sqlite3_column_int64(s, 0);
	j->name = store_column_str(s, 1);
	j->keep_runs = store_column_i64(s, 2);
	j->keep_days_ms = store_column_i64(s, 3);
	j->removed = sqlite3_column_int(s, 4);
}

static void
store_row_prune_job(sqlite3_stmt *s, void *p)
{
	store_column_prune_job(s, p);
}

static void
store_free_prune_jobs(void *jobs, size_t n)
{
	store_prune_jobs_free(jobs, n);
}

int
store_prune_jobs(struct store *st, int64_t after, size_t limit,
    struct store_prune_job **jobsp, size_t *np, char **cause)
{
	sqlite3_stmt		*s = st->stmt[ST_PRUNE_JOBS];
	void			*jobs;
	int			 rc = SQLITE_OK, ret;

	store_bind_int64(s, 1, after, &rc);
	store_bind_int64(s, 2, limit == 0 || limit > INT64_MAX ? -1 :
	    (int64_t)limit, &rc);
	ret = store_read_array(st, s, rc, sizeof **jobsp, store_row_prune_job,
	    store_free_prune_jobs, &jobs, np, cause, "list jobs to prune");
	*jobsp = jobs;
	return ret;
}

int
store_prune_job(struct store *st, int64_t id, struct store_prune_job *j,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_PRUNE_JOB];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	memset(j, 0, sizeof *j);
	store_bind_int64(s, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		store_column_prune_job(s, j);
	else if (rc == SQLITE_DONE) {
		ret = store_report(STORE_NOTFOUND, cause,
		    "prune: no job has id %" PRId64, id);
	} else
		ret = store_fail(st, rc, cause, "get job to prune");
	store_reset(s);
	return ret;
}

void
store_prune_jobs_free(struct store_prune_job *jobs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(jobs[i].name);
	free(jobs);
}

int
store_prune_bounds(struct store *st, int64_t job_id, int64_t keep_runs,
    int64_t before, int keep_fire, struct store_retention *r, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc = SQLITE_OK, ret;

	r->job_id = job_id;
	r->before = before;
	r->cut = r->keep_id = JOB_UNSET;
	if (keep_runs > 0) {
		s = st->stmt[ST_PRUNE_CUT];
		store_bind_int64(s, 1, job_id, &rc);
		store_bind_int64(s, 2, keep_runs - 1, &rc);
		if ((ret = store_read_i64(st, s, rc, &r->cut, cause,
		    "prune: newest runs")) != STORE_OK)
			return ret;
	}
	if (keep_fire) {
		s = st->stmt[ST_PRUNE_FIRE];
		rc = SQLITE_OK;
		store_bind_int64(s, 1, job_id, &rc);
		if ((ret = store_read_i64(st, s, rc, &r->keep_id, cause,
		    "prune: latest fire")) != STORE_OK)
			return ret;
	}
	return STORE_OK;
}

/* One bounded delete of SQL_PRUNE_DELETE_*; *n is how many went. */
static int
store_prune_delete(struct store *st, enum store_stmt id,
    const struct store_retention *r, int64_t bound, size_t max, size_t *n,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[id];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	*n = 0;
	store_bind_int64(s, 1, r->job_id, &rc);
	store_bind_int64(s, 2, bound, &rc);
	store_bind_i64(s, 3, r->keep_id, &rc);
	store_bind_int64(s, 4, (int64_t)max, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "prune runs");
	else
		*n = (size_t)sqlite3_changes(st->db);
	store_reset(s);
	return ret;
}

/*
 * Each delete is its own transaction (outside store_begin): one statement
 * needs no statement journal, which for a multi-row delete inside BEGIN
 * ... COMMIT would copy every page it changes once more, to a temporary
 * file.  A failure of the second leaves the first done, which is as good
 * as a smaller batch.
 */
int
store_prune_runs(struct store *st, const struct store_retention *r,
    size_t max, size_t *n, char **cause)
{
	size_t	old = 0, many = 0;
	int	ret = STORE_OK;

	*n = 0;
	if (max == 0 || max > INT32_MAX)
		return store_report(STORE_INVALID, cause, "prune runs: a "
		    "batch of %zu", max);
	if (r->before != JOB_UNSET)
		ret = store_prune_delete(st, ST_PRUNE_DELETE_OLD, r, r->before,
		    max, &old, cause);
	if (ret == STORE_OK && old < max && r->cut != JOB_UNSET)
		ret = store_prune_delete(st, ST_PRUNE_DELETE_MANY, r, r->cut,
		    max - old, &many, cause);
	*n = old + many;
	return ret;
}

void
store_prune_cursor_init(struct store_prune_cursor *c)
{
	c->phase = 0;
	c->after_id = INT64_MIN;
	c->after_at = INT64_MIN;
	c->after_attempt = INT64_MIN;
}

/* Dry run, beyond keep_runs: one chunk of SQL_PRUNE_COUNT_MANY. */
static int
store_prune_count_many(struct store *st, const struct store_retention *r,
    struct store_prune_cursor *c, size_t max, int64_t *n, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_PRUNE_COUNT_MANY];
	int		 rc = SQLITE_OK, ret = STORE_OK;
	int64_t		 k = 0;

	store_bind_int64(s, 1, r->job_id, &rc);
	store_bind_int64(s, 2, r->cut, &rc);
	store_bind_i64(s, 3, r->keep_id, &rc);
	store_bind_int64(s, 4, c->after_id, &rc);
	store_bind_int64(s, 5, (int64_t)max, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		k = sqlite3_column_int64(s, 0);
		if (k > 0)
			c->after_id = sqlite3_column_int64(s, 1);
	} else
		ret = store_fail(st, rc, cause, "count runs to prune");
	store_reset(s);
	if (ret == STORE_OK) {
		*n += k;
		if (k < (int64_t)max)
			c->phase = 1;
	}
	return ret;
}

/* Dry run, old fires: one chunk of SQL_PRUNE_COUNT_OLD. */
static int
store_prune_count_old(struct store *st, const struct store_retention *r,
    struct store_prune_cursor *c, size_t max, int64_t *n, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_PRUNE_COUNT_OLD];
	int		 rc = SQLITE_OK, ret = STORE_OK;
	int64_t		 seen = 0, k = 0;

	store_bind_int64(s, 1, r->job_id, &rc);
	store_bind_int64(s, 2, r->before, &rc);
	store_bind_i64(s, 3, r->keep_id, &rc);
	store_bind_int64(s, 4, c->after_at, &rc);
	store_bind_int64(s, 5, c->after_attempt, &rc);
	store_bind_int64(s, 6, r->cut != JOB_UNSET ? r->cut : INT64_MIN, &rc);
	store_bind_int64(s, 7, (int64_t)max, &rc);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		if ((rc = sqlite3_step(s)) != SQLITE_ROW)
			break;
		c->after_at = sqlite3_column_int64(s, 0);
		c->after_attempt = sqlite3_column_int64(s, 1);
		k += sqlite3_column_int(s, 2) != 0;
		seen++;
	}
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "count old runs to prune");
	store_reset(s);
	if (ret == STORE_OK) {
		*n += k;
		if (seen < (int64_t)max)
			c->phase = 2;
	}
	return ret;
}

int
store_prune_count(struct store *st, const struct store_retention *r,
    struct store_prune_cursor *c, size_t max, int64_t *n, int *done,
    char **cause)
{
	int	ret = STORE_OK;

	*done = 0;
	if (max == 0 || max > INT32_MAX)
		return store_report(STORE_INVALID, cause, "count runs to "
		    "prune: a batch of %zu", max);
	if (c->phase == 0) {
		if (r->cut == JOB_UNSET)
			c->phase = 1;
		else
			return store_prune_count_many(st, r, c, max, n, cause);
	}
	if (c->phase == 1) {
		if (r->before == JOB_UNSET)
			c->phase = 2;
		else
			ret = store_prune_count_old(st, r, c, max, n, cause);
	}
	*done = c->phase == 2;
	return ret;
}

int
store_prune_oldest(struct store *st, const struct store_retention *r,
    int64_t *at, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_PRUNE_OLDEST];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, r->job_id, &rc);
	store_bind_i64(s, 2, r->keep_id, &rc);
	return store_read_i64(st, s, rc, at, cause, "oldest run");
}

int
store_prune_plan(struct store *st, char **plan, char **cause)
{
	static const struct {
		const char	*name;
		enum store_stmt	 id;
	} stmts[] = {
		{ "jobs", ST_PRUNE_JOBS },
		{ "cut", ST_PRUNE_CUT },
		{ "fire", ST_PRUNE_FIRE },
		{ "delete old", ST_PRUNE_DELETE_OLD },
		{ "delete many", ST_PRUNE_DELETE_MANY },
		{ "count many", ST_PRUNE_COUNT_MANY },
		{ "count old", ST_PRUNE_COUNT_OLD },
		{ "oldest", ST_PRUNE_OLDEST },
	};
	char	*out = xstrdup(""), *next;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
		xasprintf(&next, "%s%s:\n", out, stmts[i].name);
		free(out);
		out = next;
		if ((rc = store_explain(st, st->stmt[stmts[i].id], &out,
		    cause)) != STORE_OK) {
			free(out);
			return rc;
		}
	}
	*plan = out;
	return STORE_OK;
}

int
store_audit_insert(struct store *st, int64_t at, uid_t uid, pid_t pid,
    const char *method, const char *params, const char *outcome,
    const char *error, int64_t *id, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_AUDIT_INSERT];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	store_bind_int64(s, 1, at, &rc);
	store_bind_int64(s, 2, uid, &rc);
	store_bind_i64(s, 3, pid > 0 ? pid : JOB_UNSET, &rc);
	store_bind_text(s, 4, method, &rc);
	store_bind_text(s, 5, params, &rc);
	store_bind_text(s, 6, outcome, &rc);
	store_bind_text(s, 7, error, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "record audit entry");
	else if (id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	store_reset(s);
	return ret;
}

static void
store_row_audit(sqlite3_stmt *s, void *p)
{
	struct store_audit	*a = p;

	a->id = sqlite3_column_int64(s, 0);
	a->at = sqlite3_column_int64(s, 1);
	a->uid = (uid_t)sqlite3_column_int64(s, 2);
	a->pid = (pid_t)sqlite3_column_int64(s, 3);
	a->method = store_column_str(s, 4);
	a->params = store_column_str(s, 5);
	a->outcome = store_column_str(s, 6);
	a->error = store_column_str(s, 7);
}

static void
store_free_audits(void *list, size_t n)
{
	store_audits_free(list, n);
}

int
store_audit_list(struct store *st, int64_t since, int64_t until,
    int64_t uid, size_t limit, struct store_audit **listp, size_t *np,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_AUDIT_LIST];
	void		*list;
	int		 rc = SQLITE_OK, ret;

	store_bind_int64(s, 1, since != JOB_UNSET ? since : INT64_MIN, &rc);
	store_bind_int64(s, 2, until != JOB_UNSET ? until : INT64_MAX, &rc);
	store_bind_int64(s, 3, limit == 0 || limit > INT64_MAX ? -1 :
	    (int64_t)limit, &rc);
	store_bind_i64(s, 4, uid, &rc);
	ret = store_read_array(st, s, rc, sizeof **listp, store_row_audit,
	    store_free_audits, &list, np, cause, "list audit entries");
	*listp = list;
	return ret;
}

void
store_audits_free(struct store_audit *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(list[i].method);
		free(list[i].params);
		free(list[i].outcome);
		free(list[i].error);
	}
	free(list);
}

int
store_meta_get(struct store *st, const char *key, char **value,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_META_GET];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	*value = NULL;
	store_bind_text(s, 1, key, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*value = store_column_str(s, 0);
	else if (rc == SQLITE_DONE)
		ret = store_report(STORE_NOTFOUND, cause, "meta %s is unset",
		    key);
	else
		ret = store_fail(st, rc, cause, "get meta");
	store_reset(s);
	return ret;
}

int
store_meta_set(struct store *st, const char *key, const char *value,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_META_SET];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	store_bind_text(s, 1, key, &rc);
	store_bind_text(s, 2, value, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "set meta");
	store_reset(s);
	return ret;
}

int
store_fire_replays(struct store *st, int64_t job_id, int64_t scheduled_at,
    int64_t *live, int64_t *succeeded, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_FIRE_REPLAYS];
	enum run_state	 state;
	char		*name;
	int		 rc = SQLITE_OK, ret = STORE_OK;

	*live = *succeeded = JOB_UNSET;
	store_bind_int64(s, 1, job_id, &rc);
	store_bind_int64(s, 2, scheduled_at, &rc);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		if ((rc = sqlite3_step(s)) != SQLITE_ROW)
			break;
		name = store_column_str(s, 1);
		if (name != NULL && run_state_parse(name, &state) == 0) {
			if ((state == RUN_QUEUED || state == RUN_RUNNING) &&
			    *live == JOB_UNSET)
				*live = store_column_i64(s, 0);
			if (state == RUN_SUCCEEDED && *succeeded == JOB_UNSET)
				*succeeded = store_column_i64(s, 0);
		}
		free(name);
	}
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "replays of a fire");
	store_reset(s);
	return ret;
}

int
store_batch_add(struct store *st, const struct store_batch *b, int64_t *id,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_BATCH_INSERT];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	store_bind_int64(s, 1, b->requested_at, &rc);
	store_bind_int64(s, 2, b->uid, &rc);
	store_bind_i64(s, 3, b->pid > 0 ? b->pid : JOB_UNSET, &rc);
	store_bind_text(s, 4, b->key, &rc);
	store_bind_text(s, 5, b->request, &rc);
	store_bind_int64(s, 6, b->max_parallel, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "record replay batch");
	else
		*id = sqlite3_last_insert_rowid(st->db);
	store_reset(s);
	return ret;
}

int
store_batch_by_key(struct store *st, const char *key, int64_t *id,
    char **answer, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_BATCH_BY_KEY];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	*id = JOB_UNSET;
	*answer = NULL;
	store_bind_text(s, 1, key, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = store_column_i64(s, 0);
		*answer = store_column_str(s, 1);
	} else if (rc == SQLITE_DONE)
		ret = store_report(STORE_NOTFOUND, cause, "no replay has key %s",
		    key);
	else
		ret = store_fail(st, rc, cause, "replay by key");
	store_reset(s);
	return ret;
}

int
store_batch_answer(struct store *st, int64_t id, const char *answer,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_BATCH_ANSWER];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, id, &rc);
	store_bind_text(s, 2, answer, &rc);
	return store_write_one(st, s, rc, cause, "record replay answer",
	    "no replay batch", id);
}

int
store_batch_target(struct store *st, int64_t batch_id, int64_t run_id,
    const char *status, int64_t replay_run, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_TARGET_INSERT];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	store_bind_int64(s, 1, batch_id, &rc);
	store_bind_int64(s, 2, run_id, &rc);
	store_bind_text(s, 3, status, &rc);
	store_bind_i64(s, 4, replay_run, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "record replay target");
	store_reset(s);
	return ret;
}

int
store_batch_get(struct store *st, int64_t id, struct store_batch *b,
    char **cause)
{
	sqlite3_stmt			*s = st->stmt[ST_BATCH_GET];
	struct store_replay_target	*t;
	char				*state;
	size_t				 cap = 0;
	int				 rc = SQLITE_OK, ret = STORE_OK;

	memset(b, 0, sizeof *b);
	store_bind_int64(s, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		b->id = store_column_i64(s, 0);
		b->requested_at = store_column_i64(s, 1);
		b->uid = (uid_t)store_column_i64(s, 2);
		b->key = store_column_str(s, 3);
		b->request = store_column_str(s, 4);
		b->max_parallel = (int)store_column_i64(s, 5);
	} else if (rc == SQLITE_DONE)
		ret = store_report(STORE_NOTFOUND, cause, "no replay batch %"
		    PRId64, id);
	else
		ret = store_fail(st, rc, cause, "get replay batch");
	store_reset(s);
	if (ret != STORE_OK)
		return ret;

	s = st->stmt[ST_TARGETS_GET];
	rc = SQLITE_OK;
	store_bind_int64(s, 1, id, &rc);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		if ((rc = sqlite3_step(s)) != SQLITE_ROW)
			break;
		if (b->n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			b->targets = xreallocarray(b->targets, cap,
			    sizeof *b->targets);
		}
		t = &b->targets[b->n++];
		memset(t, 0, sizeof *t);
		t->run_id = store_column_i64(s, 0);
		t->status = store_column_str(s, 1);
		t->replay_run = store_column_i64(s, 2);
		t->replay_state = -1;
		if ((state = store_column_str(s, 3)) != NULL) {
			enum run_state	rs;

			if (run_state_parse(state, &rs) == 0)
				t->replay_state = (int)rs;
			free(state);
		}
	}
	if (rc != SQLITE_DONE) {
		ret = store_fail(st, rc, cause, "get replay targets");
		store_batch_clear(b);
	}
	store_reset(s);
	return ret;
}

void
store_batch_clear(struct store_batch *b)
{
	size_t	i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++)
		free(b->targets[i].status);
	free(b->targets);
	free(b->key);
	free(b->request);
	memset(b, 0, sizeof *b);
}

int
store_batch_of_run(struct store *st, int64_t run_id, int64_t *batch_id,
    int *max_parallel, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_BATCH_OF_RUN];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	*batch_id = JOB_UNSET;
	*max_parallel = 0;
	store_bind_int64(s, 1, run_id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*batch_id = store_column_i64(s, 0);
		*max_parallel = (int)store_column_i64(s, 1);
	} else if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "batch of a replay run");
	store_reset(s);
	return ret;
}

int
store_fire_ack(struct store *st, int64_t job_id, int64_t scheduled_at,
    int *n, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_FIRE_ACK];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	store_bind_int64(s, 1, job_id, &rc);
	store_bind_int64(s, 2, scheduled_at, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "acknowledge a fire");
	else if (n != NULL)
		*n = sqlite3_changes(st->db);
	store_reset(s);
	return ret;
}

static void
store_row_open_job(sqlite3_stmt *s, void *p)
{
	struct store_open_job	*o = p;

	o->job = store_column_str(s, 0);
	o->open = store_column_i64(s, 1);
	o->last_at = store_column_i64(s, 2);
}

static void
store_free_open_jobs(void *list, size_t n)
{
	store_open_jobs_free(list, n);
}

int
store_open_by_job(struct store *st, int64_t owner,
    struct store_open_job **listp, size_t *np, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_OPEN_BY_JOB];
	void		*list;
	int		 rc = SQLITE_OK, ret;

	store_bind_i64(s, 1, owner, &rc);
	ret = store_read_array(st, s, rc, sizeof **listp, store_row_open_job,
	    store_free_open_jobs, &list, np, cause, "open failures by job");
	*listp = list;
	return ret;
}

void
store_open_jobs_free(struct store_open_job *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i].job);
	free(list);
}

int
store_job_counts(struct store *st, int64_t owner, int64_t *jobs,
    int64_t *paused, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_COUNTS];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	*jobs = *paused = 0;
	store_bind_i64(s, 1, owner, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*jobs = store_column_i64(s, 0);
		*paused = store_column_i64(s, 1);
	} else
		ret = store_fail(st, rc, cause, "count jobs");
	store_reset(s);
	return ret;
}

static void
store_row_failure(sqlite3_stmt *s, void *p)
{
	struct store_failure	*f = p;
	enum run_state		 state;
	char			*text;

	f->job = store_column_str(s, 0);
	text = store_column_str(s, 1);
	f->state = text != NULL && run_state_parse(text, &state) == 0 ?
	    state : RUN_FAILED;
	free(text);
	f->exit_code = store_column_i64(s, 2);
	f->signal = sqlite3_column_type(s, 3) == SQLITE_NULL ? 0 :
	    sqlite3_column_int(s, 3);
	f->count = store_column_i64(s, 4);
	f->first_at = store_column_i64(s, 5);
	f->last_at = store_column_i64(s, 6);
}

static void
store_free_failures(void *list, size_t n)
{
	store_failures_free(list, n);
}

int
store_failures(struct store *st, int64_t since, int64_t owner,
    struct store_failure **listp, size_t *np, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_FAILURES];
	void		*list;
	int		 rc = SQLITE_OK, ret;

	store_bind_int64(s, 1, since != JOB_UNSET ? since : INT64_MIN, &rc);
	store_bind_i64(s, 2, owner, &rc);
	ret = store_read_array(st, s, rc, sizeof **listp, store_row_failure,
	    store_free_failures, &list, np, cause, "group failures");
	*listp = list;
	return ret;
}

void
store_failures_free(struct store_failure *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i].job);
	free(list);
}

int
store_outbox_add(struct store *st, const struct store_outbox *o, int64_t *id,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_OUTBOX_ADD];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	store_bind_int64(s, 1, o->created_at, &rc);
	store_bind_text(s, 2, o->event, &rc);
	store_bind_text(s, 3, o->kind, &rc);
	store_bind_i64(s, 4, o->job_id, &rc);
	store_bind_i64(s, 5, o->run_id, &rc);
	store_bind_text(s, 6, o->url, &rc);
	store_bind_text(s, 7, o->content_type, &rc);
	store_bind_blob(s, 8, o->body, o->body_len, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "add to the outbox");
	else if (id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	store_reset(s);
	return ret;
}

static void
store_row_outbox(sqlite3_stmt *s, void *p)
{
	struct store_outbox	*o = p;

	o->id = sqlite3_column_int64(s, 0);
	o->created_at = sqlite3_column_int64(s, 1);
	o->event = store_column_str(s, 2);
	o->kind = store_column_str(s, 3);
	o->job_id = store_column_i64(s, 4);
	o->run_id = store_column_i64(s, 5);
	o->url = store_column_str(s, 6);
	o->content_type = store_column_str(s, 7);
	o->body = store_column_blob(s, 8, &o->body_len);
	o->attempts = sqlite3_column_int(s, 9);
	o->next_at = sqlite3_column_int64(s, 10);
	o->last_error = store_column_str(s, 11);
}

static void
store_free_outboxes(void *list, size_t n)
{
	store_outboxes_free(list, n);
}

int
store_outbox_due(struct store *st, int64_t now, size_t limit,
    struct store_outbox **listp, size_t *np, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_OUTBOX_DUE];
	void		*list;
	int		 rc = SQLITE_OK, ret;

	store_bind_int64(s, 1, now, &rc);
	store_bind_int64(s, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit,
	    &rc);
	ret = store_read_array(st, s, rc, sizeof **listp, store_row_outbox,
	    store_free_outboxes, &list, np, cause, "read the outbox");
	*listp = list;
	return ret;
}

void
store_outboxes_free(struct store_outbox *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(list[i].event);
		free(list[i].kind);
		free(list[i].url);
		free(list[i].content_type);
		free(list[i].body);
		free(list[i].last_error);
	}
	free(list);
}

int
store_outbox_next(struct store *st, int64_t *at, char **cause)
{
	return store_read_i64(st, st->stmt[ST_OUTBOX_NEXT], SQLITE_OK, at,
	    cause, "next outbox row");
}

int
store_outbox_try(struct store *st, int64_t id, int64_t until, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_OUTBOX_TRY];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, id, &rc);
	store_bind_int64(s, 2, until, &rc);
	return store_write_one(st, s, rc, cause, "begin a delivery",
	    "no pending outbox row has id", id);
}

int
store_outbox_fail(struct store *st, int64_t id, int64_t next_at,
    const char *error, int64_t now, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc = SQLITE_OK, ret, nested;

	if (next_at != JOB_UNSET) {
		s = st->stmt[ST_OUTBOX_RETRY];
		store_bind_int64(s, 1, id, &rc);
		store_bind_int64(s, 2, next_at, &rc);
		store_bind_text(s, 3, error, &rc);
		return store_write_one(st, s, rc, cause, "reschedule a delivery",
		    "no pending outbox row has id", id);
	}
	if ((ret = store_tx_begin(st, &nested, cause)) != STORE_OK)
		return ret;
	s = st->stmt[ST_OUTBOX_KILL];
	store_bind_int64(s, 1, id, &rc);
	store_bind_int64(s, 2, now, &rc);
	store_bind_text(s, 3, error, &rc);
	ret = store_write_one(st, s, rc, cause, "give up a delivery",
	    "no pending outbox row has id", id);
	if (ret == STORE_OK) {
		s = st->stmt[ST_OUTBOX_TRIM];
		rc = SQLITE_OK;
		store_bind_int64(s, 1, OUTBOX_DEAD_KEEP, &rc);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(s);
		if (rc != SQLITE_DONE)
			ret = store_fail(st, rc, cause, "trim dead deliveries");
		store_reset(s);
	}
	return store_tx_end(st, nested, ret, cause);
}

int
store_outbox_done(struct store *st, int64_t id, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_OUTBOX_DONE];
	int		 rc = SQLITE_OK;

	store_bind_int64(s, 1, id, &rc);
	return store_write_one(st, s, rc, cause, "end a delivery",
	    "no outbox row has id", id);
}

int
store_outbox_rearm(struct store *st, int64_t now, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_OUTBOX_REARM];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	store_bind_int64(s, 1, now, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		ret = store_fail(st, rc, cause, "rearm the outbox");
	store_reset(s);
	return ret;
}

int
store_outbox_count(struct store *st, int64_t owner, int64_t *pending,
    int64_t *dead, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_OUTBOX_COUNT];
	int		 rc = SQLITE_OK, ret = STORE_OK;

	if (pending != NULL)
		*pending = 0;
	if (dead != NULL)
		*dead = 0;
	store_bind_i64(s, 1, owner, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (pending != NULL)
			*pending = sqlite3_column_int64(s, 0);
		if (dead != NULL)
			*dead = sqlite3_column_int64(s, 1);
	} else
		ret = store_fail(st, rc, cause, "count the outbox");
	store_reset(s);
	return ret;
}

const int64_t store_duration_bucket_ms[STORE_DURATION_NBUCKETS] = {
	100, 1000, 5000, 15000, 60000, 300000, 900000, 1800000, 3600000,
	10800000
};

_Static_assert(RUN_MISSED - RUN_SUCCEEDED + 1 == METRIC_NSTATES,
    "METRIC_STATE_COLS and enum run_state differ");

static void
store_row_job_metrics(sqlite3_stmt *s, void *p)
{
	struct store_job_metrics	*m = p;
	int				 i, col;

	m->id = sqlite3_column_int64(s, 0);
	m->name = store_column_str(s, 1);
	m->paused = sqlite3_column_int(s, 2);
	m->created_at = store_column_i64(s, 3);
	m->resumed_at = store_column_i64(s, 4);
	m->stale_after_ms = store_column_i64(s, 5);
	m->last_run_at = store_column_i64(s, 6);
	m->last_success_at = store_column_i64(s, 7);
	m->consecutive_failures = sqlite3_column_int64(s, 8);
	col = METRIC_NCOLS;
	for (i = 0; i < METRIC_NSTATES; i++)	/* NULL (no row) is 0 */
		m->runs[RUN_SUCCEEDED + i] = sqlite3_column_int64(s, col++);
	m->duration_count = sqlite3_column_int64(s, col++);
	m->duration_sum_ms = sqlite3_column_int64(s, col++);
	for (i = 0; i < STORE_DURATION_NBUCKETS; i++)
		m->duration_le[i] = sqlite3_column_int64(s, col++);
}

static void
store_free_job_metrics(void *list, size_t n)
{
	store_job_metrics_free(list, n);
}

int
store_job_metrics(struct store *st, int64_t owner,
    struct store_job_metrics **listp, size_t *np, char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_JOB_METRICS];
	void		*list;
	int		 rc = SQLITE_OK, ret;

	store_bind_i64(s, 1, owner, &rc);
	ret = store_read_array(st, s, rc, sizeof **listp,
	    store_row_job_metrics, store_free_job_metrics, &list, np, cause,
	    "job metrics");
	*listp = list;
	return ret;
}

void
store_job_metrics_free(struct store_job_metrics *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

int
store_metric_totals(struct store *st, struct store_metric_totals *t,
    char **cause)
{
	sqlite3_stmt	*s = st->stmt[ST_METRIC_TOTALS];
	int		 rc, ret = STORE_OK;

	memset(t, 0, sizeof *t);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		t->open_failures = sqlite3_column_int64(s, 0);
		t->replays_succeeded = sqlite3_column_int64(s, 1);
		t->replays_failed = sqlite3_column_int64(s, 2);
	} else
		ret = store_fail(st, rc, cause, "metric totals");
	store_reset(s);
	return ret;
}

int
store_failing(struct store *st, const char **msg)
{
	*msg = NULL;
	if (st->error == NULL)
		return 0;
	if (sqlite3_total_changes64(st->db) != st->error_changes) {
		free(st->error);	/* a write went through since */
		st->error = NULL;
		return 0;
	}
	*msg = st->error;
	return 1;
}
