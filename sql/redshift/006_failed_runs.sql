-- Runs that fail at any step are audited too: the step that failed, its one-line cause, and the clean-up's own
-- failure when there was one (kept beside the run's error, never in its place). status is then 'failed'.
ALTER TABLE etl_runs ADD COLUMN failed_step varchar(64);
ALTER TABLE etl_runs ADD COLUMN error varchar(65535);
ALTER TABLE etl_runs ADD COLUMN cleanup_error varchar(65535);
