import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { hoursIn, workflowIdFor, type Interval } from './interval';
import type { SparkifyEtlInput } from './types';

/**
 * Backfill: one SparkifyEtl run per hour of a range, with bounded concurrency. Workflow ids are derived
 * from the hour, so the state of every hour is a lookup and a backfill can be run again: hours already
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
  status: 'completed' | 'failed' | 'skipped';
  error?: string;
  durationMs?: number;
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
  opts: { reprocess: Reprocess; reverse?: boolean; idPrefix?: string },
): Promise<PlannedHour[]> {
  const hours = hoursIn(range);
  if (hours.length > MAX_BACKFILL_HOURS) {
    throw new Error(
      `the range holds ${hours.length} hours; a backfill may span at most ${MAX_BACKFILL_HOURS} (366 days)`,
    );
  }
  if (opts.reverse) hours.reverse();
  return mapLimit(hours, 16, async (interval) => {
    const workflowId = workflowIdFor(interval, opts.idPrefix);
    const previous = await previousOf(client, workflowId);
    let action: PlannedHour['action'];
    if (previous === 'running') action = 'join';
    else if (previous === 'none') action = 'run';
    else if (previous === 'failed') action = opts.reprocess === 'none' ? 'skip' : 'run';
    else action = opts.reprocess === 'all' ? 'run' : 'skip';
    return { interval, workflowId, previous, action };
  });
}

export async function runBackfill(
  client: Client,
  plan: PlannedHour[],
  opts: { taskQueue: string; concurrency: number; input?: Omit<SparkifyEtlInput, 'start' | 'end'> },
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
      const handle = await client.workflow.start('SparkifyEtl', {
        taskQueue: opts.taskQueue,
        workflowId: hour.workflowId,
        args: [{ ...opts.input, start: hour.interval.start, end: hour.interval.end }],
        workflowIdConflictPolicy: 'USE_EXISTING', // a run of this hour in progress is joined
        workflowIdReusePolicy: 'ALLOW_DUPLICATE', // a finished one may run again (reprocess)
      });
      await handle.result();
      progress.done++;
      outcomes.set(hour.workflowId, { ...hour, status: 'completed', durationMs: Math.round(performance.now() - t0) });
    } catch (err) {
      progress.failed++;
      const message = err instanceof WorkflowFailedError ? (err.cause?.message ?? err.message) : (err as Error).message;
      outcomes.set(hour.workflowId, { ...hour, status: 'failed', error: message });
    } finally {
      progress.running--;
      onProgress({ ...progress });
    }
  });
  return plan.map((h) => outcomes.get(h.workflowId) ?? { ...h, status: 'skipped' });
}
