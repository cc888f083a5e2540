import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  metricMeter,
  patched,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { BAD_INPUT, CHECKS_FAILED, checksFailedMessage } from '../failures';
import { DATA_INTERVAL_END, DATA_INTERVAL_START, holdsInterval } from '../search-attributes';
import { DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_RETRY_BUDGET, inputProblems, parseDuration } from '../input';
import { intervalKey } from '../interval';
import {
  DEFAULT_LOAD_MODES,
  loadedRecord,
  stagedRecord,
  TABLES,
  type CheckResult,
  type LoadResult,
  type RunStatus,
  type SparkifyEtlInput,
  type SparkifyEtlResult,
  type StageEventsResult,
  type StageSongsResult,
  type StarTable,
} from '../types';
import { activitiesFor } from './activity-options';
import { alertFromTheRun } from './in-run-alert';
import {
  ALERT_OUTBOX,
  DATA_INTERVAL_SEARCH_ATTRIBUTES,
  DROP_STAGING_AFTER_CHECKS_RECORDED,
  LOCAL_STEPS,
  RECORD_FAILED_RUNS,
  RUN_PRIVATE_STAGING,
  SINCE_2026_11_26,
  SINCE_2026_11_26_ONE_STEP,
} from './patches';
import { doneIn, fast, LOCAL_LIMIT_BYTES, LOCAL_LIMIT_LOAD_ROWS, LOCAL_LIMIT_SONG_FILES } from './fast-path';
import { resolveInterval } from './resolve-interval';
import { allSettled, messageOf, named, StepFailed, toFailure } from './step-failures';

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

/** At most this many input problems are named (each is short): enough to fix, small enough to record. */
const MAX_PROBLEMS_SHOWN = 20;

function runsCounter() {
  return metricMeter.createCounter(
    'sparkify_runs_total',
    'runs',
    'SparkifyEtl runs finished, by status and failed step',
  );
}

/**
 * The steps' results with the counts the audit record kept (`rows`). They differ only for a run recorded again: its
 * worker stopped after the record but before the history took it, and the replay's steps found done what the run
 * had done (the songs staged, the dimension rows loaded), so they counted less; recordRun kept the larger of each
 * count in etl_runs and returned them. The run's result then shows what etl_runs shows.
 */
function asRecorded(
  rows: Record<string, number>,
  events: StageEventsResult,
  songs: StageSongsResult,
  loads: LoadResult[],
): Pick<SparkifyEtlResult, 'staged' | 'loads'> {
  return {
    staged: {
      events: { ...events, rowsStaged: rows.staging_events ?? events.rowsStaged },
      songs: { ...songs, songsStaged: rows.staging_songs ?? songs.songsStaged },
    },
    loads: loads.map((l) => ({ ...l, rowsWritten: rows[l.table] ?? l.rowsWritten })),
  };
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
  // One marker for every change up to this one (patches.ts): a run started now takes them all; runs recorded
  // before it replay through each patch as they ran.
  const newest = patched(SINCE_2026_11_26_ONE_STEP);
  const current = newest || patched(SINCE_2026_11_26);
  const since = (id: string) => current || patched(id);
  const interval = resolveInterval(input, since);
  // The interval as a column and a filter in the Web UI, whoever started the run (src/search-attributes.ts).
  // Set already when the command that started the run did (etl, backfill): then nothing to update.
  if (since(DATA_INTERVAL_SEARCH_ATTRIBUTES) && !(current && holdsInterval(info.typedSearchAttributes, interval))) {
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
  // How the staging and load steps run (SparkifyEtlInput.localSteps). Before SINCE_2026_11_26, only a backfill's
  // runs asked for local steps, and runs without that input never reached the patch.
  const stepsRun: 'locally' | 'small ones locally' | 'as activities' = current
    ? input.localSteps === true
      ? 'locally'
      : input.localSteps === false
        ? 'as activities'
        : 'small ones locally'
    : input.localSteps === true && patched(LOCAL_STEPS)
      ? 'locally'
      : 'as activities';
  const acts = activitiesFor(heartbeatTimeout, parseDuration(budget) ?? 0, stepsRun === 'locally');
  // Small hours take the fast path (fast-path.ts) when the steps may run locally: one local activity that
  // does the steps at once (three, for runs recorded before SINCE_2026_11_26_ONE_STEP); what it did not do,
  // the run does step by step as below.
  const fastPath = stepsRun !== 'as activities' && current;
  const oneStep = fastPath && newest;
  const span = `${interval.start.slice(0, 16)}Z .. ${interval.end.slice(0, 16)}Z`;
  // The run's private staging: two runs of one interval under different workflow ids never share a table.
  const stagingKey = since(RUN_PRIVATE_STAGING) ? `${runKey}_${info.runId.replace(/-/g, '').slice(-8)}` : undefined;
  const staging = { runKey, ...(stagingKey ? { stagingKey } : {}) };
  log.info('SparkifyEtl starting', { interval, runKey });
  let dropped: Promise<number> | undefined;
  const dropStaging = (afterFailure = false) =>
    (dropped ??= CancellationScope.nonCancellable(() =>
      // runs that started before the change replay with the local activity they recorded
      (since(DROP_STAGING_AFTER_CHECKS_RECORDED)
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
  const alertsQueued = () => (outbox ??= since(ALERT_OUTBOX));

  try {
    const eventsInput = {
      ...staging,
      interval,
      source: input.source ?? '',
      maxErrors,
      onMissingFile: input.onMissingFile ?? 'warn',
    } as const;
    const songsInput = { runKey, source: input.source ?? '', maxErrors };
    const stageInput = {
      events: { ...eventsInput, localLimitBytes: LOCAL_LIMIT_BYTES },
      songs: { ...songsInput, localLimitFiles: LOCAL_LIMIT_SONG_FILES },
    };
    const loadInputs = TABLES.map((table: StarTable) => ({ ...staging, interval, table, mode: modes[table] }));
    const checksInput = { ...staging, interval, builtin: input.builtinChecks ?? true, checks: input.checks ?? [] };
    const recordBase = {
      workflowId: info.workflowId,
      runId: info.runId,
      startedAt: info.runStartTime.toISOString(),
      interval,
    };
    // What the one step did not do (it failed as a whole, or a part of it), the run does step by step below.
    const hour = oneStep
      ? await fast(
          acts.fastHour(`stage, load, check and record ${span}`).runSmallHour({
            stage: stageInput,
            loads: loadInputs,
            loadRowsLimit: LOCAL_LIMIT_LOAD_ROWS,
            checks: checksInput,
            record: { ...recordBase, queueAlert: alertsQueued(), dropStaging: staging },
          }),
        )
      : undefined;
    const staged = oneStep
      ? hour?.staged
      : fastPath
        ? await fast(acts.fast(`stage events ${span} and new song files`).stageHour(stageInput))
        : undefined;
    const [events, songs] = await allSettled([
      doneIn(staged?.events) ??
        named('stageEvents', budget, acts.step(`stage events ${span}`).stageEvents(eventsInput)),
      doneIn(staged?.songs) ?? named('stageSongs', budget, acts.step('stage new song files').stageSongs(songsInput)),
    ]);
    const stagedRows = stagedRecord(events, songs);
    Object.assign(stepsMs, stagedRows.durationsMs);
    Object.assign(rows, stagedRows.rows);
    if (events.missingFiles.length > 0) warnings.push(`missing event file(s): ${events.missingFiles.join(', ')}`);
    if (events.badLines > 0) warnings.push(`${events.badLines} bad event line(s) kept in load_errors`);
    if (songs.badFiles > 0) warnings.push(`${songs.badFiles} bad song file(s) kept in load_errors`);

    const loadedFast = oneStep
      ? hour?.loads
      : fastPath && events.rowsStaged <= LOCAL_LIMIT_LOAD_ROWS
        ? await fast(acts.fast(`load ${TABLES.join(', ')} ${span}`).loadTables(loadInputs))
        : undefined;
    const loads: LoadResult[] = await allSettled(
      loadInputs.map(
        (l, i) =>
          doneIn(loadedFast?.[i]) ??
          named(`load ${l.table}`, budget, acts.step(`load ${l.table} (${l.mode}) ${span}`).loadTable(l)),
      ),
    );
    const loadedRows = loadedRecord(loads);
    Object.assign(stepsMs, loadedRows.durationsMs);
    Object.assign(rows, loadedRows.rows);

    const record = { ...recordBase, rows, durationsMs: stepsMs };
    const finished = oneStep
      ? hour?.finished
      : fastPath
        ? await fast(
            acts.fast('checks, the audit record and dropping the run staging table').finishRun({
              checks: checksInput,
              record: { ...record, queueAlert: alertsQueued(), dropStaging: staging },
            }),
          )
        : undefined;
    let checks: CheckResult[];
    let failed: CheckResult[];
    let checksMessage: string;
    if (finished) {
      checks = finished.checks.results;
      stepsMs.checks = finished.checks.durationMs;
      failed = checks.filter((c: CheckResult) => !c.passed);
      checksMessage = checksFailedMessage(failed, interval);
      dropped = Promise.resolve(0);
      // A field of the step's result: no command, so runs recorded before it replay as they ran.
      if (finished.rows) Object.assign(rows, finished.rows);
      if (finished.cleanupError) {
        warnings.push(`dropRunStaging: ${finished.cleanupError} (a later run's sweep drops the staging table)`);
      }
    } else {
      const checked = await named('checks', budget, acts.checking.runChecks(checksInput));
      checks = checked.results;
      stepsMs.checks = checked.durationMs;
      failed = checks.filter((c: CheckResult) => !c.passed);
      checksMessage = checksFailedMessage(failed, interval);
      // Decided here, after the checks, where runs recorded before the fast path decided it.
      const queueAlert = alertsQueued();
      const full = {
        ...record,
        status: (failed.length ? 'failed_checks' : 'succeeded') as RunStatus,
        checks,
        ...(queueAlert ? { queueAlert, ...(failed.length ? { failedStep: 'checks', error: checksMessage } : {}) } : {}),
      };
      if (current) {
        // The record drops the run's staging once it is committed: no clean-up activity, no workflow task after it.
        const { cleanupError, rows: kept } =
          (await named('recordRun', budget, acts.bookkeeping.recordRun({ ...full, dropStaging: staging }))) ?? {};
        dropped = Promise.resolve(0);
        if (kept) Object.assign(rows, kept);
        if (cleanupError)
          warnings.push(`dropRunStaging: ${cleanupError} (a later run's sweep drops the staging table)`);
      } else {
        // The audit record and the clean-up are independent: both at once (one activation less per run).
        // Scheduled in this order, as before they ran in parallel, so runs in flight replay unchanged.
        const recording = named('recordRun', budget, acts.bookkeeping.recordRun(full));
        // The hour is loaded, checked and recorded: a clean-up that fails now is a warning (a later run's sweep
        // drops the table), never the run's failure.
        const cleaning = dropStaging().catch((e: unknown) => {
          const cleanupError = `dropRunStaging: ${messageOf(e)}`;
          log.warn('the clean-up failed; the sweep of a later run drops the table', { cleanupError });
          warnings.push(`${cleanupError} (a later run's sweep drops the staging table)`);
          return 0;
        });
        const [recordedRun] = await Promise.all([recording, cleaning]);
        // undefined in histories recorded when recordRun returned nothing
        if (recordedRun?.rows) Object.assign(rows, recordedRun.rows);
      }
    }
    const status: RunStatus = failed.length ? 'failed_checks' : 'succeeded';
    const queueAlert = alertsQueued();
    recorded = true;
    runsCounter().add(1, { status, step: failed.length ? 'checks' : '' });
    await alertFromTheRun(acts, queueAlert, {
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
      ...asRecorded(rows, events, songs, loads),
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
    if (since(RECORD_FAILED_RUNS)) {
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
        alertFromTheRun(acts, queueAlert, {
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
        // the same cause twice (the warehouse down, a refused run) is said once
        message: failure.message.includes(unrecorded)
          ? `${failure.message} (not recorded in etl_runs either, for the same reason)`
          : `${failure.message} (not recorded in etl_runs: ${unrecorded})`,
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
