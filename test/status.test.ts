/**
 * `npm run status`: the grid of hours from etl_runs and Temporal's visibility, as a child process against
 * the real dev server and a real PostgreSQL, with hours loaded, empty, failed, running and missing.
 */
import { randomUUID } from 'node:crypto';
import { planBackfill, runBackfill } from '../src/backfill';
import { makeInterval, workflowIdFor } from '../src/interval';
import { latestLoadedRun, staleReason } from '../src/status';
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
  const lateHour = hour('2018-11-01T06:00Z');
  try {
    await withWorker(env, { taskQueue, pool: db.pool }, async () => {
      // 22:00 and 23:00 on Oct 31 have no event file in the sample (the run warns and loads nothing): missing_file,
      // not empty, and not loaded
      const plan = await planBackfill(env.client, makeInterval('2018-10-31T22:00Z', '2018-11-01T03:00Z'), {
        reprocess: 'failed',
        deployment,
      });
      const outcomes = await runBackfill(env.client, plan, { taskQueue, concurrency: 5 });
      expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('completed'));
      // an hour loaded after the failed, running and missing ones: "loaded through" is the end of the latest run
      await env.client.workflow.execute('SparkifyEtl', {
        taskQueue,
        workflowId: workflowIdFor(lateHour, deployment),
        args: [lateHour],
      });
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
    // from 21:00: a missing hour first, which does not hold "loaded through" back either
    const args = ['run', '-s', 'status', '--', '--from', '2018-10-31T21:00Z', '--to', '2018-11-01T07:00Z'];
    const text = await runCommand('npm', args, cliEnv);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const failedId = workflowIdFor(failedHour, deployment);
    expect(text.stdout.split('\n')).toEqual([
      `${deployment}: hours 2018-10-31T21:00Z .. 2018-11-01T07:00Z (UTC, each cell the hour's data)`,
      '',
      'hour        00     06     12     18',
      '2018-10-31                          .??',
      '2018-11-01  ###X>. #',
      '',
      'legend: # loaded  - empty (no events)  ~ stale (source changed since the load)  ? missing file (its day file was not in the source)  X failed  > running  . missing (no run yet)',
      'totals: loaded 4  empty 0  stale 0  missing_file 2  failed 1  running 1  missing 2  (10 hours)',
      'loaded through 2018-11-01T07:00Z (every hour since 2018-11-01T06:00Z)',
      '',
      'failed hours:',
      expect.stringMatching(new RegExp(`^ {2}2018-11-01T03h {2}${failedId} {2}stageEvents: .*/no/such/source/folder`)),
      '',
      "hours whose day file was missing (loaded without it; the file's arrival re-runs them):",
      `  2018-10-31T22h  ${deployment}-2018-10-31T23:00:00Z  missing: log_data/2018/10/2018-10-31-events.json`,
      `  2018-10-31T23h  ${deployment}-2018-11-01T00:00:00Z  missing: log_data/2018/10/2018-10-31-events.json`,
      '',
    ]);

    const json = await runCommand('npm', [...args, '--json'], cliEnv);
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout) as {
      hours: { start: string; state: string; workflowId?: string; events?: number; error?: string }[];
      totals: Record<string, number>;
      loadedThrough: string;
      loadedSince: string;
    };
    expect(status.totals).toEqual({
      loaded: 4,
      empty: 0,
      stale: 0,
      missing_file: 2,
      failed: 1,
      running: 1,
      missing: 2,
    });
    expect(status.loadedThrough).toBe('2018-11-01T07:00:00.000Z');
    expect(status.loadedSince).toBe('2018-11-01T06:00:00.000Z');
    expect(status.hours.map((h) => [h.start.slice(0, 13), h.state])).toEqual([
      ['2018-10-31T21', 'missing'],
      ['2018-10-31T22', 'missing_file'],
      ['2018-10-31T23', 'missing_file'],
      ['2018-11-01T00', 'loaded'],
      ['2018-11-01T01', 'loaded'],
      ['2018-11-01T02', 'loaded'],
      ['2018-11-01T03', 'failed'],
      ['2018-11-01T04', 'running'],
      ['2018-11-01T05', 'missing'],
      ['2018-11-01T06', 'loaded'],
    ]);
    expect(status.hours[1]).toMatchObject({
      events: 0,
      workflowId: `${deployment}-2018-10-31T23:00:00Z`,
      missingFiles: ['log_data/2018/10/2018-10-31-events.json'],
    });
    expect(status.hours[3]!.events).toBeGreaterThan(0);
    expect(status.hours[6]).toMatchObject({ workflowId: failedId, error: expect.stringMatching(/^stageEvents: /) });
    expect(status.hours[7]).toMatchObject({ workflowId: runningId });
  } finally {
    await env.client.workflow
      .getHandle(runningId)
      .terminate('test over')
      .catch(() => undefined);
  }
});

test('"loaded through" is the end of the latest contiguous run of loaded hours; empty hours count as loaded, hours whose day file was missing do not', () => {
  const hours = (cells: string) =>
    [...cells].map((c, i) => ({
      start: new Date(Date.UTC(2018, 10, 1, i)).toISOString(),
      end: new Date(Date.UTC(2018, 10, 1, i + 1)).toISOString(),
      state: (
        { '#': 'loaded', '-': 'empty', '?': 'missing_file', X: 'failed', '>': 'running', '.': 'missing' } as const
      )[c as '#']!,
    }));
  const run = (cells: string) => {
    const r = latestLoadedRun(hours(cells));
    return r && `${r.since.slice(11, 13)}..${r.through.slice(11, 13)}`;
  };
  expect(run('##-#')).toBe('00..04');
  expect(run('.###')).toBe('01..04'); // a missing first hour holds nothing back
  expect(run('##X##.')).toBe('03..05'); // nor a failed one; nor the missing hour after the run
  expect(run('#.#--')).toBe('02..05'); // hours with no events are loaded
  expect(run('##>')).toBe('00..02');
  expect(run('##?#')).toBe('03..04'); // an hour whose day file was missing is not loaded
  expect(run('##??')).toBe('00..02');
  expect(run('X.>')).toBeUndefined();
  expect(run('')).toBeUndefined();
});

test('a date as --to includes that day, in status and backfill alike', async () => {
  const deployment = `status-days-${randomUUID().slice(0, 8)}`;
  const cliEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    WAREHOUSE_URL: db.url,
    SPARKIFY_DEPLOYMENT: deployment,
  };
  const status = await runCommand(
    'npm',
    ['run', '-s', 'status', '--', '--from', '2018-11-01', '--to', '2018-11-02', '--json'],
    cliEnv,
  );
  expect(status.stderr).toBe('');
  const grid = JSON.parse(status.stdout) as { from: string; to: string; hours: unknown[] };
  expect([grid.from, grid.to, grid.hours.length]).toEqual(['2018-11-01T00:00:00.000Z', '2018-11-03T00:00:00.000Z', 48]);
  const plan = await runCommand(
    'npm',
    ['run', '-s', 'backfill', '--', '--from', '2018-11-01', '--to', '2018-11-02', '--dry-run'],
    cliEnv,
  );
  expect(plan.stderr).toBe('');
  expect(plan.stdout.split('\n')[0]).toBe(
    'backfill 2018-11-01T00:00:00.000Z .. 2018-11-03T00:00:00.000Z: 48 hour(s): 48 to run, 0 running (joined), 0 skipped (reprocess=failed)',
  );
  // one day: --from and --to the same date
  const one = await runCommand(
    'npm',
    ['run', '-s', 'status', '--', '--from', '2018-11-01', '--to', '2018-11-01'],
    cliEnv,
  );
  expect(one.stdout).toContain(`${deployment}: hours 2018-11-01T00:00Z .. 2018-11-02T00:00Z`);
  // the far end of the calendar: said plainly, at once
  const far = await runCommand(
    'npm',
    ['run', '-s', 'status', '--', '--from', '9999-12-30', '--to', '9999-12-31'],
    cliEnv,
  );
  expect(far.code).toBe(2);
  expect(far.stdout).toBe('');
  expect(far.stderr).toContain(
    'error: --to 9999-12-31 (to the end of that day) is past the latest time this tool handles, 9999-12-31T23:00Z; give an earlier --to',
  );
});

test("a stale hour's reason shows a file name with control characters on one printable line", () => {
  const reason = staleReason(
    { 'log_data/a\u001b[2J\rb.json': 'x' },
    { 'log_data/a\u001b[2J\rb.json': 'y', 'c\nd.json': 'z' },
  );
  expect(reason).toBe('late data: c\\u000ad.json added, log_data/a\\u001b[2J\\u000db.json changed');
  expect([...reason].filter((c) => c.charCodeAt(0) < 0x20)).toEqual([]);
  // a day file recorded missing: its arrival is "added", its going "removed"
  expect(staleReason({ 'a.json': 'missing' }, { 'a.json': 'd1' })).toBe('late data: a.json added');
  expect(staleReason({ 'a.json': 'd1' }, { 'a.json': 'missing' })).toBe('late data: a.json removed');
  expect(staleReason({ 'a.json': 'missing', 'b.json': 'd1' }, { 'a.json': 'missing' })).toBe(
    'late data: b.json removed',
  );
});
