-- Runs that fail at any step are audited too: the step that failed, its one-line cause, and the clean-up's own
-- failure when there was one (kept beside the run's error, never in its place). status is then 'failed'.
ALTER TABLE etl_runs ADD COLUMN IF NOT EXISTS failed_step text;
ALTER TABLE etl_runs ADD COLUMN IF NOT EXISTS error text;
ALTER TABLE etl_runs ADD COLUMN IF NOT EXISTS cleanup_error text;
