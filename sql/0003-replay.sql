-- 0003-replay: replay requests (DESIGN.md section 7).
--
-- Every replay request that is not a dry run is a batch: who asked, the
-- request (filters and options, JSON), its idempotency key and the first
-- answer given for it, returned again, byte for byte, to a request with
-- the same key.  Its targets say what happened to each run asked for.
CREATE TABLE replay_batches (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	requested_at	INTEGER NOT NULL,
	uid		INTEGER NOT NULL,
	pid		INTEGER,
	key		TEXT UNIQUE,
	request		TEXT NOT NULL,
	max_parallel	INTEGER NOT NULL DEFAULT 1 CHECK (max_parallel >= 1),
	answer		TEXT
);

-- One row per target run of a batch.  run_id and replay_run are not
-- foreign keys: pruning may remove the runs, never the batch's record.
CREATE TABLE replay_targets (
	batch_id	INTEGER NOT NULL
			REFERENCES replay_batches (id) ON DELETE CASCADE,
	run_id		INTEGER NOT NULL,
	status		TEXT NOT NULL CONSTRAINT valid_replay_status
			CHECK (status IN ('started', 'in_progress',
			    'already_replayed', 'not_replayable')),
	replay_run	INTEGER,
	PRIMARY KEY (batch_id, run_id)
);
CREATE INDEX replay_targets_run ON replay_targets (replay_run)
    WHERE replay_run IS NOT NULL;

-- At most one live replay of a fire, whatever the number of clients
-- asking at once and across restarts: the database refuses a second.
CREATE UNIQUE INDEX runs_one_live_replay ON runs (job_id, scheduled_at)
    WHERE trigger = 'replay' AND state IN ('queued', 'running');
