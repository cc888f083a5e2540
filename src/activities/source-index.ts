import type { Pool, PoolClient } from 'pg';
import type { Source, SourceFile } from '../source';
import { digestEventLines } from '../source/hour-digest';
import { withClient, withTransaction } from '../warehouse/pool';
import { rethrowForActivity } from '../warehouse/errors';
import type { SourceIndex } from '../warehouse/dialect';
import { cancellationSignal, heartbeat, log, whileHeartbeating } from './progress';

const UNREADABLE = new Set(['EACCES', 'EPERM', 'EISDIR', 'ENOENT', 'ELOOP', 'ENOTDIR', 'AccessDenied', 'NoSuchKey']);

export interface IndexRefresh {
  /** Every event file the listing found, by key. */
  listed: Map<string, SourceFile>;
  /** Keys read for the index this time: new or changed files. */
  indexed: string[];
  /** Keys gone from the source, dropped from the index. */
  removed: string[];
}

const LOCK_POLL_MS = 200;

/** When a warehouse's index of a source was last brought up to date by a whole listing (epoch ms, at its start). */
const refreshedAt = new WeakMap<Pool, Map<string, number>>();
const refreshing = new WeakMap<Pool, Map<string, Promise<void>>>();

/**
 * refreshSourceIndex, unless the index of this source in this warehouse was brought up to date by a listing that
 * started at most maxAgeMs ago. Listing log_data stats every day file (365 for a year): a backfill running 30
 * hours a second would otherwise spend most of its worker's time listing the same unchanged folder. A file
 * changed within that window is read by the run only if it is the run's own day file (always looked up afresh);
 * one that feeds the hour from another day's file is late data, which the watcher finds from what the run read.
 */
export async function refreshSourceIndexAtMostEvery(
  pool: Pool,
  index: SourceIndex,
  source: Source,
  maxAgeMs: number,
): Promise<void> {
  const at = refreshedAt.get(pool)?.get(source.location);
  if (at !== undefined && Date.now() - at <= maxAgeMs) return;
  // One refresh at a time per warehouse and source: the runs that need one meanwhile wait for it.
  if (!refreshing.has(pool)) refreshing.set(pool, new Map());
  const inFlight = refreshing.get(pool)!;
  const theirs = inFlight.get(source.location);
  if (theirs) {
    // Another attempt's refresh (it heartbeats for that attempt; this one heartbeats while it waits). If it
    // fails (that attempt was cancelled, say), this attempt refreshes for itself.
    const done = await whileHeartbeating({ waitingFor: 'the source index' }, () => theirs).then(
      () => true,
      () => false,
    );
    if (!done) await refreshSourceIndex(pool, index, source);
    return;
  }
  const ours = refreshSourceIndex(pool, index, source)
    .then(() => undefined)
    .finally(() => inFlight.delete(source.location));
  inFlight.set(source.location, ours);
  await ours;
}

/**
 * Brings the source index up to date: lists log_data/ and compares each file's version with the index; only
 * files that are new or changed are read (and digested by hour), and files gone are dropped. With nothing
 * changed it is one listing and one query, and takes no lock. Changes are written under a transaction-level
 * advisory lock, after comparing again, so concurrent runs and the watcher never index a file twice or race.
 */
export async function refreshSourceIndex(pool: Pool, index: SourceIndex, source: Source): Promise<IndexRefresh> {
  const startedAt = Date.now();
  const listed = new Map<string, SourceFile>();
  try {
    for await (const f of source.listEventFiles()) listed.set(f.key, f);
  } catch (err) {
    rethrowForActivity(err, 'listing the event files');
  }
  const location = source.location;
  const todo = (known: Map<string, string>) => ({
    changed: [...listed.values()].filter((f) => known.get(f.key) !== f.version),
    removed: [...known.keys()].filter((k) => !listed.has(k)),
  });
  const readKnown = async (client: Pool | PoolClient) => {
    const rows = (await client.query<{ path: string; version: string }>(index.indexedFiles(location))).rows;
    return new Map(rows.map((r) => [r.path, r.version]));
  };
  const upToDate = () => {
    if (!refreshedAt.has(pool)) refreshedAt.set(pool, new Map());
    refreshedAt.get(pool)!.set(location, startedAt);
  };
  const first = todo(await withClient(pool, readKnown));
  if (first.changed.length === 0 && first.removed.length === 0) {
    upToDate();
    return { listed, indexed: [], removed: [] };
  }

  const done: IndexRefresh = { listed, indexed: [], removed: [] };
  await withTransaction(pool, async (client) => {
    // Waits for another refresh without blocking in the server, so the activity keeps heartbeating.
    for (;;) {
      const { rows } = await client.query<{ locked: boolean }>(index.tryLock);
      if (rows[0]?.locked) break;
      cancellationSignal().throwIfAborted();
      heartbeat({ waitingFor: 'the source index lock' });
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
    }
    const { changed, removed } = todo(await readKnown(client));
    for (const f of changed) {
      cancellationSignal().throwIfAborted();
      let d: Awaited<ReturnType<typeof digestEventLines>>;
      try {
        d = await digestEventLines(source.openStream(f.key), (lines) => heartbeat({ indexing: f.key, lines }));
      } catch (err) {
        // A file that cannot be read (no permission, a folder, gone since the listing) stays out of the index:
        // it fails only the runs whose day file it is (naming it), not every run. Tried again next refresh.
        const code = String((err as { code?: unknown; name?: unknown }).code ?? (err as { name?: unknown }).name ?? '');
        if (!UNREADABLE.has(code)) throw err;
        log.warn('an event file cannot be read for the source index; left out', { file: f.key, error: code });
        continue;
      }
      await client.query(
        index.upsertIndexedFile(location, {
          path: f.key,
          version: f.version,
          size: f.size,
          lines: d.lines,
          minTs: d.minTs,
          maxTs: d.maxTs,
          unhouredLines: d.unhouredLines,
          unhouredDigest: d.unhouredDigest,
        }),
      );
      await client.query(index.deleteFileHours(location, f.key));
      if (d.hours.length > 0) await client.query(index.insertFileHours(location, f.key, d.hours));
      done.indexed.push(f.key);
    }
    if (removed.length > 0) await client.query(index.deleteIndexedFiles(location, removed));
    done.removed = removed;
  });
  upToDate();
  return done;
}
