import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { toMs } from '../interval';
import { wholeLines, type Source, type SourceFile } from '../source';
import { EventCopyEncoder, type EncodeStats } from '../source/event-encoder';
import { stagingKeyOf, type StageEventsInput, type StageEventsResult } from '../types';
import { withTransaction } from '../warehouse/pool';
import { rethrowForActivity } from '../warehouse/errors';
import { analyzeRunStaging, copyEventsIntoRunStaging, runStagingTable, STAGING_PREFIX } from '../warehouse/statements';
import { BadLines } from './bad-lines';
import { stageEventsRedshift } from './stage-redshift';
import { cancellationSignal, elapsed, heartbeat, inThisAttempt, log, workflowIdOfAttempt } from './progress';
import { dialectOf, resolveSource, type ActivityDeps } from './deps';
import { metrics } from './metrics';
import { eventFilesFor } from './event-files';

const CHUNK_BYTES = 64 * 1024;

/**
 * Stages the events of one interval into the run's private table, in one transaction: the table is
 * created afresh, so a retry starts clean and a failure leaves nothing half-staged. Reads only the day
 * files the interval touches, streams them through the event encoder (bytes in, COPY rows out) into
 * COPY FROM STDIN and keeps events whose `ts` falls in the interval.
 */
export function makeStageEvents(deps: ActivityDeps) {
  return async function stageEvents(input: StageEventsInput): Promise<StageEventsResult> {
    if (dialectOf(deps).name === 'redshift') return stageEventsRedshift(deps, input);
    const t0 = performance.now();
    const stg = runStagingTable(stagingKeyOf(input));
    const { startMs, endMs } = toMs(input.interval);
    const source = resolveSource(deps, input.source);

    const { files, missingFiles } = await eventFilesFor(source, input.interval, input.onMissingFile);

    const stats = { linesRead: 0, rowsStaged: 0, nextSongRows: 0 };
    const bad = new BadLines(input.maxErrors);
    try {
      await withTransaction(deps.pool, async (client) => {
        const dialect = dialectOf(deps);
        await client.query(dialect.createRunStaging(stg).text);
        for (const s of dialect.registerRunStaging(stagingKeyOf(input), workflowIdOfAttempt())) {
          await client.query(s);
        }
        const rows = encodeEvents(source, files, startMs, endMs, stats, bad);
        await pipeline(Readable.from(inThisAttempt(rows)), client.query(copyFrom(copyEventsIntoRunStaging(stg))), {
          signal: cancellationSignal(),
        });
        await bad.save(client, input.runKey, dialect);
        // Fresh statistics, so the loads' joins are planned for the rows really staged.
        await client.query(analyzeRunStaging(stg));
      });
    } catch (err) {
      rethrowForActivity(err);
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

async function* encodeEvents(
  source: Source,
  files: SourceFile[],
  startMs: number,
  endMs: number,
  stats: EncodeStats,
  bad: BadLines,
): AsyncGenerator<Buffer> {
  for (const file of files) {
    const encoder = new EventCopyEncoder(
      startMs,
      endMs,
      stats,
      (line, reason, text) => bad.add(file.key, line, reason, text, file.version),
      CHUNK_BYTES,
    );
    let line = 1;
    for await (const piece of wholeLines(source.openStream(file.key))) {
      line += encoder.encode(piece, 0, piece.length, line);
      heartbeat({ file: file.key, line: line - 1, rowsStaged: stats.rowsStaged });
      yield* encoder.take();
    }
    yield* encoder.finish();
  }
}
