import { Context, log as activityLog } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { AlertSettings } from '../alerts';
import { postgres, type Dialect } from '../warehouse/dialect';
import { ApplicationFailure } from '@temporalio/common';
import { daysTouched, type Interval } from '../interval';
import type { MissingFilePolicy } from '../types';
import { badConfig, rethrowForActivity, SOURCE_FILE_MISSING } from '../warehouse/errors';
import { eventFileKey, openSource, SourceConfigError, type Source, type SourceFile } from '../source';

/** What the activities need, built once by the worker (or by a test) and injected. */
export interface ActivityDeps {
  pool: Pool;
  /** Source used when the workflow input names none (the worker's SOURCE_URL). */
  defaultSource?: string;
  /** Warehouse dialect; PostgreSQL when not given. */
  dialect?: Dialect;
  /** What Redshift's COPY needs (redshift dialect only). */
  redshift?: RedshiftCopySettings;
  /** How old a listing of song_data a run may reuse (default 60 s). */
  songListingMaxAgeMs?: number;
  /** The failure webhook (ALERT_WEBHOOK_URL); no alerts when not given. */
  alerts?: AlertSettings;
}

export interface RedshiftCopySettings {
  iamRole: string;
  region: string;
  /** s3:// URL of sql/log_json_path.json, uploaded next to the data. */
  logJsonPath: string;
}

export function dialectOf(deps: ActivityDeps): Dialect {
  return deps.dialect ?? postgres;
}

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

export function resolveSource(deps: ActivityDeps, requested: string | undefined): Source {
  const url = requested || deps.defaultSource;
  if (!url) throw badConfig('no source configured: set SOURCE_URL for the worker or pass a source in the input');
  try {
    return openSource(url);
  } catch (err) {
    if (err instanceof SourceConfigError) throw badConfig(err.message);
    throw err;
  }
}

/**
 * The pipeline's own metrics, exported with the SDK's (the activity context's meter already carries
 * namespace, task queue and activity type). Named as Prometheus expects: `_total` counters, `_seconds`
 * histograms. No-ops outside an activity. The workflow itself counts finished runs (sparkify_runs_total).
 */
export const metrics = {
  rows(name: 'staged' | 'loaded', n: number, tags: Record<string, string>): void {
    const help = name === 'staged' ? 'Rows copied into staging tables' : 'Rows inserted or changed in star tables';
    currentContext()?.metricMeter.createCounter(`sparkify_rows_${name}_total`, 'rows', help).add(n, tags);
  },
  checkFailures(n: number, tags: Record<string, string> = {}): void {
    currentContext()
      ?.metricMeter.createCounter('sparkify_check_failures_total', 'checks', 'Data-quality checks that failed')
      .add(n, tags);
  },
  runDuration(seconds: number, tags: Record<string, string>): void {
    currentContext()
      ?.metricMeter.createHistogram(
        'sparkify_run_duration_seconds',
        'float',
        's',
        'SparkifyEtl wall time from the start of the run to its audit record, by status',
      )
      .record(seconds, tags);
  },
};

export function elapsed(t0: number): number {
  return Math.round(performance.now() - t0);
}

/**
 * The event day files an interval needs, found in the source; a missing one is a warning, or with
 * onMissingFile "fail" a non-retryable failure that names it.
 */
export async function eventFilesFor(
  source: Source,
  interval: Interval,
  onMissingFile: MissingFilePolicy,
): Promise<{ files: SourceFile[]; missingFiles: string[] }> {
  await source.check().catch((err) => rethrowForActivity(err, 'opening the source'));
  const files: SourceFile[] = [];
  const missingFiles: string[] = [];
  for (const day of daysTouched(interval)) {
    // A long interval is many look-ups: stay visibly alive, and stop when the run is cancelled.
    cancellationSignal()?.throwIfAborted();
    heartbeat({ listing: day });
    const key = eventFileKey(day);
    const found = await source.stat(key);
    if (found) files.push(found);
    else missingFiles.push(key);
  }
  if (missingFiles.length > 0 && onMissingFile === 'fail') {
    throw ApplicationFailure.nonRetryable(
      `event file(s) missing from ${source.location}: ${missingFiles.join(', ')} ` +
        `(set onMissingFile: "warn" to load such intervals as empty)`,
      SOURCE_FILE_MISSING,
    );
  }
  return { files, missingFiles };
}
