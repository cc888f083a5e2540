import { isCancellation, log } from '@temporalio/workflow';
import { doneInFull, type Tried } from '../types';
import { messageOf } from './step-failures';

/**
 * The fast path of a small hour (runs whose steps may run locally, SparkifyEtlInput.localSteps): one local
 * activity, runSmallHour (src/activities/fast-path.ts), that stages events and songs, loads the five tables,
 * checks and records, each part only when the one before did all of its own. An hour is then one workflow task
 * with one activation after its start. Runs recorded before SINCE_2026_11_26_ONE_STEP took three local
 * activities, one per part. A step it did not do (it failed, or it was more than a local step takes) the run
 * does on its own, as a run without the fast path does it.
 *
 * What a small step may be. Each bound decides which commands a run issues: changing one changes what runs in
 * flight replay, so it needs a patch.
 * - event files to read: 64 MiB is about 150,000 events, well under a second of staging here;
 * - new or changed song files: the first runs of a fresh warehouse stage the whole song set on their own;
 * - loads: the events the run staged.
 */
export const LOCAL_LIMIT_BYTES = 64 * 2 ** 20;
export const LOCAL_LIMIT_SONG_FILES = 500;
export const LOCAL_LIMIT_LOAD_ROWS = 100_000;

/** A fast-path activity's result; undefined when it failed as a whole (then the run does each of its steps). */
export async function fast<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.info('the fast path failed; the run does its steps one by one', { error: messageOf(err) });
    return undefined;
  }
}

/** A step the fast path did, as a settled promise; undefined when the run must do it on its own. */
export function doneIn<T>(part: Tried<T> | undefined): Promise<T> | undefined {
  const done = doneInFull(part);
  return done === undefined ? undefined : Promise.resolve(done);
}
