import type { MetricMeter } from '@temporalio/common';
import type { Pool } from 'pg';
import { floorToHour, HOUR_MS, fromMs } from './interval';
import { combine, finishedHours, missingFileHours, staleHours } from './status';
import type { Dialect } from './warehouse/dialect';

/**
 * Freshness, exported with the worker's metrics: how far the data is complete, and how many hours failed or
 * are stale (their source changed since the load, as the source index knows it), over the last
 * FRESHNESS_WINDOW_HOURS, from etl_runs and the index (three queries a check, no file read). With FRESHNESS_SLA, a
 * data lag beyond it is a breach: logged once when it starts (and when it ends) and counted.
 */
export const FRESHNESS_WINDOW_HOURS = 7 * 24;
export const FRESHNESS_CHECK_EVERY_MS = 60_000;

export interface Freshness {
  /** End of the latest contiguous run of loaded (or empty) hours in the window (status.ts latestLoadedRun); undefined: none. */
  loadedThroughMs?: number;
  failedHours: number;
  /** Loaded hours whose source changed since (the late-data watcher re-runs them). */
  staleHours: number;
  /** now - loadedThrough (undefined when nothing is loaded). */
  lagMs?: number;
}

export async function measureFreshness(
  pool: Pool,
  dialect: Dialect,
  deployment: string,
  sourceLocation: string,
  nowMs: number,
): Promise<Freshness> {
  const endMs = floorToHour(nowMs);
  const range = fromMs({ startMs: endMs - FRESHNESS_WINDOW_HOURS * HOUR_MS, endMs });
  const [finished, stale, missing] = await Promise.all([
    finishedHours(pool, dialect, deployment, range),
    staleHours(pool, dialect, deployment, sourceLocation, range),
    missingFileHours(pool, dialect, deployment, range),
  ]);
  // An hour whose day file was missing is not loaded (status.ts LOADED_STATES).
  const status = combine(deployment, range, finished, new Map(), stale.hours, missing);
  const loadedThroughMs = status.loadedThrough === null ? undefined : Date.parse(status.loadedThrough);
  return {
    ...(loadedThroughMs !== undefined ? { loadedThroughMs, lagMs: nowMs - loadedThroughMs } : {}),
    failedHours: status.totals.failed,
    staleHours: status.totals.stale,
  };
}

export interface FreshnessMonitor {
  /** One check now (also run every FRESHNESS_CHECK_EVERY_MS). */
  check(): Promise<Freshness | undefined>;
  stop(): void;
}

export function startFreshnessMonitor(opts: {
  pool: Pool;
  dialect: Dialect;
  deployment: string;
  /** The source's location as the index keys it (Source.location of SOURCE_URL). */
  sourceLocation: string;
  meter: MetricMeter;
  log: {
    warn(message: string, meta?: Record<string, unknown>): void;
    info(message: string, meta?: Record<string, unknown>): void;
  };
  slaMs?: number;
  everyMs?: number;
}): FreshnessMonitor {
  const loadedThrough = opts.meter.createGauge(
    'sparkify_loaded_through_seconds',
    'int',
    's',
    'End (unix time) of the latest contiguous run of loaded hours, over the last 7 days; 0 when none',
  );
  const failedHours = opts.meter.createGauge(
    'sparkify_failed_hours',
    'int',
    'hours',
    'Hours of the last 7 days whose latest run failed',
  );
  const staleHours = opts.meter.createGauge(
    'sparkify_stale_hours',
    'int',
    'hours',
    'Loaded hours of the last 7 days whose source changed since their latest run (the late-data watcher re-runs them)',
  );
  const lag = opts.meter.createGauge('sparkify_freshness_lag_seconds', 'int', 's', 'now - loaded through');
  const sla = opts.meter.createGauge('sparkify_freshness_sla_seconds', 'int', 's', 'FRESHNESS_SLA (0: none)');
  const breaches = opts.meter.createCounter(
    'sparkify_freshness_breaches_total',
    'breaches',
    'Times the data lag went beyond FRESHNESS_SLA',
  );
  sla.set(Math.round((opts.slaMs ?? 0) / 1000));
  let breached = false;
  const check = async (): Promise<Freshness | undefined> => {
    let f: Freshness;
    try {
      f = await measureFreshness(opts.pool, opts.dialect, opts.deployment, opts.sourceLocation, Date.now());
    } catch (err) {
      opts.log.warn('could not measure freshness from etl_runs', { error: (err as Error).message });
      return undefined;
    }
    loadedThrough.set(Math.round((f.loadedThroughMs ?? 0) / 1000));
    failedHours.set(f.failedHours);
    staleHours.set(f.staleHours);
    if (f.lagMs !== undefined) lag.set(Math.round(f.lagMs / 1000));
    if (opts.slaMs !== undefined) {
      const behind = f.lagMs === undefined || f.lagMs > opts.slaMs;
      const meta = {
        loadedThrough: f.loadedThroughMs === undefined ? 'nothing loaded' : new Date(f.loadedThroughMs).toISOString(),
        slaMinutes: Math.round(opts.slaMs / 60_000),
        failedHours: f.failedHours,
      };
      if (behind && !breached) {
        breaches.add(1);
        opts.log.warn('freshness behind FRESHNESS_SLA: the loaded hours end further back than it allows', meta);
      } else if (!behind && breached) {
        opts.log.info('freshness within FRESHNESS_SLA again', meta);
      }
      breached = behind;
    }
    return f;
  };
  void check();
  const timer = setInterval(() => void check(), opts.everyMs ?? FRESHNESS_CHECK_EVERY_MS);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
