-- The failure webhook's outbox. recordRun adds a row in the transaction that writes the run's etl_runs row
-- ('failed', or 'recovered' when the previous run of the hour had failed), and the worker process delivers it
-- outside the run (src/alert-delivery.ts): a slow or absent receiver never keeps a run from finishing.
-- One row per run and kind. A worker claims a row for a while (claim, claimed_until) and skips rows another
-- worker holds, so two workers never post one alert at once; state goes pending -> sent, or abandoned
-- when the receiver refused it or did not take it within ALERT_RETRY_FOR.
CREATE TABLE IF NOT EXISTS alert_outbox (
  run_id           text NOT NULL,
  kind             text NOT NULL,
  workflow_id      text NOT NULL,
  interval_start   timestamp NOT NULL,
  interval_end     timestamp NOT NULL,
  step             text,
  message          text,
  state            text NOT NULL DEFAULT 'pending',
  created_at       timestamp NOT NULL,
  next_attempt_at  timestamp NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  claim            text,
  claimed_until    timestamp,
  last_error       text,
  sent_at          timestamp,
  PRIMARY KEY (run_id, kind)
);
CREATE INDEX IF NOT EXISTS alert_outbox_due ON alert_outbox (next_attempt_at) WHERE state = 'pending';
