/**
 * Every runtime SQL statement of the pipeline, by name (PostgreSQL dialect). Values are always bound
 * (`$n::type`); the only identifiers spliced in are a run's staging table, built by `runStagingTable`
 * from a validated run key, and check tables validated by `quoteTableName`.
 */
import { escapeIdentifier } from 'pg';
import type { LoadMode, StarTable } from '../types';

export interface Statement {
  name?: string;
  text: string;
  values?: unknown[];
}

// a run key (interval.ts `intervalKey`), optionally followed by 8 hex digits of the run's id (its staging key)
const RUN_KEY = /^[0-9]{8}t[0-9]{4,9}_(1h|[0-9]{8}t[0-9]{4,9})(_[0-9a-f]{8})?$/;
export const STAGING_PREFIX = 'staging_events_';

/** Validates a run's staging key (see types.ts `stagingKeyOf`) and returns its staging table, quoted. */
export function runStagingTable(runKey: string): string {
  const key = runKey.toLowerCase();
  if (!RUN_KEY.test(key)) throw new Error(`invalid run key "${runKey}"`);
  return escapeIdentifier(STAGING_PREFIX + key);
}

const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/i;
/** A table named in configuration (e.g. a row-count check): `name` or `schema.name`, quoted. */
export function quoteTableName(name: string): string {
  if (!TABLE_NAME.test(name)) {
    throw new Error(`"${name}" is not a valid table name (letters, digits and _; optionally schema.table)`);
  }
  return name.split('.').map(escapeIdentifier).join('.');
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

// ---------------------------------------------------------------- staging

export const createRunStaging = (stg: string): Statement => ({
  text: `DROP TABLE IF EXISTS ${stg}; CREATE UNLOGGED TABLE ${stg} (LIKE staging_events)`,
});

export const dropRunStaging = (stg: string): Statement => ({ text: `DROP TABLE IF EXISTS ${stg}` });

export const registerRunStaging = (runKey: string, workflowId: string | null): Statement => ({
  name: 'register-run-staging',
  text: `INSERT INTO run_staging (table_name, run_key, workflow_id) VALUES ($1::text, $2::text, $3::text)
         ON CONFLICT (table_name) DO UPDATE SET workflow_id = excluded.workflow_id,
           created_at = now() AT TIME ZONE 'UTC'`,
  values: [STAGING_PREFIX + runKey.toLowerCase(), runKey, workflowId],
});

export const unregisterRunStaging = (runKey: string): Statement => ({
  name: 'unregister-run-staging',
  text: `DELETE FROM run_staging WHERE table_name = $1::text`,
  values: [STAGING_PREFIX + runKey.toLowerCase()],
});

/** Staging tables registered longer ago than the given hours: left behind by runs that never finished. */
export const staleRunStaging = (olderThanHours: number): Statement => ({
  name: 'stale-run-staging',
  text: `SELECT run_key FROM run_staging
          WHERE created_at < (now() AT TIME ZONE 'UTC') - $1::int * interval '1 hour' ORDER BY created_at`,
  values: [olderThanHours],
});

export const copyEventsIntoRunStaging = (stg: string): string =>
  `COPY ${stg} (artist, auth, firstName, gender, itemInSession, lastName, length, level, location, method, page,
     registration, sessionId, song, status, ts, userAgent, userId) FROM STDIN WITH (FREEZE)`;

/**
 * Fresh statistics, so the loads' joins are planned for the rows really staged. A small sample (3,000
 * rows instead of 30,000) is plenty for that and takes ~30 ms instead of ~400 ms on a million rows.
 */
export const analyzeRunStaging = (stg: string): string => `SET LOCAL default_statistics_target = 10; ANALYZE ${stg}`;

export const createSongStagingBatch: Statement = {
  text: `CREATE TEMP TABLE song_batch (LIKE staging_songs INCLUDING DEFAULTS) ON COMMIT DROP;
         ALTER TABLE song_batch ALTER COLUMN artist_id DROP NOT NULL`,
};

export const copySongsIntoBatch = `COPY song_batch (num_songs, artist_id, artist_latitude, artist_longitude,
  artist_location, artist_name, song_id, title, duration, year) FROM STDIN`;

/** Only one song staging at a time: concurrent runs would otherwise stage the same new files twice. */
export const lockSongStaging: Statement = {
  name: 'lock-song-staging',
  text: `SELECT pg_advisory_xact_lock(hashtext('sparkify-etl:stage-songs'))`,
};

export const stagedSongFiles: Statement = {
  name: 'staged-song-files',
  text: `SELECT path, size, version FROM staged_song_files`,
};

export const upsertSongBatch: Statement = {
  name: 'upsert-song-batch',
  text: `INSERT INTO staging_songs AS s (num_songs, artist_id, artist_latitude, artist_longitude, artist_location,
           artist_name, song_id, title, duration, year)
         SELECT DISTINCT ON (song_id) num_songs, artist_id, artist_latitude, artist_longitude, artist_location,
                artist_name, song_id, title, duration, year
           FROM song_batch ORDER BY song_id
         ON CONFLICT (song_id) DO UPDATE SET
           num_songs = excluded.num_songs, artist_id = excluded.artist_id,
           artist_latitude = excluded.artist_latitude, artist_longitude = excluded.artist_longitude,
           artist_location = excluded.artist_location, artist_name = excluded.artist_name,
           title = excluded.title, duration = excluded.duration, year = excluded.year`,
};

/**
 * Song files read, with their version: a file is read again only when its version changes. A rejected file
 * (its reason is in load_errors) is recorded too, with no songs, so it is not read every hour; it is read
 * again, and judged again, when it changes.
 */
export const recordSongFiles = (
  paths: string[],
  sizes: number[],
  versions: string[],
  songs: number[],
  rejected: boolean[] = paths.map(() => false),
): Statement => ({
  name: 'record-song-files',
  text: `INSERT INTO staged_song_files (path, size, version, songs, rejected)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::boolean[])
         ON CONFLICT (path) DO UPDATE SET size = excluded.size, version = excluded.version, songs = excluded.songs,
           rejected = excluded.rejected, staged_at = now() AT TIME ZONE 'UTC'`,
  values: [paths, sizes, versions, songs, rejected],
});

/**
 * Bad source lines, keyed by file, version and line (migration 004): a re-run finding the same line again
 * updates its row (run_key becomes that run's), and rows of earlier versions of a file stay as its history.
 */
export const recordLoadErrors = (
  runKey: string,
  files: string[],
  lines: number[],
  reasons: string[],
  raws: string[],
  versions: string[] = files.map(() => ''),
): Statement => ({
  name: 'record-load-errors',
  text: `INSERT INTO load_errors (run_key, file, version, line, reason, raw)
         SELECT $1::text, * FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[])
         ON CONFLICT (file, version, line) DO UPDATE SET run_key = excluded.run_key, reason = excluded.reason,
           raw = excluded.raw, logged_at = now() AT TIME ZONE 'UTC'`,
  values: [runKey, files, versions, lines, reasons, raws],
});

/** A run's bad-line rows. Staging no longer clears them (they are the source's record); kept for Redshift. */
export const clearLoadErrors = (runKey: string): Statement => ({
  name: 'clear-load-errors',
  text: `DELETE FROM load_errors WHERE run_key = $1::text`,
  values: [runKey],
});

// ---------------------------------------------------------------- loads

/**
 * When the same event (user, session, item, ts: one songplay_id) is staged more than once, as when a log
 * shipper delivers a line twice, the load keeps one row: the first in this order, so every re-run keeps
 * the same one. Both dialects.
 */
export const SONGPLAY_TIEBREAK = 'level, song_id, artist_id, location, user_agent, user_id, session_id';

/**
 * The match key of a play that matched no song (songplays.song_key, migration 008): a late song file re-matches
 * it by this key in one UPDATE (source-index.ts rematchLateSongs). NULL when title or artist is.
 */
export const SONG_MATCH_KEY = (title: string, artist: string, duration: string) =>
  `md5(${title} || chr(31) || ${artist} || chr(31) || coalesce(${duration}::text, ''))`;

/**
 * Songplays of the run: NextSong events joined to songs on title, artist name and duration. When several
 * songs share that triple the lowest song_id wins, so a play is never counted twice. songplay_id is derived
 * from the event (songplayKey), so a retry or a re-run writes identical rows.
 */
const songplaysSelect = (stg: string) => `
  SELECT ${songplayKey('e')} AS songplay_id,
         ${tsFromMs('e.ts')} AS start_time,
         nullif(e.userId, '')::integer AS user_id, e.level, s.song_id, s.artist_id,
         e.sessionId AS session_id, e.location, e.userAgent AS user_agent,
         CASE WHEN s.song_id IS NULL THEN ${SONG_MATCH_KEY('e.song', 'e.artist', 'e.length')} END AS song_key
    FROM ${stg} e
    LEFT JOIN (SELECT DISTINCT ON (title, artist_name, duration) title, artist_name, duration, song_id, artist_id
                 FROM staging_songs ORDER BY title, artist_name, duration, song_id) s
      ON e.song = s.title AND e.artist = s.artist_name AND e.length = s.duration
   WHERE e.page = 'NextSong'`;

/** The same with each repeated event once. Its sort of whole rows costs ~15% of a large load. */
const songplaysSelectDeduplicated = (stg: string) => `
  SELECT DISTINCT ON (songplay_id) * FROM (${songplaysSelect(stg)}) p
   ORDER BY songplay_id, ${SONGPLAY_TIEBREAK}`;

const SONGPLAY_COLUMNS =
  'songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent, song_key';

/**
 * One row per user: the latest NextSong event (ties: the higher level). Grouped by the integer id, so "7" and
 * "007" are one user, as in the table; an integer sort is also several times cheaper than a text one.
 */
const usersSelect = (stg: string) => `
  SELECT DISTINCT ON (userId::integer) userId::integer AS user_id, firstName, lastName, gender, level, ts
    FROM ${stg}
   WHERE page = 'NextSong' AND userId <> ''
   ORDER BY userId::integer, ts DESC, level DESC`;

/**
 * Songs and artists come from the cumulative staging_songs: only rows that are new or differ from the table
 * are selected (an anti-join), so an hourly run does not rewrite thousands of unchanged rows.
 */
const songsSelect = `
  SELECT s.song_id, s.title, s.artist_id, s.year, s.duration
    FROM staging_songs s LEFT JOIN songs t ON t.song_id = s.song_id
   WHERE t.song_id IS NULL
      OR (t.title, t.artist_id, t.year, t.duration) IS DISTINCT FROM (s.title, s.artist_id, s.year, s.duration)
   ORDER BY s.song_id`;

/** One row per artist; when songs disagree about an artist's details, those of the lowest song_id win. */
const artistsSelect = `
  SELECT a.* FROM (
    SELECT DISTINCT ON (artist_id) artist_id, artist_name, artist_location, artist_latitude, artist_longitude
      FROM staging_songs ORDER BY artist_id, song_id) a
    LEFT JOIN artists t ON t.artist_id = a.artist_id
   WHERE t.artist_id IS NULL
      OR (t.name, t.location, t.latitude, t.longitude)
         IS DISTINCT FROM (a.artist_name, a.artist_location, a.artist_latitude, a.artist_longitude)
   ORDER BY a.artist_id`;

/** date_part, not extract: in PostgreSQL 14+ extract computes in numeric, ~40% slower on a million rows. */
const timeSelect = (stg: string) => `
  SELECT t.start_time, date_part('hour', t.start_time), date_part('day', t.start_time),
         date_part('week', t.start_time), date_part('month', t.start_time), date_part('year', t.start_time),
         date_part('dow', t.start_time)
    FROM (SELECT DISTINCT ${tsFromMs('ts')} AS start_time FROM ${stg} WHERE page = 'NextSong') t
   ORDER BY t.start_time`;

interface TableShape {
  columns: string;
  key: string;
  select: (stg: string) => string;
  /** When `select` can repeat a key (the same event staged twice), the select that gives each key once. */
  selectDeduplicated?: (stg: string) => string;
  /** Every key the load writes lies in the run's interval (it starts with the event time), and a written row never changes. */
  keyInInterval?: boolean;
  /** ON CONFLICT action for upsert. */
  onConflictUpdate: string;
}

const SHAPES: Record<StarTable, TableShape> = {
  songplays: {
    columns: SONGPLAY_COLUMNS,
    key: 'songplay_id',
    select: songplaysSelect,
    selectDeduplicated: songplaysSelectDeduplicated,
    keyInInterval: true,
    onConflictUpdate: 'DO NOTHING',
  },
  users: {
    columns: 'user_id, first_name, last_name, gender, level, level_ts',
    key: 'user_id',
    select: usersSelect,
    // Only a newer event may change a user: the order in which hours are loaded does not matter.
    onConflictUpdate: `DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
      gender = excluded.gender, level = excluded.level, level_ts = excluded.level_ts
      WHERE target.level_ts IS NULL OR excluded.level_ts > target.level_ts`,
  },
  songs: {
    columns: 'song_id, title, artist_id, year, duration',
    key: 'song_id',
    select: () => songsSelect,
    onConflictUpdate: `DO UPDATE SET title = excluded.title, artist_id = excluded.artist_id, year = excluded.year,
      duration = excluded.duration
      WHERE (target.title, target.artist_id, target.year, target.duration)
            IS DISTINCT FROM (excluded.title, excluded.artist_id, excluded.year, excluded.duration)`,
  },
  artists: {
    columns: 'artist_id, name, location, latitude, longitude',
    key: 'artist_id',
    select: () => artistsSelect,
    onConflictUpdate: `DO UPDATE SET name = excluded.name, location = excluded.location,
      latitude = excluded.latitude, longitude = excluded.longitude
      WHERE (target.name, target.location, target.latitude, target.longitude)
            IS DISTINCT FROM (excluded.name, excluded.location, excluded.latitude, excluded.longitude)`,
  },
  time: {
    columns: 'start_time, hour, day, week, month, year, weekday',
    key: 'start_time',
    select: timeSelect,
    keyInInterval: true,
    onConflictUpdate: 'DO NOTHING', // a time row is a pure function of its key
  },
};

/**
 * Sort and hash memory for one load's transaction: a million-event hour's DISTINCT over event times needs
 * ~25 MB and spills to disk at the default 4 MB. Bounded: five loads at once use at most a few hundred MB.
 */
const LOAD_MEMORY: Statement = { text: `SET LOCAL work_mem = '64MB'` };

/** One load, to run in one transaction: `prepare` in order, then `insert`, whose row count is the rows written. */
export interface LoadPlan {
  prepare: Statement[];
  insert: Statement;
  /**
   * Where `insert` is a plain INSERT that a key can make fail (a key already in the table, or repeated in the
   * batch by an event staged twice): what to run instead when it does, after rolling back to
   * SAVEPOINT_BEFORE_INSERT, taken before `insert`. The plain INSERT is the fast path, taken by every first
   * load of an interval: no sort to take each key once and no speculative insertion as ON CONFLICT does
   * (together ~30% of a large songplays load, ~15% of a large time load).
   */
  onUniqueViolation?: Statement;
  /**
   * The plan empties the interval first (replace; time's upsert): a key that still conflicts was committed
   * meanwhile by another run of an overlapping interval, and the next attempt replaces it.
   */
  replacesInterval?: boolean;
}

export const SAVEPOINT_BEFORE_INSERT: Statement = { text: 'SAVEPOINT before_insert' };
export const ROLLBACK_TO_BEFORE_INSERT: Statement = { text: 'ROLLBACK TO SAVEPOINT before_insert' };

/**
 * The statements of one load, to run in order inside one transaction. Interval bounds are epoch ms,
 * bound as parameters. `mode` has been validated against the table's allowed modes by the caller.
 */
export function loadStatements(
  table: StarTable,
  mode: LoadMode,
  stg: string,
  interval: { startMs: number; endMs: number },
): LoadPlan {
  const shape = SHAPES[table];
  const target = escapeIdentifier(table);
  const insertInto = (select: (stg: string) => string) => ({
    text: `INSERT INTO ${target} AS target (${shape.columns}) ${select(stg)}`,
  });
  // Each key once. ON CONFLICT inserts always take the rows this way: their speculative insertion would
  // otherwise keep the first row of a repeated key in staging order, not the one the sort keeps.
  const once = shape.selectDeduplicated ?? shape.select;
  const onConflict = (action: string): Statement => ({
    text: `${insertInto(once).text} ON CONFLICT (${shape.key}) ${action}`,
  });
  // After emptying (replace, truncate-insert): only a repeated key can conflict (or a concurrent run's
  // commit, which then fails the attempt: see loadTable).
  const plainThenOnce: Pick<LoadPlan, 'insert' | 'onUniqueViolation'> = {
    insert: insertInto(shape.select),
    ...(shape.selectDeduplicated ? { onUniqueViolation: insertInto(once) } : {}),
  };
  // Where every key lies in the interval and a row never changes once written (songplays, time), append
  // (and time's upsert, which is the same) meets no existing key on an interval's first load.
  const insertNew: Pick<LoadPlan, 'insert' | 'onUniqueViolation'> = shape.keyInInterval
    ? { insert: insertInto(shape.select), onUniqueViolation: onConflict('DO NOTHING') }
    : { insert: onConflict('DO NOTHING') };
  switch (mode) {
    case 'replace':
      return {
        prepare: [
          LOAD_MEMORY,
          {
            name: `replace-${table}-delete`,
            text: `DELETE FROM ${target} WHERE ${START_TIME_IN_INTERVAL}`,
            values: [interval.startMs, interval.endMs],
          },
        ],
        ...plainThenOnce,
        replacesInterval: true,
      };
    case 'truncate-insert':
      // TRUNCATE is transactional in PostgreSQL: readers see the old rows until COMMIT.
      return { prepare: [LOAD_MEMORY, { text: `TRUNCATE ${target}` }], ...plainThenOnce };
    case 'append':
      return { prepare: [LOAD_MEMORY], ...insertNew };
    case 'upsert':
      // The interval's own rows (time) are replaced, so an event removed from the source takes its row with it.
      if (shape.keyInInterval) return loadStatements(table, 'replace', stg, interval);
      return shape.onConflictUpdate === 'DO NOTHING'
        ? { prepare: [LOAD_MEMORY], ...insertNew }
        : { prepare: [LOAD_MEMORY], insert: onConflict(shape.onConflictUpdate) };
  }
}

export const countTable = (table: StarTable): Statement => ({
  text: `SELECT count(*)::bigint AS n FROM ${escapeIdentifier(table)}`,
});

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
  text: `SELECT count(*)::bigint AS n FROM ${escapeIdentifier(table)} WHERE ${SHAPES[table].key} IS NULL`,
});

/** Whether the duplicate-key check looks only at the run's interval: tables keyed within it (songplays, time). */
export const duplicatesCheckedInInterval = (table: StarTable): boolean => SHAPES[table].keyInInterval === true;

/**
 * Duplicate keys: keys minus distinct keys (a NULL key is the NULL check's finding, not a duplicate). The tables keyed within the interval, which grow by every
 * run's rows (songplays, and time by a row per distinct millisecond), are checked within the interval, on
 * their start_time index: a whole-table count would cost more every hour. (PostgreSQL's primary keys rule
 * duplicates out; Redshift does not enforce its keys, so there the check is the guard.)
 */
export const countDuplicateKeys = (table: StarTable, interval: { startMs: number; endMs: number }): Statement => {
  const key = SHAPES[table].key;
  const from = `SELECT (count(${key}) - count(DISTINCT ${key}))::bigint AS n FROM ${escapeIdentifier(table)}`;
  return duplicatesCheckedInInterval(table)
    ? {
        name: `count-duplicate-${table}`,
        text: `${from} WHERE ${START_TIME_IN_INTERVAL}`,
        values: [interval.startMs, interval.endMs],
      }
    : { text: from };
};

export const countRows = (quotedTable: string): Statement => ({
  text: `SELECT count(*)::bigint AS n FROM ${quotedTable}`,
});

/** A custom check's time limit, for the rest of its transaction (SET takes no bound values: a checked integer). */
export function setLocalStatementTimeout(ms: number): Statement {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new Error('a statement timeout is a whole number of ms');
  return { text: `SET LOCAL statement_timeout = ${ms}` };
}

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

export const recordRun = (r: RunRecord): Statement => ({
  name: 'record-run',
  text: `INSERT INTO etl_runs (workflow_id, run_id, interval_start, interval_end, status, rows, checks, durations_ms,
                           failed_step, error, cleanup_error)
         VALUES ($1::text, $2::text, ${tsFromMs('$3::bigint')}, ${tsFromMs('$4::bigint')}, $5::text,
                 $6::jsonb, $7::jsonb, $8::jsonb, $9::text, $10::text, $11::text)
         ON CONFLICT (workflow_id, run_id) DO UPDATE SET status = excluded.status, rows = excluded.rows,
           checks = excluded.checks, durations_ms = excluded.durations_ms, failed_step = excluded.failed_step,
           error = excluded.error, cleanup_error = excluded.cleanup_error, finished_at = now() AT TIME ZONE 'UTC'`,
  values: runRecordValues(r),
});

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
  text: `SELECT workflow_id,
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
