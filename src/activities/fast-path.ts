import { checksFailedMessage } from '../failures';
import {
  doneInFull,
  loadedRecord,
  stagedRecord,
  type FinishRunInput,
  type FinishRunResult,
  type LoadInput,
  type LoadResult,
  type SmallHourInput,
  type SmallHourResult,
  type StageHourInput,
  type StageHourResult,
  type Tried,
} from '../types';
import type { makeRunChecks } from './checks';
import type { makeRecordRun } from './finish';
import type { makeLoadTable } from './load';
import { cancellationSignal, log } from './progress';
import type { makeStageEvents } from './stage-events';
import type { makeStageSongs } from './stage-songs';

/**
 * A small hour's fast path (SparkifyEtl, runs whose steps may run locally): three local activities, each doing
 * several of the run's steps at once, so that an hour is one workflow task with three local activities instead
 * of nine. They never fail for a step: a step that fails in them (or is handed over, being large) comes back as
 * `failed`, and the run does it again on its own, as a run without the fast path does it: named, retried within
 * the budget and, for an ordinary activity, shown in the Web UI with its attempts. Every step is idempotent, so
 * doing one again after a failure is safe.
 */
async function tried<T>(step: string, work: Promise<T>): Promise<Tried<T>> {
  try {
    return { done: await work };
  } catch (err) {
    const failed = err instanceof Error ? err.message : String(err);
    log.info(`${step} failed in the fast path; the run does it again on its own`, { step, error: failed });
    return { failed };
  }
}

/** stageEvents and stageSongs at once (the worker's own instances of them, createActivities). */
export function makeStageHour(
  stageEvents: ReturnType<typeof makeStageEvents>,
  stageSongs: ReturnType<typeof makeStageSongs>,
) {
  return async function stageHour(input: StageHourInput): Promise<StageHourResult> {
    const [events, songs] = await Promise.all([
      tried('stageEvents', stageEvents(input.events)),
      tried('stageSongs', stageSongs(input.songs)),
    ]);
    return { events, songs };
  };
}

/** The five loads at once, each in its own transaction on its own connection, as five activities would. */
export function makeLoadTables(loadTable: ReturnType<typeof makeLoadTable>) {
  return async function loadTables(inputs: LoadInput[]): Promise<Tried<LoadResult>[]> {
    return Promise.all(inputs.map((input) => tried(`load ${input.table}`, loadTable(input))));
  };
}

/**
 * runChecks, then recordRun with the status the checks give (and the run's failure message when one failed) and
 * the drop of the run's staging. Fails (as a whole: the run then checks and records on its own) when either does.
 * Returns the counts the record kept when they are not the given ones (recordRun's `rows`).
 */
export function makeFinishRun(
  runChecks: ReturnType<typeof makeRunChecks>,
  recordRun: ReturnType<typeof makeRecordRun>,
) {
  return async function finishRun(input: FinishRunInput): Promise<FinishRunResult> {
    const checks = await runChecks(input.checks);
    const failed = checks.results.filter((c) => !c.passed);
    const { cleanupError, rows } = await recordRun({
      ...input.record,
      status: failed.length ? 'failed_checks' : 'succeeded',
      checks: checks.results,
      durationsMs: { ...input.record.durationsMs, checks: checks.durationMs },
      ...(input.record.queueAlert && failed.length
        ? { failedStep: 'checks', error: checksFailedMessage(failed, input.checks.interval) }
        : {}),
    });
    return { checks, ...(cleanupError ? { cleanupError } : {}), ...(rows ? { rows } : {}) };
  };
}

/**
 * A small hour in one local activity: stageHour, loadTables and finishRun one after the other, each only when the
 * one before did all of its part, so that the run is one workflow task with one activation after its start (three
 * local activities took three). The record gets the counts and durations the workflow would give it.
 */
export function makeRunSmallHour(
  stageHour: ReturnType<typeof makeStageHour>,
  loadTables: ReturnType<typeof makeLoadTables>,
  finishRun: ReturnType<typeof makeFinishRun>,
) {
  return async function runSmallHour(input: SmallHourInput): Promise<SmallHourResult> {
    // Cancelled when the local activity timed out: the workflow is doing every step on its own by then, so an
    // attempt that outlived its timeout (a load waiting on a lock) starts no further part; above all it never
    // checks, records the run and drops its staging behind the steps the workflow runs.
    const cancelled = cancellationSignal();
    const staged = await stageHour(input.stage);
    const events = doneInFull(staged.events);
    const songs = doneInFull(staged.songs);
    if (!events || !songs || events.rowsStaged > input.loadRowsLimit || cancelled.aborted) return { staged };
    const loads = await loadTables(input.loads);
    const loaded = loads.map(doneInFull);
    if (loaded.some((l) => !l) || cancelled.aborted) return { staged, loads };
    const staging = stagedRecord(events, songs);
    const loading = loadedRecord(loaded as LoadResult[]);
    const rows = { ...staging.rows, ...loading.rows };
    const durationsMs = { ...staging.durationsMs, ...loading.durationsMs };
    const finished = await tried(
      'finishRun',
      finishRun({ checks: input.checks, record: { ...input.record, rows, durationsMs } }),
    );
    return { staged, loads, ...('done' in finished ? { finished: finished.done } : {}) };
  };
}
