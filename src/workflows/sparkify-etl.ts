import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  metricMeter,
  patched,
  proxyActivities,
  proxyLocalActivities,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { SparkifyActivities } from '../activities';
import { BAD_INPUT, CHECKS_FAILED, NON_RETRYABLE_TYPES } from '../failures';
import { DATA_INTERVAL_END, DATA_INTERVAL_START } from '../search-attributes';
import {
  attemptsWithin,
  DEFAULT_HEARTBEAT_TIMEOUT,
  DEFAULT_RETRY_BUDGET,
  inputProblems,
  parseDuration,
  RETRY_BACKOFF,
} from '../input';
import { floorToHour, intervalForScheduledTime, intervalKey, makeInterval, type Interval } from '../interval';
import {
  DEFAULT_LOAD_MODES,
  TABLES,
  type AlertRunInput,
  type CheckResult,
  type LoadResult,
  type RunStatus,
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
 * How long the failure webhook is retried before the run gives up on it (and logs that it did). Short: the
 * run waits for it, and until it ends the hour shows as running.
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
function activitiesFor(heartbeatTimeout: Duration, budgetMs: number) {
  const retry = retryWithin(budgetMs);
  const afterFailure = retryWithin(AFTER_FAILURE_BUDGET_MS);
  return {
    step: (summary: string) =>
      proxyActivities<SparkifyActivities>({ startToCloseTimeout: '30m', heartbeatTimeout, retry, summary }),
    checking: proxyLocalActivities<SparkifyActivities>({ startToCloseTimeout: '10m', retry }),
    bookkeeping: proxyLocalActivities<SparkifyActivities>({ startToCloseTimeout: '1m', retry }),
    bookkeepingAfterFailure: proxyLocalActivities<SparkifyActivities>({
      startToCloseTimeout: '1m',
      retry: afterFailure,
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

const DROP_STAGING_AFTER_CHECKS_RECORDED = 'drop-staging-after-checks-recorded';
/** Runs that fail before their checks get an etl_runs row too (older runs replay without it). */
const RECORD_FAILED_RUNS = 'record-failed-runs';
const SCHEDULED_HOUR_FLOORED = 'scheduled-hour-floored';
const RUN_PRIVATE_STAGING = 'run-private-staging';
/** At most this many input problems are named (each is short): enough to fix, small enough to record. */
const MAX_PROBLEMS_SHOWN = 20;

/** The failure webhook after the audit record, in the run (runs recorded before the outbox replay with it). */
const ALERT_WEBHOOK = 'alert-webhook';
/**
 * The failure webhook out of the run: recordRun queues the alert in the warehouse's outbox with the run's
 * etl_runs row, and the worker process delivers it (src/alert-delivery.ts). The run no longer waits for it.
 */
const ALERT_OUTBOX = 'alert-outbox';
/** The run's interval as search attributes (older runs replay without the upsert). */
const DATA_INTERVAL_SEARCH_ATTRIBUTES = 'data-interval-search-attributes';

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** The run's interval: named in the input, or derived from the schedule's time T. */
export function resolveInterval(input: SparkifyEtlInput): Interval {
  if (input.start || input.end) {
    if (!input.start || !input.end) {
      throw ApplicationFailure.nonRetryable('give both start and end of the interval, or neither', BAD_INPUT);
    }
    try {
      return makeInterval(input.start, input.end);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`invalid interval: ${(err as Error).message}`, BAD_INPUT);
    }
  }
  const scheduled = workflowInfo().typedSearchAttributes.get(SCHEDULED_START);
  if (scheduled) {
    // A run triggered by hand (or a schedule with a minute offset) is scheduled between hours: it loads the last
    // whole hour before its time, never a slice across two hours.
    const t = scheduled.getTime();
    return intervalForScheduledTime(patched(SCHEDULED_HOUR_FLOORED) ? floorToHour(t) : t);
  }
  throw ApplicationFailure.nonRetryable(
    'SparkifyEtl needs an interval: pass { start, end } (e.g. 2018-11-15T13:00Z and 2018-11-15T14:00Z) ' +
      'or start it from the schedule, which supplies its scheduled time',
    BAD_INPUT,
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

/** A step's failure as the run's own: `load songplays: [40P01] deadlock detected (gave up after 8 attempts)`. */
export class StepFailed extends Error {
  constructor(
    readonly step: string,
    readonly failure: ApplicationFailure,
  ) {
    super(failure.message);
  }
}

function causeOf(err: ActivityFailure): string {
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) {
    const inner = cause.cause?.message;
    return `timed out (${String(cause.timeoutType).toLowerCase().replace(/_/g, ' ')})${inner ? `: ${inner}` : ''}`;
  }
  return cause?.message || err.message;
}

/** The one-line cause of a failed activity, whether it arrives wrapped (ActivityFailure) or not. */
function messageOf(e: unknown): string {
  if (e instanceof ActivityFailure) return causeOf(e);
  return e instanceof Error ? e.message : String(e);
}

function retryNote(err: ActivityFailure, budget: string): string {
  if (err.retryState === 'MAXIMUM_ATTEMPTS_REACHED') {
    return (
      ` (gave up after retrying for the run's retry budget of ${budget}; a longer one waits out longer outages: ` +
      'RETRY_BUDGET, or --retry-budget on npm run etl)'
    );
  }
  return '';
}

/** Wraps a step so its failure names the step and its cause at the top of the run's failure. */
async function named<T>(step: string, budget: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isCancellation(err)) throw err;
    let cause: string;
    let type: string | undefined;
    if (err instanceof ActivityFailure) {
      cause = `${causeOf(err)}${retryNote(err, budget)}`;
      type =
        err.cause instanceof ApplicationFailure && err.cause.type
          ? err.cause.type
          : err.cause?.name || 'ActivityFailed';
    } else if (err instanceof ApplicationFailure) {
      // A local activity's failure (checks, recordRun) arrives as the ApplicationFailure it threw.
      cause = err.message;
      type = err.type ?? undefined;
    } else {
      throw err;
    }
    throw new StepFailed(
      step,
      ApplicationFailure.create({
        message: `${step}: ${cause}`,
        type,
        nonRetryable: true,
        cause: err,
        details: [{ step }],
      }),
    );
  }
}

function runsCounter() {
  return metricMeter.createCounter(
    'sparkify_runs_total',
    'runs',
    'SparkifyEtl runs finished, by status and failed step',
  );
}

export async function SparkifyEtl(given: SparkifyEtlInput | null = {}): Promise<SparkifyEtlResult> {
  const info = workflowInfo();
  // Everything is checked before any step: a bad input fails the run once, naming each bad field, instead
  // of failing its workflow task forever (an unparseable duration) or being ignored (an unknown check op).
  // The list is bounded, so that no input can make the failure itself too large to record.
  const problems = inputProblems(given, { runStartMs: info.runStartTime.getTime() }).slice(0, MAX_PROBLEMS_SHOWN);
  if (problems.length > 0) {
    runsCounter().add(1, { status: 'failed', step: 'input' });
    throw ApplicationFailure.create({
      type: BAD_INPUT,
      nonRetryable: true,
      message: `input: ${problems.join('; ')}`,
      details: [{ step: 'input', problems }],
    });
  }
  const input: SparkifyEtlInput = given ?? {};
  const interval = resolveInterval(input);
  // The interval as a column and a filter in the Web UI, whoever started the run (src/search-attributes.ts).
  if (patched(DATA_INTERVAL_SEARCH_ATTRIBUTES)) {
    upsertSearchAttributes([
      { key: DATA_INTERVAL_START, value: new Date(interval.start) },
      { key: DATA_INTERVAL_END, value: new Date(interval.end) },
    ]);
  }
  const runKey = intervalKey(interval);
  const modes = { ...DEFAULT_LOAD_MODES, ...input.loadModes };
  const maxErrors = input.maxErrors ?? 0;
  const warnings: string[] = [];
  const budget = input.retryBudget ?? DEFAULT_RETRY_BUDGET;
  // As milliseconds: the SDK's own parser takes less than the door does (e.g. " 30s").
  const heartbeatTimeout: Duration = parseDuration(input.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT) ?? 60_000;
  const acts = activitiesFor(heartbeatTimeout, parseDuration(budget) ?? 0);
  const span = `${interval.start.slice(0, 16)}Z .. ${interval.end.slice(0, 16)}Z`;
  // The run's private staging: two runs of one interval under different workflow ids never share a table.
  const stagingKey = patched(RUN_PRIVATE_STAGING) ? `${runKey}_${info.runId.replace(/-/g, '').slice(-8)}` : undefined;
  const staging = { runKey, ...(stagingKey ? { stagingKey } : {}) };
  log.info('SparkifyEtl starting', { interval, runKey });
  let dropped: Promise<number> | undefined;
  const dropStaging = (afterFailure = false) =>
    (dropped ??= CancellationScope.nonCancellable(() =>
      // runs that started before the change replay with the local activity they recorded
      (patched(DROP_STAGING_AFTER_CHECKS_RECORDED)
        ? afterFailure
          ? acts.cleanupAfterFailure
          : acts.cleanup
        : acts.bookkeeping
      ).dropRunStaging(staging),
    ));
  const stepsMs: Record<string, number> = {};
  const rows: Record<string, number> = {};
  let recorded = false;
  // Decided once, where the run is first recorded: a run that recorded before the outbox existed replays
  // without it and still sends its alert from the run (ALERT_WEBHOOK).
  let outbox: boolean | undefined;
  const alertsQueued = () => (outbox ??= patched(ALERT_OUTBOX));

  try {
    const [events, songs] = await allSettled([
      named(
        'stageEvents',
        budget,
        acts.step(`stage events ${span}`).stageEvents({
          ...staging,
          interval,
          source: input.source ?? '',
          maxErrors,
          onMissingFile: input.onMissingFile ?? 'warn',
        }),
      ),
      named(
        'stageSongs',
        budget,
        acts.step('stage new song files').stageSongs({ runKey, source: input.source ?? '', maxErrors }),
      ),
    ]);
    Object.assign(stepsMs, { stageEvents: events.durationMs, stageSongs: songs.durationMs });
    Object.assign(rows, { staging_events: events.rowsStaged, staging_songs: songs.songsStaged });
    if (events.missingFiles.length > 0) warnings.push(`missing event file(s): ${events.missingFiles.join(', ')}`);
    if (events.badLines > 0) warnings.push(`${events.badLines} bad event line(s) kept in load_errors`);
    if (songs.badFiles > 0) warnings.push(`${songs.badFiles} bad song file(s) kept in load_errors`);

    const loads: LoadResult[] = await allSettled(
      TABLES.map((table: StarTable) =>
        named(
          `load ${table}`,
          budget,
          acts
            .step(`load ${table} (${modes[table]}) ${span}`)
            .loadTable({ ...staging, interval, table, mode: modes[table] }),
        ),
      ),
    );
    for (const l of loads) {
      stepsMs[`load_${l.table}`] = l.durationMs;
      rows[l.table] = l.rowsWritten;
    }

    const { results: checks, durationMs: checksMs } = await named(
      'checks',
      budget,
      acts.checking.runChecks({
        ...staging,
        interval,
        builtin: input.builtinChecks ?? true,
        checks: input.checks ?? [],
      }),
    );
    stepsMs.checks = checksMs;
    const failed = checks.filter((c: CheckResult) => !c.passed);
    const status: RunStatus = failed.length ? 'failed_checks' : 'succeeded';
    const checksMessage =
      `checks: ${failed.length} failed for ${interval.start} .. ${interval.end}: ` +
      failed.map((c) => `${c.name} (${c.detail})`).join('; ');
    // The audit record and the clean-up are independent: both at once (one activation less per run).
    // Scheduled in this order, as before they ran in parallel, so runs in flight replay unchanged.
    const queueAlert = alertsQueued();
    const recording = named(
      'recordRun',
      budget,
      acts.bookkeeping.recordRun({
        workflowId: info.workflowId,
        runId: info.runId,
        startedAt: info.runStartTime.toISOString(),
        interval,
        status,
        rows,
        checks,
        durationsMs: stepsMs,
        ...(queueAlert ? { queueAlert, ...(failed.length ? { failedStep: 'checks', error: checksMessage } : {}) } : {}),
      }),
    );
    // The hour is loaded, checked and recorded: a clean-up that fails now is a warning (a later run's sweep
    // drops the table), never the run's failure.
    const cleaning = dropStaging().catch((e: unknown) => {
      const cleanupError = `dropRunStaging: ${messageOf(e)}`;
      log.warn('the clean-up failed; the sweep of a later run drops the table', { cleanupError });
      warnings.push(`${cleanupError} (a later run's sweep drops the staging table)`);
      return 0;
    });
    await Promise.all([recording, cleaning]);
    recorded = true;
    runsCounter().add(1, { status, step: failed.length ? 'checks' : '' });
    await alert(acts, queueAlert, {
      workflowId: info.workflowId,
      runId: info.runId,
      interval,
      status,
      ...(failed.length ? { failedStep: 'checks', error: checksMessage } : {}),
    });
    if (failed.length > 0) {
      throw ApplicationFailure.create({
        type: CHECKS_FAILED,
        nonRetryable: true,
        message: checksMessage,
        details: [failed],
      });
    }
    return {
      workflowId: info.workflowId,
      interval,
      staged: { events, songs },
      loads,
      checks,
      durationsMs: stepsMs,
      warnings,
    };
  } catch (err) {
    if (recorded || isCancellation(err)) throw err instanceof StepFailed ? err.failure : err;
    // A step failed: the run's failure is that step's, whatever the clean-up and the audit record do next.
    const failure = err instanceof StepFailed ? err.failure : toFailure(err);
    const step = err instanceof StepFailed ? err.step : 'workflow';
    runsCounter().add(1, { status: 'failed', step });
    let unrecorded: string | undefined;
    if (patched(RECORD_FAILED_RUNS)) {
      const cleanupError = await dropStaging(true).then(
        () => undefined,
        (e: unknown) => `dropRunStaging: ${messageOf(e)}`,
      );
      if (cleanupError) log.warn('the clean-up failed too; the sweep of a later run drops the table', { cleanupError });
      const queueAlert = alertsQueued();
      await CancellationScope.nonCancellable(() =>
        acts.bookkeepingAfterFailure.recordRun({
          workflowId: info.workflowId,
          runId: info.runId,
          startedAt: info.runStartTime.toISOString(),
          interval,
          status: 'failed',
          rows,
          checks: [],
          durationsMs: stepsMs,
          failedStep: step,
          error: failure.message,
          ...(cleanupError ? { cleanupError } : {}),
          ...(queueAlert ? { queueAlert } : {}),
        }),
      ).catch((e: unknown) => {
        const error = messageOf(e);
        log.warn('could not record the failed run in etl_runs', { error });
        unrecorded = error;
      });
      await CancellationScope.nonCancellable(() =>
        alert(acts, queueAlert, {
          workflowId: info.workflowId,
          runId: info.runId,
          interval,
          status: 'failed',
          failedStep: step,
          error: failure.message,
        }),
      );
    }
    // When etl_runs could not take the record (the warehouse is what failed, say), the failure says so itself.
    if (unrecorded !== undefined) {
      throw ApplicationFailure.create({
        message: `${failure.message} (not recorded in etl_runs: ${unrecorded})`,
        type: failure.type ?? undefined,
        nonRetryable: true,
        cause: failure.cause,
        details: failure.details as unknown[],
      });
    }
    throw failure;
  } finally {
    // Also after a failure or a cancellation: the run's staging is private and nobody else drops it. A failed
    // clean-up after a failed step is logged above; it never replaces the step's error.
    // Where the drop was awaited before, its failure was reported there (a warning, or cleanup_error).
    const reported = dropped !== undefined;
    await dropStaging(true).catch((e: unknown) => {
      if (!reported) log.warn('the clean-up failed; the sweep of a later run drops the table', { error: messageOf(e) });
    });
  }
}

/**
 * The failure webhook (and "recovered" after a failed run of the hour), once the run is recorded: nothing to
 * do when recordRun queued it in the outbox. Runs recorded before the outbox send it from the run, as they
 * did; its own failure is logged, never the run's.
 */
async function alert(acts: ReturnType<typeof activitiesFor>, queued: boolean, input: AlertRunInput): Promise<void> {
  if (queued || !patched(ALERT_WEBHOOK)) return;
  await acts.alerting.alertRun(input).catch((e: unknown) =>
    log.warn('could not send the alert (ALERT_WEBHOOK_URL)', {
      error: e instanceof ActivityFailure ? causeOf(e) : String(e),
    }),
  );
}

function toFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  return ApplicationFailure.create({
    message: `workflow: ${err instanceof Error ? err.message : String(err)}`,
    nonRetryable: true,
    cause: err instanceof Error ? err : undefined,
  });
}
