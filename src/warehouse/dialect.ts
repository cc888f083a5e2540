/**
 * A warehouse dialect: the statements that differ between PostgreSQL and Redshift (sql/postgres.ts,
 * sql/redshift.ts). What both share lives in sql/base.ts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { escapeIdentifier } from 'pg';
import type { LoadMode, StarTable } from '../types';
import type { LoadPlan, RunRecord, Statement } from './sql/base';
import * as pg from './sql/postgres';
import * as rs from './sql/redshift';
import { STAGING_PREFIX } from './tables';

export type DialectName = 'postgres' | 'redshift';

export interface Dialect {
  name: DialectName;
  /** Numbered migrations for this dialect. */
  migrationsDir: string;
  /** Serialises concurrent migrations (inside the migration's transaction, after etl_migrations exists). */
  migrationLock: Statement;
  createRunStaging(stg: string): Statement;
  registerRunStaging(runKey: string, workflowId: string | null): Statement[];
  staleRunStaging(olderThanHours: number): Statement;
  loadStatements(table: StarTable, mode: LoadMode, stg: string, interval: { startMs: number; endMs: number }): LoadPlan;
  recordRun(r: RunRecord): Statement[];
  /** `versions`: each file's version (SourceFile.version); rows are keyed by file, version and line. */
  recordLoadErrors(
    runKey: string,
    files: string[],
    lines: number[],
    reasons: string[],
    raws: string[],
    versions?: string[],
  ): Statement[];
  lockSongStaging: Statement;
  /** Makes the rest of the transaction run as `role` (a validated name): custom checks' read-only role. */
  runAsRole(role: string): Statement;
}

/** sql/ at the project root, from src/warehouse (tsx) or dist/src/warehouse (compiled). */
export const SQL_ROOT =
  [path.resolve(__dirname, '..', '..', 'sql'), path.resolve(__dirname, '..', '..', '..', 'sql')].find((dir) =>
    existsSync(path.join(dir, '001_schema.sql')),
  ) ?? path.resolve(__dirname, '..', '..', 'sql');

export const postgres: Dialect = {
  name: 'postgres',
  migrationsDir: SQL_ROOT,
  migrationLock: { text: `SELECT pg_advisory_xact_lock(hashtext('sparkify-etl:migrate'))` },
  createRunStaging: pg.createRunStaging,
  registerRunStaging: (runKey, workflowId) => [pg.registerRunStaging(runKey, workflowId)],
  staleRunStaging: pg.staleRunStaging,
  loadStatements: pg.loadStatements,
  recordRun: (r) => [pg.recordRun(r)],
  recordLoadErrors: (...args) => [pg.recordLoadErrors(...args)],
  lockSongStaging: pg.lockSongStaging,
  runAsRole: (role) => ({ text: `SET LOCAL ROLE ${escapeIdentifier(role)}` }),
};

export const redshift: Dialect = {
  name: 'redshift',
  migrationsDir: path.join(SQL_ROOT, 'redshift'),
  migrationLock: { text: `LOCK etl_migrations` },
  createRunStaging: rs.createRunStaging,
  registerRunStaging: (runKey, workflowId) =>
    rs.registerRunStaging(STAGING_PREFIX + runKey.toLowerCase(), runKey, workflowId),
  staleRunStaging: rs.staleRunStaging,
  loadStatements: rs.loadStatements,
  recordRun: rs.recordRun,
  recordLoadErrors: rs.recordLoadErrors,
  lockSongStaging: rs.lockSongStaging,
  // Redshift has no SET ROLE; this needs the worker's user to be a superuser (see docs/security.md).
  runAsRole: (role) => ({ text: `SET LOCAL SESSION AUTHORIZATION ${escapeIdentifier(role)}` }),
};

export function dialectFor(name: DialectName): Dialect {
  return name === 'redshift' ? redshift : postgres;
}
