import type { Pool, PoolClient } from 'pg';
import type { CheckResult, RunStatus } from '../types';
import type { Dialect } from '../warehouse/dialect';
import { dialectOf, type ActivityDeps } from './deps';
import { log, runIdOfAttempt, workflowIdOfAttempt } from './progress';

/** PostgreSQL's (and Redshift's) "relation does not exist". */
const UNDEFINED_TABLE = '42P01';

export interface RecordedRun {
  status: RunStatus;
  rows: Record<string, number>;
  checks: CheckResult[];
}

/**
 * A step run again after its run recorded itself. recordRun drops the run's staging once the record is
 * committed. A worker that dies between that commit and the completion of the workflow task that ran it leaves
 * the next worker to replay the run, and the local steps whose results the history had not taken yet run again:
 * when the run's staging was staged in an earlier workflow task (or by an ordinary activity), they find it gone.
 * Then, and only when `err` says the table is missing, the run's own etl_runs row is their answer: what the
 * run loaded and checked before it recorded. Undefined when the run is not recorded (the error stands).
 */
export async function recordedRunAfter(deps: ActivityDeps, err: unknown): Promise<RecordedRun | undefined> {
  if ((err as { code?: unknown } | null)?.code !== UNDEFINED_TABLE) return undefined;
  const workflowId = workflowIdOfAttempt();
  const runId = runIdOfAttempt();
  if (!workflowId || !runId) return undefined;
  try {
    const record = await recordOf(deps.pool, dialectOf(deps), workflowId, runId);
    if (record) {
      log.info('the run recorded itself and dropped its staging before this step was recorded: taking its record', {
        status: record.status,
      });
    }
    return record;
  } catch {
    return undefined;
  }
}

/** A run's own etl_runs row when it recorded itself with a status other than failed; undefined otherwise. */
export async function recordOf(
  db: Pool | PoolClient,
  dialect: Dialect,
  workflowId: string,
  runId: string,
): Promise<RecordedRun | undefined> {
  const res = await db.query<{ status: RunStatus; rows: unknown; checks: unknown }>(
    dialect.recordedRun(workflowId, runId),
  );
  const row = res.rows[0];
  if (!row || row.status === 'failed') return undefined;
  // jsonb on PostgreSQL, text on Redshift
  const json = <T>(v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
  return { status: row.status, rows: json(row.rows), checks: json(row.checks) };
}
