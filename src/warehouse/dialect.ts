/**
 * A warehouse dialect: every statement the pipeline runs, by name. Activities, commands and migrations reach
 * SQL only through a Dialect (`dialectOf(deps).recordRun(...)`), so each reads the same for PostgreSQL and
 * Redshift. The statements live in sql/: base.ts (the same text in both), postgres.ts and redshift.ts, and
 * postgres-source-index.ts (the source index, which only PostgreSQL warehouses keep for now).
 * A new statement: write it in sql/base.ts, or in both sql/postgres.ts and sql/redshift.ts, add it to
 * Dialect and to both dialects below, and give it a golden case (test/support/golden.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LoadMode, StarTable } from '../types';
import {
  shared,
  type AlertClaim,
  type HeldAlert,
  type LoadPlan,
  type QueuedAlert,
  type RunRecord,
  type Statement,
} from './sql/base';
import * as pg from './sql/postgres';
import * as pgIndex from './sql/postgres-source-index';
import * as rs from './sql/redshift';

export type {
  AlertClaim,
  AlertKind,
  ClaimedAlertRow,
  HeldAlert,
  LoadPlan,
  LoadStep,
  QueuedAlert,
  RunRecord,
  Statement,
} from './sql/base';
export type { IndexedFile, RunReads, StaleHoursQuery } from './sql/postgres-source-index';
export type { CopyAuth } from './sql/redshift';

export type DialectName = 'postgres' | 'redshift';

/** Records song files read, with version and song count (and whether rejected): read again only when changed. */
type RecordSongFiles<R> = (
  paths: string[],
  sizes: number[],
  versions: string[],
  songs: number[],
  rejected?: boolean[],
) => R;

/** How rows get into PostgreSQL: the worker streams them with COPY FROM STDIN. */
export interface CopyFromStdin {
  kind: 'copy-from-stdin';
  copyEventsIntoRunStaging(stg: string): Statement;
  /** Fresh statistics, so the loads' joins are planned for the rows really staged. */
  analyzeRunStaging(stg: string): Statement;
  createSongStagingBatch: Statement;
  copySongsIntoBatch: Statement;
  upsertSongBatch: Statement;
  /** After upsertSongBatch, in its transaction: plays loaded before these songs arrived get them (late songs). */
  rematchLateSongs: Statement[];
  /** After rematchLateSongs, in its transaction: song_match again (the songplays load's songs), and statistics. */
  refreshSongMatch: Statement;
  recordSongFiles: RecordSongFiles<Statement>;
}

/** How rows get into Redshift: it has no COPY FROM STDIN, so COPY reads the files from S3 itself. */
export interface CopyFromS3 {
  kind: 'copy-from-s3';
  createRawEvents: Statement;
  copyEventsFromS3(file: string, jsonPaths: string, auth: rs.CopyAuth, maxErrors: number): Statement;
  filterRawEventsIntoRun(stg: string, startMs: number, endMs: number): Statement;
  /** A page of what the session's last COPY rejected (stl_load_errors), `copyErrorsPageSize` rows at most. */
  copyErrorsPage(offset: number): Statement;
  copyErrorsPageSize: number;
  createSongStagingBatch: Statement;
  /** The COPY manifest (JSON, written to S3) listing the song files to stage. */
  songManifest(urls: string[]): string;
  copySongsFromManifest(manifestUrl: string, auth: rs.CopyAuth, maxErrors: number): Statement;
  upsertSongBatch: Statement[];
  recordSongFiles: RecordSongFiles<Statement[]>;
}

/**
 * The source index (late and corrected data, docs/data-semantics.md): each event file's version and per-hour
 * digests, what each run read for each hour, and the hours whose source changed since their run read it.
 */
/** What run_hour_sources records for a day file that was not in the source (status: missing_file). */
export { MISSING as MISSING_DAY_FILE } from './sql/postgres-source-index';

export interface SourceIndex {
  /** Only one refresh of the index at a time; `locked` says whether this transaction got it. */
  tryLock: Statement;
  indexedFiles(source: string): Statement;
  upsertIndexedFile(source: string, f: pgIndex.IndexedFile): Statement;
  deleteFileHours(source: string, path: string): Statement;
  insertFileHours(source: string, path: string, hours: pgIndex.IndexedHour[]): Statement;
  deleteIndexedFiles(source: string, paths: string[]): Statement;
  /** The files that hold lines of the interval's hours, each with its indexed version and the byte range of them. */
  feedingRanges(source: string, startMs: number, endMs: number): Statement;
  recordRunReads(r: pgIndex.RunReads): Statement;
  /** A run that failed before recording its reads: what the index says feeds each hour, as of the failure. */
  recordFailedRunView(r: pgIndex.FailedRunView): Statement;
  /**
   * Loaded hours whose feeding files changed, were added or were removed since their latest run read them (at
   * most `limit`), with the count of all of them and of the failed hours whose source has not changed since.
   */
  staleHours(r: pgIndex.StaleHoursQuery): Statement;
  /** The hours for which a run recorded a day file as missing, by run. */
  missingFileHours(r: Omit<pgIndex.StaleHoursQuery, 'source' | 'limit' | 'holdRemovals'>): Statement;
}

export interface Dialect {
  name: DialectName;

  // ---- migrations (db:init)
  /** Numbered migrations for this dialect. */
  migrationsDir: string;
  createMigrationsTable: Statement;
  /** Serialises concurrent migrations (inside the migration's transaction, after etl_migrations exists). */
  migrationLock: Statement;
  /** Every migration applied (the preflight compares them with sql/). */
  appliedMigrations: Statement;
  migrationApplied(file: string): Statement;
  recordMigration(file: string, appliedAt: Date): Statement;

  // ---- a run's private staging table (`stg`: from tables.ts runStagingTable)
  createRunStaging(stg: string): Statement;
  registerRunStaging(runKey: string, workflowId: string | null): Statement[];
  dropRunStaging(stg: string): Statement;
  unregisterRunStaging(runKey: string): Statement;
  /** Staging tables registered longer ago than the given hours: left behind by runs that never finished. */
  staleRunStaging(olderThanHours: number): Statement;

  // ---- staging
  /** The statements of the way this warehouse takes rows in; the staging activities follow its kind. */
  staging: CopyFromStdin | CopyFromS3;
  /** Only one song staging at a time: concurrent runs would otherwise stage the same new files twice. */
  lockSongStaging: Statement;
  stagedSongFiles: Statement;
  /** In the transaction that changes staging_songs: the songs and artists loads compare it again (not skip). */
  songStagingChanged: Statement;
  /** `versions`: each file's version (SourceFile.version); rows are keyed by file, version and line. */
  recordLoadErrors(
    runKey: string,
    files: string[],
    lines: number[],
    reasons: string[],
    raws: string[],
    versions?: string[],
  ): Statement[];

  /** The source index, or null where the warehouse keeps none (Redshift, for now: docs/redshift.md). */
  sourceIndex: SourceIndex | null;

  // ---- loads
  /** What one load runs, as named steps (test/golden/<dialect>/load-plans.txt lists them all). */
  loadPlan(table: StarTable, mode: LoadMode, stg: string, interval: { startMs: number; endMs: number }): LoadPlan;

  // ---- checks
  countSongplaysInInterval(startMs: number, endMs: number): Statement;
  countNextSongStaged(stg: string): Statement;
  /** NextSong events staged, each repeated event counted once (as the songplays load keeps it). */
  countDistinctNextSongStaged(stg: string): Statement;
  countNullKeys(table: StarTable): Statement;
  countDuplicateKeys(table: StarTable, interval: { startMs: number; endMs: number }): Statement;
  /** Counts that share their bound values, as one statement (one round trip). */
  countsAtOnce(counts: Statement[]): Statement;
  /** Rows of a table a check names (`name` or `schema.name`; validated). */
  countRows(table: string): Statement;
  /** A custom check's time limit, for the rest of its transaction. */
  setLocalStatementTimeout(ms: number): Statement;
  /** Makes the rest of the transaction run as `role` (a validated name): custom checks' read-only role. */
  runAsRole(role: string): Statement;

  // ---- the audit table (etl_runs)
  recordRun(r: RunRecord): Statement[];
  /** The runs of a deployment whose interval overlaps a range (status grid, freshness). */
  runsOverlapping(r: { start: string; end: string; idPrefix: string; idPrefixEnd: string }): Statement;
  /** The status of the latest other finished run of the same workflow id. */
  previousRunStatus(workflowId: string, runId: string): Statement;
  /** The run's own row (status, rows, checks), if it was recorded. */
  recordedRun(workflowId: string, runId: string): Statement;

  // ---- the failure webhook's outbox (sql/007_alert_outbox.sql, delivered by src/alert-delivery.ts)
  /** Queues the run's alert, in recordRun's transaction: 'failed', or 'recovered' after a failed run of the hour. */
  queueAlert(a: QueuedAlert): Statement;
  /** Claims due alerts no other worker holds, in one transaction; the last statement returns them. */
  claimAlerts(c: AlertClaim): Statement[];
  alertSent(h: HeldAlert, nowMs: number): Statement;
  alertRetryLater(h: HeldAlert, nextMs: number, error: string): Statement;
  alertAbandoned(h: HeldAlert, error: string): Statement;
}

/** sql/ at the project root, from src/warehouse (tsx) or dist/src/warehouse (compiled). */
export const SQL_ROOT =
  [path.resolve(__dirname, '..', '..', 'sql'), path.resolve(__dirname, '..', '..', '..', 'sql')].find((dir) =>
    existsSync(path.join(dir, '001_schema.sql')),
  ) ?? path.resolve(__dirname, '..', '..', 'sql');

export const postgres: Dialect = {
  ...shared,
  name: 'postgres',
  migrationsDir: SQL_ROOT,
  migrationLock: pg.migrationLock,
  countDuplicateKeys: pg.countDuplicateKeys,
  createRunStaging: pg.createRunStaging,
  registerRunStaging: (runKey, workflowId) => [pg.registerRunStaging(runKey, workflowId)],
  staleRunStaging: pg.staleRunStaging,
  staging: {
    kind: 'copy-from-stdin',
    copyEventsIntoRunStaging: pg.copyEventsIntoRunStaging,
    analyzeRunStaging: pg.analyzeRunStaging,
    createSongStagingBatch: pg.createSongStagingBatch,
    copySongsIntoBatch: pg.copySongsIntoBatch,
    upsertSongBatch: pg.upsertSongBatch,
    rematchLateSongs: pg.rematchLateSongs,
    refreshSongMatch: pg.refreshSongMatch,
    recordSongFiles: pg.recordSongFiles,
  },
  lockSongStaging: pg.lockSongStaging,
  sourceIndex: {
    tryLock: pgIndex.tryLockSourceIndex,
    indexedFiles: pgIndex.indexedFiles,
    upsertIndexedFile: pgIndex.upsertIndexedFile,
    deleteFileHours: pgIndex.deleteFileHours,
    insertFileHours: pgIndex.insertFileHours,
    deleteIndexedFiles: pgIndex.deleteIndexedFiles,
    feedingRanges: pgIndex.feedingRanges,
    recordRunReads: pgIndex.recordRunReads,
    recordFailedRunView: pgIndex.recordFailedRunView,
    staleHours: pgIndex.staleHours,
    missingFileHours: pgIndex.missingFileHours,
  },
  recordLoadErrors: (...args) => [pg.recordLoadErrors(...args)],
  loadPlan: pg.loadPlan,
  runAsRole: pg.runAsRole,
  recordRun: (r) => [pg.recordRun(r)],
  claimAlerts: pg.claimAlerts,
};

export const redshift: Dialect = {
  ...shared,
  name: 'redshift',
  migrationsDir: path.join(SQL_ROOT, 'redshift'),
  migrationLock: rs.migrationLock,
  createRunStaging: rs.createRunStaging,
  registerRunStaging: rs.registerRunStaging,
  staleRunStaging: rs.staleRunStaging,
  staging: {
    kind: 'copy-from-s3',
    createRawEvents: rs.createRawEvents,
    copyEventsFromS3: rs.copyEventsFromS3,
    filterRawEventsIntoRun: rs.filterRawEventsIntoRun,
    copyErrorsPage: rs.copyErrorsPage,
    copyErrorsPageSize: rs.COPY_ERRORS_PAGE,
    createSongStagingBatch: rs.createSongStagingBatch,
    songManifest: rs.songManifest,
    copySongsFromManifest: rs.copySongsFromManifest,
    upsertSongBatch: rs.upsertSongBatch,
    recordSongFiles: rs.recordSongFiles,
  },
  lockSongStaging: rs.lockSongStaging,
  sourceIndex: null,
  recordLoadErrors: rs.recordLoadErrors,
  loadPlan: rs.loadPlan,
  runAsRole: rs.runAsRole,
  recordRun: rs.recordRun,
  claimAlerts: rs.claimAlerts,
};

export function dialectFor(name: DialectName): Dialect {
  return name === 'redshift' ? redshift : postgres;
}
