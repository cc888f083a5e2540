/**
 * An attempt's progress as Temporal sees it: heartbeats (timed so that short steps send none), cancellation,
 * the activity logger, and elapsed time.
 */
import { Context, log as activityLog } from '@temporalio/activity';

/** The activity context when running inside one; undefined when a function is called directly. */
export function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** The activity logger (it adds workflow and activity ids); silent when a function is called directly. */
export const log = {
  info(message: string, meta?: Record<string, unknown>): void {
    if (currentContext()) activityLog.info(message, meta);
  },
};

/** Local activities (the audit record, the clean-up) cannot heartbeat; the workflow task covers them. */
function heartbeatingContext(): Context | undefined {
  const ctx = currentContext();
  return ctx && !ctx.info.isLocal ? ctx : undefined;
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

export function cancellationSignal(): AbortSignal | undefined {
  return currentContext()?.cancellationSignal;
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
