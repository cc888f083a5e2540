/**
 * The S3 source against a real S3-compatible server on localhost (moto's server, from PyPI), not an
 * in-process mock: staging streams from it exactly as from a folder.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Pool } from 'pg';
import { createActivities } from '../src/activities';
import { redshift } from '../src/warehouse/dialect';
import { WorkflowFailedError, type ActivityFailure } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { openSource } from '../src/source';
import { s3Client } from '../src/source/s3';
import type { SparkifyEtlInput, SparkifyEtlResult } from '../src/types';
import { inActivityContext } from './support/activities';
import { tableChecksums } from './support/checksum';
import { historyText } from './support/history';
import { expectedFor } from './support/expected';
import {
  useTemporalEnv,
  createTestDatabase,
  testData,
  uniqueQueue,
  withWorker,
  type TestDatabase,
} from './support/helpers';
import { startMoto } from './support/moto';
import type { Background } from './support/processes';

const BUCKET = 'sparkify-test';
const SECRET = `secret-${randomUUID()}`;
const env = useTemporalEnv();
let moto: Background;

async function upload(dir: string, prefix: string): Promise<number> {
  const client = s3Client();
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  await Promise.all(
    files.map(async (f) => {
      const full = path.join(f.parentPath, f.name);
      await client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: prefix + path.relative(dir, full), Body: await readFile(full) }),
      );
    }),
  );
  return files.length;
}

beforeAll(async () => {
  // The worker's environment: endpoint override, and credentials that must never leave it.
  moto = await startMoto(SECRET);
  await s3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
  expect(await upload(testData(), 'raw/')).toBeGreaterThan(300);
}, 120_000);

afterAll(async () => {
  await moto?.stop('SIGTERM');
});

async function run(db: TestDatabase, input: SparkifyEtlInput): Promise<{ result: SparkifyEtlResult; history: string }> {
  const taskQueue = uniqueQueue('s3');
  const workflowId = `s3-${taskQueue}`;
  const result = await withWorker(env, { taskQueue, pool: db.pool }, () =>
    env.client.workflow.execute('SparkifyEtl', { taskQueue, workflowId, args: [input] }),
  );
  const history = historyText(await env.client.workflow.getHandle(workflowId).fetchHistory());
  return { result: result as SparkifyEtlResult, history };
}

test('stages and loads from s3://bucket/prefix on a local S3-compatible server, as from the folder', async () => {
  const fromS3 = await createTestDatabase();
  const fromFolder = await createTestDatabase();
  try {
    const day = { start: '2018-11-02T00:00Z', end: '2018-11-03T00:00Z' };
    const { result, history } = await run(fromS3, { ...day, source: `s3://${BUCKET}/raw` });
    await run(fromFolder, { ...day, source: testData() });
    const expected = expectedFor(testData(), '2018-11-02T00:00Z', '2018-11-03T00:00Z');
    expect(result.staged.events.rowsStaged).toBe(expected.staged);
    expect(result.staged.songs.songsStaged).toBe(expected.songs);
    expect(await tableChecksums(fromS3.pool)).toEqual(await tableChecksums(fromFolder.pool));
    // the manifest keys song files by their S3 ETag, so the next hour reads none of them again
    const etags = await fromS3.pool.query(`SELECT count(*)::int AS n FROM staged_song_files WHERE version LIKE '"%"'`);
    expect(etags.rows[0].n).toBe(expected.songs);
    const again = await run(fromS3, {
      start: '2018-11-02T05:00Z',
      end: '2018-11-02T06:00Z',
      source: `s3://${BUCKET}/raw`,
    });
    expect(again.result.staged.songs.filesStaged).toBe(0);
    // the AWS secret lives in the worker's environment only
    expect(history.includes(`s3://${BUCKET}/raw`)).toBe(true); // decoded payloads are searched
    expect(history.includes(SECRET)).toBe(false);
  } finally {
    await fromS3.drop();
    await fromFolder.drop();
  }
});

test('a bucket that does not exist is a configuration error that names it, not retried', async () => {
  const db = await createTestDatabase();
  try {
    const err = await run(db, {
      start: '2018-11-02T05:00Z',
      end: '2018-11-02T06:00Z',
      source: 's3://no-such-bucket-here/raw',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    // The run's own failure names the step; the activity's failure is under it.
    const step = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(step).toBeInstanceOf(ApplicationFailure);
    const activity = step.cause as ActivityFailure;
    expect(activity.retryState).toBe('NON_RETRYABLE_FAILURE');
    const app = activity.cause as ApplicationFailure;
    expect(app.type).toBe('BadConfig');
    expect(app.message).toContain('S3 bucket "no-such-bucket-here" does not exist: check SOURCE_URL');
  } finally {
    await db.drop();
  }
});

/**
 * A stand-in for a Redshift cluster, which cannot be reached from here: it records every statement and
 * answers the few that return rows. S3 is real (moto), so the COPY manifest is really written and read back.
 */
function recordingRedshift(opts: { failCopyOf?: string; rejectedLines?: number } = {}) {
  const statements: { text: string; values?: unknown[] }[] = [];
  // what stl_load_errors holds for each COPY under MAXERROR: lines of three files
  const rejected = Array.from({ length: opts.rejectedLines ?? 0 }, (_, i) => ({
    file: `s3://${BUCKET}/raw/bad-${i % 3}.json`,
    line: i + 1,
    field: 'ts',
    reason: 'Invalid digit',
    raw: `{"ts":"x${i}"}`,
  }));
  const client = {
    async query(s: string | { text: string; values?: unknown[] }) {
      const st = typeof s === 'string' ? { text: s } : s;
      statements.push(st);
      const text = st.text.trim();
      if (opts.failCopyOf && text.startsWith('COPY') && text.includes(opts.failCopyOf)) {
        throw Object.assign(
          new Error("Load into table 'raw_events' failed. Check 'stl_load_errors' system table for details."),
          {
            code: 'XX000',
          },
        );
      }
      if (text.includes('FROM stl_load_errors')) {
        return opts.failCopyOf
          ? {
              rows: [
                {
                  file: `s3://${BUCKET}/raw/${opts.failCopyOf}`,
                  line: 42,
                  field: 'ts',
                  reason: "Invalid digit, Value 'x'",
                  raw: '{"ts":"x"}',
                },
              ],
            }
          : {
              rows: rejected.slice(
                Number(/OFFSET (\d+)/.exec(text)![1]),
                Number(/OFFSET (\d+)/.exec(text)![1]) + Number(/LIMIT (\d+)/.exec(text)![1]),
              ),
            };
      }
      if (text.startsWith('COPY')) return { rowCount: 3000, rows: [] };
      if (text.startsWith('INSERT INTO "staging_events_')) return { rowCount: 123, rows: [] };
      if (text.startsWith('SELECT count(*)')) return { rows: [{ n: '100' }] };
      return { rows: [], rowCount: 0 };
    },
    on() {},
    off() {},
    release() {},
  };
  return { statements, pool: { connect: async () => client } as unknown as Pool };
}

describe('Redshift staging (cluster stood in by a statement recorder; S3 on moto)', () => {
  const settings = {
    iamRole: 'arn:aws:iam::123456789012:role/sparkify-copy',
    region: 'us-east-1',
    logJsonPath: `s3://${BUCKET}/raw/log_json_path.json`,
  };

  test('COPYs the day files the interval touches, and the new song files through a manifest on S3', async () => {
    const fake = recordingRedshift();
    const acts = inActivityContext(
      createActivities({ pool: fake.pool, dialect: redshift, redshift: settings, defaultSource: `s3://${BUCKET}/raw` }),
    );
    const events = await acts.stageEvents({
      runKey: '20181101T2300_20181102T0100',
      interval: { start: '2018-11-01T23:00:00.000Z', end: '2018-11-02T01:00:00.000Z' },
      source: '',
      maxErrors: 0,
      onMissingFile: 'fail',
    });
    expect(events).toMatchObject({ files: 2, rowsStaged: 123, nextSongRows: 100, missingFiles: [] });
    const copies = fake.statements.filter((s) => s.text.startsWith('COPY')).map((s) => s.text.split('\n')[0]);
    expect(copies).toEqual([
      `COPY raw_events FROM 's3://${BUCKET}/raw/log_data/2018/11/2018-11-01-events.json' IAM_ROLE '${settings.iamRole}' REGION 'us-east-1'`,
      `COPY raw_events FROM 's3://${BUCKET}/raw/log_data/2018/11/2018-11-02-events.json' IAM_ROLE '${settings.iamRole}' REGION 'us-east-1'`,
    ]);
    const filter = fake.statements.find((s) => s.text.startsWith('INSERT INTO "staging_events_'));
    expect(filter?.values).toEqual([Date.UTC(2018, 10, 1, 23), Date.UTC(2018, 10, 2, 1)]);
    expect(fake.statements[0]!.text).toBe('BEGIN');
    expect(fake.statements.at(-1)!.text).toBe('COMMIT');

    const songs = await acts.stageSongs({ runKey: '20181101T2300_20181102T0100', source: '', maxErrors: 0 });
    expect(songs.filesStaged).toBe(songs.filesSeen);
    const copySongs = fake.statements.find((s) => s.text.startsWith('COPY song_batch'));
    const manifestUrl = /FROM '(s3:\/\/[^']+)'/.exec(copySongs!.text)![1]!;
    expect(copySongs!.text).toContain('MANIFEST');
    const key = manifestUrl.replace(`s3://${BUCKET}/`, '');
    const body = await (
      await s3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
    ).Body!.transformToString();
    const entries = (JSON.parse(body) as { entries: { url: string; mandatory: boolean }[] }).entries;
    expect(entries).toHaveLength(songs.filesSeen);
    expect(entries.every((e) => e.mandatory && /^s3:\/\/sparkify-test\/raw\/song_data\/.+\.json$/.test(e.url))).toBe(
      true,
    );
  });

  test('every line a COPY rejects under maxErrors is kept in load_errors, past the first page; song files too', async () => {
    const fake = recordingRedshift({ rejectedLines: 2345 });
    const acts = inActivityContext(
      createActivities({ pool: fake.pool, dialect: redshift, redshift: settings, defaultSource: `s3://${BUCKET}/raw` }),
    );
    const kept = () =>
      fake.statements
        .filter((s) => s.text.trim().startsWith('INSERT INTO load_errors'))
        .flatMap((s) => (s.values ?? []).filter((_, i) => i % 6 === 3)); // the line of each row (run key, file, version, line, …)
    const pages = () =>
      fake.statements
        .filter((s) => s.text.includes('FROM stl_load_errors'))
        .map((s) => /OFFSET (\d+)/.exec(s.text)![1]);
    const events = await acts.stageEvents({
      runKey: '20181102T0300_1h',
      interval: { start: '2018-11-02T03:00:00.000Z', end: '2018-11-02T04:00:00.000Z' },
      source: '',
      maxErrors: 5000,
      onMissingFile: 'fail',
    });
    expect(events.badLines).toBe(2345);
    expect(pages()).toEqual(['0', '1000', '2000']);
    expect(kept()).toEqual(Array.from({ length: 2345 }, (_, i) => i + 1));

    fake.statements.length = 0;
    const songs = await acts.stageSongs({ runKey: '20181102T0300_1h', source: '', maxErrors: 5000 });
    expect(songs.badFiles).toBe(3);
    expect(pages()).toEqual(['0', '1000', '2000']);
    expect(kept()).toHaveLength(2345);
  });

  test('a COPY that fails is reported with the file, line and reason from stl_load_errors', async () => {
    const fake = recordingRedshift({ failCopyOf: 'log_data/2018/11/2018-11-02-events.json' });
    const acts = inActivityContext(
      createActivities({ pool: fake.pool, dialect: redshift, redshift: settings, defaultSource: `s3://${BUCKET}/raw` }),
    );
    const err = await acts
      .stageEvents({
        runKey: '20181102T0300_1h',
        interval: { start: '2018-11-02T03:00:00.000Z', end: '2018-11-02T04:00:00.000Z' },
        source: '',
        maxErrors: 0,
        onMissingFile: 'fail',
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('BadData');
    expect((err as ApplicationFailure).message).toBe(
      `staging events of 2018-11-02T03:00:00.000Z .. 2018-11-02T04:00:00.000Z: s3://${BUCKET}/raw/log_data/2018/11/2018-11-02-events.json line 42: Invalid digit, Value 'x' (field ts)`,
    );
    expect(fake.statements.map((s) => s.text)).toContain('ROLLBACK');
  });
});

test("a ranged read of an S3 object is of the version looked at (If-Match): another version's bytes are never read", async () => {
  const source = openSource(`s3://${BUCKET}/ranges/`);
  const key = 'log_data/2018/11/2018-11-02-events.json';
  await s3Client().send(
    new PutObjectCommand({ Bucket: BUCKET, Key: `ranges/${key}`, Body: 'line one\nline two\nline three\n' }),
  );
  const looked = await source.stat(key);
  const read = async (version: string) => {
    const part = await source.openRange(key, { start: 9, end: 18 }, version);
    if (!part) return undefined;
    let text = '';
    for await (const chunk of part) text += String(chunk);
    return text;
  };
  expect(await read(looked!.version)).toBe('line two\n');
  await s3Client().send(
    new PutObjectCommand({ Bucket: BUCKET, Key: `ranges/${key}`, Body: 'a new first line\nline two\n' }),
  );
  expect(await read(looked!.version)).toBeUndefined();
});
