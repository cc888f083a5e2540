import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  ApplicationFailure,
  CancellationScope,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { SparkifyActivities } from '../activities';
import { intervalForScheduledTime, intervalKey, makeInterval, type Interval } from '../interval';
import {
  allowedModes,
  DEFAULT_LOAD_MODES,
  TABLES,
  type CheckResult,
  type LoadResult,
  type SparkifyEtlInput,
  type SparkifyEtlResult,
  type StarTable,
} from '../types';

/**
 * SparkifyEtl loads one data interval of Sparkify's event logs into the star schema:
 *
 *   stageEvents ─┐                ┌ songplays ┐
 *                ├─▶ (parallel) ──┼ users     ├─▶ runChecks ─▶ recordRun
 *   stageSongs  ─┘                ├ songs     │
 *                                 ├ artists   │
 *                                 └ time      ┘      dropRunStaging (always)
 *
 * The interval comes from the input or, for a scheduled run, from the schedule's time T as [T - 1h, T):
 * never from the clock, so a run loads the same rows whenever it executes. Only keys, counts and timings
 * travel through history, never rows or credentials.
 */

const NON_RETRYABLE = ['BadData', 'BadConfig', 'SourceFileMissing'];

const retry = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  maximumAttempts: 8,
  nonRetryableErrorTypes: NON_RETRYABLE,
} satisfies ActivityOptions['retry'];

/**
 * Staging and loads: a heartbeat shows the attempt is alive (a dead worker is noticed after the heartbeat
 * timeout and the step is retried elsewhere); the start-to-close timeout bounds one attempt.
 */
function dataStep(heartbeatTimeout: Duration, summary: string) {
  // The summary is the activity's one-line label in the Web UI's timeline and history.
  return proxyActivities<SparkifyActivities>({ startToCloseTimeout: '30m', heartbeatTimeout, retry, summary });
}

/**
 * Checks and the audit record are read-only or short statements, run as local activities in the worker
 * that runs the workflow task: each saves a round trip through the server. Their results are in the
 * history as markers; the check results are also in the workflow result and etl_runs.
 */
const checking = proxyLocalActivities<SparkifyActivities>({
  startToCloseTimeout: '10m',
  retry,
});

const bookkeeping = proxyLocalActivities<SparkifyActivities>({
  startToCloseTimeout: '1m',
  retry: { ...retry, maximumAttempts: 20 },
});

/**
 * Dropping the run's staging is an ordinary activity. As a local one it could run before the checks'
 * result was recorded: local activities are recorded when the workflow task that ran them completes, so a
 * worker dying after the drop but before that completion left the next worker to run the checks again
 * against staging that was gone. An ordinary activity is only scheduled by that completion (and, with
 * eager activity execution, handed straight back to the same worker).
 */
const cleanup = proxyActivities<SparkifyActivities>({
  startToCloseTimeout: '1m',
  retry: { ...retry, maximumAttempts: 20 },
  summary: 'drop the run staging table',
});

const DROP_STAGING_AFTER_CHECKS_RECORDED = 'drop-staging-after-checks-recorded';

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** The run's interval: named in the input, or derived from the schedule's time T. */
export function resolveInterval(input: SparkifyEtlInput): Interval {
  if (input.start || input.end) {
    if (!input.start || !input.end) {
      throw ApplicationFailure.nonRetryable('give both start and end of the interval, or neither', 'BadInput');
    }
    try {
      return makeInterval(input.start, input.end);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`invalid interval: ${(err as Error).message}`, 'BadInput');
    }
  }
  const scheduled = workflowInfo().typedSearchAttributes.get(SCHEDULED_START);
  if (scheduled) return intervalForScheduledTime(scheduled.getTime());
  throw ApplicationFailure.nonRetryable(
    'SparkifyEtl needs an interval: pass { start, end } (e.g. 2018-11-15T13:00Z and 2018-11-15T14:00Z) ' +
      'or start it from the schedule, which supplies its scheduled time',
    'BadInput',
  );
}

/**
 * Like Promise.all, but waits for every step to settle before failing with the first error, so no step
 * is still writing to the run's staging when the run cleans it up.
 */
async function allSettled<T extends readonly unknown[]>(
  steps: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const settled = await Promise.allSettled(steps);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

export async function SparkifyEtl(input: SparkifyEtlInput = {}): Promise<SparkifyEtlResult> {
  const info = workflowInfo();
  const interval = resolveInterval(input);
  const runKey = intervalKey(interval);
  const modes = { ...DEFAULT_LOAD_MODES, ...input.loadModes };
  for (const table of TABLES) {
    if (!allowedModes(table).includes(modes[table])) {
      throw ApplicationFailure.nonRetryable(
        `load mode "${modes[table]}" is not available for ${table}; use one of ${allowedModes(table).join(', ')}`,
        'BadInput',
      );
    }
  }
  const maxErrors = input.maxErrors ?? 0;
  const warnings: string[] = [];
  const heartbeatTimeout = (input.heartbeatTimeout ?? '1m') as Duration;
  const step = (summary: string) => dataStep(heartbeatTimeout, summary);
  const span = `${interval.start.slice(0, 16)}Z .. ${interval.end.slice(0, 16)}Z`;
  log.info('SparkifyEtl starting', { interval, runKey });
  let dropped: Promise<number> | undefined;
  const dropStaging = () =>
    (dropped ??= CancellationScope.nonCancellable(() =>
      // runs that started before the change replay with the local activity they recorded
      (patched(DROP_STAGING_AFTER_CHECKS_RECORDED) ? cleanup : bookkeeping).dropRunStaging({ runKey }),
    ));

  try {
    const [events, songs] = await allSettled([
      step(`stage events ${span}`).stageEvents({
        runKey,
        interval,
        source: input.source ?? '',
        maxErrors,
        onMissingFile: input.onMissingFile ?? 'warn',
      }),
      step('stage new song files').stageSongs({ runKey, source: input.source ?? '', maxErrors }),
    ]);
    if (events.missingFiles.length > 0) warnings.push(`missing event file(s): ${events.missingFiles.join(', ')}`);
    if (events.badLines > 0) warnings.push(`${events.badLines} bad event line(s) kept in load_errors`);
    if (songs.badFiles > 0) warnings.push(`${songs.badFiles} bad song file(s) kept in load_errors`);

    const loads: LoadResult[] = await allSettled(
      TABLES.map((table: StarTable) =>
        step(`load ${table} (${modes[table]}) ${span}`).loadTable({ runKey, interval, table, mode: modes[table] }),
      ),
    );

    const { results: checks, durationMs: checksMs } = await checking.runChecks({
      runKey,
      interval,
      builtin: input.builtinChecks ?? true,
      checks: input.checks ?? [],
    });

    const durationsMs: Record<string, number> = {
      stageEvents: events.durationMs,
      stageSongs: songs.durationMs,
      ...Object.fromEntries(loads.map((l) => [`load_${l.table}`, l.durationMs])),
      checks: checksMs,
    };
    const rows: Record<string, number> = {
      staging_events: events.rowsStaged,
      staging_songs: songs.songsStaged,
      ...Object.fromEntries(loads.map((l) => [l.table, l.rowsWritten])),
    };
    const failed = checks.filter((c: CheckResult) => !c.passed);
    // The audit record and the clean-up are independent: both at once (one activation less per run).
    // Scheduled in this order, as before they ran in parallel, so runs in flight replay unchanged.
    const recording = bookkeeping.recordRun({
      workflowId: info.workflowId,
      runId: info.runId,
      startedAt: info.runStartTime.toISOString(),
      interval,
      status: failed.length ? 'failed_checks' : 'succeeded',
      rows,
      checks,
      durationsMs,
    });
    await Promise.all([recording, dropStaging()]);
    if (failed.length > 0) {
      throw ApplicationFailure.create({
        type: 'DataQualityChecksFailed',
        nonRetryable: true,
        message:
          `${failed.length} data-quality check(s) failed for ${interval.start} .. ${interval.end}: ` +
          failed.map((c) => `${c.name} (${c.detail})`).join('; '),
        details: [failed],
      });
    }
    return { workflowId: info.workflowId, interval, staged: { events, songs }, loads, checks, durationsMs, warnings };
  } finally {
    // Also after a failure or a cancellation: the run's staging is private and nobody else drops it.
    await dropStaging();
  }
}
