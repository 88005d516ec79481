-- 0004-retention: an index for keep_runs (DESIGN.md section 3).
--
-- Retention deletes a job's runs beyond its keep_runs newest, oldest
-- first, but never a live run (queued, running) nor an open failure,
-- which waits for keep_days instead.  This partial index holds exactly
-- the runs that rule may delete, by job in id order, so that a batch
-- reads only what it deletes however many open failures a job has piled
-- up; a run enters it when it ends and leaves it while its failure is
-- open.  A query uses it only when its WHERE says "state NOT IN
-- ('queued', 'running') AND resolution IS NOT 'open'" word for word
-- (store.c does).  keep_days needs no new index: it walks a job's fires
-- in the index of UNIQUE (job_id, scheduled_at, attempt).
CREATE INDEX runs_prunable ON runs (job_id, id)
    WHERE state NOT IN ('queued', 'running') AND resolution IS NOT 'open';
