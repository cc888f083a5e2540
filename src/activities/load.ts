import { ApplicationFailure } from '@temporalio/common';
import type { PoolClient, QueryResult } from 'pg';
import { toMs } from '../interval';
import { stagingKeyOf, loadModeProblem, type LoadInput, type LoadResult } from '../types';
import { withTransaction } from '../warehouse/pool';
import { BAD_INPUT, CONCURRENT_LOAD, rethrowForActivity } from '../warehouse/errors';
import type { LoadStep } from '../warehouse/dialect';
import { runStagingTable } from '../warehouse/tables';
import { dialectOf, type ActivityDeps } from './deps';
import { elapsed, whileHeartbeating, log } from './progress';
import { metrics } from './metrics';
import { recordedRunAfter } from './recorded';

const UNIQUE_VIOLATION = '23505';

/** A step that can be sent with others in one simple query: no bound values, no answer read, no fallback. */
function plainStep(step: LoadStep): boolean {
  return !step.statement.values?.length && !step.statement.name && !step.onUniqueViolation && !step.detectsReload;
}

/** One step of a load plan; if a key makes it fail and the step says what to do then, that instead. */
async function runStep(client: PoolClient, step: LoadStep, table: string): Promise<QueryResult> {
  try {
    return await client.query(step.statement);
  } catch (err) {
    if (!step.onUniqueViolation || (err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
    log.info(`${table}: a key is already loaded or repeats in the batch; loading each new key once`, { table });
    let res: QueryResult | undefined;
    for (const instead of step.onUniqueViolation) res = await client.query(instead.statement);
    return res!;
  }
}

/**
 * Loads one star-schema table from the run's staging, in one transaction, in the table's load mode.
 * Every mode is safe to retry: replace deletes the interval first, truncate-insert empties the table first,
 * upsert and append never insert a key twice.
 */
export function makeLoadTable(deps: ActivityDeps) {
  return async function loadTable(input: LoadInput): Promise<LoadResult> {
    const t0 = performance.now();
    const problem = loadModeProblem(input.table, input.mode);
    if (problem) throw ApplicationFailure.nonRetryable(problem, BAD_INPUT);
    const stg = runStagingTable(stagingKeyOf(input));
    const plan = dialectOf(deps).loadPlan(input.table, input.mode, stg, toMs(input.interval));
    // The plan's first steps that take no bound values and need no answer (a lock, a setting) go with BEGIN:
    // one round trip for them all. Never the last step, whose row count is the rows written.
    let leading = 0;
    while (leading < plan.steps.length - 1 && plainStep(plan.steps[leading]!)) leading++;
    const begin = ['BEGIN', ...plan.steps.slice(0, leading).map((s) => s.statement.text)].join('; ');
    try {
      // The row count of the last step is the rows written; the steps after a re-load (if any) do not count.
      const rowsWritten = await withTransaction(
        deps.pool,
        (client) =>
          whileHeartbeating({ table: input.table, mode: input.mode }, async () => {
            let last: QueryResult | undefined;
            let reloaded = false;
            for (const step of plan.steps.slice(leading)) {
              last = await runStep(client, step, input.table);
              if (step.detectsReload && (last.rowCount ?? 0) > 0) reloaded = true;
            }
            if (reloaded) for (const step of plan.afterReload ?? []) await runStep(client, step, input.table);
            return last?.rowCount ?? 0;
          }),
        begin,
      );
      metrics.rows('loaded', rowsWritten, { table: input.table, mode: input.mode });
      log.info(`loaded ${input.table}`, {
        interval: input.interval,
        table: input.table,
        mode: input.mode,
        rowsWritten,
      });
      return { table: input.table, mode: input.mode, rowsWritten, durationMs: elapsed(t0) };
    } catch (err) {
      if (plan.replacesInterval && (err as { code?: unknown }).code === UNIQUE_VIOLATION) {
        // The interval was emptied and the batch holds each key once, so the conflicting row was committed
        // meanwhile by another run of an overlapping interval (a manual run beside the scheduled one, say).
        // The next attempt deletes it with the rest of the interval.
        throw ApplicationFailure.retryable(
          `loading ${input.table} (${input.mode}): another run loaded rows of this interval at the same time ` +
            `(${(err as Error).message}); the next attempt replaces them`,
          CONCURRENT_LOAD,
        );
      }
      const recorded = await recordedRunAfter(deps, err);
      if (recorded) {
        return { table: input.table, mode: input.mode, rowsWritten: recorded.rows[input.table] ?? 0, durationMs: 0 };
      }
      rethrowForActivity(err);
    }
  };
}
