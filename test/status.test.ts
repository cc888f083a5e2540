/**
 * `npm run status`: the grid of hours from etl_runs and Temporal's visibility, as a child process against
 * the real dev server and a real PostgreSQL, with hours loaded, empty, failed, running and missing.
 */
import { randomUUID } from 'node:crypto';
import { planBackfill, runBackfill } from '../src/backfill';
import { makeInterval, workflowIdFor } from '../src/interval';
import { useTemporalEnv, useTestDatabase, uniqueQueue, withWorker } from './support/helpers';
import { runCommand } from './support/processes';

const env = useTemporalEnv();
const db = useTestDatabase();

const hour = (start: string) => makeInterval(start, new Date(Date.parse(start) + 3_600_000).toISOString());

test('status prints a grid with loaded, empty, failed, running and missing hours, and the same as --json', async () => {
  const deployment = `status-${randomUUID().slice(0, 8)}`;
  const taskQueue = uniqueQueue('status');
  const idle = uniqueQueue('status-idle'); // no worker: a run started there stays running
  const failedHour = hour('2018-11-01T03:00Z');
  const runningHour = hour('2018-11-01T04:00Z');
  const runningId = workflowIdFor(runningHour, deployment);
  try {
    await withWorker(env, { taskQueue, pool: db.pool }, async () => {
      // 22:00 and 23:00 on Oct 31 have no event file in the sample (the run warns and loads nothing): empty
      const plan = await planBackfill(env.client, makeInterval('2018-10-31T22:00Z', '2018-11-01T03:00Z'), {
        reprocess: 'failed',
        deployment,
      });
      const outcomes = await runBackfill(env.client, plan, { taskQueue, concurrency: 5 });
      expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('completed'));
      await expect(
        env.client.workflow.execute('SparkifyEtl', {
          taskQueue,
          workflowId: workflowIdFor(failedHour, deployment),
          args: [{ ...failedHour, source: '/no/such/source/folder' }],
        }),
      ).rejects.toThrow();
    });
    await env.client.workflow.start('SparkifyEtl', { taskQueue: idle, workflowId: runningId, args: [runningHour] });

    const cliEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
      WAREHOUSE_URL: db.url,
      SPARKIFY_DEPLOYMENT: deployment,
    };
    const args = ['run', '-s', 'status', '--', '--from', '2018-10-31T22:00Z', '--to', '2018-11-01T06:00Z'];
    const text = await runCommand('npm', args, cliEnv);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const failedId = workflowIdFor(failedHour, deployment);
    expect(text.stdout.split('\n')).toEqual([
      `${deployment}: hours 2018-10-31T22:00Z .. 2018-11-01T06:00Z (UTC, each cell the hour's data)`,
      '',
      'hour        00     06     12     18',
      '2018-10-31                           --',
      '2018-11-01  ###X>.',
      '',
      'legend: # loaded  - empty (no events)  X failed  > running  . missing (no run yet)',
      '        stale (source changed since the load) is not tracked yet: it needs the late-data watcher',
      'totals: loaded 3  empty 2  failed 1  running 1  missing 1  (8 hours)',
      'loaded through 2018-11-01T03:00Z',
      '',
      'failed hours:',
      expect.stringMatching(new RegExp(`^ {2}2018-11-01T03h {2}${failedId} {2}stageEvents: .*/no/such/source/folder`)),
      '',
    ]);

    const json = await runCommand('npm', [...args, '--json'], cliEnv);
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout) as {
      hours: { start: string; state: string; workflowId?: string; events?: number; error?: string }[];
      totals: Record<string, number>;
      loadedThrough: string;
    };
    expect(status.totals).toEqual({ loaded: 3, empty: 2, failed: 1, running: 1, missing: 1 });
    expect(status.loadedThrough).toBe('2018-11-01T03:00:00.000Z');
    expect(status.hours.map((h) => [h.start.slice(0, 13), h.state])).toEqual([
      ['2018-10-31T22', 'empty'],
      ['2018-10-31T23', 'empty'],
      ['2018-11-01T00', 'loaded'],
      ['2018-11-01T01', 'loaded'],
      ['2018-11-01T02', 'loaded'],
      ['2018-11-01T03', 'failed'],
      ['2018-11-01T04', 'running'],
      ['2018-11-01T05', 'missing'],
    ]);
    expect(status.hours[0]).toMatchObject({ events: 0, workflowId: `${deployment}-2018-10-31T23:00:00Z` });
    expect(status.hours[2]!.events).toBeGreaterThan(0);
    expect(status.hours[5]).toMatchObject({ workflowId: failedId, error: expect.stringMatching(/^stageEvents: /) });
    expect(status.hours[6]).toMatchObject({ workflowId: runningId });
  } finally {
    await env.client.workflow
      .getHandle(runningId)
      .terminate('test over')
      .catch(() => undefined);
  }
});
