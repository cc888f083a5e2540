import { ActivityFailure, log, patched } from '@temporalio/workflow';
import type { AlertRunInput } from '../types';
import type { RunActivities } from './activity-options';
import { ALERT_WEBHOOK } from './patches';
import { causeOf } from './step-failures';

/**
 * The failure webhook (and "recovered" after a failed run of the hour), once the run is recorded: nothing to
 * do when recordRun queued it in the outbox (`queued`). Runs recorded before the outbox send it from the run,
 * as they did; its own failure is logged, never the run's.
 */
export async function alertFromTheRun(acts: RunActivities, queued: boolean, input: AlertRunInput): Promise<void> {
  if (queued || !patched(ALERT_WEBHOOK)) return;
  await acts.alerting.alertRun(input).catch((e: unknown) =>
    log.warn('could not send the alert (ALERT_WEBHOOK_URL)', {
      error: e instanceof ActivityFailure ? causeOf(e) : String(e),
    }),
  );
}
