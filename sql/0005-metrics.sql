-- 0005-metrics: the counters behind sqcrond's Prometheus metrics
-- (DESIGN.md section 10), kept apart from the runs they count.
--
-- A Prometheus counter must only ever go up, across restarts and across
-- retention: counting runs rows would make sqcron_runs_total fall each
-- time keep_runs or `sqcron prune` deletes some.  So every run that
-- ends adds to these tables, in the statement (and the transaction) that
-- records its end, and deleting runs leaves them alone.  Triggers do the
-- adding, so no way of ending a run can forget it: store.c's finish of a
-- run, the runs marked lost at start, and the skipped and missed runs
-- that are recorded already ended.  A run "ends" when its state leaves
-- queued/running, or when it is inserted in any other state; that
-- happens once per run (store.c never changes an ended state).
--
-- job_metrics: one row per job that has had a run end.  A removed job
-- keeps its row (its id is never reused) but is not shown.
--	last_run_at	ended_at of the newest run that executed (started)
--	last_success_at	ended_at of the newest success, and
--	last_success_run its id: consecutive failures count after it, and
--			both survive the deletion of that run
--	succeeded ...	runs that ended in each end state (sqcron_runs_total)
--	duration_*	sqcron_run_duration_seconds of the runs that have a
--	le_*		duration: how many, their sum, and the cumulative
--			count of those at most 100 ms, 1 s, ... 3 h (the +Inf
--			bucket is duration_count)
CREATE TABLE job_metrics (
	job_id		INTEGER PRIMARY KEY,
	last_run_at	INTEGER,
	last_success_at	INTEGER,
	last_success_run INTEGER,
	succeeded	INTEGER NOT NULL DEFAULT 0,
	failed		INTEGER NOT NULL DEFAULT 0,
	timeout		INTEGER NOT NULL DEFAULT 0,
	oom		INTEGER NOT NULL DEFAULT 0,
	crashed		INTEGER NOT NULL DEFAULT 0,
	killed		INTEGER NOT NULL DEFAULT 0,
	lost		INTEGER NOT NULL DEFAULT 0,
	spawn_error	INTEGER NOT NULL DEFAULT 0,
	skipped		INTEGER NOT NULL DEFAULT 0,
	missed		INTEGER NOT NULL DEFAULT 0,
	duration_count	INTEGER NOT NULL DEFAULT 0,
	duration_sum_ms	INTEGER NOT NULL DEFAULT 0,
	le_100ms	INTEGER NOT NULL DEFAULT 0,
	le_1s		INTEGER NOT NULL DEFAULT 0,
	le_5s		INTEGER NOT NULL DEFAULT 0,
	le_15s		INTEGER NOT NULL DEFAULT 0,
	le_1m		INTEGER NOT NULL DEFAULT 0,
	le_5m		INTEGER NOT NULL DEFAULT 0,
	le_15m		INTEGER NOT NULL DEFAULT 0,
	le_30m		INTEGER NOT NULL DEFAULT 0,
	le_1h		INTEGER NOT NULL DEFAULT 0,
	le_3h		INTEGER NOT NULL DEFAULT 0
);

-- sqcron_replays_total{result}: replay runs that ended, succeeded or
-- failed (any other end state).  Both rows always exist.
CREATE TABLE replay_metrics (
	result		TEXT PRIMARY KEY NOT NULL
			CHECK (result IN ('succeeded', 'failed')),
	count		INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- A database that had runs before this migration starts from the runs it
-- still has.
INSERT INTO job_metrics (job_id, last_run_at, last_success_at,
    last_success_run, succeeded, failed, timeout, oom, crashed, killed,
    lost, spawn_error, skipped, missed, duration_count, duration_sum_ms,
    le_100ms, le_1s, le_5s, le_15s, le_1m, le_5m, le_15m, le_30m, le_1h,
    le_3h)
SELECT job_id,
    max(CASE WHEN started_at IS NOT NULL THEN ended_at END),
    max(CASE WHEN state = 'succeeded' THEN ended_at END),
    max(CASE WHEN state = 'succeeded' THEN id END),
    sum(state = 'succeeded'), sum(state = 'failed'), sum(state = 'timeout'),
    sum(state = 'oom'), sum(state = 'crashed'), sum(state = 'killed'),
    sum(state = 'lost'), sum(state = 'spawn_error'), sum(state = 'skipped'),
    sum(state = 'missed'),
    count(duration_ms), coalesce(sum(max(duration_ms, 0)), 0),
    sum(coalesce(duration_ms <= 100, 0)),
    sum(coalesce(duration_ms <= 1000, 0)),
    sum(coalesce(duration_ms <= 5000, 0)),
    sum(coalesce(duration_ms <= 15000, 0)),
    sum(coalesce(duration_ms <= 60000, 0)),
    sum(coalesce(duration_ms <= 300000, 0)),
    sum(coalesce(duration_ms <= 900000, 0)),
    sum(coalesce(duration_ms <= 1800000, 0)),
    sum(coalesce(duration_ms <= 3600000, 0)),
    sum(coalesce(duration_ms <= 10800000, 0))
FROM runs WHERE state NOT IN ('queued', 'running') GROUP BY job_id;

INSERT INTO replay_metrics (result, count)
SELECT 'succeeded', count(*) FROM runs
WHERE trigger = 'replay' AND state = 'succeeded';
INSERT INTO replay_metrics (result, count)
SELECT 'failed', count(*) FROM runs
WHERE trigger = 'replay' AND state NOT IN ('queued', 'running', 'succeeded');

-- The two triggers do the same for a run that ends by an update and for
-- one recorded already ended.  Their bodies must stay identical.
CREATE TRIGGER job_metrics_run_ended AFTER UPDATE OF state ON runs
WHEN old.state IN ('queued', 'running')
    AND new.state NOT IN ('queued', 'running')
BEGIN
	INSERT INTO job_metrics (job_id) VALUES (new.job_id)
	    ON CONFLICT (job_id) DO NOTHING;
	UPDATE job_metrics SET
	    last_run_at = CASE WHEN new.started_at IS NOT NULL
		AND new.ended_at > coalesce(last_run_at, -1)
		THEN new.ended_at ELSE last_run_at END,
	    last_success_at = CASE WHEN new.state = 'succeeded'
		AND new.ended_at > coalesce(last_success_at, -1)
		THEN new.ended_at ELSE last_success_at END,
	    last_success_run = CASE WHEN new.state = 'succeeded'
		THEN max(coalesce(last_success_run, 0), new.id)
		ELSE last_success_run END,
	    succeeded = succeeded + (new.state = 'succeeded'),
	    failed = failed + (new.state = 'failed'),
	    timeout = timeout + (new.state = 'timeout'),
	    oom = oom + (new.state = 'oom'),
	    crashed = crashed + (new.state = 'crashed'),
	    killed = killed + (new.state = 'killed'),
	    lost = lost + (new.state = 'lost'),
	    spawn_error = spawn_error + (new.state = 'spawn_error'),
	    skipped = skipped + (new.state = 'skipped'),
	    missed = missed + (new.state = 'missed'),
	    duration_count = duration_count + (new.duration_ms IS NOT NULL),
	    duration_sum_ms = duration_sum_ms +
		coalesce(max(new.duration_ms, 0), 0),
	    le_100ms = le_100ms + coalesce(new.duration_ms <= 100, 0),
	    le_1s = le_1s + coalesce(new.duration_ms <= 1000, 0),
	    le_5s = le_5s + coalesce(new.duration_ms <= 5000, 0),
	    le_15s = le_15s + coalesce(new.duration_ms <= 15000, 0),
	    le_1m = le_1m + coalesce(new.duration_ms <= 60000, 0),
	    le_5m = le_5m + coalesce(new.duration_ms <= 300000, 0),
	    le_15m = le_15m + coalesce(new.duration_ms <= 900000, 0),
	    le_30m = le_30m + coalesce(new.duration_ms <= 1800000, 0),
	    le_1h = le_1h + coalesce(new.duration_ms <= 3600000, 0),
	    le_3h = le_3h + coalesce(new.duration_ms <= 10800000, 0)
	WHERE job_id = new.job_id;
	UPDATE replay_metrics SET count = count + 1
	WHERE new.trigger = 'replay' AND result =
	    CASE new.state WHEN 'succeeded' THEN 'succeeded' ELSE 'failed' END;
END;

CREATE TRIGGER job_metrics_run_recorded AFTER INSERT ON runs
WHEN new.state NOT IN ('queued', 'running')
BEGIN
	INSERT INTO job_metrics (job_id) VALUES (new.job_id)
	    ON CONFLICT (job_id) DO NOTHING;
	UPDATE job_metrics SET
	    last_run_at = CASE WHEN new.started_at IS NOT NULL
		AND new.ended_at > coalesce(last_run_at, -1)
		THEN new.ended_at ELSE last_run_at END,
	    last_success_at = CASE WHEN new.state = 'succeeded'
		AND new.ended_at > coalesce(last_success_at, -1)
		THEN new.ended_at ELSE last_success_at END,
	    last_success_run = CASE WHEN new.state = 'succeeded'
		THEN max(coalesce(last_success_run, 0), new.id)
		ELSE last_success_run END,
	    succeeded = succeeded + (new.state = 'succeeded'),
	    failed = failed + (new.state = 'failed'),
	    timeout = timeout + (new.state = 'timeout'),
	    oom = oom + (new.state = 'oom'),
	    crashed = crashed + (new.state = 'crashed'),
	    killed = killed + (new.state = 'killed'),
	    lost = lost + (new.state = 'lost'),
	    spawn_error = spawn_error + (new.state = 'spawn_error'),
	    skipped = skipped + (new.state = 'skipped'),
	    missed = missed + (new.state = 'missed'),
	    duration_count = duration_count + (new.duration_ms IS NOT NULL),
	    duration_sum_ms = duration_sum_ms +
		coalesce(max(new.duration_ms, 0), 0),
	    le_100ms = le_100ms + coalesce(new.duration_ms <= 100, 0),
	    le_1s = le_1s + coalesce(new.duration_ms <= 1000, 0),
	    le_5s = le_5s + coalesce(new.duration_ms <= 5000, 0),
	    le_15s = le_15s + coalesce(new.duration_ms <= 15000, 0),
	    le_1m = le_1m + coalesce(new.duration_ms <= 60000, 0),
	    le_5m = le_5m + coalesce(new.duration_ms <= 300000, 0),
	    le_15m = le_15m + coalesce(new.duration_ms <= 900000, 0),
	    le_30m = le_30m + coalesce(new.duration_ms <= 1800000, 0),
	    le_1h = le_1h + coalesce(new.duration_ms <= 3600000, 0),
	    le_3h = le_3h + coalesce(new.duration_ms <= 10800000, 0)
	WHERE job_id = new.job_id;
	UPDATE replay_metrics SET count = count + 1
	WHERE new.trigger = 'replay' AND result =
	    CASE new.state WHEN 'succeeded' THEN 'succeeded' ELSE 'failed' END;
END;
