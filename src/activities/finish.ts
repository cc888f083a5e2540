import { toMs } from '../interval';
import { stagingKeyOf, type RecordRunInput, type StagingRef } from '../types';
import { inTransaction, withClient, withTransaction } from '../warehouse/pool';
import { rethrowForActivity } from '../warehouse/errors';
import type { PoolClient } from 'pg';
import type { Dialect } from '../warehouse/dialect';
import { runStagingTable } from '../warehouse/tables';
import { dialectOf, type ActivityDeps } from './deps';
import { metrics } from './metrics';
import { whileHeartbeating, log } from './progress';

/** Writes the run's row to the etl_runs audit table (idempotent per workflow run). */
export function makeRecordRun(deps: ActivityDeps) {
  return async function recordRun(input: RecordRunInput): Promise<void> {
    const { startMs, endMs } = toMs(input.interval);
    try {
      await whileHeartbeating({ recording: input.workflowId }, () =>
        withTransaction(deps.pool, async (client) => {
          for (const statement of dialectOf(deps).recordRun({ ...input, startMs, endMs }))
            await client.query(statement);
        }),
      );
    } catch (err) {
      rethrowForActivity(err, 'recording the run in etl_runs');
    }
    const failed = input.checks.filter((c) => !c.passed);
    for (const c of failed) metrics.checkFailures(1, { check: c.name });
    const wallMs = Date.now() - Date.parse(input.startedAt);
    metrics.runDuration(wallMs / 1000, { status: input.status });
    log.info(`run ${input.status}`, {
      interval: input.interval,
      rows: input.rows,
      failedChecks: failed.length,
      wallMs,
      ...(input.failedStep ? { failedStep: input.failedStep, error: input.error } : {}),
      ...(input.cleanupError ? { cleanupError: input.cleanupError } : {}),
    });
  };
}

async function dropStaging(client: PoolClient, dialect: Dialect, runKey: string): Promise<void> {
  await inTransaction(client, async () => {
    await client.query(dialect.dropRunStaging(runStagingTable(runKey)));
    await client.query(dialect.unregisterRunStaging(runKey));
  });
}

/**
 * Drops the run's private staging table; called at the end of every run, also after a failure. Then sweeps
 * staging tables that runs which never finished (terminated, or their workflow lost) left behind: those
 * registered more than `sweepAfterHours` ago. Returns how many stale tables it dropped.
 */
export function makeDropRunStaging(deps: ActivityDeps) {
  return async function dropRunStaging(input: StagingRef & { sweepAfterHours?: number }): Promise<number> {
    try {
      return await whileHeartbeating({ dropping: stagingKeyOf(input) }, () =>
        withClient(deps.pool, async (client) => {
          const dialect = dialectOf(deps);
          await dropStaging(client, dialect, stagingKeyOf(input));
          const stale = await client.query<{ run_key: string }>(dialect.staleRunStaging(input.sweepAfterHours ?? 6));
          for (const { run_key } of stale.rows) await dropStaging(client, dialect, run_key);
          return stale.rowCount ?? 0;
        }),
      );
    } catch (err) {
      rethrowForActivity(err);
    }
  };
}
