/**
 * The failure webhook's outbox (sql/007_alert_outbox.sql), as named statements. Times are bound as
 * `YYYY-MM-DDTHH:MI:SS.mmm` UTC text from the delivering worker's clock, which both dialects parse; casts are
 * ones both accept. Only the claim differs: PostgreSQL skips rows another claim is locking (FOR UPDATE SKIP
 * LOCKED); Redshift, without row locks or RETURNING, claims by an UPDATE that its serializable isolation lets
 * one worker win, then reads what it claimed.
 */
import { tsFromMs, type Statement } from './statements';

export type AlertKind = 'failed' | 'recovered';

/** An alert to queue with a run's etl_runs row (same transaction). */
export interface QueuedAlert {
  workflowId: string;
  runId: string;
  startMs: number;
  endMs: number;
  /** The run's status: a failure queues 'failed'; a success queues 'recovered' when the hour's previous run failed. */
  status: string;
  step: string | null;
  /** The run's one-line cause, secrets already masked. */
  message: string | null;
  /** Now, as bound text (see `sqlTime`). */
  now: string;
}

/** A UTC instant as the outbox's statements bind it. */
export const sqlTime = (ms: number): string => new Date(ms).toISOString().slice(0, 23);

const TEXT = 'varchar(65535)';

/**
 * Inserts the run's alert when there is one to send, and only once per run and kind (a retried recordRun
 * finds its row). `recovered`: the latest other finished run of the same workflow id (the same hour) did not
 * succeed.
 */
export const queueAlert = (a: QueuedAlert): Statement => ({
  name: 'queue-alert',
  text: `INSERT INTO alert_outbox (run_id, kind, workflow_id, interval_start, interval_end, step, message,
                                   created_at, next_attempt_at)
         SELECT $1::${TEXT}, k.kind, $2::${TEXT}, ${tsFromMs('$3::bigint')}, ${tsFromMs('$4::bigint')},
                $5::${TEXT}, $6::${TEXT}, $7::timestamp, $7::timestamp
           FROM (SELECT CASE WHEN $8::${TEXT} = 'succeeded' THEN 'recovered' ELSE 'failed' END AS kind) k
          WHERE ($8::${TEXT} <> 'succeeded'
                 OR coalesce((SELECT status FROM etl_runs WHERE workflow_id = $2::${TEXT} AND run_id <> $1::${TEXT}
                               ORDER BY finished_at DESC LIMIT 1), 'succeeded') <> 'succeeded')
            AND NOT EXISTS (SELECT 1 FROM alert_outbox o WHERE o.run_id = $1::${TEXT} AND o.kind = k.kind)`,
  values: [a.runId, a.workflowId, a.startMs, a.endMs, a.step, a.message, a.now, a.status],
});

/** A claimed alert, as the claim returns it. */
export interface ClaimedAlertRow {
  run_id: string;
  kind: AlertKind;
  workflow_id: string;
  interval_start: string;
  interval_end: string;
  step: string | null;
  message: string | null;
  attempts: number;
  created_at: string;
}

export interface Claim {
  /** Unique to this claim: the later updates apply only while the row is still this claim's. */
  claim: string;
  now: string;
  /** Until when the claim holds: long enough for one POST; after it, another worker may take the row. */
  until: string;
  limit: number;
}

const CLAIMED_COLUMNS = (o: string) => `${o}run_id, ${o}kind, ${o}workflow_id,
  to_char(${o}interval_start, 'YYYY-MM-DD"T"HH24:MI:SS') AS interval_start,
  to_char(${o}interval_end, 'YYYY-MM-DD"T"HH24:MI:SS') AS interval_end,
  ${o}step, ${o}message, ${o}attempts, to_char(${o}created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS created_at`;

const DUE = `state = 'pending' AND next_attempt_at <= $2::timestamp
             AND (claimed_until IS NULL OR claimed_until < $2::timestamp)`;

/** PostgreSQL: the due alerts no other worker holds, oldest first; rows another claim is locking are skipped. */
export const claimAlertsPostgres = (c: Claim): Statement[] => [
  {
    name: 'claim-alerts',
    text: `UPDATE alert_outbox o SET claim = $1::text, claimed_until = $3::timestamp, attempts = o.attempts + 1
             FROM (SELECT run_id, kind FROM alert_outbox WHERE ${DUE}
                    ORDER BY next_attempt_at LIMIT $4::int FOR UPDATE SKIP LOCKED) due
            WHERE o.run_id = due.run_id AND o.kind = due.kind
        RETURNING ${CLAIMED_COLUMNS('o.')}`,
    values: [c.claim, c.now, c.until, c.limit],
  },
];

/**
 * Redshift: the oldest due alerts, then the rows this claim won. Two workers claiming at once conflict under
 * serializable isolation and one fails its transaction: it claims nothing this time.
 */
export const claimAlertsRedshift = (c: Claim): Statement[] => [
  {
    text: `UPDATE alert_outbox SET claim = $1::varchar(64), claimed_until = $3::timestamp, attempts = attempts + 1
            WHERE ${DUE}
              AND run_id || ':' || kind IN (SELECT run_id || ':' || kind FROM alert_outbox WHERE ${DUE}
                                             ORDER BY next_attempt_at LIMIT $4::int)`,
    values: [c.claim, c.now, c.until, c.limit],
  },
  {
    text: `SELECT ${CLAIMED_COLUMNS('')} FROM alert_outbox
            WHERE claim = $1::varchar(64) AND state = 'pending' ORDER BY next_attempt_at`,
    values: [c.claim],
  },
];

interface Held {
  runId: string;
  kind: AlertKind;
  claim: string;
}

const HELD = `run_id = $1::${TEXT} AND kind = $2::${TEXT} AND claim = $3::varchar(64)`;

/** The receiver took it. */
export const alertSent = (h: Held, now: string): Statement => ({
  name: 'alert-sent',
  text: `UPDATE alert_outbox SET state = 'sent', sent_at = $4::timestamp, claim = NULL, claimed_until = NULL,
                                 last_error = NULL
          WHERE ${HELD}`,
  values: [h.runId, h.kind, h.claim, now],
});

/** Not taken this time: tried again from `next` (released now, so any worker may take it then). */
export const alertRetryLater = (h: Held, next: string, error: string): Statement => ({
  name: 'alert-retry-later',
  text: `UPDATE alert_outbox SET next_attempt_at = $4::timestamp, last_error = $5::varchar(1024), claim = NULL,
                                 claimed_until = NULL
          WHERE ${HELD}`,
  values: [h.runId, h.kind, h.claim, next, error.slice(0, 1024)],
});

/** Given up: refused by the receiver, or not taken within ALERT_RETRY_FOR. Kept, with why, for the record. */
export const alertAbandoned = (h: Held, error: string): Statement => ({
  name: 'alert-abandoned',
  text: `UPDATE alert_outbox SET state = 'abandoned', last_error = $4::varchar(1024), claim = NULL,
                                 claimed_until = NULL
          WHERE ${HELD}`,
  values: [h.runId, h.kind, h.claim, error.slice(0, 1024)],
});
