/**
 * Late and corrected data (issue #14): every event reaches the run of its hour, whatever file it sits in, and
 * the late-data watcher re-runs exactly the hours whose source changed since they were loaded. Real dev server,
 * real PostgreSQL, the real commands as child processes. This file's data: generated for 2019-03-04 ..
 * 2019-03-06 (no other test file uses those days), each test under its own deployment name.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { generate } from '../src/datagen/generate';
import { eventFileKey } from '../src/source';
import { expectedFor } from './support/expected';
import {
  connectTestTemporal,
  createTestDatabase,
  testTmp,
  uniqueQueue,
  withWorker,
  type TestDatabase,
} from './support/helpers';
import { runCommand } from './support/processes';

let env: TestWorkflowEnvironment;
let db: TestDatabase;
beforeAll(async () => {
  env = await connectTestTemporal();
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
  await env?.teardown();
});

const DAYS = { start: '2019-03-04', days: 3, eventsPerDay: 1200, songs: 120 };

/** A generated data set of its own in the test's temporary folder. */
async function dataset(label: string, seed: number): Promise<string> {
  const dir = path.join(testTmp(), `late-${label}-${process.pid}`);
  await generate({ out: dir, ...DAYS, seed });
  return dir;
}

async function lines(dir: string, day: string): Promise<string[]> {
  return (await readFile(path.join(dir, eventFileKey(day)), 'utf8')).split('\n').filter((l) => l.trim() !== '');
}

const ts = (line: string) => (JSON.parse(line) as { ts: number }).ts;

function cliEnv(taskQueue: string, deployment: string, source: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: 'default',
    TASK_QUEUE: taskQueue,
    SPARKIFY_DEPLOYMENT: deployment,
    WAREHOUSE_URL: db.url,
    SOURCE_URL: source,
  };
}

test("Must-show 1: a NextSong event of hour H in the previous day's file is loaded by H's run and counted by the reconciliation check", async () => {
  const dir = await dataset('ms1', 1401);
  const H = { start: '2019-03-05T10:00:00.000Z', end: '2019-03-05T11:00:00.000Z' };
  const [startMs, endMs] = [Date.parse(H.start), Date.parse(H.end)];
  // Move one NextSong event of H from its own day's file to the end of the day before's.
  const own = await lines(dir, '2019-03-05');
  const moved = own.find((l) => l.includes('"page":"NextSong"') && ts(l) >= startMs && ts(l) < endMs)!;
  expect(moved).toBeDefined();
  await writeFile(path.join(dir, eventFileKey('2019-03-05')), own.filter((l) => l !== moved).join('\n') + '\n');
  await appendFile(path.join(dir, eventFileKey('2019-03-04')), moved + '\n');
  // What H holds, from the files as they now are, read here (not by the SQL under test).
  const expected = expectedFor(dir, H.start, H.end);
  const movedTs = ts(moved);

  const taskQueue = uniqueQueue('late-ms1');
  const deployment = `late1-${randomUUID().slice(0, 8)}`;
  const etl = await withWorker(env, { taskQueue, pool: db.pool, source: dir }, () =>
    runCommand('npm', ['run', '-s', 'etl', '--', '--from', H.start, '--to', H.end], cliEnv(taskQueue, deployment, dir)),
  );
  expect(etl.stderr).toBe('');
  expect(etl.code).toBe(0);

  const plays = await db.pool.query<{ n: string; moved: string }>(
    `SELECT count(*) AS n, count(*) FILTER (WHERE start_time = timestamp 'epoch' + $3::bigint * interval '1 ms') AS moved
       FROM songplays WHERE start_time >= $1::timestamptz AT TIME ZONE 'UTC' AND start_time < $2::timestamptz AT TIME ZONE 'UTC'`,
    [H.start, H.end, movedTs],
  );
  expect(Number(plays.rows[0]!.n)).toBe(expected.songplays);
  expect(Number(plays.rows[0]!.moved)).toBeGreaterThanOrEqual(1);

  // The reconciliation check saw the moved event among the staged NextSong events, and passed.
  const run = await db.pool.query<{ status: string; checks: { name: string; passed: boolean; detail: string }[] }>(
    `SELECT status, checks FROM etl_runs WHERE workflow_id LIKE $1 ORDER BY finished_at DESC LIMIT 1`,
    [`${deployment}-%`],
  );
  expect(run.rows[0]!.status).toBe('succeeded');
  const reconciliation = run.rows[0]!.checks.find((c) => c.name === 'songplays_match_staged_nextsong')!;
  expect(reconciliation.passed).toBe(true);
  expect(reconciliation.detail).toContain(`songplays in interval = ${expected.songplays}`);

  // The run recorded both files it read for H.
  const reads = await db.pool.query<{ sources: Record<string, string> }>(
    `SELECT sources FROM run_hour_sources WHERE hour_start = $1::timestamptz AT TIME ZONE 'UTC'`,
    [H.start],
  );
  expect(reads.rows).toHaveLength(1);
  expect(Object.keys(reads.rows[0]!.sources).sort()).toEqual([eventFileKey('2019-03-04'), eventFileKey('2019-03-05')]);
}, 240_000);
