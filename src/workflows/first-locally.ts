import { ActivityFailure, ApplicationFailure, isCancellation, log } from '@temporalio/workflow';
import { NON_RETRYABLE_TYPES } from '../failures';
import { messageOf } from './step-failures';

/**
 * What a small step may be, to run locally first (runs that leave SparkifyEtlInput.localSteps unset). Each bound
 * decides which commands a run issues: changing one changes what runs in flight replay, so it needs a patch.
 * - event files to read: 64 MiB is about 150,000 events, well under a second of staging here;
 * - new or changed song files: the first runs of a fresh warehouse stage the whole song set as an activity;
 * - loads: the events the run staged.
 */
export const LOCAL_LIMIT_BYTES = 64 * 2 ** 20;
export const LOCAL_LIMIT_SONG_FILES = 500;
export const LOCAL_LIMIT_LOAD_ROWS = 100_000;

/** Whether a step's failure cannot heal by another attempt: it fails the step at once, however it ran. */
export function cannotHeal(err: unknown): boolean {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  return (
    failure instanceof ApplicationFailure && (failure.nonRetryable || NON_RETRYABLE_TYPES.includes(failure.type ?? ''))
  );
}

/**
 * A small step: one local attempt (no round trip through the server), then, if it handed the work over (it found
 * more than a local step takes) or failed with what may heal, the step as an ordinary activity with the run's
 * retry budget, heartbeats and its attempts in the Web UI. What cannot heal fails the step at once either way.
 */
export async function firstLocally<T>(
  local: () => Promise<T>,
  activity: () => Promise<T>,
  handedOver: (result: T) => boolean = () => false,
): Promise<T> {
  try {
    const result = await local();
    if (!handedOver(result)) return result;
  } catch (err) {
    if (isCancellation(err) || cannotHeal(err)) throw err;
    log.info('the local attempt failed; the step goes on as an activity', { error: messageOf(err) });
  }
  return activity();
}
