/**
 * The Redshift dialect's statements (base.ts has those both dialects share).
 * Redshift has no ON CONFLICT, no DISTINCT ON, no unnest, no advisory locks, no COPY FROM STDIN, and its
 * TRUNCATE commits at once; keys are not enforced. So: batches are de-duplicated with ROW_NUMBER(), upserts
 * are DELETE + INSERT of the batch's keys in one transaction, truncate-insert is DELETE + INSERT, and
 * staging is COPY from S3. Values are bound ($n) except where COPY takes literals only: those (S3 URLs, the
 * IAM role, the region) are validated and quoted with escapeLiteral.
 */
import { escapeIdentifier, escapeLiteral } from 'pg';
import type { LoadMode, StarTable } from '../../types';
import {
  ALERT_DUE,
  claimedAlertColumns,
  runRecordValues,
  songplayKey,
  songMatchKey,
  songStagingNewerThan,
  SONGPLAY_TIEBREAK,
  sqlTime,
  START_TIME_IN_INTERVAL,
  tsFromMs,
  type AlertClaim,
  type LoadPlan,
  type LoadStep,
  type RunRecord,
  type Statement,
} from './base';
import { STAGING_PREFIX, TABLE_KEYS } from '../tables';

// ---------------------------------------------------------------- migrations and roles

/** No advisory locks on Redshift: a table lock serialises concurrent migrations (released at commit). */
export const migrationLock: Statement = { text: `LOCK etl_migrations` };

/** Redshift has no SET ROLE; this needs the worker's user to be a superuser (see docs/security.md). */
export const runAsRole = (role: string): Statement => ({
  text: `SET LOCAL SESSION AUTHORIZATION ${escapeIdentifier(role)}`,
});

// ---------------------------------------------------------------- staging

export const createRunStaging = (stg: string): Statement => ({
  text: `DROP TABLE IF EXISTS ${stg}; CREATE TABLE ${stg} (LIKE staging_events)`,
});

/** A session-private table for one COPY of whole day files, filtered into the run's table afterwards. */
export const createRawEvents: Statement = {
  text: `DROP TABLE IF EXISTS raw_events; CREATE TEMP TABLE raw_events (LIKE staging_events)`,
};

export interface CopyAuth {
  /** arn:aws:iam::123456789012:role/name */
  iamRole: string;
  region: string;
}

const S3_URL = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[\w!\-.*'()/=+]*)?$/;
const IAM_ROLE = /^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]{1,128}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;

function s3Literal(url: string): string {
  if (!S3_URL.test(url)) throw new Error(`"${url}" is not an S3 URL COPY can read (s3://bucket/key)`);
  return escapeLiteral(url);
}

function authClause(auth: CopyAuth): string {
  if (!IAM_ROLE.test(auth.iamRole))
    throw new Error(`"${auth.iamRole}" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
  if (!REGION.test(auth.region)) throw new Error(`"${auth.region}" is not an AWS region such as us-west-2`);
  return `IAM_ROLE ${escapeLiteral(auth.iamRole)} REGION ${escapeLiteral(auth.region)}`;
}

/** COPY one event day file (newline-delimited JSON) through the JSONPaths file shipped in sql/. */
export function copyEventsFromS3(file: string, jsonPaths: string, auth: CopyAuth, maxErrors: number): Statement {
  if (!Number.isInteger(maxErrors) || maxErrors < 0) throw new Error('maxErrors must be a whole number');
  return {
    text: `COPY raw_events FROM ${s3Literal(file)} ${authClause(auth)}
           FORMAT AS JSON ${s3Literal(jsonPaths)} TIMEFORMAT 'epochmillisecs' MAXERROR ${maxErrors} COMPUPDATE OFF STATUPDATE OFF`,
  };
}

export const filterRawEventsIntoRun = (stg: string, startMs: number, endMs: number): Statement => ({
  text: `INSERT INTO ${stg} SELECT * FROM raw_events WHERE ts >= $1::bigint AND ts < $2::bigint`,
  values: [startMs, endMs],
});

/** Rows of stl_load_errors read a page at a time: a COPY under a large MAXERROR may reject many lines. */
export const COPY_ERRORS_PAGE = 1000;

/**
 * A page of what the session's last COPY rejected (under MAXERROR) or failed on: file, line and reason.
 * `offset` is a whole number from the caller's loop, written into the text like COPY's MAXERROR.
 */
export function copyErrorsPage(offset: number): Statement {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error('offset must be a whole number');
  return {
    text: `SELECT trim(filename) AS file, line_number AS line, trim(colname) AS field, trim(err_reason) AS reason,
                trim(raw_line) AS raw
           FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY trim(filename), line_number
          LIMIT ${COPY_ERRORS_PAGE} OFFSET ${offset}`,
  };
}

export const createSongStagingBatch: Statement = {
  text: `DROP TABLE IF EXISTS song_batch; CREATE TEMP TABLE song_batch (LIKE staging_songs)`,
};

/** COPY the new song files, listed in a COPY manifest written to S3 for this run. */
export function copySongsFromManifest(manifestUrl: string, auth: CopyAuth, maxErrors: number): Statement {
  return {
    text: `COPY song_batch FROM ${s3Literal(manifestUrl)} ${authClause(auth)} MANIFEST
           FORMAT AS JSON 'auto' MAXERROR ${maxErrors} COMPUPDATE OFF STATUPDATE OFF`,
  };
}

/** No advisory locks on Redshift: a table lock serialises song staging (released at commit). */
export const lockSongStaging: Statement = { text: `LOCK staged_song_files` };

const SONG_COLUMNS =
  'num_songs, artist_id, artist_latitude, artist_longitude, artist_location, artist_name, song_id, title, duration, year';

export const upsertSongBatch: Statement[] = [
  {
    text: `DELETE FROM staging_songs USING song_batch b WHERE staging_songs.song_id = b.song_id`,
  },
  {
    text: `INSERT INTO staging_songs (${SONG_COLUMNS})
           SELECT ${SONG_COLUMNS} FROM (
             SELECT *, row_number() OVER (PARTITION BY song_id ORDER BY title, artist_id) AS rn FROM song_batch
           ) b WHERE rn = 1`,
  },
];

/** Multi-row VALUES with bound parameters, `width` columns a row (Redshift has no unnest). */
function valuesRows(rows: number, width: number, casts: string[]): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    out.push(`(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}::${casts[c]}`).join(', ')})`);
  }
  return out.join(', ');
}

export function recordSongFiles(
  paths: string[],
  sizes: number[],
  versions: string[],
  songs: number[],
  rejected: boolean[] = paths.map(() => false),
): Statement[] {
  const values = paths.flatMap((p, i) => [p, sizes[i], versions[i], songs[i], rejected[i]]);
  return [
    {
      text: `DELETE FROM staged_song_files WHERE path IN (${paths.map((_, i) => `$${i + 1}::varchar`).join(', ')})`,
      values: paths,
    },
    {
      text: `INSERT INTO staged_song_files (path, size, version, songs, rejected)
             VALUES ${valuesRows(paths.length, 5, ['varchar', 'bigint', 'varchar', 'int', 'boolean'])}`,
      values,
    },
  ];
}

/**
 * Rejected lines, keyed by file, version and line as on PostgreSQL: Redshift enforces no key, so the rows of the
 * batch's (file, version, line) are deleted first, in the same transaction. A re-run of the hour does not
 * double them, and lines rejected by other runs stay recorded.
 */
export function recordLoadErrors(
  runKey: string,
  files: string[],
  lines: number[],
  reasons: string[],
  raws: string[],
  versions: string[] = files.map(() => ''),
): Statement[] {
  const keys = files.map((f, i) => [f, versions[i] ?? '', lines[i]] as const);
  const values = files.flatMap((f, i) => [runKey, f, versions[i] ?? '', lines[i], reasons[i], raws[i]]);
  return [
    {
      text: `DELETE FROM load_errors
             WHERE ${keys.map((_, i) => `(file = $${3 * i + 1}::varchar AND version = $${3 * i + 2}::varchar AND line = $${3 * i + 3}::int)`).join('\n                OR ')}`,
      values: keys.flat(),
    },
    {
      text: `INSERT INTO load_errors (run_key, file, version, line, reason, raw)
             VALUES ${valuesRows(files.length, 6, ['varchar', 'varchar', 'varchar', 'int', 'varchar', 'varchar'])}`,
      values,
    },
  ];
}

export const registerRunStaging = (runKey: string, workflowId: string | null): Statement[] => {
  const table = STAGING_PREFIX + runKey.toLowerCase();
  return [
    { text: `DELETE FROM run_staging WHERE table_name = $1::varchar`, values: [table] },
    {
      text: `INSERT INTO run_staging (table_name, run_key, workflow_id) VALUES ($1::varchar, $2::varchar, $3::varchar)`,
      values: [table, runKey, workflowId],
    },
  ];
};

export const staleRunStaging = (olderThanHours: number): Statement => ({
  text: `SELECT run_key FROM run_staging WHERE created_at < dateadd(hour, -$1::int, getdate()) ORDER BY created_at`,
  values: [olderThanHours],
});

// ---------------------------------------------------------------- loads

/**
 * A user only changes for a newer event, so the order in which hours are loaded does not matter: before an
 * upsert replaces the batch's users, the batch rows not newer than the table's are dropped.
 */
const DROP_OLDER_USERS: LoadStep = {
  name: "drop the batch's users that are not newer than the table's",
  statement: {
    text: `DELETE FROM load_batch USING users t WHERE t.user_id = load_batch.user_id AND t.level_ts >= load_batch.level_ts`,
  },
};

interface Batch {
  columns: string;
  /** The rows one load writes, de-duplicated by key with ROW_NUMBER() (Redshift has no DISTINCT ON). */
  select: (stg: string) => string;
  /** What upsert does: replace the interval (time), or replace the rows whose keys are in the batch. */
  upsert: 'replace the interval' | 'replace the batch keys';
  /** Batch rows an upsert must not write, dropped first (users: those not newer than the table's). */
  dropBeforeUpsert?: LoadStep;
}

const BATCH: Record<StarTable, Batch> = {
  songplays: {
    columns: 'songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent, song_key',
    // a repeated event (one songplay_id) is one row, the same one as PostgreSQL's DISTINCT ON keeps
    select: (stg) => `
      SELECT songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent, song_key FROM (
        SELECT p.*, row_number() OVER (PARTITION BY songplay_id ORDER BY ${SONGPLAY_TIEBREAK}) AS dup FROM (
          SELECT ${songplayKey('e')} AS songplay_id,
                 ${tsFromMs('e.ts')} AS start_time,
                 nullif(e.userId, '')::integer AS user_id, e.level, s.song_id, s.artist_id,
                 e.sessionId AS session_id, e.location, e.userAgent AS user_agent,
                 CASE WHEN s.song_id IS NULL THEN ${songMatchKey('e.song', 'e.artist', 'e.length')} END AS song_key
            FROM ${stg} e
            LEFT JOIN (SELECT title, artist_name, duration, song_id, artist_id,
                              row_number() OVER (PARTITION BY title, artist_name, duration ORDER BY song_id) AS rn
                         FROM staging_songs) s
              ON s.rn = 1 AND e.song = s.title AND e.artist = s.artist_name AND e.length = s.duration
           WHERE e.page = 'NextSong') p) d
       WHERE dup = 1`,
    upsert: 'replace the batch keys', // not a mode of the fact table (types.ts FACT_MODES)
  },
  users: {
    columns: 'user_id, first_name, last_name, gender, level, level_ts',
    select: (stg) => `
      SELECT user_id, firstName AS first_name, lastName AS last_name, gender, level, ts AS level_ts FROM (
        SELECT userId::integer AS user_id, firstName, lastName, gender, level, ts,
               row_number() OVER (PARTITION BY userId::integer ORDER BY ts DESC, level DESC) AS rn
          FROM ${stg} WHERE page = 'NextSong' AND userId <> '') u
       WHERE rn = 1`,
    upsert: 'replace the batch keys',
    dropBeforeUpsert: DROP_OLDER_USERS,
  },
  songs: {
    columns: 'song_id, title, artist_id, year, duration',
    select: () => `SELECT song_id, title, artist_id, year, duration FROM staging_songs`,
    upsert: 'replace the batch keys',
  },
  artists: {
    columns: 'artist_id, name, location, latitude, longitude',
    select: () => `
      SELECT artist_id, artist_name AS name, artist_location AS location, artist_latitude AS latitude,
             artist_longitude AS longitude FROM (
        SELECT *, row_number() OVER (PARTITION BY artist_id ORDER BY song_id) AS rn FROM staging_songs) a
       WHERE rn = 1`,
    upsert: 'replace the batch keys',
  },
  time: {
    columns: 'start_time, hour, day, week, month, year, weekday',
    select: (stg) => `
      SELECT t.start_time, extract(hour FROM t.start_time)::int AS hour, extract(day FROM t.start_time)::int AS day,
             extract(week FROM t.start_time)::int AS week, extract(month FROM t.start_time)::int AS month,
             extract(year FROM t.start_time)::int AS year, extract(dow FROM t.start_time)::int AS weekday
        FROM (SELECT DISTINCT ${tsFromMs('ts')} AS start_time FROM ${stg} WHERE page = 'NextSong') t`,
    // The interval's own rows are replaced, so an event removed from the source takes its row with it.
    upsert: 'replace the interval',
  },
};

/**
 * The plan of one load, run in one transaction. The batch goes to a temp table first so that DELETE and
 * INSERT see the same rows. Redshift enforces no keys: no step can fail on one.
 */
export function loadPlan(
  table: StarTable,
  mode: LoadMode,
  stg: string,
  interval: { startMs: number; endMs: number },
): LoadPlan {
  const b = BATCH[table];
  const { key } = TABLE_KEYS[table];
  const target = escapeIdentifier(table);
  // Temp tables live as long as the session, and pooled sessions outlive a load: drop any earlier one.
  const batch: LoadStep = {
    name: `select the batch: the ${table} rows to write, each ${key} once (load_batch)`,
    statement: { text: `DROP TABLE IF EXISTS load_batch; CREATE TEMP TABLE load_batch AS ${b.select(stg)}` },
  };
  const deleteInterval: LoadStep = {
    name: `delete ${table} of the interval`,
    statement: {
      text: `DELETE FROM ${target} WHERE ${START_TIME_IN_INTERVAL}`,
      values: [interval.startMs, interval.endMs],
    },
  };
  // DELETE, not TRUNCATE: Redshift's TRUNCATE commits the transaction at once.
  const emptyTable: LoadStep = { name: `empty ${table}`, statement: { text: `DELETE FROM ${target}` } };
  const deleteBatchKeys: LoadStep = {
    name: `delete the ${table} rows whose ${key} is in the batch`,
    statement: { text: `DELETE FROM ${target} USING load_batch n WHERE ${target}.${key} = n.${key}` },
  };
  const insertBatch: LoadStep = {
    name: 'insert the batch',
    statement: { text: `INSERT INTO ${target} (${b.columns}) SELECT * FROM load_batch` },
  };
  const insertNewKeys: LoadStep = {
    name: `insert the batch's ${key}s not in ${table}`,
    statement: {
      text: `INSERT INTO ${target} (${b.columns}) SELECT n.* FROM load_batch n
           WHERE NOT EXISTS (SELECT 1 FROM ${target} t WHERE t.${key} = n.${key})`,
    },
  };

  switch (mode) {
    case 'replace':
      return { replacesInterval: true, steps: [batch, deleteInterval, insertNewKeys] };
    case 'truncate-insert':
      return { replacesInterval: false, steps: [batch, emptyTable, insertBatch] };
    case 'append':
      return { replacesInterval: false, steps: [batch, insertNewKeys] };
    case 'upsert':
      if (b.upsert === 'replace the interval') return loadPlan(table, 'replace', stg, interval);
      if (b.dropBeforeUpsert) {
        return { replacesInterval: false, steps: [batch, b.dropBeforeUpsert, deleteBatchKeys, insertBatch] };
      }
      if (table === 'songs' || table === 'artists') {
        // Only when staging_songs changed since the table was last loaded from it (sql/redshift/009): otherwise
        // the batch is empty and nothing is rewritten. Serializable: the generation recorded is the one read.
        return {
          replacesInterval: false,
          steps: [
            {
              ...batch,
              name: `select the batch unless ${table} was loaded from this state of staging_songs (load_batch)`,
              statement: {
                text: `DROP TABLE IF EXISTS load_batch; CREATE TEMP TABLE load_batch AS
                       SELECT * FROM (${b.select(stg)}) b WHERE ${songStagingNewerThan(table)}`,
              },
            },
            {
              name: `forget the state of staging_songs ${table} was loaded from`,
              statement: { text: `DELETE FROM dimension_loads WHERE table_name = '${table}'` },
            },
            {
              name: `record the state of staging_songs ${table} is loaded from`,
              statement: {
                text: `INSERT INTO dimension_loads (table_name, generation)
                       SELECT '${table}', generation FROM song_staging_generation`,
              },
            },
            deleteBatchKeys,
            insertBatch,
          ],
        };
      }
      return { replacesInterval: false, steps: [batch, deleteBatchKeys, insertBatch] };
  }
}

/**
 * The JSON columns' values ($6..$8: rows, checks, durations) are left untyped so that each takes its column's
 * type: varchar on Redshift, jsonb where the tests run these statements on PostgreSQL.
 */
export const recordRun = (r: RunRecord): Statement[] => [
  {
    text: `DELETE FROM etl_runs WHERE workflow_id = $1::varchar AND run_id = $2::varchar`,
    values: [r.workflowId, r.runId],
  },
  {
    text: `INSERT INTO etl_runs (workflow_id, run_id, interval_start, interval_end, status, rows, checks, durations_ms,
                             failed_step, error, cleanup_error)
           VALUES ($1::varchar, $2::varchar, ${tsFromMs('$3::bigint')}, ${tsFromMs('$4::bigint')}, $5::varchar,
                   $6, $7, $8, $9::varchar, $10::varchar, $11::varchar)`,
    values: runRecordValues(r),
  },
];

// ---------------------------------------------------------------- the failure webhook's outbox (base.ts)

/**
 * The oldest due alerts, then the rows this claim won: Redshift has no row locks and no RETURNING. Two workers
 * claiming at once conflict under serializable isolation and one fails its transaction: it claims nothing this
 * time.
 */
export const claimAlerts = (c: AlertClaim): Statement[] => [
  {
    text: `UPDATE alert_outbox SET claim = $1::varchar(64), claimed_until = $3::timestamp, attempts = attempts + 1
            WHERE ${ALERT_DUE}
              AND run_id || ':' || kind IN (SELECT run_id || ':' || kind FROM alert_outbox WHERE ${ALERT_DUE}
                                             ORDER BY next_attempt_at LIMIT $4::int)`,
    values: [c.claim, sqlTime(c.nowMs), sqlTime(c.untilMs), c.limit],
  },
  {
    text: `SELECT ${claimedAlertColumns('')} FROM alert_outbox
            WHERE claim = $1::varchar(64) AND state = 'pending' ORDER BY next_attempt_at`,
    values: [c.claim],
  },
];

/** COPY manifest (https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html). */
export function songManifest(urls: string[]): string {
  return JSON.stringify({ entries: urls.map((url) => ({ url, mandatory: true })) });
}
