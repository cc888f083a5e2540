/**
 * Determinism across versions: histories recorded from earlier versions of SparkifyEtl (test/histories)
 * are replayed against today's workflow code. A change that would break a run in flight during a deploy
 * (a step added, removed or reordered without `patched`) fails here, not in production.
 *
 * `RECORD_HISTORIES=1 npx jest test/replay.test.ts` records the current version's histories under today's
 * date, next to the older ones (never overwriting them); `RECORD_HISTORIES=<label>` adds a label after the
 * date, for a second version on one day.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowIdFor } from '../src/interval';
import { intervalSearchAttributes } from '../src/search-attributes';
import { eventFileKey } from '../src/source';
import { useTemporalEnv, useTestDatabase, need, testData, testTmp, uniqueQueue, withWorker } from './support/helpers';
import { ROOT } from './support/processes';

const DIR = path.join(ROOT, 'test/histories');

const RUNS: { name: string; input: Record<string, unknown>; fails?: boolean; attributes?: boolean }[] = [
  { name: 'hour-succeeded', input: { start: '2018-11-02T15:00Z', end: '2018-11-02T16:00Z' } },
  {
    name: 'check-failed',
    input: {
      start: '2018-11-02T16:00Z',
      end: '2018-11-02T17:00Z',
      checks: [{ name: 'too_few_users', table: 'users', minRows: 1_000_000 }],
    },
    fails: true,
  },
  {
    // fails in staging: the failure path records the run in etl_runs and drops its staging
    name: 'staging-failed',
    input: { start: '2018-11-02T17:00Z', end: '2018-11-02T18:00Z', source: '/no/such/source/folder' },
    fails: true,
  },
  // A backfill's runs: the steps as local activities (SparkifyEtlInput.localSteps, the local-steps patch)
  {
    name: 'backfill-hour-succeeded',
    input: { start: '2018-11-02T18:00Z', end: '2018-11-02T19:00Z', localSteps: true },
  },
  {
    name: 'backfill-check-failed',
    input: {
      start: '2018-11-02T19:00Z',
      end: '2018-11-02T20:00Z',
      localSteps: true,
      checks: [{ name: 'too_few_users', table: 'users', minRows: 1_000_000 }],
    },
    fails: true,
  },
  {
    name: 'backfill-staging-failed',
    input: { start: '2018-11-02T20:00Z', end: '2018-11-02T21:00Z', source: '/no/such/source/folder', localSteps: true },
    fails: true,
  },
  // Started as etl and backfill start runs: the interval's search attributes set at the start
  {
    name: 'etl-started-hour-succeeded',
    input: { start: '2018-11-02T22:00Z', end: '2018-11-02T23:00Z' },
    attributes: true,
  },
  // Every step as an ordinary activity (localSteps: false); without it, a sample hour's steps are local
  {
    name: 'activities-hour-succeeded',
    input: { start: '2018-11-02T21:00Z', end: '2018-11-02T22:00Z', localSteps: false },
  },
  {
    name: 'append-mode-day',
    input: {
      start: '2018-11-01T00:00Z',
      end: '2018-11-02T00:00Z',
      loadModes: { songplays: 'append', users: 'append' },
    },
  },
];

if (process.env.RECORD_HISTORIES) {
  const env = useTemporalEnv();
  const db = useTestDatabase();
  test('record the histories of this version', async () => {
    const day = new Date().toISOString().slice(0, 10);
    await mkdir(DIR, { recursive: true });
    for (const run of RUNS) {
      // RECORD_HISTORIES=<label> tells apart two versions recorded on one day
      const label = process.env.RECORD_HISTORIES === '1' ? '' : `${process.env.RECORD_HISTORIES}-`;
      const file = path.join(DIR, `${day}-${label}${run.name}.json`);
      if (existsSync(file)) continue;
      const taskQueue = uniqueQueue('record');
      const workflowId = `record-${run.name}-${taskQueue}`;
      await withWorker(env, { taskQueue, pool: db.pool }, async () => {
        const result = env.client.workflow.execute('SparkifyEtl', {
          taskQueue,
          workflowId,
          args: [run.input],
          ...(run.attributes
            ? { typedSearchAttributes: intervalSearchAttributes(run.input as { start: string; end: string }) }
            : {}),
        });
        if (run.fails) await expect(result).rejects.toThrow();
        else await result;
      });
      await writeFile(file, exportHistory(workflowId));
    }
    // A LateDataWatcher cycle that re-runs one hour (a child SparkifyEtl run): its own copy of the sample, an hour
    // loaded, then a line of that hour appended to its day file.
    const label = process.env.RECORD_HISTORIES === '1' ? '' : `${process.env.RECORD_HISTORIES}-`;
    const file = path.join(DIR, `${day}-${label}late-data-watcher-cycle.json`);
    if (!existsSync(file)) {
      const source = path.join(testTmp(), `record-watcher-${process.pid}`);
      await cp(testData(), source, { recursive: true });
      const taskQueue = uniqueQueue('record');
      const deployment = `record-${taskQueue}`;
      const H = { start: '2018-11-02T15:00:00.000Z', end: '2018-11-02T16:00:00.000Z' };
      const workflowId = `${deployment}-late-data-now`;
      await withWorker(env, { taskQueue, pool: db.pool, source }, async () => {
        await env.client.workflow.execute('SparkifyEtl', {
          taskQueue,
          workflowId: workflowIdFor(H, deployment),
          args: [{ ...H, source }],
        });
        const day = path.join(source, eventFileKey('2018-11-02'));
        const line = (await readFile(day, 'utf8')).split('\n').find((l) => l.includes('"NextSong"'))!;
        await appendFile(day, `${line.replace(/"ts":\d+/, `"ts":${Date.parse(H.start) + 1234}`)}\n`);
        const cycle = await env.client.workflow.execute('LateDataWatcher', {
          taskQueue,
          workflowId,
          args: [{ deployment, lookback: '3000d', runInput: { source } }],
        });
        expect(cycle.reruns).toHaveLength(1);
      });
      await writeFile(file, exportHistory(workflowId));
    }
  });
}

/** The CLI's export of a workflow's history: the same JSON as the Web UI's download. */
function exportHistory(workflowId: string): string {
  return (
    execFileSync(
      need('SPARKIFY_TEST_TEMPORAL_CLI'),
      [
        'workflow',
        'show',
        '--workflow-id',
        workflowId,
        '--address',
        need('SPARKIFY_TEST_TEMPORAL_ADDRESS'),
        '--output',
        'json',
      ],
      { encoding: 'utf8' },
    ).trim() + '\n'
  );
}

const files = existsSync(DIR)
  ? readdirSync(DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];

test('there are recorded histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(RUNS.length);
});

test.each(files)('%s replays against the current workflow code', async (file) => {
  const history = historyFromJSON(JSON.parse(await readFile(path.join(DIR, file), 'utf8')));
  // a whole recorded run: a small hour's fast path is eight events (started, one workflow task, markers, completed)
  expect(history.events?.length).toBeGreaterThanOrEqual(8);
  await Worker.runReplayHistory({ workflowBundle: { codePath: need('SPARKIFY_TEST_BUNDLE') } }, history, file);
});
