-- Registry of run-private staging tables (Redshift dialect), for the sweep of crashed runs' leftovers.
CREATE TABLE IF NOT EXISTS run_staging (
  table_name   varchar(128) NOT NULL,
  run_key      varchar(64) NOT NULL,
  workflow_id  varchar(256),
  created_at   timestamp NOT NULL DEFAULT getdate(),
  PRIMARY KEY (table_name)
) DISTSTYLE ALL;
