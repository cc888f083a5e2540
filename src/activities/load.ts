import { ApplicationFailure } from '@temporalio/common';
import type { PoolClient, QueryResult } from 'pg';
import { toMs } from '../interval';
import { stagingKeyOf, loadModeProblem, type LoadInput, type LoadResult } from '../types';
import { withTransaction } from '../warehouse/pool';
import { BAD_INPUT, CONCURRENT_LOAD, rethrowForActivity } from '../warehouse/errors';
import type { LoadPlan } from '../warehouse/sql/base';
import { ROLLBACK_TO_BEFORE_INSERT, SAVEPOINT_BEFORE_INSERT } from '../warehouse/sql/postgres';
import { runStagingTable } from '../warehouse/tables';
import { dialectOf, type ActivityDeps } from './deps';
import { elapsed, whileHeartbeating, log } from './progress';
import { metrics } from './metrics';

const UNIQUE_VIOLATION = '23505';

/** The plan's insert; if a key makes it fail and the plan says what to do then, that instead. */
async function insert(client: PoolClient, plan: LoadPlan, table: string): Promise<QueryResult> {
  if (!plan.onUniqueViolation) return client.query(plan.insert);
  await client.query(SAVEPOINT_BEFORE_INSERT);
  try {
    return await client.query(plan.insert);
  } catch (err) {
    if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
    await client.query(ROLLBACK_TO_BEFORE_INSERT);
    log.info(`${table}: a key is already loaded or repeats in the batch; loading each new key once`, { table });
    return client.query(plan.onUniqueViolation);
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
    const plan = dialectOf(deps).loadStatements(input.table, input.mode, stg, toMs(input.interval));
    try {
      const rowsWritten = await withTransaction(deps.pool, async (client) => {
        for (const statement of plan.prepare) await client.query(statement);
        const res = await whileHeartbeating({ table: input.table, mode: input.mode }, () =>
          insert(client, plan, input.table),
        );
        return res.rowCount ?? 0;
      });
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
      rethrowForActivity(err);
    }
  };
}
