/**
 * An attempt's progress as Temporal sees it: heartbeats (timed so that short steps send none), cancellation,
 * the activity logger, and elapsed time. Every function here runs inside an activity (a worker's, or a test's
 * MockActivityEnvironment); outside one, Context.current() throws.
 */
import { AsyncResource } from 'node:async_hooks';
import { Context } from '@temporalio/activity';

/** The activity logger (it adds workflow and activity ids). */
export { log } from '@temporalio/activity';

/** Local activities (the audit record, the clean-up) cannot heartbeat; the workflow task covers them. */
function heartbeatingContext(): Context | undefined {
  const ctx = Context.current();
  return ctx.info.isLocal ? undefined : ctx;
}

/**
 * How long an attempt runs before its first heartbeat: 1 s, or a quarter of the heartbeat timeout if that is
 * shorter. A step of a sample-sized hour ends well within it, so it costs no heartbeat round trip to the
 * server (most steps of an hourly run take tens of milliseconds); a long one heartbeats long before the
 * timeout would declare it dead.
 */
export function firstHeartbeatAfterMs(heartbeatTimeoutMs: number | undefined): number {
  return Math.min(1_000, heartbeatTimeoutMs ? heartbeatTimeoutMs / 4 : Infinity);
}

function heartbeatDue(ctx: Context): boolean {
  return Date.now() - ctx.info.currentAttemptScheduledTimestampMs >= firstHeartbeatAfterMs(ctx.info.heartbeatTimeoutMs);
}

export function heartbeat(details?: unknown): void {
  const ctx = heartbeatingContext();
  if (ctx && heartbeatDue(ctx)) ctx.heartbeat(details);
}

/** Whether this attempt is a local activity's (run inside the workflow task, without heartbeats). */
export function isLocalAttempt(): boolean {
  return Context.current().info.isLocal;
}

export function cancellationSignal(): AbortSignal {
  return Context.current().cancellationSignal;
}

/** The workflow that runs this attempt, as run_staging records it (none for a standalone activity). */
export function workflowIdOfAttempt(): string | null {
  return Context.current().info.workflowExecution?.workflowId ?? null;
}

/** That workflow's run, as run_hour_sources records what it read (none for a standalone activity). */
export function runIdOfAttempt(): string | null {
  return Context.current().info.workflowExecution?.runId ?? null;
}

/**
 * `rows`, a generator that a stream reads (the source of a COPY), running in this attempt's context. A stream
 * resumes its source from its own callbacks, such as the connection's socket draining, and those run in the
 * context the connection was opened in: another attempt's, or none (a pool connection opened outside any
 * activity). Context.current() there would find the wrong attempt, or throw.
 */
export function inThisAttempt<T>(rows: AsyncGenerator<T>): AsyncIterable<T> {
  const iterator: AsyncIterator<T> = {
    next: AsyncResource.bind(() => rows.next()),
    return: AsyncResource.bind((value?: unknown) => rows.return(value as T)),
    throw: AsyncResource.bind((err?: unknown) => rows.throw(err)),
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/**
 * Runs a long statement while heartbeating from a timer, so the heartbeat timeout detects a dead worker
 * without limiting how long a healthy statement may take.
 */
export async function whileHeartbeating<T>(details: unknown, fn: () => Promise<T>, everyMs = 5_000): Promise<T> {
  const ctx = heartbeatingContext();
  if (!ctx) return fn();
  const firstAfter = firstHeartbeatAfterMs(ctx.info.heartbeatTimeoutMs);
  const first = setTimeout(() => ctx.heartbeat(details), firstAfter);
  const timer = setInterval(() => ctx.heartbeat(details), Math.min(everyMs, firstAfter * 2));
  try {
    return await fn();
  } finally {
    clearTimeout(first);
    clearInterval(timer);
  }
}

export function elapsed(t0: number): number {
  return Math.round(performance.now() - t0);
}
