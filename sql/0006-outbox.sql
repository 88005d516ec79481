-- 0006-outbox: notifications waiting to be delivered (DESIGN.md section
-- 10).
--
-- An event of a job with notify (or ping_url) becomes one row per URL,
-- written by the same transaction that records the change it tells of
-- (a run's end, its start, a pause), so a crash can neither lose an
-- event nor invent one.  notify.c delivers the rows by HTTP POST and
-- deletes each one that a receiver acknowledged with a 2xx; a row whose
-- attempts are spent stays, state 'dead', for an operator to look at
-- (store.c keeps the newest OUTBOX_DEAD_KEEP of them).
--
-- The row carries everything its delivery needs (url, content_type,
-- body as built when the event happened), so that a job's removal, a
-- change of its options or the pruning of its runs never changes what
-- is sent.  job_id and run_id are therefore plain numbers, not foreign
-- keys.  kind is 'webhook' (notify, body JSON) or 'ping' (ping_url, the
-- healthchecks.io protocol: event run.started is URL/start, run.succeeded
-- URL, run.failed URL/fail).
--
-- next_at is when the next attempt is due; while an attempt is in flight
-- it is pushed past the attempt's timeout (a lease), so a daemon that
-- dies mid-attempt tries again later instead of never.  attempts counts
-- the attempts begun.
CREATE TABLE outbox (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	created_at	INTEGER NOT NULL,
	event		TEXT NOT NULL CONSTRAINT valid_event
			CHECK (event IN ('run.failed', 'run.dead',
			    'job.recovered', 'job.stale', 'job.paused',
			    'run.started', 'run.succeeded')),
	kind		TEXT NOT NULL CONSTRAINT valid_kind
			CHECK (kind IN ('webhook', 'ping')),
	job_id		INTEGER,
	run_id		INTEGER,
	url		TEXT NOT NULL CHECK (url <> ''),
	content_type	TEXT NOT NULL,
	body		BLOB NOT NULL,
	state		TEXT NOT NULL DEFAULT 'pending' CONSTRAINT valid_outbox_state
			CHECK (state IN ('pending', 'dead')),
	attempts	INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_at		INTEGER NOT NULL,
	last_error	TEXT,
	dead_at		INTEGER
);
-- The rows to deliver, soonest first; a query uses it only when its
-- WHERE says "state = 'pending'" word for word (store.c does).
CREATE INDEX outbox_due ON outbox (next_at) WHERE state = 'pending';
-- A run's pending rows: those to one URL, and its pings, go in order
-- (URL/start before URL/fail), a row waiting while an older one of its
-- run to the same place is pending.
CREATE INDEX outbox_run ON outbox (run_id) WHERE state = 'pending';
