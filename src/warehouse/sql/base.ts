/**
 * What both dialects share: the statement shape, the expressions both write alike, and the statements whose
 * text is the same on PostgreSQL and Redshift (run staging clean-up, the checks, the audit table's reads, the
 * alert outbox but its claim).
 * Values are always bound (`$n::type`); identifiers come validated from ../tables.ts.
 */
import { escapeIdentifier } from 'pg';
import type { StarTable } from '../../types';
import { duplicatesCheckedInInterval, quoteTableName, STAGING_PREFIX, TABLE_KEYS } from '../tables';

export interface Statement {
  name?: string;
  text: string;
  values?: unknown[];
}

/** A UTC timestamp from epoch milliseconds (the events' `ts`); the same expression in both dialects. */
export const tsFromMs = (expr: string) => `timestamp 'epoch' + ${expr} * interval '1 millisecond'`;

/** `start_time` in the interval whose bounds are bound as $1 and $2 (epoch ms); both dialects. */
export const START_TIME_IN_INTERVAL = `start_time >= ${tsFromMs('$1::bigint')} AND start_time < ${tsFromMs('$2::bigint')}`;

/**
 * A songplay's key, derived from its event so a retry or re-run writes identical rows: 12 hex digits of
 * the event time (ms) then 20 of an md5 of the event's identity, 32 hex characters in all. Time first makes
 * the keys of an hour arrive in ascending order, so the primary key index grows at its right edge instead
 * of taking random inserts all over (the fact load of a million-event hour: 6.3 s -> ~3 s). The same
 * expression in both dialects (migration 003 rewrote the earlier md5-only keys).
 */
export const songplayKey = (e: string) =>
  `lpad(to_hex(${e}.ts), 12, '0') || left(md5(coalesce(${e}.userId, '') || '|' || ${e}.sessionId || '|' || ${e}.itemInSession || '|' || ${e}.ts), 20)`;

/**
 * When the same event (user, session, item, ts: one songplay_id) is staged more than once, as when a log
 * shipper delivers a line twice, the load keeps one row: the first in this order, so every re-run keeps
 * the same one. Both dialects.
 */
export const SONGPLAY_TIEBREAK = 'level, song_id, artist_id, location, user_agent, user_id, session_id';

/**
 * The match key of a play that matched no song (songplays.song_key, migration 008): a late song file re-matches
 * it by this key in one UPDATE (postgres.ts rematchLateSongs). NULL when title or artist is. Both dialects.
 */
export const songMatchKey = (title: string, artist: string, duration: string) =>
  `md5(${title} || chr(31) || ${artist} || chr(31) || coalesce(${duration}::text, ''))`;

// ---------------------------------------------------------------- migrations (db:init)

export const createMigrationsTable: Statement = {
  text: `CREATE TABLE IF NOT EXISTS etl_migrations (name varchar(256) NOT NULL PRIMARY KEY, applied_at timestamp)`,
};

/** Every migration applied (the preflight compares them with sql/). */
export const appliedMigrations: Statement = { text: `SELECT name FROM etl_migrations` };

export const migrationApplied = (file: string): Statement => ({
  text: `SELECT 1 FROM etl_migrations WHERE name = $1::varchar`,
  values: [file],
});

export const recordMigration = (file: string, appliedAt: Date): Statement => ({
  text: `INSERT INTO etl_migrations (name, applied_at) VALUES ($1::varchar, $2::timestamp)`,
  values: [file, appliedAt],
});

// ---------------------------------------------------------------- staging

export const dropRunStaging = (stg: string): Statement => ({ text: `DROP TABLE IF EXISTS ${stg}` });

export const unregisterRunStaging = (runKey: string): Statement => ({
  name: 'unregister-run-staging',
  text: `DELETE FROM run_staging WHERE table_name = $1::text`,
  values: [STAGING_PREFIX + runKey.toLowerCase()],
});

export const stagedSongFiles: Statement = {
  name: 'staged-song-files',
  text: `SELECT path, size, version FROM staged_song_files`,
};

/** In the transaction that changes staging_songs: the songs and artists loads compare it with their tables again. */
export const songStagingChanged: Statement = {
  name: 'song-staging-changed',
  text: `UPDATE song_staging_generation SET generation = generation + 1`,
};

/**
 * Whether `table` (songs or artists) was last loaded from another generation of staging_songs than the current
 * one (or never): a condition, true when the load has to compare staging_songs with the table.
 */
export const songStagingNewerThan = (table: 'songs' | 'artists') => `EXISTS (
  SELECT 1 FROM song_staging_generation g LEFT JOIN dimension_loads d ON d.table_name = '${table}'
   WHERE d.generation IS NULL OR d.generation <> g.generation)`;

// ---------------------------------------------------------------- loads

/** One statement of a load, and what it does in words ("delete songplays of the interval"). */
export interface LoadStep {
  name: string;
  statement: Statement;
  /**
   * What runs instead when this statement fails on a unique key (SQLSTATE 23505), in order; it begins by
   * rolling back to a savepoint that an earlier step of the plan took.
   */
  onUniqueViolation?: LoadStep[];
  /** This step deletes the interval's rows: when it deletes any, the interval was loaded before (see afterReload). */
  detectsReload?: boolean;
}

/**
 * One load: its steps run in order in one transaction; the row count of the last statement of `steps` run is
 * the rows the load wrote. test/golden/<dialect>/load-plans.txt lists every plan's steps by name.
 */
export interface LoadPlan {
  steps: LoadStep[];
  /**
   * The plan empties the interval first (replace; time's upsert): a key that still conflicts was committed
   * meanwhile by another run of an overlapping interval, and the next attempt replaces it.
   */
  replacesInterval: boolean;
  /**
   * Steps run after `steps`, in the same transaction, only when the step that `detectsReload` deleted rows: a
   * re-load of an interval loaded before (late or corrected data). Their row counts are not the rows written.
   */
  afterReload?: LoadStep[];
}

// ---------------------------------------------------------------- checks

export const countSongplaysInInterval = (startMs: number, endMs: number): Statement => ({
  name: 'count-songplays-in-interval',
  text: `SELECT count(*)::bigint AS n FROM songplays
          WHERE ${START_TIME_IN_INTERVAL}`,
  values: [startMs, endMs],
});

export const countNextSongStaged = (stg: string): Statement => ({
  text: `SELECT count(*)::bigint AS n FROM ${stg} WHERE page = 'NextSong'`,
});

/** NextSong events staged, each repeated event counted once (as the songplays load keeps it). */
export const countDistinctNextSongStaged = (stg: string): Statement => ({
  text: `SELECT count(DISTINCT ${songplayKey('e')})::bigint AS n FROM ${stg} e WHERE e.page = 'NextSong'`,
});

export const countNullKeys = (table: StarTable): Statement => ({
  text: `SELECT count(*)::bigint AS n FROM ${escapeIdentifier(table)} WHERE ${TABLE_KEYS[table].key} IS NULL`,
});

/**
 * Duplicate keys: keys minus distinct keys (a NULL key is the NULL check's finding, not a duplicate). The tables keyed within the interval, which grow by every
 * run's rows (songplays, and time by a row per distinct millisecond), are checked within the interval, on
 * their start_time index: a whole-table count would cost more every hour. (PostgreSQL's primary keys rule
 * duplicates out; Redshift does not enforce its keys, so there the check is the guard.)
 */
export const countDuplicateKeys = (table: StarTable, interval: { startMs: number; endMs: number }): Statement => {
  const key = TABLE_KEYS[table].key;
  const from = `SELECT (count(${key}) - count(DISTINCT ${key}))::bigint AS n FROM ${escapeIdentifier(table)}`;
  return duplicatesCheckedInInterval(table)
    ? {
        name: `count-duplicate-${table}`,
        text: `${from} WHERE ${START_TIME_IN_INTERVAL}`,
        values: [interval.startMs, interval.endMs],
      }
    : { text: from };
};

/**
 * Several counts (each a statement returning one number) as one statement, one column each (`n0`, `n1`, ...):
 * one round trip for the dozen counts of the built-in checks. The counts' bound values must be the same (each
 * either none, or the one list the others have), since they share the placeholders.
 */
export function countsAtOnce(counts: Statement[]): Statement {
  const values = counts.find((c) => c.values?.length)?.values ?? [];
  for (const c of counts) {
    if (c.values?.length && JSON.stringify(c.values) !== JSON.stringify(values)) {
      throw new Error('counts with different bound values cannot be read at once');
    }
  }
  return {
    text: `SELECT ${counts.map((c, i) => `(${c.text}) AS n${i}`).join(',\n       ')}`,
    ...(values.length ? { values } : {}),
  };
}

/** Rows of a table named in a check (`name` or `schema.name`, validated here). */
export const countRows = (table: string): Statement => ({
  text: `SELECT count(*)::bigint AS n FROM ${quoteTableName(table)}`,
});

/** A custom check's time limit, for the rest of its transaction (SET takes no bound values: a checked integer). */
export function setLocalStatementTimeout(ms: number): Statement {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new Error('a statement timeout is a whole number of ms');
  return { text: `SET LOCAL statement_timeout = ${ms}` };
}

// ---------------------------------------------------------------- the audit table

/** A finished run as etl_runs stores it. */
export interface RunRecord {
  workflowId: string;
  runId: string;
  startMs: number;
  endMs: number;
  status: string;
  rows: unknown;
  checks: unknown;
  durationsMs: unknown;
  failedStep?: string;
  error?: string;
  cleanupError?: string;
}

/** The bound values of an etl_runs row, in column order ($1..$11), for both dialects. */
export function runRecordValues(r: RunRecord): unknown[] {
  return [
    r.workflowId,
    r.runId,
    r.startMs,
    r.endMs,
    r.status,
    JSON.stringify(r.rows),
    JSON.stringify(r.checks),
    JSON.stringify(r.durationsMs),
    r.failedStep ?? null,
    r.error ?? null,
    r.cleanupError ?? null,
  ];
}

/**
 * The etl_runs rows of one deployment whose interval overlaps `[start, end)` (status grid and freshness):
 * one query for any range. Times are bound and returned as `YYYY-MM-DDTHH:MI:SS` UTC text, which both
 * dialects parse and print alike; the deployment's ids are the range `[prefix, prefixEnd)`, an index range
 * with no LIKE wildcards to escape.
 */
export const runsOverlapping = (r: {
  start: string;
  end: string;
  idPrefix: string;
  idPrefixEnd: string;
}): Statement => ({
  name: 'runs-overlapping',
  text: `SELECT workflow_id, run_id,
                to_char(interval_start, 'YYYY-MM-DD"T"HH24:MI:SS') AS interval_start,
                to_char(interval_end, 'YYYY-MM-DD"T"HH24:MI:SS') AS interval_end,
                to_char(finished_at, 'YYYY-MM-DD"T"HH24:MI:SS') AS finished_at,
                status, rows::text AS rows, failed_step, error
           FROM etl_runs
          WHERE interval_start < $2::timestamp AND interval_end > $1::timestamp
            AND workflow_id >= $3::text AND workflow_id < $4::text`,
  values: [r.start, r.end, r.idPrefix, r.idPrefixEnd],
});

/** The status of the latest other finished run of the same workflow id (the same hour): was it a failure? */
export const previousRunStatus = (workflowId: string, runId: string): Statement => ({
  name: 'previous-run-status',
  text: `SELECT status FROM etl_runs WHERE workflow_id = $1::text AND run_id <> $2::text
          ORDER BY finished_at DESC LIMIT 1`,
  values: [workflowId, runId],
});

/**
 * A run's own etl_runs row: a step that finds its run's staging gone because the run already recorded itself
 * (and dropped it) returns what the record says.
 */
export const recordedRun = (workflowId: string, runId: string): Statement => ({
  name: 'recorded-run',
  text: `SELECT status, rows, checks FROM etl_runs WHERE workflow_id = $1::text AND run_id = $2::text`,
  values: [workflowId, runId],
});

// ---------------------------------------------------------------- the failure webhook's outbox

/*
 * The outbox of sql/007_alert_outbox.sql: recordRun queues a run's alert with its etl_runs row, and the worker
 * process delivers it (src/alert-delivery.ts). Times are bound as `YYYY-MM-DDTHH:MI:SS.mmm` UTC text from the
 * delivering worker's clock, which both dialects parse, and the casts are ones both accept. Only the claim
 * differs (postgres.ts and redshift.ts claimAlerts).
 */

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
  nowMs: number;
}

/** A claimed alert, as the claim returns it (times as `YYYY-MM-DDTHH:MI:SS[.mmm]` UTC text). */
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

export interface AlertClaim {
  /** Unique to this claim: the later updates apply only while the row is still this claim's. */
  claim: string;
  nowMs: number;
  /** Until when the claim holds: long enough for one POST; after it, another worker may take the row. */
  untilMs: number;
  limit: number;
}

/** A claimed alert: the updates after its POST apply only while the claim still holds it. */
export interface HeldAlert {
  runId: string;
  kind: AlertKind;
  claim: string;
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
  values: [a.runId, a.workflowId, a.startMs, a.endMs, a.step, a.message, sqlTime(a.nowMs), a.status],
});

/** The columns a claim returns (ClaimedAlertRow), of the outbox aliased `o` ('o.') or not (''). */
export const claimedAlertColumns = (o: string) => `${o}run_id, ${o}kind, ${o}workflow_id,
  to_char(${o}interval_start, 'YYYY-MM-DD"T"HH24:MI:SS') AS interval_start,
  to_char(${o}interval_end, 'YYYY-MM-DD"T"HH24:MI:SS') AS interval_end,
  ${o}step, ${o}message, ${o}attempts, to_char(${o}created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS created_at`;

/** The claim's condition on a row: due ($2 is now) and held by no unexpired claim. */
export const ALERT_DUE = `state = 'pending' AND next_attempt_at <= $2::timestamp
             AND (claimed_until IS NULL OR claimed_until < $2::timestamp)`;

const HELD = `run_id = $1::${TEXT} AND kind = $2::${TEXT} AND claim = $3::varchar(64)`;

/** The receiver took it. */
export const alertSent = (h: HeldAlert, nowMs: number): Statement => ({
  name: 'alert-sent',
  text: `UPDATE alert_outbox SET state = 'sent', sent_at = $4::timestamp, claim = NULL, claimed_until = NULL,
                                 last_error = NULL
          WHERE ${HELD}`,
  values: [h.runId, h.kind, h.claim, sqlTime(nowMs)],
});

/** Not taken this time: tried again from `nextMs` (released now, so any worker may take it then). */
export const alertRetryLater = (h: HeldAlert, nextMs: number, error: string): Statement => ({
  name: 'alert-retry-later',
  text: `UPDATE alert_outbox SET next_attempt_at = $4::timestamp, last_error = $5::varchar(1024), claim = NULL,
                                 claimed_until = NULL
          WHERE ${HELD}`,
  values: [h.runId, h.kind, h.claim, sqlTime(nextMs), error.slice(0, 1024)],
});

/** Given up: refused by the receiver, or not taken within ALERT_RETRY_FOR. Kept, with why, for the record. */
export const alertAbandoned = (h: HeldAlert, error: string): Statement => ({
  name: 'alert-abandoned',
  text: `UPDATE alert_outbox SET state = 'abandoned', last_error = $4::varchar(1024), claim = NULL,
                                 claimed_until = NULL
          WHERE ${HELD}`,
  values: [h.runId, h.kind, h.claim, error.slice(0, 1024)],
});

/** The statements both dialects run with the same text: each dialect in ../dialect.ts takes them all. */
export const shared = {
  createMigrationsTable,
  appliedMigrations,
  migrationApplied,
  recordMigration,
  dropRunStaging,
  unregisterRunStaging,
  stagedSongFiles,
  songStagingChanged,
  countSongplaysInInterval,
  countNextSongStaged,
  countDistinctNextSongStaged,
  countNullKeys,
  countDuplicateKeys,
  countsAtOnce,
  countRows,
  setLocalStatementTimeout,
  runsOverlapping,
  previousRunStatus,
  recordedRun,
  queueAlert,
  alertSent,
  alertRetryLater,
  alertAbandoned,
};
