import { toMs } from '../interval';
import type { RecordRunInput } from '../types';
import { withClient } from '../warehouse/pool';
import { rethrowForActivity } from '../warehouse/errors';
import { dropRunStaging as dropStatement, recordRun as recordStatement, runStagingTable } from '../warehouse/statements';
import type { ActivityDeps } from './context';

/** Writes the run's row to the etl_runs audit table (idempotent per workflow run). */
export function makeRecordRun(deps: ActivityDeps) {
  return async function recordRun(input: RecordRunInput): Promise<void> {
    const { startMs, endMs } = toMs(input.interval);
    try {
      await withClient(deps.pool, (client) => client.query(recordStatement({ ...input, startMs, endMs })));
    } catch (err) {
      rethrowForActivity(err, 'recording the run in etl_runs');
    }
  };
}

/** Drops the run's private staging table; called at the end of every run, also after a failure. */
export function makeDropRunStaging(deps: ActivityDeps) {
  return async function dropRunStaging(input: { runKey: string }): Promise<void> {
    try {
      await withClient(deps.pool, (client) => client.query(dropStatement(runStagingTable(input.runKey))));
    } catch (err) {
      rethrowForActivity(err, 'dropping the run staging table');
    }
  };
}
