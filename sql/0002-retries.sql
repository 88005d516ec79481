-- 0002-retries: find the fires waiting for a retry at start.
--
-- A failed attempt whose retry is due later has resolution 'retrying'
-- and no later attempt yet; on start sqcrond reads them to schedule
-- their retries again (DESIGN.md section 7), without scanning every run.
CREATE INDEX runs_retrying ON runs (job_id) WHERE resolution = 'retrying';
