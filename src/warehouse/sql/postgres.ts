/**
 * The PostgreSQL dialect's statements (base.ts has those both dialects share). Values are always bound
 * (`$n::type`); the only identifiers spliced in are a run's staging table and the star tables (../tables.ts).
 */
import { escapeIdentifier } from 'pg';
import type { LoadMode, StarTable } from '../../types';
import { STAGING_PREFIX, TABLE_KEYS } from '../tables';
import * as base from './base';
import {
  ALERT_DUE,
  claimedAlertColumns,
  runRecordValues,
  sqlTime,
  songMatchKey,
  songplayKey,
  SONGPLAY_TIEBREAK,
  START_TIME_IN_INTERVAL,
  tsFromMs,
  type AlertClaim,
  type LoadPlan,
  type LoadStep,
  type RunRecord,
  type Statement,
} from './base';

// ---------------------------------------------------------------- migrations and roles

/** Serialises concurrent migrations (inside the migration's transaction, after etl_migrations exists). */
export const migrationLock: Statement = { text: `SELECT pg_advisory_xact_lock(hashtext('sparkify-etl:migrate'))` };

/** Makes the rest of the transaction run as `role` (a validated name): custom checks' read-only role. */
export const runAsRole = (role: string): Statement => ({ text: `SET LOCAL ROLE ${escapeIdentifier(role)}` });

// ---------------------------------------------------------------- staging

export const createRunStaging = (stg: string): Statement => ({
  text: `DROP TABLE IF EXISTS ${stg}; CREATE UNLOGGED TABLE ${stg} (LIKE staging_events)`,
});

export const registerRunStaging = (runKey: string, workflowId: string | null): Statement => ({
  name: 'register-run-staging',
  text: `INSERT INTO run_staging (table_name, run_key, workflow_id) VALUES ($1::text, $2::text, $3::text)
         ON CONFLICT (table_name) DO UPDATE SET workflow_id = excluded.workflow_id,
           created_at = now() AT TIME ZONE 'UTC'`,
  values: [STAGING_PREFIX + runKey.toLowerCase(), runKey, workflowId],
});

/** Staging tables registered longer ago than the given hours: left behind by runs that never finished. */
export const staleRunStaging = (olderThanHours: number): Statement => ({
  name: 'stale-run-staging',
  text: `SELECT run_key FROM run_staging
          WHERE created_at < (now() AT TIME ZONE 'UTC') - $1::int * interval '1 hour' ORDER BY created_at`,
  values: [olderThanHours],
});

export const copyEventsIntoRunStaging = (stg: string): Statement => ({
  text: `COPY ${stg} (artist, auth, firstName, gender, itemInSession, lastName, length, level, location, method, page,
     registration, sessionId, song, status, ts, userAgent, userId) FROM STDIN WITH (FORMAT binary, FREEZE)`,
});

/**
 * Fresh statistics, so the loads' joins are planned for the rows really staged. A small sample (3,000
 * rows instead of 30,000) is plenty for that and takes ~30 ms instead of ~400 ms on a million rows.
 */
export const analyzeRunStaging = (stg: string): Statement => ({
  text: `SET LOCAL default_statistics_target = 10; ANALYZE ${stg}`,
});

export const createSongStagingBatch: Statement = {
  text: `CREATE TEMP TABLE song_batch (LIKE staging_songs INCLUDING DEFAULTS) ON COMMIT DROP;
         ALTER TABLE song_batch ALTER COLUMN artist_id DROP NOT NULL`,
};

export const copySongsIntoBatch: Statement = {
  text: `COPY song_batch (num_songs, artist_id, artist_latitude, artist_longitude,
  artist_location, artist_name, song_id, title, duration, year) FROM STDIN`,
};

/** Only one song staging at a time: concurrent runs would otherwise stage the same new files twice. */
export const lockSongStaging: Statement = {
  name: 'lock-song-staging',
  text: `SELECT pg_advisory_xact_lock(hashtext('sparkify-etl:stage-songs'))`,
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
 * Late songs and the plays waiting for them: a songplays load takes this lock shared before its insert, and song
 * staging takes it exclusively before re-matching, so a load either sees the new songs or has committed its
 * unmatched plays before the re-match looks for them (no play is left unmatched between the two).
 */
const LATE_SONGS_LOCK = `hashtext('sparkify-etl:late-songs')`;

/**
 * After new songs are staged (in the same transaction): plays whose match key one of the batch's songs has get
 * its song_id and artist_id (the lowest song_id of those sharing the key, as the load's join chooses), and their
 * key is cleared. Bounded by the batch: the plays are found by the key's partial index.
 */
export const rematchLateSongs: Statement[] = [
  { text: `SELECT pg_advisory_xact_lock(${LATE_SONGS_LOCK})` },
  {
    name: 'rematch-late-songs',
    text: `UPDATE songplays p SET song_id = m.song_id, artist_id = m.artist_id, song_key = NULL
             FROM (SELECT DISTINCT ON (k) k, song_id, artist_id
                     FROM (SELECT ${songMatchKey('s.title', 's.artist_name', 's.duration')} AS k, s.song_id, s.artist_id
                             FROM staging_songs s
                            WHERE (s.title, s.artist_name, s.duration) IN
                                  (SELECT title, artist_name, duration FROM song_batch)) x
                    WHERE k IS NOT NULL
                    ORDER BY k, song_id) m
            WHERE p.song_key = m.k`,
  },
];

/**
 * After a batch changed staging_songs, in its transaction (after the late-songs lock): song_match again, the
 * lowest song_id of each (title, artist name, duration) (sql/014_song_match.sql), read from
 * staging_songs_match_idx in order; then fresh statistics of both, which the loads are planned by. Song files
 * arrive rarely; 15,000 songs take a few tens of milliseconds.
 */
export const refreshSongMatch: Statement = {
  text: `DELETE FROM song_match;
         INSERT INTO song_match (title, artist_name, duration, song_id, artist_id)
         SELECT DISTINCT ON (title, artist_name, duration) title, artist_name, duration, song_id, artist_id
           FROM staging_songs
          WHERE title IS NOT NULL AND artist_name IS NOT NULL AND duration IS NOT NULL
          ORDER BY title, artist_name, duration, song_id;
         ANALYZE staging_songs, song_match`,
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

// ---------------------------------------------------------------- loads

/**
 * Songplays of the run: NextSong events joined to songs on title, artist name and duration. When several
 * songs share that triple the lowest song_id wins (song_match holds only that one), so a play is never counted
 * twice. songplay_id is derived from the event (songplayKey), so a retry or a re-run writes identical rows.
 *
 * song_match is unique by the triple (its primary key), so the planner looks each event's song up in it for a
 * small hour (2 ms, where a DISTINCT ON over staging_songs sorted all 15,000 staged songs: 34 ms) and hashes it
 * for a large one, reading the events in their order.
 */
const songplaysSelect = (stg: string) => `
  SELECT ${songplayKey('e')} AS songplay_id,
         ${tsFromMs('e.ts')} AS start_time,
         nullif(e.userId, '')::integer AS user_id, e.level, s.song_id, s.artist_id,
         e.sessionId AS session_id, e.location, e.userAgent AS user_agent,
         CASE WHEN s.song_id IS NULL THEN ${songMatchKey('e.song', 'e.artist', 'e.length')} END AS song_key
    FROM ${stg} e
    LEFT JOIN song_match s ON e.song = s.title AND e.artist = s.artist_name AND e.length = s.duration
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

/** Every songplays load takes the late-songs lock shared first (see LATE_SONGS_LOCK). */
const LATE_SONGS_LOCK_SHARED: LoadStep = {
  name: 'take the late-songs lock, shared (song staging re-matches the plays committed before it)',
  statement: { name: 'lock-late-songs-shared', text: `SELECT pg_advisory_xact_lock_shared(${LATE_SONGS_LOCK})` },
};

/**
 * After a re-load of an interval's songplays (replace, when the interval held rows before): the users whose row
 * an event of the interval set (level_ts in it) but that no play of the interval justifies any more (the event
 * was removed, or its level changed) take their level from their latest play now, and a user left with no play
 * at all is deleted, as a load from scratch would leave them. The users table is locked first (SHARE ROW
 * EXCLUSIVE: users loads of other runs wait, readers do not), so the run's own users load, which runs beside
 * this one, has committed before these rows are judged. First loads of an interval skip this.
 */
const usersFollowReloadedPlays = (interval: { startMs: number; endMs: number }): LoadStep[] => [
  {
    name: "lock users (SHARE ROW EXCLUSIVE): the run's own users load commits first",
    statement: { text: `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE` },
  },
  {
    name: 'users whose level no play of the interval justifies any more take it from their latest play, or go',
    statement: {
      name: 'users-follow-reloaded-plays',
      text: `WITH unjustified AS (
             SELECT u.user_id FROM users u
              WHERE u.level_ts >= $1::bigint AND u.level_ts < $2::bigint
                AND NOT EXISTS (SELECT 1 FROM songplays p
                                 WHERE p.start_time = ${tsFromMs('u.level_ts')}
                                   AND p.user_id = u.user_id AND p.level IS NOT DISTINCT FROM u.level)
           ), latest AS (
             SELECT DISTINCT ON (p.user_id) p.user_id, p.level, p.start_time FROM songplays p
              WHERE p.user_id IN (SELECT user_id FROM unjustified)
              ORDER BY p.user_id, p.start_time DESC, p.level DESC
           ), fixed AS (
             UPDATE users u SET level = l.level, level_ts = (extract(epoch FROM l.start_time) * 1000)::bigint
               FROM latest l WHERE u.user_id = l.user_id
             RETURNING u.user_id
           )
           DELETE FROM users u
            WHERE u.user_id IN (SELECT user_id FROM unjustified) AND u.user_id NOT IN (SELECT user_id FROM latest)`,
      values: [interval.startMs, interval.endMs],
    },
  },
];

interface TableShape {
  columns: string;
  select: (stg: string) => string;
  /** When `select` can repeat a key (the same event staged twice), the select that gives each key once. */
  selectDeduplicated?: (stg: string) => string;
  /** What upsert does: replace the interval (time), or this ON CONFLICT action (the other dimensions). */
  upsert: 'replace the interval' | { onConflict: string };
  /** Steps every load of the table takes first. */
  first?: LoadStep[];
  /** What a re-load of an interval (replace, when it deleted rows) runs after its insert: LoadPlan.afterReload. */
  afterReload?: (interval: { startMs: number; endMs: number }) => LoadStep[];
}

const SHAPES: Record<StarTable, TableShape> = {
  songplays: {
    columns: SONGPLAY_COLUMNS,
    select: songplaysSelect,
    selectDeduplicated: songplaysSelectDeduplicated,
    upsert: 'replace the interval', // not a mode of the fact table (types.ts FACT_MODES)
    first: [LATE_SONGS_LOCK_SHARED],
    // Late or corrected data: users follow the re-loaded plays (docs/data-semantics.md).
    afterReload: usersFollowReloadedPlays,
  },
  users: {
    columns: 'user_id, first_name, last_name, gender, level, level_ts',
    select: usersSelect,
    // Only a newer event may change a user: the order in which hours are loaded does not matter.
    upsert: {
      onConflict: `DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
      gender = excluded.gender, level = excluded.level, level_ts = excluded.level_ts
      WHERE target.level_ts IS NULL OR excluded.level_ts > target.level_ts`,
    },
  },
  songs: {
    columns: 'song_id, title, artist_id, year, duration',
    select: () => songsSelect,
    upsert: {
      onConflict: `DO UPDATE SET title = excluded.title, artist_id = excluded.artist_id, year = excluded.year,
      duration = excluded.duration
      WHERE (target.title, target.artist_id, target.year, target.duration)
            IS DISTINCT FROM (excluded.title, excluded.artist_id, excluded.year, excluded.duration)`,
    },
  },
  artists: {
    columns: 'artist_id, name, location, latitude, longitude',
    select: () => artistsSelect,
    upsert: {
      onConflict: `DO UPDATE SET name = excluded.name, location = excluded.location,
      latitude = excluded.latitude, longitude = excluded.longitude
      WHERE (target.name, target.location, target.latitude, target.longitude)
            IS DISTINCT FROM (excluded.name, excluded.location, excluded.latitude, excluded.longitude)`,
    },
  },
  time: {
    columns: 'start_time, hour, day, week, month, year, weekday',
    select: timeSelect,
    // The interval's own rows are replaced, so an event removed from the source takes its row with it.
    upsert: 'replace the interval',
  },
};

/**
 * Sort and hash memory for one load's transaction: a million-event hour's DISTINCT over event times needs
 * ~25 MB and spills to disk at the default 4 MB. Bounded: five loads at once use at most a few hundred MB.
 */
const LOAD_MEMORY: LoadStep = {
  name: 'give the load 64 MB of sort memory',
  statement: { text: `SET LOCAL work_mem = '64MB'` },
};
const SAVEPOINT_BEFORE_INSERT: LoadStep = {
  name: 'savepoint before the insert',
  statement: { text: 'SAVEPOINT before_insert' },
};
const ROLLBACK_TO_BEFORE_INSERT: LoadStep = {
  name: 'roll back to the savepoint',
  statement: { text: 'ROLLBACK TO SAVEPOINT before_insert' },
};

/**
 * An insert that a key can make fail (a key already in the table, or repeated in the batch by an event staged
 * twice), after a savepoint, with what runs instead when one does. The plain INSERT is the fast path, taken by
 * every first load of an interval: no sort to take each key once and no speculative insertion as ON CONFLICT
 * does (together ~30% of a large songplays load, ~15% of a large time load).
 */
function insertOrElse(insert: LoadStep, instead: LoadStep): LoadStep[] {
  return [SAVEPOINT_BEFORE_INSERT, { ...insert, onUniqueViolation: [ROLLBACK_TO_BEFORE_INSERT, instead] }];
}

/**
 * A songs or artists upsert that compares staging_songs with the table only when staging_songs changed since
 * the table was last loaded from it (sql/009_song_generation.sql): one statement, so the generation it records
 * and the rows it reads are of one snapshot. The recording CTEs return a row only when the table has no
 * generation recorded (`first`) or an older one (`newer`); without one the select is a one-time filter that is
 * never executed. A concurrent load of the same table waits for this one's row in dimension_loads, then checks
 * the generation that load committed (ON CONFLICT, and UPDATE's re-check of a row changed meanwhile): it loads
 * when its own snapshot's staging is newer, and finds the table up to date otherwise.
 *
 * An UPDATE with the condition where the row exists: an INSERT ... ON CONFLICT DO UPDATE ... WHERE locks the row
 * even when its WHERE is false, so every hour's songs and artists loads wrote WAL, waited for each other's
 * commit and flushed it (1.7 ms each, a year's 17,520 of them one after another). A load that finds its table
 * up to date now writes nothing.
 */
function onceForEachSongStaging(
  table: 'songs' | 'artists',
  target: string,
  columns: string,
  select: string,
  key: string,
  onConflict: string,
): Statement {
  return {
    name: `upsert-${table}-once-per-song-staging`,
    text: `WITH first AS (
      INSERT INTO dimension_loads (table_name, generation)
      SELECT '${table}', generation FROM song_staging_generation
       WHERE NOT EXISTS (SELECT 1 FROM dimension_loads WHERE table_name = '${table}')
      ON CONFLICT (table_name) DO UPDATE SET generation = excluded.generation
       WHERE dimension_loads.generation <> excluded.generation
      RETURNING 1),
    newer AS (
      UPDATE dimension_loads d SET generation = g.generation FROM song_staging_generation g
       WHERE d.table_name = '${table}' AND d.generation <> g.generation
      RETURNING 1)
    INSERT INTO ${target} AS target (${columns})
    SELECT * FROM (${select}) batch WHERE EXISTS (SELECT 1 FROM first UNION ALL SELECT 1 FROM newer)
    ON CONFLICT (${key}) ${onConflict}`,
  };
}

/**
 * The plan of one load, run in one transaction. Interval bounds are epoch ms, bound as parameters. `mode` has
 * been validated against the table's allowed modes by the caller.
 */
export function loadPlan(
  table: StarTable,
  mode: LoadMode,
  stg: string,
  interval: { startMs: number; endMs: number },
): LoadPlan {
  const shape = SHAPES[table];
  const { key, keyInInterval } = TABLE_KEYS[table];
  const target = escapeIdentifier(table);
  const insertInto = (select: (stg: string) => string): Statement => ({
    text: `INSERT INTO ${target} AS target (${shape.columns}) ${select(stg)}`,
  });
  // Each key once. ON CONFLICT inserts always take the rows this way: their speculative insertion would
  // otherwise keep the first row of a repeated key in staging order, not the one the sort keeps.
  const once = shape.selectDeduplicated ?? shape.select;
  const onConflict = (action: string): Statement => ({
    text: `${insertInto(once).text} ON CONFLICT (${key}) ${action}`,
  });

  const deleteInterval: LoadStep = {
    name: `delete ${table} of the interval`,
    statement: {
      name: `replace-${table}-delete`,
      text: `DELETE FROM ${target} WHERE ${START_TIME_IN_INTERVAL}`,
      values: [interval.startMs, interval.endMs],
    },
    detectsReload: true,
  };
  // TRUNCATE is transactional in PostgreSQL: readers see the old rows until COMMIT.
  const emptyTable: LoadStep = { name: `empty ${table}`, statement: { text: `TRUNCATE ${target}` } };
  const insertStaged: LoadStep = { name: `insert the staged ${table}`, statement: insertInto(shape.select) };
  const insertNewKeys: LoadStep = { name: `insert the ${key}s not loaded yet`, statement: onConflict('DO NOTHING') };
  // After emptying (replace, truncate-insert) only a key repeated in staging can conflict (or a concurrent
  // run's commit, which then fails the attempt: see loadTable).
  const insertEmptied: LoadStep[] = shape.selectDeduplicated
    ? insertOrElse(insertStaged, { name: `insert each ${key} once`, statement: insertInto(once) })
    : [insertStaged];
  // Where every key lies in the interval and a row never changes once written (songplays, time), append
  // meets no existing key on an interval's first load.
  const append: LoadStep[] = keyInInterval ? insertOrElse(insertStaged, insertNewKeys) : [insertNewKeys];

  const first = [...(shape.first ?? []), LOAD_MEMORY];

  switch (mode) {
    case 'replace':
      return {
        replacesInterval: true,
        steps: [...first, deleteInterval, ...insertEmptied],
        ...(shape.afterReload && { afterReload: shape.afterReload(interval) }),
      };
    case 'truncate-insert':
      return { replacesInterval: false, steps: [...first, emptyTable, ...insertEmptied] };
    case 'append':
      return { replacesInterval: false, steps: [...first, ...append] };
    case 'upsert':
      if (shape.upsert === 'replace the interval') return loadPlan(table, 'replace', stg, interval);
      if (table === 'songs' || table === 'artists') {
        return {
          replacesInterval: false,
          steps: [
            ...first,
            {
              name: `unless ${table} was loaded from this state of staging_songs: insert new ${key}s, update changed ones`,
              statement: onceForEachSongStaging(table, target, shape.columns, once(stg), key, shape.upsert.onConflict),
            },
          ],
        };
      }
      return {
        replacesInterval: false,
        steps: [
          ...first,
          { name: `insert new ${key}s, update changed ones`, statement: onConflict(shape.upsert.onConflict) },
        ],
      };
  }
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

// ---------------------------------------------------------------- the failure webhook's outbox (base.ts)

/** The due alerts no other worker holds, oldest first; rows another claim is locking are skipped. */
export const claimAlerts = (c: AlertClaim): Statement[] => [
  {
    name: 'claim-alerts',
    text: `UPDATE alert_outbox o SET claim = $1::text, claimed_until = $3::timestamp, attempts = o.attempts + 1
             FROM (SELECT run_id, kind FROM alert_outbox WHERE ${ALERT_DUE}
                    ORDER BY next_attempt_at LIMIT $4::int FOR UPDATE SKIP LOCKED) due
            WHERE o.run_id = due.run_id AND o.kind = due.kind
        RETURNING ${claimedAlertColumns('o.')}`,
    values: [c.claim, sqlTime(c.nowMs), sqlTime(c.untilMs), c.limit],
  },
];

// ---------------------------------------------------------------- checks

/**
 * Duplicate keys, on PostgreSQL: 0 when the table's key column carries a valid primary key or unique constraint
 * (PostgreSQL then rules duplicates out), counted as base.ts counts them otherwise (the constraint dropped, say).
 * The count of the whole users, songs and artists tables was most of the built-in checks' time (a sort of 15,000
 * songs and 6,000 artists every hour); the constraint's catalog row is read in microseconds. The count in the
 * ELSE branch is a subquery PostgreSQL runs only when that branch is taken.
 */
export const countDuplicateKeys = (table: StarTable, interval: { startMs: number; endMs: number }): Statement => {
  const count = base.countDuplicateKeys(table, interval);
  const key = TABLE_KEYS[table].key;
  return {
    ...count,
    text: `SELECT CASE WHEN EXISTS (
             SELECT 1 FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              WHERE c.conrelid = to_regclass('${escapeIdentifier(table)}') AND c.contype IN ('p', 'u')
                AND c.convalidated AND cardinality(c.conkey) = 1 AND a.attname = '${key}')
           THEN 0::bigint ELSE (${count.text}) END AS n`,
  };
};
