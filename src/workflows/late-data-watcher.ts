import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  isCancellation,
  log,
  metricMeter,
  proxyActivities,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { SparkifyActivities } from '../activities';
import type { FoundStaleHours, HeldStaleHours, RefreshIndexResult, StaleHour } from '../activities/late-data';
import { BAD_INPUT, NON_RETRYABLE_TYPES } from '../failures';
import { parseDuration, RETRY_BACKOFF } from '../input';
import { floorToHour, workflowIdFor } from '../interval';
import type { SparkifyEtlInput } from '../types';

/**
 * LateDataWatcher: one cycle of the late-data watcher (its own schedule, every 5 minutes by default, or
 * `npm run late`). It refreshes the source index (only new or changed files are read), finds the loaded hours
 * of the last `lookback` whose feeding files changed, were added or were removed since their latest run read
 * them, and re-runs each through SparkifyEtl under the hour's own workflow id, a few at a time, each with its
 * reason in its input. A run of that hour already in progress is left alone this cycle (the next cycle looks
 * again). A loaded hour whose only change is that files it read are gone is held, not re-run (findStaleHours
 * leaves it out): its rows stay. With `dryRun` it only says what it would re-run and why.
 */
export interface LateDataWatcherInput {
  /** SPARKIFY_DEPLOYMENT: the re-runs take the hours' ids `<deployment>-<end of the hour>`. */
  deployment: string;
  /** How far back hours may be re-run (LATE_DATA_LOOKBACK), e.g. `30d`. */
  lookback?: string;
  /** Re-runs at once (LATE_DATA_CONCURRENCY). */
  concurrency?: number;
  dryRun?: boolean;
  /** At most this many hours re-run this cycle, oldest first (default MAX_RERUNS_PER_CYCLE); 1 to 10000. */
  maxReruns?: number;
  /** What every re-run gets, as a scheduled run does: source, load modes, retry budget; never an interval. */
  runInput?: Omit<SparkifyEtlInput, 'start' | 'end' | 'reason'>;
}

export type RerunOutcome = 'succeeded' | 'failed' | 'skipped (a run of the hour is in progress)' | 'would re-run';

export interface LateRerun extends StaleHour {
  workflowId: string;
  outcome: RerunOutcome;
  error?: string;
}

export interface LateDataWatcherResult {
  index: RefreshIndexResult;
  /** The hours looked at, [from, to): the lookback up to the last whole hour before the cycle started. */
  from: string;
  to: string;
  reruns: LateRerun[];
  dryRun: boolean;
  /** Stale hours beyond this cycle's limit: the next cycle takes them (oldest first). */
  waiting?: number;
  /**
   * Failed hours left alone: their latest run failed and nothing in their source changed since, so a re-run
   * would fail the same way. A change to a file that feeds one (or `npm run etl` of the hour) takes it up again.
   */
  failedUnchanged?: number;
  /** Loaded hours held, not re-run: only files they read are gone (FoundStaleHours.held). */
  held?: HeldStaleHours;
}

export const DEFAULT_LATE_DATA_LOOKBACK = '30d';
export const DEFAULT_LATE_DATA_CONCURRENCY = 4;
/**
 * At most this many hours are re-run per cycle (the oldest first); the next cycle takes the rest. Failed hours
 * whose source has not changed since they failed are not among them, so they cannot starve the others.
 */
export const MAX_RERUNS_PER_CYCLE = 200;

const acts = proxyActivities<SparkifyActivities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: {
    initialInterval: RETRY_BACKOFF.initialMs,
    backoffCoefficient: RETRY_BACKOFF.coefficient,
    maximumInterval: RETRY_BACKOFF.maximumMs,
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES],
  },
});

function rerunsCounter() {
  return metricMeter.createCounter(
    'sparkify_late_reruns_total',
    'runs',
    'hours the late-data watcher re-ran because their source changed, by outcome',
  );
}

export async function LateDataWatcher(input: LateDataWatcherInput): Promise<LateDataWatcherResult> {
  const lookbackMs = parseDuration(input?.lookback ?? DEFAULT_LATE_DATA_LOOKBACK);
  const concurrency = input?.concurrency ?? DEFAULT_LATE_DATA_CONCURRENCY;
  const maxReruns = input?.maxReruns ?? MAX_RERUNS_PER_CYCLE;
  if (
    !input?.deployment ||
    lookbackMs === undefined ||
    lookbackMs <= 0 ||
    !(concurrency >= 1 && concurrency <= 100) ||
    !(Number.isInteger(maxReruns) && maxReruns >= 1 && maxReruns <= 10_000)
  ) {
    throw ApplicationFailure.nonRetryable(
      'LateDataWatcher needs { deployment, lookback?: a duration such as 30d, concurrency?: 1 to 100, maxReruns?: 1 to 10000 }',
      BAD_INPUT,
    );
  }
  const runInput = input.runInput ?? {};
  const source = runInput.source ?? '';
  // Whole hours before the cycle started (from its history, not the clock): an hour still going is not re-run.
  const toMs = floorToHour(workflowInfo().runStartTime.getTime());
  const fromMs = floorToHour(toMs - lookbackMs);
  const index = await acts.refreshSourceIndex({ source });
  const found = await acts.findStaleHours({
    source,
    deployment: input.deployment,
    fromMs,
    toMs,
    limit: maxReruns,
  });
  // Cycles recorded before the counts existed returned the hours alone.
  const stale: FoundStaleHours = Array.isArray(found)
    ? { hours: found as StaleHour[], total: (found as StaleHour[]).length, failedUnchanged: 0 }
    : found;
  const reruns: LateRerun[] = stale.hours.map((h) => ({
    ...h,
    workflowId: workflowIdFor(h, input.deployment),
    outcome: 'would re-run',
  }));
  const result = (): LateDataWatcherResult => ({
    index,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    reruns,
    dryRun: !!input.dryRun,
    waiting: Math.max(0, stale.total - reruns.length),
    failedUnchanged: stale.failedUnchanged,
    ...(stale.held ? { held: stale.held } : {}),
  });
  if (stale.failedUnchanged > 0) {
    log.info('late data: failed hours left alone, nothing changed in their source since they failed', {
      hours: stale.failedUnchanged,
    });
  }
  if (stale.held) {
    log.warn('late data: hours held, files they read were removed since they were loaded (rows kept)', {
      hours: stale.held.hours,
      files: stale.held.files,
    });
  }
  if (input.dryRun || reruns.length === 0) return result();

  log.info('late data: re-running hours', { hours: reruns.length, waiting: stale.total - reruns.length });
  let next = 0;
  const lane = async () => {
    while (next < reruns.length) {
      const r = reruns[next++]!;
      await rerun(r, runInput);
      rerunsCounter().add(1, { outcome: r.outcome.startsWith('skipped') ? 'skipped' : r.outcome });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, reruns.length) }, lane));
  return result();
}

async function rerun(r: LateRerun, runInput: NonNullable<LateDataWatcherInput['runInput']>): Promise<void> {
  const args: SparkifyEtlInput = { ...runInput, start: r.start, end: r.end, reason: r.reason };
  try {
    const child = await startChild('SparkifyEtl', {
      workflowId: r.workflowId,
      args: [args],
      // A re-run is the hour's own run: it finishes even if this cycle is cancelled or ends.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: r.reason,
    });
    await child.result();
    r.outcome = 'succeeded';
  } catch (err) {
    if (isCancellation(err)) throw err;
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      r.outcome = 'skipped (a run of the hour is in progress)';
      return;
    }
    r.outcome = 'failed';
    r.error = err instanceof ChildWorkflowFailure ? (err.cause?.message ?? err.message) : String(err);
  }
}
