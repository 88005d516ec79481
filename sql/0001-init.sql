-- 0001-init: sqcrond's first schema (DESIGN.md sections 3, 5, 8, 12).
--
-- Applied by store.c in one transaction that also sets PRAGMA
-- user_version to 1; never edit this file once released: change the
-- schema with a new sql/NNNN-name.sql.  Replay batches and the
-- notification outbox arrive in later migrations, with the code that
-- uses them.
--
-- Conventions: times are INTEGER milliseconds since the epoch (UTC) in
-- columns named *_at, durations INTEGER milliseconds in *_ms, sizes
-- INTEGER bytes.  A job option left unset is NULL, so that a change of
-- the daemon's default reaches every job that did not choose.  Enums are
-- stored as their wire names (job.c), checked here, so the database reads
-- the same in sqlite3 as on the wire.  Checks that span lines are named
-- (valid_*), so that a refusal names the rule, not its text.

-- 'SQCR': lets store.c tell its own database from someone else's.
PRAGMA application_id = 1397834578;

-- Small facts about the daemon itself: boot_id of the last @reboot pass,
-- the start time, and whatever else is one value.
CREATE TABLE meta (
	key		TEXT PRIMARY KEY NOT NULL,
	value		TEXT NOT NULL
) WITHOUT ROWID;

-- Jobs, live and removed.  A removed job keeps its row (its runs still
-- point at it) and frees its name: the name is unique among live jobs
-- only (jobs_live_name).  The options of struct job_spec are one typed
-- column each, named as its fields.
--
-- env is TEXT, one NAME=VALUE per line, in order, with "\" written "\\"
-- and a newline in a value written "\n" (store.c).  It is read and written
-- only whole, with the rest of the definition, never searched by name;
-- one column keeps a job one row (no join or second query per job in
-- job.list), lets job_versions snapshot it by copying a column, and stays
-- readable in sqlite3.
CREATE TABLE jobs (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL CONSTRAINT valid_name
			CHECK (length(name) BETWEEN 1 AND 128 AND
			    name NOT GLOB '*[^A-Za-z0-9._-]*'),
	source		TEXT NOT NULL CHECK (source <> ''),	-- 'api' or a path
	line		INTEGER CHECK (line > 0),	-- NULL: not from a file
	owner_uid	INTEGER NOT NULL CHECK (owner_uid >= 0),
	version		INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
	paused		INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
	paused_until	INTEGER,			-- NULL: until resumed
	paused_reason	TEXT,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,		-- last version bump
	resumed_at	INTEGER,
	removed_at	INTEGER,			-- NULL: live

	schedule	TEXT NOT NULL,
	command		TEXT NOT NULL,
	timezone	TEXT,
	user		TEXT,
	env		TEXT,
	workdir		TEXT,
	timeout_ms	INTEGER CHECK (timeout_ms >= 0),
	memory		INTEGER CHECK (memory >= 0),
	cpu_ms		INTEGER CHECK (cpu_ms >= 0),
	nofile		INTEGER CHECK (nofile >= 0),
	nproc		INTEGER CHECK (nproc >= 0),
	nice		INTEGER CHECK (nice BETWEEN -20 AND 19),
	rlimit_as	INTEGER CHECK (rlimit_as >= 0),
	kill_grace_ms	INTEGER CHECK (kill_grace_ms >= 0),
	kill_orphans	INTEGER CHECK (kill_orphans IN (0, 1)),
	overlap		TEXT CONSTRAINT valid_overlap
			CHECK (overlap IN ('skip', 'queue', 'replace', 'allow')),
	retries		INTEGER CHECK (retries >= 0),
	backoff_ms	INTEGER CHECK (backoff_ms >= 0),
	backoff_max_ms	INTEGER CHECK (backoff_max_ms >= 0),
	no_retry_exit	TEXT,
	catchup		TEXT CONSTRAINT valid_catchup
			CHECK (catchup IN ('skip', 'latest', 'all')),
	starting_deadline_ms INTEGER CHECK (starting_deadline_ms >= 0),
	jitter_ms	INTEGER CHECK (jitter_ms >= 0),
	output_max	INTEGER CHECK (output_max >= 0),
	keep_runs	INTEGER CHECK (keep_runs >= 0),
	keep_days_ms	INTEGER CHECK (keep_days_ms >= 0),
	pause_after	INTEGER CHECK (pause_after >= 0),
	stale_after_ms	INTEGER CHECK (stale_after_ms >= 0),
	notify		TEXT,
	notify_on	TEXT,
	ping_url	TEXT,
	mailto		TEXT,
	description	TEXT,
	stdin_data	TEXT
);
CREATE UNIQUE INDEX jobs_live_name ON jobs (name) WHERE removed_at IS NULL;

-- Every version of every job's definition: the spec columns of jobs plus
-- where it came from, written by the same transaction that creates the
-- version.  Pausing and resuming are state, not definition: they make no
-- version.
CREATE TABLE job_versions (
	job_id		INTEGER NOT NULL REFERENCES jobs (id),
	version		INTEGER NOT NULL,
	created_at	INTEGER NOT NULL,
	source		TEXT NOT NULL,
	line		INTEGER,
	owner_uid	INTEGER NOT NULL,

	name		TEXT NOT NULL,
	schedule	TEXT NOT NULL,
	command		TEXT NOT NULL,
	timezone	TEXT,
	user		TEXT,
	env		TEXT,
	workdir		TEXT,
	timeout_ms	INTEGER,
	memory		INTEGER,
	cpu_ms		INTEGER,
	nofile		INTEGER,
	nproc		INTEGER,
	nice		INTEGER,
	rlimit_as	INTEGER,
	kill_grace_ms	INTEGER,
	kill_orphans	INTEGER,
	overlap		TEXT,
	retries		INTEGER,
	backoff_ms	INTEGER,
	backoff_max_ms	INTEGER,
	no_retry_exit	TEXT,
	catchup		TEXT,
	starting_deadline_ms INTEGER,
	jitter_ms	INTEGER,
	output_max	INTEGER,
	keep_runs	INTEGER,
	keep_days_ms	INTEGER,
	pause_after	INTEGER,
	stale_after_ms	INTEGER,
	notify		TEXT,
	notify_on	TEXT,
	ping_url	TEXT,
	mailto		TEXT,
	description	TEXT,
	stdin_data	TEXT,
	PRIMARY KEY (job_id, version)
);

-- Runs (DESIGN.md section 5).  AUTOINCREMENT: ids only ever increase,
-- even after the newest rows are pruned, so "newest first" is "id
-- descending" and paging by id is stable.  A fire is (job_id,
-- scheduled_at); retries and replays are further attempts of it, and
-- UNIQUE (job_id, scheduled_at, attempt) records each attempt once.
-- pid_start_time is field 22 of /proc/PID/stat (clock ticks since boot),
-- so that after a restart a survivor can be told from a reused pid.
-- signal is the signal number, NULL for none; core_dumped 0 or 1.
CREATE TABLE runs (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	job_id		INTEGER NOT NULL REFERENCES jobs (id),
	job_version	INTEGER NOT NULL,
	scheduled_at	INTEGER NOT NULL,
	trigger		TEXT NOT NULL CONSTRAINT valid_trigger
			CHECK (trigger IN ('schedule', 'retry', 'manual',
			    'replay', 'catchup', 'reboot')),
	attempt		INTEGER NOT NULL CHECK (attempt >= 1),
	replay_of	INTEGER REFERENCES runs (id) ON DELETE SET NULL,
	state		TEXT NOT NULL CONSTRAINT valid_state
			CHECK (state IN ('queued', 'running', 'succeeded',
			    'failed', 'timeout', 'oom', 'crashed', 'killed',
			    'lost', 'spawn_error', 'skipped', 'missed')),
	exit_code	INTEGER,
	signal		INTEGER CHECK (signal > 0),
	core_dumped	INTEGER NOT NULL DEFAULT 0 CHECK (core_dumped IN (0, 1)),
	reason		TEXT,
	queued_at	INTEGER NOT NULL,	-- when the row was recorded
	started_at	INTEGER,
	ended_at	INTEGER,
	duration_ms	INTEGER,
	pid		INTEGER CHECK (pid > 0),
	pid_start_time	INTEGER,
	max_rss_kb	INTEGER CHECK (max_rss_kb >= 0),
	user_cpu_ms	INTEGER CHECK (user_cpu_ms >= 0),
	sys_cpu_ms	INTEGER CHECK (sys_cpu_ms >= 0),
	output_bytes	INTEGER CHECK (output_bytes >= 0),
	resolution	TEXT CONSTRAINT valid_resolution
			CHECK (resolution IN ('retrying', 'superseded', 'open',
			    'replayed', 'acked')),
	UNIQUE (job_id, scheduled_at, attempt),
	FOREIGN KEY (job_id, job_version)
	    REFERENCES job_versions (job_id, version)
);
-- A job's runs, newest first (run.list --job, last run, health).
CREATE INDEX runs_job ON runs (job_id, id DESC);
-- Live runs: start-up recovery, the queue, overlap.  Partial, so it costs
-- nothing once a run ends; a query uses it only when its WHERE says
-- "state IN ('queued', 'running')" word for word (store.c does).
CREATE INDEX runs_live ON runs (state, scheduled_at)
    WHERE state IN ('queued', 'running');
-- The dead-letter list (run.list --open), in id order.
CREATE INDEX runs_open ON runs (resolution) WHERE resolution = 'open';
-- Ranges of fires (run.list --since/--until, replay ranges, export).
CREATE INDEX runs_scheduled ON runs (scheduled_at);
-- Replays of a run (replay idempotency; ON DELETE SET NULL on prune).
CREATE INDEX runs_replay_of ON runs (replay_of) WHERE replay_of IS NOT NULL;

-- What a run printed: the first and last output_max/2 bytes and how many
-- were dropped between them.  Apart from runs so that listing runs never
-- reads output.
CREATE TABLE run_output (
	run_id		INTEGER PRIMARY KEY REFERENCES runs (id)
			    ON DELETE CASCADE,
	head		BLOB NOT NULL,
	tail		BLOB NOT NULL,
	omitted		INTEGER NOT NULL CHECK (omitted >= 0)
);

-- Every mutation through the socket (DESIGN.md section 8).  params is the
-- request's params as JSON text, secrets already redacted by the caller;
-- outcome is "ok" or the protocol error code, error its message.
CREATE TABLE audit (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	at		INTEGER NOT NULL,
	uid		INTEGER NOT NULL,
	pid		INTEGER,
	method		TEXT NOT NULL,
	params		TEXT,
	outcome		TEXT NOT NULL,
	error		TEXT
);
CREATE INDEX audit_at ON audit (at);
