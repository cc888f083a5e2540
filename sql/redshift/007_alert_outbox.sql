-- The failure webhook's outbox (see sql/007_alert_outbox.sql): written with the run's etl_runs row, delivered
-- by the worker process outside the run. Redshift enforces no key: recordRun inserts a row only when none
-- exists for the run and kind, and a claim is an UPDATE that serializable isolation lets one worker win.
CREATE TABLE IF NOT EXISTS alert_outbox (
  run_id           varchar(64) NOT NULL,
  kind             varchar(16) NOT NULL,
  workflow_id      varchar(256) NOT NULL,
  interval_start   timestamp NOT NULL,
  interval_end     timestamp NOT NULL,
  step             varchar(64),
  message          varchar(65535),
  state            varchar(16) NOT NULL DEFAULT 'pending',
  created_at       timestamp NOT NULL,
  next_attempt_at  timestamp NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  claim            varchar(64),
  claimed_until    timestamp,
  last_error       varchar(1024),
  sent_at          timestamp,
  PRIMARY KEY (run_id, kind)
) DISTSTYLE ALL;
