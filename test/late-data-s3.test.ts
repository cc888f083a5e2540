/**
 * Late data on S3 (issue #14, Must-show 4), against moto's S3 server on localhost (mocked AWS, real S3 protocol):
 * a day file re-uploaded with events appended gets a new ETag, and one watcher cycle re-runs the one hour those
 * events belong to. Real dev server and PostgreSQL; the real commands as child processes. Data generated for
 * 2019-03-08 (no other test file uses that day).
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { generate } from '../src/datagen/generate';
import { eventFileKey } from '../src/source';
import { s3Client } from '../src/source/s3';
import { expectedFor } from './support/expected';
import { count, testTmp, uniqueQueue, useTemporalEnv, useTestDatabase, withWorker } from './support/helpers';
import { startMoto } from './support/moto';
import { runCommand, type Background } from './support/processes';

const BUCKET = 'sparkify-late';
const env = useTemporalEnv();
const db = useTestDatabase();
let moto: Background;

beforeAll(async () => {
  // The worker's environment: endpoint override, and credentials that must never leave it.
  moto = await startMoto(`secret-${randomUUID()}`);
  await s3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
}, 120_000);

afterAll(async () => {
  await moto?.stop('SIGTERM');
});

async function put(key: string, body: Buffer | string): Promise<void> {
  await s3Client().send(new PutObjectCommand({ Bucket: BUCKET, Key: `late/${key}`, Body: body }));
}

test('Must-show 4 (S3 mocked by moto): a re-uploaded day file with a new ETag re-runs the hour its new events belong to', async () => {
  const dir = path.join(testTmp(), `late-s3-${process.pid}`);
  await generate({ out: dir, start: '2019-03-08', days: 1, eventsPerDay: 800, songs: 80, seed: 1404 });
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  await Promise.all(
    files.map(async (f) => {
      const full = path.join(f.parentPath, f.name);
      await put(path.relative(dir, full), await readFile(full));
    }),
  );
  const source = `s3://${BUCKET}/late`;
  const key = eventFileKey('2019-03-08');
  const taskQueue = uniqueQueue('late-s3');
  const deployment = `lates3-${randomUUID().slice(0, 8)}`;
  const cli = {
    ...process.env,
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TASK_QUEUE: taskQueue,
    SPARKIFY_DEPLOYMENT: deployment,
    WAREHOUSE_URL: db.url,
    SOURCE_URL: source,
  };
  await withWorker(env, { taskQueue, pool: db.pool, source }, async () => {
    const backfill = await runCommand(
      'npm',
      ['run', '-s', 'backfill', '--', '--from', '2019-03-08T00:00Z', '--to', '2019-03-08T06:00Z', '--concurrency', '3'],
      cli,
      300_000,
    );
    expect(backfill.code).toBe(0);
    const etagBefore = (await s3Client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: `late/${key}` }))).ETag;

    // Ten more plays of 02:00-03:00 appended, and the object uploaded again.
    const text = await readFile(path.join(dir, key), 'utf8');
    const template = JSON.parse(text.split('\n').find((l) => l.includes('"NextSong"'))!) as Record<string, unknown>;
    const late = Array.from({ length: 10 }, (_, i) =>
      JSON.stringify({ ...template, ts: Date.parse('2019-03-08T02:30Z') + i, sessionId: 70000 + i, itemInSession: 0 }),
    );
    const corrected = text.trimEnd() + '\n' + late.join('\n') + '\n';
    await put(key, corrected);
    await writeFile(path.join(dir, key), corrected);
    const etagAfter = (await s3Client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: `late/${key}` }))).ETag;
    expect(etagAfter).not.toBe(etagBefore);

    const cycle = await runCommand('npm', ['run', '-s', 'late', '--', '--lookback', '5000d'], cli, 300_000);
    expect(cycle.stderr).toBe('');
    expect(cycle.code).toBe(0);
    expect(cycle.stdout).toContain(`source ${source}/: 1 event file(s); 1 read for the index (new or changed), 0 gone`);
    expect(cycle.stdout).toContain('re-ran 1 hour(s):');
    expect(cycle.stdout).toContain(
      `2019-03-08T02:00Z  ${deployment}-2019-03-08T03:00:00Z  succeeded  (late data: ${key} changed)`,
    );
  });
  const runs = await db.pool.query<{ hour: string; n: number }>(
    `SELECT to_char(interval_start, 'HH24') AS hour, count(*)::int AS n FROM etl_runs GROUP BY 1 ORDER BY 1`,
  );
  expect(runs.rows).toEqual(['00', '01', '02', '03', '04', '05'].map((hour) => ({ hour, n: hour === '02' ? 2 : 1 })));
  // What hour 02 holds now, read here from the local copy of what was uploaded.
  const expected = expectedFor(dir, '2019-03-08T02:00Z', '2019-03-08T03:00Z');
  expect(
    await count(
      db.pool,
      `SELECT count(*) FROM songplays WHERE start_time >= '2019-03-08 02:00' AND start_time < '2019-03-08 03:00'`,
    ),
  ).toBe(expected.songplays);
}, 600_000);
