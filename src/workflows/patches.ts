/**
 * The workflow's patch ids (`patched(id)`): each marks a change of the commands a run issues, so that runs
 * recorded before it replay the way they ran (test/replay.test.ts replays the histories of every version).
 * Never rename or remove one while runs recorded without it may still be in flight or replayed.
 */

/** Dropping the run's staging is an ordinary activity scheduled after the checks are recorded (it was local). */
export const DROP_STAGING_AFTER_CHECKS_RECORDED = 'drop-staging-after-checks-recorded';
/** Runs that fail before their checks get an etl_runs row too (older runs replay without it). */
export const RECORD_FAILED_RUNS = 'record-failed-runs';
/** A scheduled run between hours loads the last whole hour before its time. */
export const SCHEDULED_HOUR_FLOORED = 'scheduled-hour-floored';
/** Each run stages into its own table (run key + part of the run id). */
export const RUN_PRIVATE_STAGING = 'run-private-staging';
/** The failure webhook after the audit record, in the run (runs recorded before the outbox replay with it). */
export const ALERT_WEBHOOK = 'alert-webhook';
/**
 * The failure webhook out of the run: recordRun queues the alert in the warehouse's outbox with the run's
 * etl_runs row, and the worker process delivers it (src/alert-delivery.ts). The run no longer waits for it.
 */
export const ALERT_OUTBOX = 'alert-outbox';
/** The run's interval as search attributes (older runs replay without the upsert). */
export const DATA_INTERVAL_SEARCH_ATTRIBUTES = 'data-interval-search-attributes';
/**
 * A run whose input asks for local steps (backfills do: SparkifyEtlInput.localSteps) runs its staging and loads
 * as local activities. Only runs with that input reach this patch; other runs issue the commands they did.
 */
export const LOCAL_STEPS = 'local-steps';
/**
 * One marker for every change above and this one: a run started from now on records this patch alone (one
 * marker and one search-attribute update, where it recorded up to six) and takes each of the changes above.
 * Runs recorded before it replay through the individual patches as they ran. With it:
 * - a run whose input does not say `localSteps: false` takes the fast path first (fast-path.ts): three
 *   local activities that stage, load, check and record at once; a step they did not do runs on its own;
 * - the audit record drops the run's staging (recordRun's `dropStaging`), with no clean-up activity after it;
 * - a run started with its interval's search attributes set (etl, backfill) does not update them.
 */
export const SINCE_2026_11_26 = 'since-2026-11-26';
/**
 * One marker for every change above and this one, as SINCE_2026_11_26 was (runs recorded with that marker replay
 * through it): the fast path is one local activity (runSmallHour) that stages, loads, checks and records, where
 * it was three. An hour is then one activation after its start instead of three; each activation costs the
 * worker's workflow thread a few milliseconds, which is most of what it spends on a small hour.
 */
export const SINCE_2026_11_26_ONE_STEP = 'since-2026-11-26-one-step';
