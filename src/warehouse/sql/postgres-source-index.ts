/**
 * The source index's statements (sql/008_source_index.sql), PostgreSQL only: the event files of a source with
 * their version and per-hour digests, what each run read for each hour, and the hours whose source changed since
 * (stale). Redshift keeps no source index yet (docs/redshift.md): its dialect has none. Reached through the
 * Dialect (`dialect.sourceIndex`). Values always bound; no identifier is spliced in.
 */
import type { HourDigest } from '../../source/hour-digest';
import { tsFromMs, type Statement } from './base';

/** Only one refresh of the index at a time: concurrent runs and the watcher would index the same files twice. */
export const tryLockSourceIndex: Statement = {
  name: 'try-lock-source-index',
  text: `SELECT pg_try_advisory_xact_lock(hashtext('sparkify-etl:source-index')) AS locked`,
};

export const indexedFiles = (source: string): Statement => ({
  name: 'indexed-files',
  text: `SELECT path, version FROM source_files WHERE source = $1::text`,
  values: [source],
});

/** What one run read: each file's key and version (run_hour_sources gets a row per whole hour of the interval). */
export interface RunReads {
  runId: string;
  workflowId: string | null;
  source: string;
  startMs: number;
  endMs: number;
  paths: string[];
  versions: string[];
  /** The interval's day files that were not in the source: recorded as `missing` for their day's hours. */
  missing: string[];
}

/** A run that failed before it could record what it read: the hours of its interval, keyed like RunReads. */
export interface FailedRunView {
  runId: string;
  workflowId: string | null;
  source: string;
  startMs: number;
  endMs: number;
}

/** The hours looked at, `[fromMs, toMs)`, of the deployment whose workflow ids are `[idPrefix, idPrefixEnd)`. */
export interface StaleHoursQuery {
  source: string;
  fromMs: number;
  toMs: number;
  limit: number;
  idPrefix: string;
  idPrefixEnd: string;
  /**
   * The watcher's view: a loaded hour whose only change is that files it read are gone (held) is not among
   * the stale hours returned nor in `total_stale`; it is counted in `total_held`, with the files. Status passes
   * false: such an hour is stale there, `... removed`.
   */
  holdRemovals: boolean;
}

/** How many removed files a held-hours row names (the count is there too). */
export const HELD_FILES_NAMED = 20;

/** One hour of an indexed file, as the index reads it (src/source/hour-digest.ts). */
export type IndexedHour = HourDigest;

export interface IndexedFile {
  path: string;
  version: string;
  size: number;
  lines: number;
  minTs: number | null;
  maxTs: number | null;
  unhouredLines: number;
  unhouredDigest: string | null;
}

/** A file new or changed: its row (first_seen kept, last_changed now) and its hours replaced. */
export const upsertIndexedFile = (source: string, f: IndexedFile): Statement => ({
  name: 'upsert-indexed-file',
  text: `INSERT INTO source_files (source, path, version, size, lines, min_ts, max_ts, unhoured_lines, unhoured_digest)
         VALUES ($1::text, $2::text, $3::text, $4::bigint, $5::int, $6::bigint, $7::bigint, $8::int, $9::text)
         ON CONFLICT (source, path) DO UPDATE SET version = excluded.version, size = excluded.size,
           lines = excluded.lines, min_ts = excluded.min_ts, max_ts = excluded.max_ts,
           unhoured_lines = excluded.unhoured_lines, unhoured_digest = excluded.unhoured_digest,
           last_changed = now() AT TIME ZONE 'UTC', indexed_at = now() AT TIME ZONE 'UTC'`,
  values: [source, f.path, f.version, f.size, f.lines, f.minTs, f.maxTs, f.unhouredLines, f.unhouredDigest],
});

export const deleteFileHours = (source: string, path: string): Statement => ({
  name: 'delete-file-hours',
  text: `DELETE FROM source_file_hours WHERE source = $1::text AND path = $2::text`,
  values: [source, path],
});

export const insertFileHours = (source: string, path: string, hours: IndexedHour[]): Statement => ({
  name: 'insert-file-hours',
  text: `INSERT INTO source_file_hours (source, path, hour_start, lines, digest, first_byte, end_byte, first_line)
         SELECT $1::text, $2::text, ${tsFromMs('h')}, n, d, b, e, l
           FROM unnest($3::bigint[], $4::int[], $5::text[], $6::bigint[], $7::bigint[], $8::int[]) AS u(h, n, d, b, e, l)`,
  values: [
    source,
    path,
    hours.map((h) => h.hourStartMs),
    hours.map((h) => h.lines),
    hours.map((h) => h.digest),
    hours.map((h) => h.firstByte),
    hours.map((h) => h.endByte),
    hours.map((h) => h.firstLine),
  ],
});

/** Files gone from the source (their hours go with them). */
export const deleteIndexedFiles = (source: string, paths: string[]): Statement => ({
  name: 'delete-indexed-files',
  text: `DELETE FROM source_files WHERE source = $1::text AND path = ANY($2::text[])`,
  values: [source, paths],
});

/**
 * The files that hold lines of the interval's hours, each with its indexed version and where
 * those lines are: the byte range from the first one's start to the last one's end and the first one's line
 * number, or no range when the file holds lines whose time cannot be read (every run reads those) or was indexed
 * before ranges were (sql/011_hour_ranges.sql).
 */
export const feedingRanges = (source: string, startMs: number, endMs: number): Statement => ({
  name: 'feeding-ranges',
  text: `SELECT h.path, f.version,
                CASE WHEN f.unhoured_lines = 0 AND bool_and(h.first_byte IS NOT NULL)
                     THEN min(h.first_byte) END AS first_byte,
                max(h.end_byte) AS end_byte, min(h.first_line) AS first_line
           FROM source_file_hours h JOIN source_files f ON f.source = h.source AND f.path = h.path
          WHERE h.source = $1::text
            AND h.hour_start >= date_trunc('hour', ${tsFromMs('$2::bigint')})
            AND h.hour_start < ${tsFromMs('$3::bigint')}
          GROUP BY h.path, f.version, f.unhoured_lines ORDER BY h.path`,
  values: [source, startMs, endMs],
});

/** The day file an hour's name points to (src/source eventFileKey), in SQL. */
const DAY_FILE = (hour: string) => `('log_data/' || to_char(${hour}, 'YYYY/MM/YYYY-MM-DD') || '-events.json')`;

/** What a file holds for an hour, as one digest: its lines of the hour and its lines of no hour. */
const FEED_DIGEST = (hourDigest: string, file: string) =>
  `md5(coalesce(${hourDigest}, '') || '/' || coalesce(${file}.unhoured_digest, ''))`;

/** The value run_hour_sources records for a day file that was not in the source when the run looked. */
export const MISSING = 'missing';

/** The whole hours of `[$startMs, $endMs)` as `h(hour_start)`. */
const HOURS_OF = (startMs: string, endMs: string) => `generate_series(
                  date_trunc('hour', ${tsFromMs(`(${startMs} + 3599999)`)}),
                  ${tsFromMs(endMs)} - interval '1 hour',
                  interval '1 hour') AS h(hour_start)`;

/**
 * What a run read, for each whole hour of its interval: each file it read that feeds the hour (holds lines of
 * it, or is the hour's day file), with the digest of what the index says that file holds for the hour. A file
 * read at another version than the index holds is recorded as `unindexed`: the hour is then stale, and re-run.
 * The hour's day file, when it was not in the source, is recorded as `missing` (status shows the hour as
 * missing_file; the file's arrival makes the hour stale: `added`).
 */
export const recordRunReads = (r: RunReads): Statement => ({
  name: 'record-run-reads',
  text: `INSERT INTO run_hour_sources (run_id, workflow_id, source, hour_start, sources)
         SELECT $1::text, $2::text, $3::text, h.hour_start,
                coalesce((SELECT jsonb_object_agg(r.path,
                                   CASE WHEN f.version = r.version THEN ${FEED_DIGEST('fh.digest', 'f')} ELSE 'unindexed' END)
                            FROM unnest($4::text[], $5::text[]) AS r(path, version)
                            LEFT JOIN source_files f ON f.source = $3::text AND f.path = r.path
                            LEFT JOIN source_file_hours fh
                                   ON fh.source = $3::text AND fh.path = r.path AND fh.hour_start = h.hour_start
                           WHERE fh.path IS NOT NULL OR r.path = ${DAY_FILE('h.hour_start')}), '{}'::jsonb)
                || CASE WHEN ${DAY_FILE('h.hour_start')} = ANY($8::text[])
                        THEN jsonb_build_object(${DAY_FILE('h.hour_start')}, '${MISSING}') ELSE '{}'::jsonb END
           FROM ${HOURS_OF('$6::bigint', '$7::bigint')}
         ON CONFLICT (run_id, hour_start) DO UPDATE SET sources = excluded.sources, source = excluded.source,
           read_at = clock_timestamp() AT TIME ZONE 'UTC'`,
  values: [r.runId, r.workflowId, r.source, r.paths, r.versions, r.startMs, r.endMs, r.missing],
});

/**
 * A run that failed before it recorded what it read (a listing error, an unreadable or missing file, a refused
 * source), for each whole hour of its interval: what the index says feeds the hour now, exactly as the stale
 * hours' `now`. The hour is then not stale until a feeding file changes, is added or is removed: re-running
 * it cannot help before (docs/data-semantics.md). Reads the run did record are kept.
 */
export const recordFailedRunView = (r: FailedRunView): Statement => ({
  name: 'record-failed-run-view',
  text: `INSERT INTO run_hour_sources (run_id, workflow_id, source, hour_start, sources)
         SELECT $1::text, $2::text, $3::text, h.hour_start,
                coalesce((SELECT jsonb_object_agg(x.path, x.digest) FROM (
                            SELECT fh.path, ${FEED_DIGEST('fh.digest', 'f')} AS digest
                              FROM source_file_hours fh
                              JOIN source_files f ON f.source = fh.source AND f.path = fh.path
                             WHERE fh.source = $3::text AND fh.hour_start = h.hour_start
                            UNION
                            SELECT f.path, ${FEED_DIGEST('fh.digest', 'f')}
                              FROM source_files f
                              LEFT JOIN source_file_hours fh
                                     ON fh.source = f.source AND fh.path = f.path AND fh.hour_start = h.hour_start
                             WHERE f.source = $3::text AND f.path = ${DAY_FILE('h.hour_start')}) x), '{}'::jsonb)
           FROM ${HOURS_OF('$4::bigint', '$5::bigint')}
         ON CONFLICT (run_id, hour_start) DO NOTHING`,
  values: [r.runId, r.workflowId, r.source, r.startMs, r.endMs],
});

/**
 * Hours of `[fromMs, toMs)` whose latest finished run (one with an etl_runs row: a run still going is not
 * judged) read something else than the index now says feeds the hour: a file changed, was added or removed.
 * Returns what was read and what is there now, per hour, for the reason, at most `limit` of them, oldest first;
 * and on every row (there is always one: a row with a null hour when nothing is stale) `total_stale`, the stale
 * hours beyond the limit included, and `failed_unchanged`: hours whose latest run failed and whose source has
 * not changed since (it read, or saw in the index when it failed, what the index says now). A day file the
 * latest run found missing (`missing`) and that is still not in the source stays `missing` in `now`.
 * With `holdRemovals`, an hour whose latest run succeeded and whose only change is files gone (what it read
 * contains what is there now: `read @> now`) is held, not stale: `total_held`, the first and last such hour, and
 * the files gone (the first HELD_FILES_NAMED, with `held_files_total`) are on every row. A file briefly absent
 * (log rotation, a folder moved, a listing hiccup) must not empty its hours; a failed hour is not held (a file
 * removed may be what made it fail), nor an hour where something else changed too (that is real data).
 */
export const staleHours = (r: StaleHoursQuery): Statement => ({
  name: 'stale-hours',
  text: `WITH latest AS (
           SELECT DISTINCT ON (s.hour_start) s.hour_start, s.run_id, e.workflow_id, e.status, s.sources
             FROM run_hour_sources s JOIN etl_runs e ON e.run_id = s.run_id
            WHERE s.source = $1::text
              AND s.hour_start >= ${tsFromMs('$2::bigint')}
              AND s.hour_start < ${tsFromMs('$3::bigint')}
              AND e.workflow_id >= $5::text AND e.workflow_id < $6::text
            ORDER BY s.hour_start, s.read_at DESC
         ), feeding AS (
           SELECT fh.hour_start, fh.path FROM source_file_hours fh
            WHERE fh.source = $1::text
              AND fh.hour_start >= ${tsFromMs('$2::bigint')}
              AND fh.hour_start < ${tsFromMs('$3::bigint')}
           UNION
           SELECT l.hour_start, f.path FROM latest l
             JOIN source_files f ON f.source = $1::text AND f.path = ${DAY_FILE('l.hour_start')}
         ), now_items AS (
           SELECT g.hour_start, g.path, ${FEED_DIGEST('fh.digest', 'f')} AS digest
             FROM feeding g
             JOIN source_files f ON f.source = $1::text AND f.path = g.path
             LEFT JOIN source_file_hours fh
                    ON fh.source = $1::text AND fh.path = g.path AND fh.hour_start = g.hour_start
           UNION ALL
           SELECT l.hour_start, ${DAY_FILE('l.hour_start')}, '${MISSING}' FROM latest l
            WHERE l.sources ->> ${DAY_FILE('l.hour_start')} = '${MISSING}'
              AND NOT EXISTS (SELECT 1 FROM source_files f
                               WHERE f.source = $1::text AND f.path = ${DAY_FILE('l.hour_start')})
         ), judged AS (
           -- one pass grouped by hour over what was read and what is there now (no join of the two)
           SELECT u.hour_start, max(u.workflow_id) AS workflow_id, max(u.status) AS status,
                  (array_agg(u.read) FILTER (WHERE u.read IS NOT NULL))[1] AS read,
                  coalesce(jsonb_object_agg(u.path, u.digest) FILTER (WHERE u.path IS NOT NULL), '{}'::jsonb) AS now
             FROM (SELECT hour_start, workflow_id, status, sources AS read, NULL::text AS path, NULL::text AS digest
                     FROM latest
                   UNION ALL
                   SELECT hour_start, NULL, NULL, NULL, path, digest FROM now_items) u
            GROUP BY u.hour_start
           HAVING count(u.read) > 0
         ), marked AS (
           SELECT j.*, j.read <> j.now AS changed,
                  ($7::boolean AND j.status = 'succeeded' AND j.read <> j.now AND j.read @> j.now) AS held
             FROM judged j
         ), held_files AS (
           SELECT DISTINCT k.path FROM marked m CROSS JOIN LATERAL jsonb_object_keys(m.read) AS k(path)
            WHERE m.held AND NOT m.now ? k.path
         )
         SELECT c.total_stale, c.failed_unchanged, c.total_held, c.held_from_ms, c.held_to_ms,
                (SELECT count(*)::int FROM held_files) AS held_files_total,
                (SELECT array_agg(path ORDER BY path)
                   FROM (SELECT path FROM held_files ORDER BY path LIMIT ${HELD_FILES_NAMED}) n) AS held_files,
                t.hour_start_ms, t.workflow_id, t.read, t.now
           FROM (SELECT count(*) FILTER (WHERE changed AND NOT held)::int AS total_stale,
                        count(*) FILTER (WHERE NOT changed AND status <> 'succeeded')::int AS failed_unchanged,
                        count(*) FILTER (WHERE held)::int AS total_held,
                        (extract(epoch FROM min(hour_start) FILTER (WHERE held)) * 1000)::bigint AS held_from_ms,
                        (extract(epoch FROM max(hour_start) FILTER (WHERE held)) * 1000)::bigint AS held_to_ms
                   FROM marked) c
           LEFT JOIN LATERAL (
             SELECT (extract(epoch FROM m.hour_start) * 1000)::bigint AS hour_start_ms, m.workflow_id, m.read, m.now
               FROM marked m
              WHERE m.changed AND NOT m.held
              ORDER BY m.hour_start
              LIMIT $4::int) t ON true
          ORDER BY t.hour_start_ms`,
  values: [r.source, r.fromMs, r.toMs, r.limit, r.idPrefix, r.idPrefixEnd, r.holdRemovals],
});

/**
 * The hours of `[fromMs, toMs)` (of the deployment's runs) for which a run recorded a day file as missing, with
 * the run and the files: status shows such an hour as missing_file when that run is the hour's latest.
 */
export const missingFileHours = (r: Omit<StaleHoursQuery, 'source' | 'limit' | 'holdRemovals'>): Statement => ({
  name: 'missing-file-hours',
  text: `SELECT (extract(epoch FROM s.hour_start) * 1000)::bigint AS hour_start_ms, s.run_id,
                array_agg(m.key ORDER BY m.key) AS files
           FROM run_hour_sources s CROSS JOIN LATERAL jsonb_each_text(s.sources) AS m(key, value)
          WHERE s.hour_start >= ${tsFromMs('$1::bigint')}
            AND s.hour_start < ${tsFromMs('$2::bigint')}
            AND s.workflow_id >= $3::text AND s.workflow_id < $4::text
            AND m.value = '${MISSING}'
          GROUP BY s.hour_start, s.run_id`,
  values: [r.fromMs, r.toMs, r.idPrefix, r.idPrefixEnd],
});
