import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { inputDifferences, waitForOutcome, type BadDataFailure } from './outcome';
import { hoursIn, workflowIdFor, type Interval } from './interval';
import { intervalSearchAttributes } from './search-attributes';
import type { SparkifyEtlInput } from './types';

/**
 * Backfill: one SparkifyEtl run per hour of a range, with bounded concurrency. Workflow ids are derived
 * from the hour (workflowIdFor: the id the schedule gives the run of that hour too), so the state of every
 * hour is a lookup and a backfill can be run again: hours already
 * completed are skipped (unless reprocess says otherwise) and hours still running are joined, not doubled.
 */
export type Reprocess = 'none' | 'failed' | 'all';
export const REPROCESS: readonly Reprocess[] = ['none', 'failed', 'all'];
export const MAX_BACKFILL_HOURS = 366 * 24;

export interface PlannedHour {
  interval: Interval;
  workflowId: string;
  /** What the last run of this hour did, if there was one. */
  previous: 'none' | 'completed' | 'failed' | 'running';
  action: 'run' | 'skip' | 'join';
}

export interface HourOutcome extends PlannedHour {
  /** unknown: the connection to Temporal was lost for longer than the wait allows; the run may still finish. */
  status: 'completed' | 'failed' | 'skipped' | 'unknown' | 'refused';
  error?: string;
  durationMs?: number;
  /** A completed run's warnings (a missing event day file, ...), as its result has them. */
  warnings?: string[];
  /**
   * A failed run failed on its source's data (a bad line, or more bad lines than maxErrors: how many, and the
   * first ones): read from the failure the wait for its outcome already holds (outcome.ts badDataOf), as etl
   * reads it.
   */
  badData?: BadDataFailure;
}

export interface BackfillProgress {
  total: number;
  done: number;
  failed: number;
  running: number;
  skipped: number;
}

const FAILED = new Set(['FAILED', 'TERMINATED', 'CANCELLED', 'TIMED_OUT']);

async function previousOf(client: Client, workflowId: string): Promise<PlannedHour['previous']> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    if (d.status.name === 'COMPLETED') return 'completed';
    if (d.status.name === 'RUNNING' || d.status.name === 'CONTINUED_AS_NEW') return 'running';
    if (FAILED.has(d.status.name)) return 'failed';
    return 'none';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'none';
    throw err;
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Which hours of `range` will run: none = only hours never run; failed (default) = also failed ones; all = every hour. */
export async function planBackfill(
  client: Client,
  range: Interval,
  opts: { reprocess: Reprocess; reverse?: boolean; deployment?: string },
): Promise<PlannedHour[]> {
  const hours = hoursIn(range);
  if (hours.length > MAX_BACKFILL_HOURS) {
    throw new Error(
      `the range holds ${hours.length} hours; a backfill may span at most ${MAX_BACKFILL_HOURS} (366 days)`,
    );
  }
  if (opts.reverse) hours.reverse();
  return mapLimit(hours, 16, async (interval) => {
    const workflowId = workflowIdFor(interval, opts.deployment);
    const previous = await previousOf(client, workflowId);
    let action: PlannedHour['action'];
    if (previous === 'running') action = 'join';
    else if (previous === 'none') action = 'run';
    else if (previous === 'failed') action = opts.reprocess === 'none' ? 'skip' : 'run';
    else action = opts.reprocess === 'all' ? 'run' : 'skip';
    return { interval, workflowId, previous, action };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts an hour's run, or joins the one in progress. A start that fails on the connection is tried again
 * (for up to 10 minutes), and each such failure is told to onReconnect: with USE_EXISTING, a start that reached
 * the server before the connection broke is joined, not doubled.
 */
async function startHour(
  client: Client,
  hour: PlannedHour,
  opts: {
    taskQueue: string;
    input?: Omit<SparkifyEtlInput, 'start' | 'end'>;
    onReconnect?: (message: string) => void;
  },
): Promise<string> {
  const deadline = Date.now() + 10 * 60_000;
  let wait = 500;
  for (;;) {
    try {
      const handle = await client.workflow.start('SparkifyEtl', {
        taskQueue: opts.taskQueue,
        workflowId: hour.workflowId,
        // Local steps unless the input says otherwise: a backfill is thousands of runs, and each step's round
        // trips through the server are most of a small hour's cost (SparkifyEtlInput.localSteps).
        args: [{ localSteps: true, ...opts.input, start: hour.interval.start, end: hour.interval.end }],
        workflowIdConflictPolicy: 'USE_EXISTING', // a run of this hour in progress is joined
        workflowIdReusePolicy: 'ALLOW_DUPLICATE', // a finished one may run again (reprocess)
        typedSearchAttributes: intervalSearchAttributes(hour.interval),
      });
      return handle.firstExecutionRunId;
    } catch (err) {
      if (!isUnavailable(err) || Date.now() > deadline) throw err;
      // said as the wait for an outcome says it: an outage that falls on a start is no quieter for that
      opts.onReconnect?.((err as Error)?.message ?? String(err));
      await sleep(wait);
      wait = Math.min(wait * 2, 5_000);
    }
  }
}

/** A gRPC error of the connection (server restarting, unreachable), not an answer of the server. */
function isUnavailable(err: unknown): boolean {
  const code =
    (err as { code?: unknown; cause?: { code?: unknown } })?.code ??
    (err as { cause?: { code?: unknown } })?.cause?.code;
  // 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED, 1 CANCELLED (a call cut off by the restart)
  return (
    code === 14 ||
    code === 4 ||
    code === 1 ||
    /UNAVAILABLE|deadline|ECONNREFUSED/i.test(String((err as Error)?.message))
  );
}

export async function runBackfill(
  client: Client,
  plan: PlannedHour[],
  opts: {
    taskQueue: string;
    concurrency: number;
    input?: Omit<SparkifyEtlInput, 'start' | 'end'>;
    /** Told when the connection to Temporal is lost and the wait for a run's outcome reconnects. */
    onReconnect?: (message: string) => void;
  },
  onProgress: (p: BackfillProgress) => void = () => undefined,
): Promise<HourOutcome[]> {
  const progress: BackfillProgress = { total: plan.length, done: 0, failed: 0, running: 0, skipped: 0 };
  for (const h of plan) if (h.action === 'skip') progress.skipped++;
  onProgress({ ...progress });
  const todo = plan.filter((h) => h.action !== 'skip');
  const outcomes = new Map<string, HourOutcome>();
  await mapLimit(todo, Math.max(1, opts.concurrency), async (hour) => {
    progress.running++;
    onProgress({ ...progress });
    const t0 = performance.now();
    try {
      if (hour.action === 'join') {
        // Joining a run that loads differently would report its outcome as this backfill's.
        const d = await client.workflow.getHandle(hour.workflowId).describe();
        const input = { ...opts.input, start: hour.interval.start, end: hour.interval.end };
        const differences =
          d.status.name === 'RUNNING' ? await inputDifferences(client, hour.workflowId, d, input, opts.taskQueue) : [];
        if (differences.length > 0) {
          progress.failed++;
          outcomes.set(hour.workflowId, {
            ...hour,
            status: 'refused',
            error: `a run of this hour is in progress with a different input (${differences.join('; ')}); not joined`,
          });
          return;
        }
      }
      const runId = await startHour(client, hour, opts);
      const outcome = await waitForOutcome(client, hour.workflowId, runId, {
        ...(opts.onReconnect ? { onReconnect: opts.onReconnect } : {}),
      });
      if (outcome.status === 'completed') {
        progress.done++;
        const warnings = outcome.result.warnings ?? [];
        outcomes.set(hour.workflowId, {
          ...hour,
          status: 'completed',
          durationMs: Math.round(performance.now() - t0),
          ...(warnings.length ? { warnings } : {}),
        });
      } else {
        progress.failed++;
        outcomes.set(hour.workflowId, {
          ...hour,
          status: outcome.status,
          error: outcome.error,
          ...(outcome.status === 'failed' && outcome.badData ? { badData: outcome.badData } : {}),
        });
      }
    } catch (err) {
      // The run could not even be started (the server stayed out of reach): its outcome is not known.
      progress.failed++;
      outcomes.set(hour.workflowId, { ...hour, status: 'unknown', error: (err as Error).message });
    } finally {
      progress.running--;
      onProgress({ ...progress });
    }
  });
  return plan.map((h) => outcomes.get(h.workflowId) ?? { ...h, status: 'skipped' });
}
