import { intervalOfWorkflowId, HOUR_MS, toIso } from '../interval';
import { MAX_REASON_LENGTH } from '../input';
import { prefixEnd } from '../status';
import { withClient } from '../warehouse/pool';
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

/** What changed between what a run read and what the index says now, as the re-run's reason. */
export function reasonFor(read: Record<string, string>, now: Record<string, string>): string {
  const parts: string[] = [];
  for (const path of [...new Set([...Object.keys(read), ...Object.keys(now)])].sort()) {
    if (!(path in read)) parts.push(`${path} added`);
    else if (!(path in now)) parts.push(`${path} removed`);
    else if (read[path] !== now[path]) parts.push(`${path} changed`);
  }
  const text = `late data: ${parts.join(', ')}`;
  return text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH - 3)}...`;
}

/**
 * The loaded hours of a deployment whose feeding files changed, were added or were removed since the latest
 * finished run of the hour read them, within [fromMs, toMs), at most `limit` of them, oldest first.
 */
export function makeFindStaleHours(deps: ActivityDeps) {
  return async function findStaleHours(input: FindStaleHoursInput): Promise<StaleHour[]> {
    const index = sourceIndexOf(deps);
    const source = resolveSource(deps, input.source);
    const idPrefix = `${input.deployment}-`;
    try {
      const rows = await withClient(deps.pool, (client) =>
        client.query<{
          hour_start_ms: string;
          workflow_id: string;
          read: Record<string, string>;
          now: Record<string, string>;
        }>(
          index.staleHours({
            source: source.location,
            fromMs: input.fromMs,
            toMs: input.toMs,
            limit: input.limit,
            idPrefix,
            idPrefixEnd: prefixEnd(idPrefix),
          }),
        ),
      );
      return rows.rows
        .filter((r) => intervalOfWorkflowId(r.workflow_id, input.deployment))
        .map((r) => {
          const startMs = Number(r.hour_start_ms);
          return { start: toIso(startMs), end: toIso(startMs + HOUR_MS), reason: reasonFor(r.read, r.now) };
        });
    } catch (err) {
      rethrowForActivity(err, 'finding stale hours');
    }
  };
}
