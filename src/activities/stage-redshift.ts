import type { PoolClient } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import { toMs } from '../interval';
import type { Source, SourceFile } from '../source';
import type { S3Source } from '../source/s3';
import {
  stagingKeyOf,
  type StageEventsInput,
  type StageEventsResult,
  type StageSongsInput,
  type StageSongsResult,
} from '../types';
import { BAD_DATA, badConfig, rethrowForActivity } from '../warehouse/errors';
import type { CopyFromS3, Dialect } from '../warehouse/dialect';
import { inTransaction, withClient } from '../warehouse/pool';
import { runStagingTable, STAGING_PREFIX } from '../warehouse/tables';
import { elapsed, heartbeat, whileHeartbeating, workflowIdOfAttempt } from './progress';
import { dialectOf, resolveSource, type ActivityDeps } from './deps';
import { eventFilesFor } from './event-files';

/**
 * Staging on Redshift: COPY straight from S3 (Redshift has no COPY FROM STDIN), in one transaction like
 * the PostgreSQL path. A failed COPY is reported with what stl_load_errors says about it: file, line, reason.
 */

function s3SourceOf(deps: ActivityDeps, requested: string | undefined): S3Source {
  const source: Source = resolveSource(deps, requested);
  if (!source.location.startsWith('s3://')) {
    throw badConfig(
      `the redshift dialect stages with COPY from S3: SOURCE_URL must be s3://bucket/prefix, not ${source.location}`,
    );
  }
  return source as S3Source;
}

function copySettings(deps: ActivityDeps) {
  if (!deps.redshift)
    throw badConfig('the redshift dialect needs REDSHIFT_IAM_ROLE, AWS_REGION and REDSHIFT_LOG_JSONPATH');
  return deps.redshift;
}

interface CopyError {
  file: string;
  line: number;
  field: string;
  reason: string;
  raw: string;
}

/**
 * Records every line the session's last COPY rejected in load_errors, a page at a time, and says how many
 * lines and files that was.
 */
async function recordCopyErrors(
  client: PoolClient,
  dialect: Dialect,
  copy: CopyFromS3,
  runKey: string,
  versionOf: (file: string) => string,
): Promise<{ lines: number; files: number; rejected: Set<string> }> {
  const files = new Set<string>();
  let lines = 0;
  for (;;) {
    const page = (await client.query<CopyError>(copy.copyErrorsPage(lines))).rows;
    if (page.length > 0) {
      for (const statement of dialect.recordLoadErrors(
        runKey,
        page.map((e) => e.file),
        page.map((e) => e.line),
        page.map((e) => `${e.reason}${e.field ? ` (field ${e.field})` : ''}`),
        page.map((e) => e.raw),
        page.map((e) => versionOf(e.file)),
      )) {
        await client.query(statement);
      }
    }
    for (const e of page) files.add(e.file);
    lines += page.length;
    if (page.length < copy.copyErrorsPageSize) return { lines, files: files.size, rejected: files };
  }
}

/** A file's version by the name stl_load_errors gives it (its s3:// URL) or its key; '' when unknown. */
function versionsOf(source: { url(key: string): string }, files: SourceFile[]): (file: string) => string {
  const byName = new Map<string, string>();
  for (const f of files) {
    byName.set(source.url(f.key), f.version);
    byName.set(f.key, f.version);
  }
  return (file) => byName.get(file.trim()) ?? '';
}

/** Runs one transaction; when a COPY in it fails, the failure names the file, line and reason Redshift gives. */
async function copyTransaction<T>(
  client: PoolClient,
  copy: CopyFromS3,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await inTransaction(client, fn);
  } catch (err) {
    if (
      (err as { code?: string }).code === 'XX000' ||
      /Load into table .* failed/i.test((err as Error).message ?? '')
    ) {
      const errors = await client
        .query<CopyError>(copy.copyErrorsPage(0))
        .then((res) => res.rows)
        .catch(() => [] as CopyError[]);
      const first = errors[0];
      if (first) {
        throw ApplicationFailure.nonRetryable(
          `${what}: ${first.file} line ${first.line}: ${first.reason}${first.field ? ` (field ${first.field})` : ''}`,
          BAD_DATA,
          errors.slice(0, 10),
        );
      }
    }
    throw err;
  }
}

export async function stageEventsRedshift(
  deps: ActivityDeps,
  input: StageEventsInput,
  copy: CopyFromS3,
): Promise<StageEventsResult> {
  const t0 = performance.now();
  const source = s3SourceOf(deps, input.source);
  const auth = copySettings(deps);
  const stg = runStagingTable(stagingKeyOf(input));
  const { startMs, endMs } = toMs(input.interval);
  const { files, missingFiles } = await eventFilesFor(source, input.interval, input.onMissingFile);
  const dialect = dialectOf(deps);
  try {
    return await withClient(deps.pool, (client) =>
      copyTransaction(client, copy, `staging events of ${input.interval.start} .. ${input.interval.end}`, async () => {
        await client.query(dialect.createRunStaging(stg));
        for (const s of dialect.registerRunStaging(stagingKeyOf(input), workflowIdOfAttempt())) {
          await client.query(s);
        }
        await client.query(copy.createRawEvents);
        let linesLoaded = 0;
        let badLines = 0;
        for (const file of files) {
          const res = await whileHeartbeating({ file: file.key }, () =>
            client.query(copy.copyEventsFromS3(source.url(file.key), auth.logJsonPath, auth, input.maxErrors)),
          );
          linesLoaded += res.rowCount ?? 0;
          if (input.maxErrors > 0) {
            badLines += (await recordCopyErrors(client, dialect, copy, input.runKey, versionsOf(source, files))).lines;
          }
        }
        const staged = await client.query(copy.filterRawEventsIntoRun(stg, startMs, endMs));
        const nextSong = await client.query<{ n: string }>(dialect.countNextSongStaged(stg));
        return {
          table: STAGING_PREFIX + stagingKeyOf(input).toLowerCase(),
          files: files.length,
          missingFiles,
          linesRead: linesLoaded + badLines,
          rowsStaged: staged.rowCount ?? 0,
          nextSongRows: Number(nextSong.rows[0]?.n ?? 0),
          badLines,
          durationMs: elapsed(t0),
        };
      }),
    );
  } catch (err) {
    rethrowForActivity(err);
  }
}

const MANIFEST_FILES_PER_STATEMENT = 500;

export async function stageSongsRedshift(
  deps: ActivityDeps,
  input: StageSongsInput,
  copy: CopyFromS3,
): Promise<StageSongsResult> {
  const t0 = performance.now();
  const source = s3SourceOf(deps, input.source);
  const auth = copySettings(deps);
  await source.check().catch((err) => rethrowForActivity(err, 'opening the source'));
  const dialect = dialectOf(deps);
  try {
    return await withClient(deps.pool, (client) =>
      copyTransaction(client, copy, `staging songs from ${source.location}`, async () => {
        await client.query(dialect.lockSongStaging);
        const manifest = new Map<string, string>();
        for (const r of (await client.query<{ path: string; version: string }>(dialect.stagedSongFiles)).rows)
          manifest.set(r.path, r.version);
        const todo: SourceFile[] = [];
        let filesSeen = 0;
        for await (const f of source.listSongFiles()) {
          filesSeen++;
          if (manifest.get(f.key) !== f.version) todo.push(f);
        }
        heartbeat({ filesSeen, filesToStage: todo.length });
        if (todo.length === 0)
          return { filesSeen, filesStaged: 0, songsStaged: 0, badFiles: 0, durationMs: elapsed(t0) };
        // COPY reads exactly the new files through a manifest written next to the data.
        const manifestUrl = await source.putText(
          `_sparkify/manifests/songs-${input.runKey.toLowerCase()}-${todo.length}.json`,
          copy.songManifest(todo.map((f) => source.url(f.key))),
        );
        await client.query(copy.createSongStagingBatch);
        const copied = await whileHeartbeating({ files: todo.length }, () =>
          client.query(copy.copySongsFromManifest(manifestUrl, auth, input.maxErrors)),
        );
        // what COPY rejected, kept as the PostgreSQL path keeps it (read before any other COPY of the session)
        const rejected =
          input.maxErrors > 0
            ? await recordCopyErrors(client, dialect, copy, input.runKey, versionsOf(source, todo))
            : { files: 0, rejected: new Set<string>() };
        for (const s of copy.upsertSongBatch) await client.query(s);
        await client.query(dialect.songStagingChanged);
        for (let i = 0; i < todo.length; i += MANIFEST_FILES_PER_STATEMENT) {
          const chunk = todo.slice(i, i + MANIFEST_FILES_PER_STATEMENT);
          const statements = copy.recordSongFiles(
            chunk.map((f) => f.key),
            chunk.map((f) => f.size),
            chunk.map((f) => f.version),
            chunk.map(() => 1), // one song a file in the Sparkify layout; COPY does not say per file
            // a rejected file stays visible as such until it changes, then it is read again
            chunk.map((f) => rejected.rejected.has(source.url(f.key)) || rejected.rejected.has(f.key)),
          );
          for (const s of statements) await client.query(s);
        }
        return {
          filesSeen,
          filesStaged: todo.length,
          songsStaged: copied.rowCount ?? 0,
          badFiles: rejected.files,
          durationMs: elapsed(t0),
        };
      }),
    );
  } catch (err) {
    rethrowForActivity(err);
  }
}
