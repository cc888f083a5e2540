import { mask } from '../alerts';
import { toMs } from '../interval';
import { stagingKeyOf, type RecordRunInput, type RecordRunResult, type StagingRef } from '../types';
import { withClient, withTransaction } from '../warehouse/pool';
import { rethrowForActivity } from '../warehouse/errors';
import type { Pool, PoolClient } from 'pg';
import type { Dialect } from '../warehouse/dialect';
import { runStagingTable } from '../warehouse/tables';
import { dialectOf, type ActivityDeps } from './deps';
import { metrics } from './metrics';
import { whileHeartbeating, log } from './progress';
import { recordOf } from './recorded';

/**
 * Writes the run's row to the etl_runs audit table (idempotent per workflow run) and, in the same transaction,
 * queues its alert in the outbox when the run asks (input.queueAlert) and this worker sends alerts
 * (ALERT_WEBHOOK_URL): either both are written or neither. The worker process delivers the alert.
 * With `dropStaging`, then drops the run's staging: after the commit, so that a step replayed after it finds the
 * record (see recorded.ts); a drop that fails is the result's `cleanupError`, not the record's failure.
 * A run recorded again keeps the larger of each count: its worker stopped after the record but before the
 * history took it, and the replay's steps found done what the run had done (the songs staged, the dimension rows
 * loaded), so they count less. A record of a failed attempt takes the new counts. The result's `rows` are the
 * counts recorded when they are not the given ones, for the run's own result to show what etl_runs shows.
 */
export function makeRecordRun(deps: ActivityDeps) {
  return async function recordRun(input: RecordRunInput): Promise<RecordRunResult> {
    const { startMs, endMs } = toMs(input.interval);
    const alerts = input.queueAlert ? deps.alerts : undefined;
    let queued = false;
    let kept: Record<string, number> | undefined;
    try {
      await whileHeartbeating({ recording: input.workflowId }, () =>
        withTransaction(deps.pool, async (client) => {
          const rows = await countsToKeep(client, dialectOf(deps), input);
          kept = raised(input.rows, rows) ? rows : undefined;
          for (const statement of dialectOf(deps).recordRun({ ...input, rows, startMs, endMs }))
            await client.query(statement);
          if (!alerts) return;
          const failed = input.status !== 'succeeded';
          const res = await client.query(
            dialectOf(deps).queueAlert({
              workflowId: input.workflowId,
              runId: input.runId,
              startMs,
              endMs,
              status: input.status,
              step: failed ? (input.failedStep ?? 'checks') : null,
              message: failed ? mask(input.error ?? input.status, alerts.secrets) : null,
              nowMs: Date.now(),
            }),
          );
          queued = (res.rowCount ?? 0) > 0;
        }),
      );
    } catch (err) {
      rethrowForActivity(err, 'recording the run in etl_runs');
    }
    if (queued) deps.onAlertQueued?.();
    const failed = input.checks.filter((c) => !c.passed);
    for (const c of failed) metrics.checkFailures(1, { check: c.name });
    const wallMs = Date.now() - Date.parse(input.startedAt);
    metrics.runDuration(wallMs / 1000, { status: input.status });
    log.info(`run ${input.status}`, {
      interval: input.interval,
      rows: kept ?? input.rows,
      failedChecks: failed.length,
      wallMs,
      ...(input.failedStep ? { failedStep: input.failedStep, error: input.error } : {}),
      ...(input.cleanupError ? { cleanupError: input.cleanupError } : {}),
    });
    const recorded = kept ? { rows: kept } : {};
    if (!input.dropStaging) return recorded;
    try {
      await dropAndSweep(deps, input.dropStaging);
      return recorded;
    } catch (err) {
      const cleanupError = (err as Error).message;
      log.warn('the clean-up failed; the sweep of a later run drops the table', { cleanupError });
      return { ...recorded, cleanupError };
    }
  };
}

/** The counts to record for the run: the given ones, each raised to the run's earlier record's (see above). */
async function countsToKeep(
  client: PoolClient,
  dialect: Dialect,
  input: RecordRunInput,
): Promise<Record<string, number>> {
  const earlier = await recordOf(client, dialect, input.workflowId, input.runId);
  const kept = { ...input.rows };
  for (const [name, n] of Object.entries(earlier?.rows ?? {})) {
    if (typeof n === 'number' && n > (kept[name] ?? -Infinity)) kept[name] = n;
  }
  return kept;
}

/** Whether the counts to keep are not the given ones: one of them raised, or one added from the earlier record. */
function raised(given: Record<string, number>, kept: Record<string, number>): boolean {
  return Object.entries(kept).some(([name, n]) => given[name] !== n);
}

/** Drops the table, then its registration: each idempotent, so a failure between them leaves what the sweep ends. */
async function dropStaging(client: PoolClient, dialect: Dialect, runKey: string): Promise<void> {
  await client.query(dialect.dropRunStaging(runStagingTable(runKey)));
  await client.query(dialect.unregisterRunStaging(runKey));
}

/** When each warehouse was last swept for staging left behind, by this worker: at most once a minute. */
const sweptAt = new WeakMap<Pool, number>();
const SWEEP_EVERY_MS = 60_000;

/**
 * Drops the run's private staging table; called at the end of every run, also after a failure. Then sweeps
 * staging tables that runs which never finished (terminated, or their workflow lost) left behind: those
 * registered more than `sweepAfterHours` ago. Returns how many stale tables it dropped.
 */
export function makeDropRunStaging(deps: ActivityDeps) {
  return async function dropRunStaging(input: StagingRef & { sweepAfterHours?: number }): Promise<number> {
    try {
      return await whileHeartbeating({ dropping: stagingKeyOf(input) }, () => dropAndSweep(deps, input));
    } catch (err) {
      rethrowForActivity(err);
    }
  };
}

async function dropAndSweep(deps: ActivityDeps, input: StagingRef & { sweepAfterHours?: number }): Promise<number> {
  return withClient(deps.pool, async (client) => {
    const dialect = dialectOf(deps);
    await dropStaging(client, dialect, stagingKeyOf(input));
    // Tables left behind are hours old before they are swept: looking once a minute is often enough.
    const last = sweptAt.get(deps.pool);
    if (input.sweepAfterHours === undefined && last !== undefined && Date.now() - last < SWEEP_EVERY_MS) return 0;
    sweptAt.set(deps.pool, Date.now());
    const stale = await client.query<{ run_key: string }>(dialect.staleRunStaging(input.sweepAfterHours ?? 6));
    for (const { run_key } of stale.rows) await dropStaging(client, dialect, run_key);
    return stale.rowCount ?? 0;
  });
}
