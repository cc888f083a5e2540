import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { SparkifyActivities } from '../activities';
import { NON_RETRYABLE_TYPES } from '../failures';
import { attemptsWithin, RETRY_BACKOFF } from '../input';

/**
 * Retries: what can heal is retried with backoff (1 s doubling to 30 s) for as many attempts as fit in the
 * run's retry budget; what cannot (bad data, bad configuration, bad input) fails the step at once.
 */
function retryWithin(budgetMs: number) {
  return {
    initialInterval: RETRY_BACKOFF.initialMs,
    backoffCoefficient: RETRY_BACKOFF.coefficient,
    maximumInterval: RETRY_BACKOFF.maximumMs,
    maximumAttempts: attemptsWithin(budgetMs),
    nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES],
  } satisfies ActivityOptions['retry'];
}

/** The clean-up and the audit record after a failure retry briefly: the run's error is already known. */
const AFTER_FAILURE_BUDGET_MS = 15_000;
/**
 * How long the in-run failure webhook of runs recorded before the outbox is retried before the run gives up on
 * it (and logs that it did). New runs do not send it: the worker process delivers it from the outbox.
 */
const ALERT_BUDGET_MS = 30_000;

/**
 * The activities of one run, with its heartbeat timeout and retry budget.
 * - Staging and loads: a heartbeat shows the attempt is alive (a dead worker is noticed after the heartbeat
 *   timeout and the step is retried elsewhere); the start-to-close timeout bounds one attempt. The summary is
 *   the activity's one-line label in the Web UI's timeline and history.
 * - Checks and the audit record are read-only or short statements, run as local activities in the worker
 *   that runs the workflow task: each saves a round trip through the server. Their results are in the
 *   history as markers; the check results are also in the workflow result and etl_runs.
 * - Dropping the run's staging is an ordinary activity. As a local one it could run before the checks'
 *   result was recorded: local activities are recorded when the workflow task that ran them completes, so a
 *   worker dying after the drop but before that completion left the next worker to run the checks again
 *   against staging that was gone. An ordinary activity is only scheduled by that completion (and, with
 *   eager activity execution, handed straight back to the same worker).
 */
export function activitiesFor(heartbeatTimeout: Duration, budgetMs: number, localSteps = false) {
  const retry = retryWithin(budgetMs);
  const afterFailure = retryWithin(AFTER_FAILURE_BUDGET_MS);
  return {
    // Local steps (a backfill's choice, SparkifyEtlInput.localSteps): the worker running the workflow task runs
    // them, with no schedule, dispatch and completion through the server per step; a long one is kept alive by
    // the workflow task's own heartbeat instead of the step's. The clean-up stays an ordinary activity (above).
    step: (summary: string) =>
      localSteps
        ? proxyLocalActivities<SparkifyActivities>({ startToCloseTimeout: '30m', retry, summary })
        : proxyActivities<SparkifyActivities>({ startToCloseTimeout: '30m', heartbeatTimeout, retry, summary }),
    // The fast path's combined steps (fast-path.ts): one attempt each, a minute at most; a step they did not
    // do, the run does on its own with `step` (retried within the budget, an ordinary activity unless localSteps).
    fast: (summary: string) =>
      proxyLocalActivities<SparkifyActivities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 1 }, summary }),
    // runSmallHour does what three of `fast` did, one after the other: their three minutes.
    fastHour: (summary: string) =>
      proxyLocalActivities<SparkifyActivities>({ startToCloseTimeout: '3m', retry: { maximumAttempts: 1 }, summary }),
    checking: proxyLocalActivities<SparkifyActivities>({ startToCloseTimeout: '10m', retry, summary: 'checks' }),
    bookkeeping: proxyLocalActivities<SparkifyActivities>({
      startToCloseTimeout: '1m',
      retry,
      summary: 'the audit record (etl_runs)',
    }),
    bookkeepingAfterFailure: proxyLocalActivities<SparkifyActivities>({
      startToCloseTimeout: '1m',
      retry: afterFailure,
      summary: 'the audit record of the failed run (etl_runs)',
    }),
    cleanup: proxyActivities<SparkifyActivities>({
      startToCloseTimeout: '1m',
      retry,
      summary: 'drop the run staging table',
    }),
    alerting: proxyLocalActivities<SparkifyActivities>({
      startToCloseTimeout: '30s',
      retry: retryWithin(ALERT_BUDGET_MS),
    }),
    cleanupAfterFailure: proxyActivities<SparkifyActivities>({
      startToCloseTimeout: '1m',
      retry: afterFailure,
      summary: 'drop the run staging table',
    }),
  };
}

export type RunActivities = ReturnType<typeof activitiesFor>;
