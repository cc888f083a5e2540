import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { toMs } from '../interval';
import { wholeLines, type ByteRange, type Source, type SourceFile } from '../source';
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER, EventCopyEncoder, type EncodeStats } from '../source/event-encoder';
import { stagingKeyOf, type StageEventsInput, type StageEventsResult } from '../types';
import { withTransaction } from '../warehouse/pool';
import { ApplicationFailure } from '@temporalio/common';
import { BAD_DATA, rethrowForActivity } from '../warehouse/errors';
import { runStagingTable, STAGING_PREFIX } from '../warehouse/tables';
import { NON_RETRYABLE_TYPES } from '../failures';
import { BadLines } from './bad-lines';
import { stageEventsRedshift } from './stage-redshift';
import {
  cancellationSignal,
  elapsed,
  heartbeat,
  inThisAttempt,
  isLocalAttempt,
  log,
  runIdOfAttempt,
  workflowIdOfAttempt,
} from './progress';
import { dialectOf, resolveSource, type ActivityDeps } from './deps';
import { metrics } from './metrics';
import { eventFilesFor } from './event-files';
import { refreshSourceIndexAtMostEvery } from './source-index';
import type { SourceIndex } from '../warehouse/dialect';

/** The COPY data sent at a time: pg-copy-streams writes each chunk as a message of its own (two socket writes). */
const CHUNK_BYTES = 256 * 1024;
/**
 * Staging of fewer rows is not analyzed: the planner reads a never-analyzed table's size from its file and
 * plans a small hour's loads as it does with statistics (each event's song looked up in song_match), and
 * ANALYZE was ~3 ms of a small hour's ~20 ms of warehouse time. A large hour's joins need the statistics.
 */
export const ANALYZE_FROM_ROWS = 10_000;
/** How old a listing of log_data a run may rely on for its index (see refreshSourceIndexAtMostEvery). */
export const EVENT_LISTING_MAX_AGE_MS = 1000;

/**
 * A source file that cannot be opened (no permission, a folder, a link loop): retried within the run's budget,
 * since it may be fixed meanwhile, but not a reason for the late-data watcher to re-run the hour every cycle.
 */
const FILE_CODES = new Set(['EACCES', 'EPERM', 'EISDIR', 'ELOOP', 'ENOTDIR']);

/**
 * Stages the events of one interval into the run's private table, in one transaction: the table is
 * created afresh, so a retry starts clean and a failure leaves nothing half-staged. Reads every file that
 * can feed the interval: the day files it touches (a missing one is reported) and every other file the source
 * index says holds lines of its hours (an event delivered into another day's file), streams them through the
 * event encoder (bytes in, binary COPY rows out) into COPY FROM STDIN and keeps events whose `ts` falls in the
 * interval. What it read, per hour, is recorded in the same transaction (run_hour_sources), or alone when the
 * run fails on a bad line: the late-data watcher compares it with the index to find hours whose source changed
 * since.
 */
export function makeStageEvents(deps: ActivityDeps) {
  return async function stageEvents(input: StageEventsInput): Promise<StageEventsResult> {
    const dialect = dialectOf(deps);
    if (dialect.staging.kind === 'copy-from-s3') return stageEventsRedshift(deps, input, dialect.staging);
    const copy = dialect.staging;
    const t0 = performance.now();
    const stg = runStagingTable(stagingKeyOf(input));
    const { startMs, endMs } = toMs(input.interval);
    const source = resolveSource(deps, input.source);

    const workflowId = workflowIdOfAttempt();
    const runId = runIdOfAttempt();
    const index = dialect.sourceIndex;
    // A run that fails before it can record what it read, on what cannot heal by retrying (a listing error, an
    // unreadable or missing file), records what the index says feeds its hours instead: the late-data watcher
    // then re-runs the hour when a feeding file changes, not every cycle (it would fail the same way). Recorded
    // by the failing attempt; a later attempt that stages records what it read in its place.
    const recordFailure = async (err: unknown) => {
      if (!index || !runId || !(err instanceof ApplicationFailure)) return;
      // The file error's code, as rethrowForActivity carries it.
      const code = String((err.details?.[0] as { code?: unknown } | undefined)?.code);
      if (!err.nonRetryable && !NON_RETRYABLE_TYPES.includes(err.type ?? '') && !FILE_CODES.has(code)) return;
      const view = index.recordFailedRunView({ runId, workflowId, source: source.location, startMs, endMs });
      await deps.pool
        .query(view)
        .catch((e: unknown) => log.warn('could not record the failed run', { error: (e as Error).message }));
    };
    let found: Awaited<ReturnType<typeof eventFilesFor>>;
    let files: FileToRead[];
    try {
      found = await eventFilesFor(source, input.interval, input.onMissingFile);
      files = index
        ? await filesToRead(deps, index, source, found.files, startMs, endMs)
        : found.files.map((file) => ({ file }));
    } catch (err) {
      await recordFailure(err);
      throw err;
    }
    const { missingFiles } = found;
    const bytes = files.reduce((n, f) => n + (f.range ? f.range.end - f.range.start : f.file.size), 0);
    if (input.localLimitBytes !== undefined && bytes > input.localLimitBytes && isLocalAttempt()) {
      log.info('more to read than a local step takes: handed over to an activity', { files: files.length, bytes });
      return {
        table: STAGING_PREFIX + stagingKeyOf(input).toLowerCase(),
        files: files.length,
        missingFiles,
        linesRead: 0,
        rowsStaged: 0,
        nextSongRows: 0,
        badLines: 0,
        durationMs: elapsed(t0),
        handedOver: true,
      };
    }
    const reads =
      index && runId
        ? index.recordRunReads({
            runId,
            workflowId,
            source: source.location,
            startMs,
            endMs,
            paths: files.map((f) => f.file.key),
            versions: files.map((f) => f.file.version),
            missing: missingFiles,
          })
        : undefined;

    const stats = { linesRead: 0, rowsStaged: 0, nextSongRows: 0 };
    const bad = new BadLines(input.maxErrors);
    try {
      await withTransaction(deps.pool, async (client) => {
        await client.query(dialect.createRunStaging(stg).text);
        for (const s of dialect.registerRunStaging(stagingKeyOf(input), workflowId)) {
          await client.query(s);
        }
        const rows = encodeEvents(source, files, startMs, endMs, stats, bad);
        await pipeline(
          Readable.from(inThisAttempt(rows)),
          client.query(copyFrom(copy.copyEventsIntoRunStaging(stg).text)),
          { signal: cancellationSignal() },
        );
        await bad.save(client, input.runKey, dialect);
        if (reads) await client.query(reads);
        // Fresh statistics, so the loads' joins are planned for the rows really staged.
        if (stats.rowsStaged >= ANALYZE_FROM_ROWS) await client.query(copy.analyzeRunStaging(stg));
      });
    } catch (err) {
      // A run that fails on its data read the source too: what it read is recorded (out of the rolled-back
      // transaction), so the late-data watcher re-runs the hour when a file changes again, not every cycle.
      if (reads && err instanceof ApplicationFailure && err.type === BAD_DATA) {
        await deps.pool
          .query(reads)
          .catch((e: unknown) =>
            log.warn('could not record what the failed run read', { error: (e as Error).message }),
          );
      }
      try {
        rethrowForActivity(err);
      } catch (failure) {
        await recordFailure(failure);
        throw failure;
      }
    }
    metrics.rows('staged', stats.rowsStaged, { table: 'staging_events' });
    log.info('staged events', { interval: input.interval, rowsStaged: stats.rowsStaged, files: files.length });
    return {
      table: STAGING_PREFIX + stagingKeyOf(input).toLowerCase(),
      files: files.length,
      missingFiles,
      ...stats,
      badLines: bad.count,
      durationMs: elapsed(t0),
    };
  };
}

/** A file a run reads, and the part of it that holds the interval's lines when the index knows it. */
interface FileToRead {
  file: SourceFile;
  range?: ByteRange & { firstLine: number };
}

/**
 * The day files the interval names (found) and every indexed file with lines in its hours, each once, in key
 * order. The index is refreshed first: a file is read for it only when it is new or changed. A file whose
 * version now is the one indexed is read only from the first to the last of the interval's lines (unless it
 * holds lines whose time cannot be read, which every run of the file reports): the lines between are the
 * interval's or other hours', which the encoder leaves out as it would reading the whole file.
 */
async function filesToRead(
  deps: ActivityDeps,
  index: SourceIndex,
  source: Source,
  dayFiles: SourceFile[],
  startMs: number,
  endMs: number,
): Promise<FileToRead[]> {
  const byKey = new Map<string, FileToRead>(dayFiles.map((f) => [f.key, { file: f }]));
  try {
    await refreshSourceIndexAtMostEvery(
      deps.pool,
      index,
      source,
      deps.eventListingMaxAgeMs ?? EVENT_LISTING_MAX_AGE_MS,
    );
    const feeding = await deps.pool.query<{
      path: string;
      version: string;
      first_byte: string | null;
      end_byte: string | null;
      first_line: number | null;
    }>(index.feedingRanges(source.location, startMs, endMs));
    // Each file other than the day files looked up now, so that what the run records reading is its version now.
    const others = feeding.rows.map((r) => r.path).filter((p) => !byKey.has(p));
    for (const f of await Promise.all(others.map((p) => source.stat(p)))) if (f) byKey.set(f.key, { file: f });
    for (const r of feeding.rows) {
      const toRead = byKey.get(r.path);
      if (!toRead || toRead.file.version !== r.version) continue;
      if (r.first_byte === null || r.end_byte === null || r.first_line === null) continue;
      toRead.range = { start: Number(r.first_byte), end: Number(r.end_byte), firstLine: r.first_line };
    }
  } catch (err) {
    rethrowForActivity(err, 'indexing the event files');
  }
  return [...byKey.values()].sort((a, b) => (a.file.key < b.file.key ? -1 : a.file.key > b.file.key ? 1 : 0));
}

async function* encodeEvents(
  source: Source,
  files: FileToRead[],
  startMs: number,
  endMs: number,
  stats: EncodeStats,
  bad: BadLines,
): AsyncGenerator<Buffer> {
  yield COPY_BINARY_HEADER;
  for (const { file, range } of files) {
    const encoder = new EventCopyEncoder(
      startMs,
      endMs,
      stats,
      (line, reason, text) => bad.add(file.key, line, reason, text, file.version),
      CHUNK_BYTES,
    );
    // Its range when the file is still at the version the run looked at (and the index holds), else all of it.
    const part = range ? await source.openRange(file.key, range, file.version) : undefined;
    let line = part ? range!.firstLine : 1;
    for await (const piece of wholeLines(part ?? source.openStream(file.key))) {
      line += encoder.encode(piece, 0, piece.length, line);
      heartbeat({ file: file.key, line: line - 1, rowsStaged: stats.rowsStaged });
      // Past maxErrors the run fails once the bad lines are counted: its rows are no longer sent.
      const chunks = encoder.take();
      if (!bad.overflowed) yield* chunks;
    }
    const chunks = encoder.finish();
    if (!bad.overflowed) yield* chunks;
  }
  bad.failIfTooMany();
  yield COPY_BINARY_TRAILER;
}
