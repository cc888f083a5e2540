import type { MetricMeter } from '@temporalio/common';
import type { Pool } from 'pg';
import { floorToHour, HOUR_MS, fromMs } from './interval';
import { combine, finishedHours } from './status';
import type { Dialect } from './warehouse/dialect';

/**
 * Freshness, exported with the worker's metrics: how far the data is complete, and how many hours failed,
 * over the last FRESHNESS_WINDOW_HOURS, from etl_runs (one query a check). With FRESHNESS_SLA, a data lag
 * beyond it is a breach: logged once when it starts (and when it ends) and counted.
 * Stale hours (source changed since the load) have no signal yet: no gauge is exported for them until the
 * late-data watcher provides one.
 */
export const FRESHNESS_WINDOW_HOURS = 7 * 24;
export const FRESHNESS_CHECK_EVERY_MS = 60_000;

export interface Freshness {
  /** End of the hours loaded (or empty) without a gap from the first loaded hour in the window; undefined: none. */
  loadedThroughMs?: number;
  failedHours: number;
  /** now - loadedThrough (undefined when nothing is loaded). */
  lagMs?: number;
}

export async function measureFreshness(
  pool: Pool,
  dialect: Dialect,
  deployment: string,
  nowMs: number,
): Promise<Freshness> {
  const endMs = floorToHour(nowMs);
  const range = fromMs({ startMs: endMs - FRESHNESS_WINDOW_HOURS * HOUR_MS, endMs });
  const status = combine(deployment, range, await finishedHours(pool, dialect, deployment, range), new Map());
  const first = status.hours.findIndex((h) => h.state === 'loaded' || h.state === 'empty');
  let loadedThroughMs: number | undefined;
  for (const h of first < 0 ? [] : status.hours.slice(first)) {
    if (h.state !== 'loaded' && h.state !== 'empty') break;
    loadedThroughMs = Date.parse(h.end);
  }
  return {
    ...(loadedThroughMs !== undefined ? { loadedThroughMs, lagMs: nowMs - loadedThroughMs } : {}),
    failedHours: status.totals.failed,
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
    'End (unix time) of the hours loaded without a gap, over the last 7 days; 0 when none',
  );
  const failedHours = opts.meter.createGauge(
    'sparkify_failed_hours',
    'int',
    'hours',
    'Hours of the last 7 days whose latest run failed',
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
      f = await measureFreshness(opts.pool, opts.dialect, opts.deployment, Date.now());
    } catch (err) {
      opts.log.warn('could not measure freshness from etl_runs', { error: (err as Error).message });
      return undefined;
    }
    loadedThrough.set(Math.round((f.loadedThroughMs ?? 0) / 1000));
    failedHours.set(f.failedHours);
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
