-- Registry of run-private staging tables, so that a sweep can drop the ones that crashed runs left behind.
CREATE TABLE IF NOT EXISTS run_staging (
  table_name   text PRIMARY KEY,
  run_key      text NOT NULL,
  workflow_id  text,
  created_at   timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
