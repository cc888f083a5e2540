import { fromMs, HOUR_MS, toIso } from '../interval';
import { staleHours } from '../status';
import type { SourceIndex } from '../warehouse/dialect';
import { badConfig, rethrowForActivity } from '../warehouse/errors';
import { dialectOf, resolveSource, type ActivityDeps } from './deps';
import { elapsed, log } from './progress';
import { refreshSourceIndex } from './source-index';

export interface RefreshIndexInput {
  source: string;
}

export interface RefreshIndexResult {
  /** The source's printable location (never credentials): the index's key. */
  location: string;
  files: number;
  /** Files read for the index this time (new or changed), and files gone; the first few named. */
  indexed: number;
  removed: number;
  named: string[];
  durationMs: number;
}

export interface FindStaleHoursInput {
  source: string;
  deployment: string;
  /** The hours looked at: [fromMs, toMs), whole hours. */
  fromMs: number;
  toMs: number;
  limit: number;
}

export interface FoundStaleHours {
  /** The stale hours to re-run now: at most `limit`, oldest first. */
  hours: StaleHour[];
  /** Every stale hour of the range (those beyond the limit wait for the next cycle). */
  total: number;
  /** Hours whose latest run failed and whose source has not changed since: not re-run (it cannot help). */
  failedUnchanged: number;
  /**
   * Loaded hours held, not re-run: their only change is that files they read are gone (a re-run would delete
   * their rows). Not among `hours` nor `total`. The file back unchanged ends it; any other change re-runs them.
   */
  held?: HeldStaleHours;
}

export interface HeldStaleHours {
  hours: number;
  /** The first and the last held hour (their starts). */
  first: string;
  last: string;
  /** The files gone (the first few, shown escaped) and how many in all. */
  files: string[];
  filesTotal: number;
}

export interface StaleHour {
  start: string;
  end: string;
  /** `late data: log_data/2018/11/2018-11-05-events.json changed`: what differs from what its last run read. */
  reason: string;
}

const NAMED = 20;

/** The warehouse's source index; a warehouse that keeps none (Redshift, for now) cannot run the watcher. */
function sourceIndexOf(deps: ActivityDeps): SourceIndex {
  const index = dialectOf(deps).sourceIndex;
  if (!index) {
    throw badConfig(
      'the late-data watcher needs the source index, kept in PostgreSQL warehouses only (docs/redshift.md)',
    );
  }
  return index;
}

/** Brings the source index up to date (only new or changed files are read); the watcher's first step. */
export function makeRefreshSourceIndex(deps: ActivityDeps) {
  return async function refreshSourceIndexActivity(input: RefreshIndexInput): Promise<RefreshIndexResult> {
    const index = sourceIndexOf(deps);
    const t0 = performance.now();
    const source = resolveSource(deps, input.source);
    await source.check().catch((err) => rethrowForActivity(err, 'opening the source'));
    const r = await refreshSourceIndex(deps.pool, index, source).catch((err) =>
      rethrowForActivity(err, 'indexing the event files'),
    );
    const changed = [...r.indexed.map((k) => `${k} (read)`), ...r.removed.map((k) => `${k} (gone)`)];
    if (changed.length) log.info('source index refreshed', { indexed: r.indexed.length, removed: r.removed.length });
    return {
      location: source.location,
      files: r.listed.size,
      indexed: r.indexed.length,
      removed: r.removed.length,
      named: changed.slice(0, NAMED),
      durationMs: elapsed(t0),
    };
  };
}

/**
 * The loaded hours of a deployment whose feeding files changed, were added or were removed since the latest
 * finished run of the hour read them, within [fromMs, toMs), at most `limit` of them, oldest first; with how
 * many there are in all, and how many failed hours are left alone because their source has not changed since
 * they failed (a failed run records what it read, or the index as it was when it failed). A loaded hour whose
 * only change is files gone is held, not returned: a file briefly absent (log rotation, a folder moved, a
 * listing hiccup) must not empty its hours; `npm run etl` of the hour loads it without the file.
 */
export function makeFindStaleHours(deps: ActivityDeps) {
  return async function findStaleHours(input: FindStaleHoursInput): Promise<FoundStaleHours> {
    const dialect = dialectOf(deps);
    sourceIndexOf(deps);
    const source = resolveSource(deps, input.source);
    try {
      const range = fromMs({ startMs: input.fromMs, endMs: input.toMs });
      const stale = await staleHours(deps.pool, dialect, input.deployment, source.location, range, input.limit, true);
      const held = stale.held;
      return {
        hours: [...stale.hours].map(([startMs, reason]) => ({
          start: toIso(startMs),
          end: toIso(startMs + HOUR_MS),
          reason,
        })),
        total: stale.total,
        failedUnchanged: stale.failedUnchanged,
        ...(held
          ? {
              held: {
                hours: held.hours,
                first: toIso(held.fromMs),
                last: toIso(held.toMs),
                files: held.files,
                filesTotal: held.filesTotal,
              },
            }
          : {}),
      };
    } catch (err) {
      rethrowForActivity(err, 'finding stale hours');
    }
  };
}
