/**
 * The S3 source against a real S3-compatible server on localhost (moto's server, from PyPI), not an
 * in-process mock: staging streams from it exactly as from a folder.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError, ActivityFailure } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { portOpen } from '../src/local/stack';
import { s3Client } from '../src/source/s3';
import type { SparkifyEtlInput, SparkifyEtlResult } from '../src/types';
import { tableChecksums } from './support/checksum';
import { historyText } from './support/history';
import { expectedFor } from './support/expected';
import { connectTestTemporal, createTestDatabase, testData, uniqueQueue, withWorker, type TestDatabase } from './support/helpers';
import { Background, ROOT } from './support/processes';

const BUCKET = 'sparkify-test';
const SECRET = `secret-${randomUUID()}`;
let env: TestWorkflowEnvironment;
let moto: Background;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

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
  env = await connectTestTemporal();
  const motoServer = execFileSync('bash', [path.join(ROOT, 'scripts/provision-moto.sh')], { encoding: 'utf8' }).trim();
  const port = await freePort();
  moto = new Background(motoServer, ['-H', '127.0.0.1', '-p', String(port)], process.env);
  const deadline = Date.now() + 30_000;
  while (!(await portOpen(port))) {
    if (Date.now() > deadline) throw new Error(`moto did not start:\n${moto.output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The worker's environment: endpoint override, and credentials that must never leave it.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
    AWS_ACCESS_KEY_ID: 'AKIATESTSPARKIFY',
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_REGION: 'us-east-1',
  });
  await s3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
  expect(await upload(testData(), 'raw/')).toBeGreaterThan(300);
}, 120_000);

afterAll(async () => {
  await moto?.stop('SIGTERM');
  await env?.teardown();
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
    const again = await run(fromS3, { start: '2018-11-02T05:00Z', end: '2018-11-02T06:00Z', source: `s3://${BUCKET}/raw` });
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
    const err = await run(db, { start: '2018-11-02T05:00Z', end: '2018-11-02T06:00Z', source: 's3://no-such-bucket-here/raw' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const activity = (err as WorkflowFailedError).cause as ActivityFailure;
    expect(activity.retryState).toBe('NON_RETRYABLE_FAILURE');
    const app = activity.cause as ApplicationFailure;
    expect(app.type).toBe('BadConfig');
    expect(app.message).toContain('S3 bucket "no-such-bucket-here" does not exist: check SOURCE_URL');
  } finally {
    await db.drop();
  }
});
