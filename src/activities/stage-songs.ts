import type { PoolClient } from 'pg';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { Source, SourceFile } from '../source';
import { parseSongFile, RecordError, toCopyRow } from '../source/records';
import type { StageSongsInput, StageSongsResult } from '../types';
import { withClient, withTransaction } from '../warehouse/pool';
import { rethrowForActivity } from '../warehouse/errors';
import { BadLines } from './bad-lines';
import { stageSongsRedshift } from './stage-redshift';
import { cancellationSignal, elapsed, heartbeat, inThisAttempt, isLocalAttempt, log } from './progress';
import { dialectOf, resolveSource, type ActivityDeps } from './deps';
import { metrics } from './metrics';

const READ_CONCURRENCY = 32;

/**
 * Brings staging_songs up to date with the source: reads only song files that are new or changed since
 * they were last staged (the staged_song_files manifest), upserts their songs by song_id and records the
 * files, all in one transaction. Runs of different hours share this work; a lock serialises them.
 */
export function makeStageSongs(deps: ActivityDeps) {
  return async function stageSongs(input: StageSongsInput): Promise<StageSongsResult> {
    const dialect = dialectOf(deps);
    if (dialect.staging.kind === 'copy-from-s3') return stageSongsRedshift(deps, input, dialect.staging);
    const copy = dialect.staging;
    const t0 = performance.now();
    const source = resolveSource(deps, input.source);
    const bad = new BadLines(input.maxErrors);
    await source.check().catch((err) => rethrowForActivity(err, 'opening the source'));
    const result = { filesSeen: 0, filesStaged: 0, songsStaged: 0 };
    const readManifest = async (client: PoolClient) => {
      const manifest = new Map<string, string>();
      for (const row of (await client.query<{ path: string; version: string }>(dialect.stagedSongFiles)).rows) {
        manifest.set(row.path, row.version);
      }
      return manifest;
    };
    try {
      // Most runs find nothing new: compare the listing with the manifest first, without the lock, so that
      // runs of a parallel backfill do not queue behind each other.
      const listing = await songListing(source, deps.songListingMaxAgeMs ?? 60_000);
      const listed = listing.files;
      result.filesSeen = listed.length;
      // A listing already found fully staged stays so: the manifest only grows.
      const toStage =
        listing.verifiedFor === deps.pool
          ? 0
          : await withClient(deps.pool, readManifest).then(
              (seen) => listed.filter((f) => seen.get(f.key) !== f.version).length,
            );
      if (input.localLimitFiles !== undefined && toStage > input.localLimitFiles && isLocalAttempt()) {
        log.info('more song files to stage than a local step takes: handed over to an activity', { toStage });
        return { ...result, badFiles: 0, durationMs: elapsed(t0), handedOver: true };
      }
      if (toStage === 0) {
        listing.verifiedFor = deps.pool;
        heartbeat({ filesSeen: result.filesSeen, filesToStage: 0 });
      } else {
        await withTransaction(deps.pool, async (client) => {
          await client.query(dialect.lockSongStaging);
          // under the lock, again: another run may have staged them meanwhile
          const manifest = await readManifest(client);
          const todo = listed.filter((f) => manifest.get(f.key) !== f.version);
          heartbeat({ filesSeen: result.filesSeen, filesToStage: todo.length });
          if (todo.length === 0) return;

          await client.query(copy.createSongStagingBatch.text);
          const songsPerFile: number[] = new Array<number>(todo.length).fill(0);
          const rejected: boolean[] = new Array<boolean>(todo.length).fill(false);
          await pipeline(
            Readable.from(inThisAttempt(encodeSongs(source, todo, songsPerFile, rejected, bad, result))),
            client.query(copyFrom(copy.copySongsIntoBatch.text)),
            { signal: cancellationSignal() },
          );
          await client.query(copy.upsertSongBatch);
          await client.query(dialect.songStagingChanged);
          // Plays loaded before these songs arrived get them now (late songs), in this transaction.
          for (const statement of copy.rematchLateSongs) await client.query(statement);
          await client.query(copy.refreshSongMatch);
          await client.query(
            copy.recordSongFiles(
              todo.map((f) => f.key),
              todo.map((f) => f.size),
              todo.map((f) => f.version),
              songsPerFile,
              rejected,
            ),
          );
          await bad.save(client, input.runKey, dialect);
          result.filesStaged = todo.length;
        });
      }
    } catch (err) {
      rethrowForActivity(err);
    }
    metrics.rows('staged', result.songsStaged, { table: 'staging_songs' });
    log.info('staged songs', {
      filesSeen: result.filesSeen,
      filesStaged: result.filesStaged,
      songs: result.songsStaged,
    });
    return { ...result, badFiles: bad.count, durationMs: elapsed(t0) };
  };
}

interface Listing {
  at: number;
  files: SourceFile[];
  /** The warehouse (pool) whose manifest already holds every file of this listing. */
  verifiedFor?: unknown;
}
const listings = new Map<string, Listing>();
const listing = new Map<string, Promise<Listing>>();

/**
 * The song files of a source. Listing a Sparkify song tree walks thousands of folders (about 1 s for 15,000
 * files), so a worker reuses a listing for up to maxAgeMs (SONG_LISTING_MAX_AGE_MS, default 60 s): a song file
 * that arrives meanwhile is staged by the first run after that. Runs that need a new listing while one is being
 * taken wait for that one: a backfill's runs in flight would otherwise each walk the whole tree at once.
 */
async function songListing(source: Source, maxAgeMs: number): Promise<Listing> {
  const cached = listings.get(source.location);
  if (cached && Date.now() - cached.at <= maxAgeMs) return cached;
  let taking = listing.get(source.location);
  if (!taking) {
    taking = (async () => {
      const at = Date.now();
      const files: SourceFile[] = [];
      for await (const file of source.listSongFiles()) files.push(file);
      const taken: Listing = { at, files };
      listings.set(source.location, taken);
      return taken;
    })().finally(() => listing.delete(source.location));
    listing.set(source.location, taking);
  }
  return taking;
}

async function* encodeSongs(
  source: Source,
  files: SourceFile[],
  songsPerFile: number[],
  rejected: boolean[],
  bad: BadLines,
  result: { songsStaged: number },
): AsyncGenerator<string> {
  for (let i = 0; i < files.length; i += READ_CONCURRENCY) {
    const batch = files.slice(i, i + READ_CONCURRENCY);
    const contents = await Promise.all(batch.map((f) => source.readBytes(f.key)));
    let chunk = '';
    batch.forEach((file, j) => {
      const bytes = contents[j] ?? Buffer.alloc(0);
      try {
        const rows = parseSongFile(bytes);
        for (const values of rows) chunk += toCopyRow(values);
        songsPerFile[i + j] = rows.length;
        result.songsStaged += rows.length;
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        // the reason names its line once: in load_errors' line column, not again in front of the reason
        const m = /^line (\d+): /.exec(err.message);
        const reason = m ? err.message.slice(m[0].length) : err.message;
        bad.add(file.key, m ? Number(m[1]) : 1, reason, bytes.toString('utf8'), file.version);
        rejected[i + j] = true;
      }
    });
    if ((i / READ_CONCURRENCY) % 50 === 0) heartbeat({ filesStaged: i + batch.length, of: files.length });
    // Past maxErrors the step fails once the bad files are counted: their songs are no longer sent.
    if (chunk && !bad.overflowed) yield chunk;
  }
  bad.failIfTooMany();
}
