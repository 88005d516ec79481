-- 0005-reserved: an empty step that holds the number 5.
--
-- Schema version 5 belongs to the migration of another line of work
-- (metrics and staleness) that had not landed when 0006-outbox was
-- written; sql2c.sh allows no gap, so this file keeps the numbering
-- whole.  When that migration lands, it replaces this file under its
-- own name and this one goes.  Until then it changes nothing.
SELECT 1;
