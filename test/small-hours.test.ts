/**
 * Small hours take one workflow task: a run that leaves `localSteps` unset stages, loads, checks and records a
 * sample hour as local activities, and its audit record drops its staging. What is not small, or fails its local
 * attempt with what may heal, goes on as an ordinary activity, shown as the Web UI shows pending activities.
 */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { createActivities } from '../src/activities';
import { historyText } from './support/history';
import { runActivity } from './support/activities';
import { generate } from '../src/datagen/generate';
import { intervalKey, workflowIdFor } from '../src/interval';
import { eventFileKey, openSource } from '../src/source';
import {
  DEFAULT_LOAD_MODES,
  TABLES,
  type LoadMode,
  type SmallHourInput,
  type SparkifyEtlInput,
  type SparkifyEtlResult,
} from '../src/types';
import { postgres } from '../src/warehouse/dialect';
import { createPool } from '../src/warehouse/pool';
import { expectedFor, readSongs } from './support/expected';
import { Background, programEnv, runCommand } from './support/processes';
import {
  count,
  createTestDatabase,
  need,
  sampleWithEditedFile,
  testData,
  testTmp,
  uniqueQueue,
  untilBackend,
  useTemporalEnv,
  useTestDatabase,
  withWorker,
  type TemporalEnv,
  type TestDatabase,
} from './support/helpers';

const env = useTemporalEnv();
const db = useTestDatabase();

type Event = temporal.api.history.v1.IHistoryEvent;

async function history(e: TemporalEnv, workflowId: string): Promise<Event[]> {
  return (await e.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}
const scheduled = (events: Event[]) =>
  events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
const patchMarkers = (events: Event[], name: string) =>
  events.filter((e) => e.markerRecordedEventAttributes?.markerName === name).length;
const workflowTasks = (events: Event[]) => events.filter((e) => e.workflowTaskCompletedEventAttributes).length;

async function stagingTablesLeft(pool = db.pool): Promise<number> {
  return count(pool, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'staging_events_%'`);
}

test('a sample hour is one workflow task: one local activity that stages, loads, checks and records, one patch marker, staging dropped by the record', async () => {
  const taskQueue = uniqueQueue('small-hour');
  const workflowId = `small-hour-${taskQueue}`;
  const result = await withWorker(env, { taskQueue, pool: db.pool }, () =>
    env.client.workflow.execute('SparkifyEtl', {
      taskQueue,
      workflowId,
      args: [{ start: '2018-11-02T15:00Z', end: '2018-11-02T16:00Z' } satisfies SparkifyEtlInput],
    }),
  );
  expect((result as SparkifyEtlResult).staged.events.rowsStaged).toBeGreaterThan(0);
  expect((result as SparkifyEtlResult).warnings).toEqual([]);
  const events = await history(env, workflowId);
  expect(workflowTasks(events)).toBe(1);
  expect(scheduled(events)).toEqual([]);
  // the fast path: runSmallHour, which did stageHour, loadTables and finishRun
  const steps = events
    .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
    .map((e) => historyText(e));
  expect(steps).toHaveLength(1);
  expect(steps[0]).toContain('runSmallHour');
  for (const part of ['"staged"', '"loads"', '"finished"']) expect(steps[0]).toContain(part);
  expect(patchMarkers(events, 'core_patch')).toBe(1);
  expect(await stagingTablesLeft()).toBe(0);
  expect(await count(db.pool, 'SELECT count(*) FROM run_staging')).toBe(0);
  expect(
    await count(db.pool, `SELECT count(*) FROM etl_runs WHERE workflow_id = $1 AND status = 'succeeded'`, [workflowId]),
  ).toBe(1);
});

test('localSteps: false runs every step as an activity; the record still drops the staging', async () => {
  const taskQueue = uniqueQueue('activities');
  const workflowId = `activities-${taskQueue}`;
  await withWorker(env, { taskQueue, pool: db.pool }, () =>
    env.client.workflow.execute('SparkifyEtl', {
      taskQueue,
      workflowId,
      args: [{ start: '2018-11-02T16:00Z', end: '2018-11-02T17:00Z', localSteps: false } satisfies SparkifyEtlInput],
    }),
  );
  const types = scheduled(await history(env, workflowId)).map((a) => a.activityType?.name);
  expect(types.sort()).toEqual([
    'loadTable',
    'loadTable',
    'loadTable',
    'loadTable',
    'loadTable',
    'stageEvents',
    'stageSongs',
  ]);
  expect(await stagingTablesLeft()).toBe(0);
});

test('every step of a failed run is labelled in the Web UI, the audit record of the failure too', async () => {
  const taskQueue = uniqueQueue('labels');
  const workflowId = `labels-${taskQueue}`;
  await withWorker(env, { taskQueue, pool: db.pool }, async () => {
    await expect(
      env.client.workflow.execute('SparkifyEtl', {
        taskQueue,
        workflowId,
        args: [{ start: '2018-11-02T18:00Z', end: '2018-11-02T19:00Z', source: '/no/such/source/folder' }],
      }),
    ).rejects.toThrow();
  });
  const events = await history(env, workflowId);
  const steps = events.filter(
    (e) =>
      e.markerRecordedEventAttributes?.markerName === 'core_local_activity' || e.activityTaskScheduledEventAttributes,
  );
  const labels = steps.map((e) => Buffer.from(e.userMetadata?.summary?.data ?? []).toString());
  expect(labels.length).toBeGreaterThanOrEqual(4);
  for (const label of labels) expect(label).not.toBe('');
  expect(labels.join('\n')).toContain('the audit record of the failed run');
});

describe('a load whose local attempt fails with what may heal', () => {
  let locker: PgClient | undefined;
  afterAll(async () => {
    await locker?.end().catch(() => undefined);
  });

  test('goes on as an activity, listed with its attempt and last failure as the Web UI lists it, and succeeds', async () => {
    const taskQueue = uniqueQueue('first-locally');
    const workflowId = `first-locally-${taskQueue}`;
    // This worker's statements time out after 1.5 s; another session holds the users table.
    const pool = createPool({ url: db.url, max: 12, statementTimeoutMs: 1500 });
    locker = new PgClient({ connectionString: db.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
    try {
      await withWorker(env, { taskQueue, pool }, async () => {
        const handle = await env.client.workflow.start('SparkifyEtl', {
          taskQueue,
          workflowId,
          args: [
            { start: '2018-11-02T17:00Z', end: '2018-11-02T18:00Z', retryBudget: '2m' } satisfies SparkifyEtlInput,
          ],
        });
        // What the Web UI's "Pending Activities" shows (DescribeWorkflowExecution)
        let pending: {
          activityType?: { name?: string | null } | null;
          lastFailure?: { message?: string | null } | null;
        }[] = [];
        const deadline = Date.now() + 60_000;
        while (!pending.some((p) => p.lastFailure?.message?.includes('57014'))) {
          if (Date.now() > deadline) throw new Error(`no pending load with its failure: ${JSON.stringify(pending)}`);
          await new Promise((r) => setTimeout(r, 200));
          pending = (await handle.describe()).raw.pendingActivities ?? [];
        }
        expect(pending.map((p) => p.activityType?.name)).toEqual(['loadTable']);
        await locker!.query('COMMIT');
        const result = (await handle.result()) as SparkifyEtlResult;
        expect(result.loads.find((l) => l.table === 'users')?.rowsWritten).toBeGreaterThanOrEqual(0);
      });
    } finally {
      await pool.end();
    }
    const events = await history(env, workflowId);
    // only the users load went on as an activity
    expect(scheduled(events).map((a) => a.activityType?.name)).toEqual(['loadTable']);
    // with its label, as the Web UI shows it
    expect(events.find((e) => e.activityTaskScheduledEventAttributes)?.userMetadata?.summary?.data).toBeTruthy();
    expect(await stagingTablesLeft()).toBe(0);
  });
});

test('a day with over 64 MiB to read stages and loads as activities; one hour of it reads its part of the file, locally', async () => {
  const source = path.join(testTmp(), `big-day-${process.pid}`);
  // about 430 bytes an event: 170,000 events make a day file of about 70 MiB
  await generate({ out: source, start: '2018-11-01', days: 1, eventsPerDay: 170_000, songs: 50, seed: 5 });
  expect((await stat(path.join(source, eventFileKey('2018-11-01')))).size).toBeGreaterThan(64 * 2 ** 20);
  const taskQueue = uniqueQueue('big-day');
  const day = { start: '2018-11-01T00:00Z', end: '2018-11-02T00:00Z' };
  const hour = { start: '2018-11-01T12:00Z', end: '2018-11-01T13:00Z' };
  const [dayResult, hourResult] = (await withWorker(env, { taskQueue, pool: db.pool, source }, async () => [
    await env.client.workflow.execute('SparkifyEtl', {
      taskQueue,
      workflowId: `big-day-${taskQueue}`,
      args: [{ ...day, source } satisfies SparkifyEtlInput],
    }),
    await env.client.workflow.execute('SparkifyEtl', {
      taskQueue,
      workflowId: `big-hour-${taskQueue}`,
      args: [{ ...hour, source } satisfies SparkifyEtlInput],
    }),
  ])) as SparkifyEtlResult[];
  expect(dayResult!.staged.events.rowsStaged).toBeGreaterThan(150_000);
  const dayTypes = scheduled(await history(env, `big-day-${taskQueue}`)).map((a) => a.activityType?.name);
  // the day's 170,000 events: staged and loaded as activities (over 100,000 staged events)
  expect(dayTypes.sort()).toEqual(['loadTable', 'loadTable', 'loadTable', 'loadTable', 'loadTable', 'stageEvents']);
  // The hour, indexed by the day's run: about a 24th of the file to read, its lines only.
  expect(hourResult!.staged.events.rowsStaged).toBeGreaterThan(1000);
  expect(hourResult!.staged.events.linesRead).toBeLessThan(170_000 / 10);
  expect(scheduled(await history(env, `big-hour-${taskQueue}`))).toEqual([]);
  expect(hourResult!.checks.every((c) => c.passed)).toBe(true);
  expect(await stagingTablesLeft()).toBe(0);
}, 180_000);

test('a run recorded again (its worker killed after the record, before the history took it) shows the counts it recorded: npm run etl prints them, the Web UI reads them', async () => {
  // A warehouse of its own: no song file staged yet, so the first attempt stages the songs and the replay finds them
  // staged (and the dimension rows loaded).
  const own = await createTestDatabase();
  const deployment = uniqueQueue('again');
  const settings = programEnv({
    TEMPORAL_ADDRESS: need('SPARKIFY_TEST_TEMPORAL_ADDRESS'),
    TEMPORAL_NAMESPACE: 'default',
    SPARKIFY_DEPLOYMENT: deployment, // and the task queue
    WAREHOUSE_URL: own.url,
    SOURCE_URL: testData(),
  });
  const start = '2018-11-02T11:00:00.000Z';
  const end = '2018-11-02T12:00:00.000Z';
  const workflowId = workflowIdFor({ start, end }, deployment);
  const users = new PgClient({ connectionString: own.url });
  const registration = new PgClient({ connectionString: own.url });
  let first: Background | undefined;
  try {
    await users.connect();
    await registration.connect();
    first = new Background('npm', ['run', '-s', 'worker'], settings);
    await first.waitFor(/worker polling task queue/);
    // The first worker's loads wait for the users table until the test holds its run's staging registration: the
    // record then commits and its drop of the staging waits, before the history has taken any of the run's steps.
    await users.query('BEGIN');
    await users.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
    const etl = runCommand('npm', ['run', '-s', 'etl', '--', '--from', start, '--to', end], settings);
    etl.catch(() => undefined); // awaited below; a test that fails before leaves it to its own timeout
    const registered = 'SELECT 1 FROM run_staging WHERE workflow_id = $1';
    const deadline = Date.now() + 60_000;
    while ((await own.pool.query(registered, [workflowId])).rowCount === 0) {
      if (Date.now() > deadline) throw new Error(`the run's staging was never registered\n${first.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await registration.query('BEGIN');
    await registration.query(`${registered} FOR KEY SHARE`, [workflowId]);
    await users.query('COMMIT');
    const unregistering = `wait_event_type = 'Lock' AND query LIKE 'DELETE FROM run_staging%'`;
    await untilBackend(own, unregistering, "the record's drop of the run staging waiting", 20);
    const recorded = (
      await own.pool.query<{ rows: Record<string, number> }>(
        `SELECT rows FROM etl_runs WHERE workflow_id = $1 AND status = 'succeeded'`,
        [workflowId],
      )
    ).rows[0]?.rows;
    const expected = expectedFor(testData(), start, end);
    const songFiles = readSongs(testData()).length;
    expect(recorded).toEqual({
      staging_events: expected.staged,
      staging_songs: songFiles,
      songplays: expected.songplays,
      users: expected.users,
      songs: expected.songs,
      artists: expected.artists,
      time: expected.time,
    });
    // The worker dies; the statement it was waiting in dies with it (and never runs).
    await first.stop('SIGKILL');
    await own.pool.query(
      `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = $1 AND ${unregistering}`,
      [own.name],
    );
    await registration.query('ROLLBACK');

    // The next worker replays the run from its start (its workflow task timed out): every step runs again.
    const printed = await withWorker(env, { taskQueue: deployment, pool: own.pool }, () => etl);
    expect(printed.code).toBe(0);
    const rowsOf = (step: string) => Number(new RegExp(`^${step}\\s+(\\d+)\\s+\\d+$`, 'm').exec(printed.stdout)?.[1]);
    expect({
      staging_events: rowsOf('stage events \\(1 file\\(s\\), \\d+ lines read\\)'),
      staging_songs: rowsOf('stage songs \\(\\d+ new of \\d+ files\\)'),
      songplays: rowsOf('load songplays \\(replace\\)'),
      users: rowsOf('load users \\(upsert[^)]*\\)'),
      songs: rowsOf('load songs \\(upsert[^)]*\\)'),
      artists: rowsOf('load artists \\(upsert[^)]*\\)'),
      time: rowsOf('load time \\(upsert[^)]*\\)'),
    }).toEqual(recorded);
    // the record kept its counts, and there is one
    expect(
      (await own.pool.query('SELECT rows FROM etl_runs WHERE workflow_id = $1', [workflowId])).rows.map((r) => r.rows),
    ).toEqual([recorded]);

    // The history: the first worker's workflow task timed out with nothing recorded, and the replay's steps
    // counted less (the songs found staged); the run's result, as the Web UI reads it, has the recorded counts.
    const events = await history(env, workflowId);
    expect(events.filter((e) => e.workflowTaskTimedOutEventAttributes)).toHaveLength(1);
    const staged = events.find((e) => historyText(e).includes('runSmallHour'));
    expect(historyText(staged)).toContain('"songsStaged":0');
    const ui = need('SPARKIFY_TEST_TEMPORAL_UI');
    const shown = (await (
      await fetch(
        `${ui}/api/v1/namespaces/default/workflows/${encodeURIComponent(workflowId)}/history?maximumPageSize=500`,
      )
    ).json()) as {
      history: {
        events: { workflowExecutionCompletedEventAttributes?: { result: { payloads: { data: string }[] } } }[];
      };
    };
    const completed = shown.history.events.find((e) => e.workflowExecutionCompletedEventAttributes);
    const result = JSON.parse(
      Buffer.from(completed!.workflowExecutionCompletedEventAttributes!.result.payloads[0]!.data, 'base64').toString(),
    ) as SparkifyEtlResult;
    expect(result.staged.songs.songsStaged).toBe(recorded!.staging_songs);
    expect(Object.fromEntries(result.loads.map((l) => [l.table, l.rowsWritten]))).toEqual({
      songplays: recorded!.songplays,
      users: recorded!.users,
      songs: recorded!.songs,
      artists: recorded!.artists,
      time: recorded!.time,
    });
    // and the run replays against today's workflow code (no command depends on the counts)
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: need('SPARKIFY_TEST_BUNDLE') } },
      await env.client.workflow.getHandle(workflowId).fetchHistory(),
      workflowId,
    );
  } finally {
    await first?.stop('SIGKILL');
    await users.end().catch(() => undefined);
    await registration.end().catch(() => undefined);
    await own.drop();
  }
}, 120_000);

describe('the steps themselves', () => {
  // a database of their own: no song file staged yet
  let unit: TestDatabase;
  beforeAll(async () => {
    unit = await createTestDatabase();
  });
  afterAll(async () => {
    await unit.drop();
  });
  const logger = new DefaultLogger('ERROR');
  const local = (info: Record<string, unknown> = {}) =>
    new MockActivityEnvironment({ isLocal: true, ...info }, { logger });
  const acts = () => createActivities({ pool: unit.pool, defaultSource: testData() });
  const H = { start: '2018-11-02T20:00:00.000Z', end: '2018-11-02T21:00:00.000Z' };
  const KEY = intervalKey(H);

  test('a local attempt over its limit reads nothing and hands the step over; an ordinary attempt ignores the limit', async () => {
    const a = acts();
    const input = { runKey: KEY, interval: H, source: '', maxErrors: 0, onMissingFile: 'warn' as const };
    const handed = await runActivity(a.stageEvents, [{ ...input, localLimitBytes: 1000 }], local());
    expect(handed).toMatchObject({ handedOver: true, rowsStaged: 0, linesRead: 0 });
    expect(await stagingTablesLeft(unit.pool)).toBe(0);
    const staged = await runActivity(
      a.stageEvents,
      [
        {
          ...input,
          localLimitBytes: 1000,
        },
      ],
      new MockActivityEnvironment(undefined, { logger }),
    );
    expect(staged.handedOver).toBeUndefined();
    expect(staged.rowsStaged).toBeGreaterThan(0);
    await runActivity(a.dropRunStaging, [{ runKey: KEY }], new MockActivityEnvironment(undefined, { logger }));

    const songs = await runActivity(
      a.stageSongs,
      [{ runKey: KEY, source: '', maxErrors: 0, localLimitFiles: 0 }],
      local(),
    );
    expect(songs).toMatchObject({ handedOver: true, filesStaged: 0 });
    expect(await count(unit.pool, 'SELECT count(*) FROM staged_song_files')).toBe(0);
  });

  test('runSmallHour does each part only when the one before did all of its part, and records what the workflow would', async () => {
    const a = acts();
    const ref = { runKey: KEY, stagingKey: `${KEY}_0000feed` };
    const input = (runId: string, over: Partial<SmallHourInput> = {}): SmallHourInput => ({
      stage: {
        events: { ...ref, interval: H, source: '', maxErrors: 0, onMissingFile: 'warn', localLimitBytes: 2 ** 26 },
        songs: { runKey: KEY, source: '', maxErrors: 0, localLimitFiles: 500 },
      },
      loads: TABLES.map((table) => ({ ...ref, interval: H, table, mode: DEFAULT_LOAD_MODES[table] })),
      loadRowsLimit: 100_000,
      checks: { ...ref, interval: H, builtin: true, checks: [] },
      record: { workflowId: 'small-hour-wf', runId, startedAt: H.start, interval: H, dropStaging: ref },
      ...over,
    });
    const records = () => count(unit.pool, `SELECT count(*) FROM etl_runs WHERE workflow_id = 'small-hour-wf'`);

    // more events than loadRowsLimit: staged only, and the run loads them as activities
    const large = await runActivity(a.runSmallHour, [input('run-1', { loadRowsLimit: 0 })], local());
    expect('done' in large.staged.events && large.staged.events.done.rowsStaged).toBeGreaterThan(0);
    expect(large.loads).toBeUndefined();
    expect(large.finished).toBeUndefined();
    expect(await stagingTablesLeft(unit.pool)).toBe(1);

    // a load that fails: the others are done, nothing is checked or recorded
    const bad = input('run-2');
    bad.loads[0] = { ...bad.loads[0]!, mode: 'upsert' as LoadMode }; // songplays takes no upsert
    const failedLoad = await runActivity(a.runSmallHour, [bad], local());
    expect(failedLoad.loads?.map((l) => ('done' in l ? 'done' : 'failed'))).toEqual([
      'failed',
      'done',
      'done',
      'done',
      'done',
    ]);
    expect(failedLoad.finished).toBeUndefined();
    expect(await records()).toBe(0);

    // all of it: the record holds the steps' counts and durations, and dropped the staging
    const all = await runActivity(a.runSmallHour, [input('run-3')], local());
    expect(all.finished?.checks.results.filter((c) => !c.passed)).toEqual([]);
    const row = (
      await unit.pool.query<{ status: string; rows: Record<string, number>; durations_ms: Record<string, number> }>(
        `SELECT status, rows, durations_ms FROM etl_runs WHERE workflow_id = 'small-hour-wf'`,
      )
    ).rows;
    expect(row).toHaveLength(1);
    expect(row[0]!.status).toBe('succeeded');
    const loads = all.loads!.map((l) => ('done' in l ? l.done : undefined));
    expect(row[0]!.rows).toEqual({
      staging_events: 'done' in all.staged.events ? all.staged.events.done.rowsStaged : -1,
      staging_songs: 'done' in all.staged.songs ? all.staged.songs.done.songsStaged : -1,
      ...Object.fromEntries(loads.map((l) => [l!.table, l!.rowsWritten])),
    });
    expect(Object.keys(row[0]!.durations_ms).sort()).toEqual(
      ['checks', 'stageEvents', 'stageSongs', ...TABLES.map((t) => `load_${t}`)].sort(),
    );
    expect(await stagingTablesLeft(unit.pool)).toBe(0);
  });

  test('a step run again after its run recorded itself and dropped its staging returns the record', async () => {
    const a = acts();
    const run = { workflowExecution: { workflowId: 'recorded-wf', runId: 'recorded-run-1' } };
    const ref = { runKey: KEY, stagingKey: `${KEY}_0000abcd` };
    await runActivity(
      a.stageEvents,
      [
        {
          ...ref,
          interval: H,
          source: '',
          maxErrors: 0,
          onMissingFile: 'warn' as const,
        },
      ],
      local(run),
    );
    await runActivity(a.stageSongs, [{ runKey: KEY, source: '', maxErrors: 0 }], local(run));
    const loadSongplays = () =>
      runActivity(
        a.loadTable,
        [{ ...ref, interval: H, table: 'songplays' as const, mode: 'replace' as const }],
        local(run),
      );
    const loaded = await loadSongplays();
    const checked = await runActivity(a.runChecks, [{ ...ref, interval: H, builtin: true, checks: [] }], local(run));
    const recorded = await runActivity(
      a.recordRun,
      [
        {
          ...run.workflowExecution,
          startedAt: new Date().toISOString(),
          interval: H,
          status: 'succeeded' as const,
          rows: { songplays: loaded.rowsWritten },
          checks: checked.results,
          durationsMs: {},
          dropStaging: ref,
        },
      ],
      local(run),
    );
    expect(recorded).toEqual({});
    expect(await stagingTablesLeft(unit.pool)).toBe(0);
    // the same run's steps again (a replay after the worker died before the history took them)
    const again = await loadSongplays();
    expect(again.rowsWritten).toBe(loaded.rowsWritten);
    const rechecked = await runActivity(a.runChecks, [{ ...ref, interval: H, builtin: true, checks: [] }], local(run));
    expect(rechecked.results).toEqual(checked.results);
    // another run, never recorded, finds the table missing and fails as before
    const other = local({ workflowExecution: { workflowId: 'recorded-wf', runId: 'recorded-run-2' } });
    await expect(
      runActivity(a.loadTable, [{ ...ref, interval: H, table: 'songplays' as const, mode: 'replace' as const }], other),
    ).rejects.toThrow(/staging_events_20181102t2000_1h_0000abcd/);
  });

  test('a run recorded again (replayed after its worker stopped) keeps the counts it recorded in etl_runs, as an operator reads them, and returns them; a failed record takes the new ones', async () => {
    const a = acts();
    const record = (runId: string, status: 'succeeded' | 'failed', rows: Record<string, number>) =>
      runActivity(
        a.recordRun,
        [
          {
            workflowId: 'recorded-again-wf',
            runId,
            startedAt: new Date().toISOString(),
            interval: H,
            status,
            rows,
            checks: [],
            durationsMs: {},
          },
        ],
        local(),
      );
    const rowsOf = async (runId: string) =>
      (await unit.pool.query('SELECT rows FROM etl_runs WHERE run_id = $1', [runId])).rows[0]?.rows;
    // a first record returns no counts: the run's own are the ones recorded
    const first = await record('again-1', 'succeeded', {
      staging_events: 333,
      staging_songs: 300,
      songplays: 333,
      users: 4,
    });
    expect(first).toEqual({});
    // the replay's steps found the songs staged and the users loaded: they count 0 there
    const again = await record('again-1', 'succeeded', {
      staging_events: 333,
      staging_songs: 0,
      songplays: 333,
      users: 0,
      time: 5,
    });
    const kept = { staging_events: 333, staging_songs: 300, songplays: 333, users: 4, time: 5 };
    expect(await rowsOf('again-1')).toEqual(kept);
    // what it recorded, for the run's result (the workflow takes them in place of its steps' counts)
    expect(again).toEqual({ rows: kept });
    // recorded again with the counts it holds: nothing to take
    expect(await record('again-1', 'succeeded', kept)).toEqual({});
    expect(await record('again-2', 'failed', { staging_events: 9 })).toEqual({});
    expect(await record('again-2', 'succeeded', { staging_events: 3, users: 0 })).toEqual({});
    expect(await rowsOf('again-2')).toEqual({ staging_events: 3, users: 0 });
  });

  test('the clean-up sweeps staging tables that runs which never finished left behind', async () => {
    const a = acts();
    const left = { runKey: KEY, stagingKey: `${KEY}_0000dead` };
    await runActivity(
      a.stageEvents,
      [{ ...left, interval: H, source: '', maxErrors: 0, onMissingFile: 'warn' as const }],
      local(),
    );
    await unit.pool.query(`UPDATE run_staging SET created_at = created_at - interval '7 hours'`);
    expect(await stagingTablesLeft(unit.pool)).toBe(1);
    const swept = await runActivity(
      a.dropRunStaging,
      [{ runKey: KEY, stagingKey: `${KEY}_0000beef`, sweepAfterHours: 6 }],
      new MockActivityEnvironment(undefined, { logger }),
    );
    expect(swept).toBe(1);
    expect(await stagingTablesLeft(unit.pool)).toBe(0);
    expect(await count(unit.pool, 'SELECT count(*) FROM run_staging')).toBe(0);
  });

  test('an hour read from its range of an indexed file stages the rows and bad lines (with their numbers) of a whole read', async () => {
    // A day file with bad lines in two hours, blank and CRLF lines, and a late line of hour 13 at its end.
    const day = eventFileKey('2018-11-02');
    const dir = await sampleWithEditedFile('ranges', day, (lines) => {
      const of = (h: number) => lines.find((l) => new Date(Number(/"ts":(\d+)/.exec(l)?.[1])).getUTCHours() === h)!;
      const five = lines.findIndex((l) => l === of(5));
      lines.splice(five + 1, 0, of(5).replace(/"page":"[^"]*"/, '"page":'), '', of(5).replace(/}$/, '}\r'));
      const thirteen = lines.findIndex((l) => l === of(13));
      lines.splice(thirteen + 1, 0, of(13).replace(/"userId":"[^"]*"/, '"userId":{'));
      lines.push(of(13).replace(/"sessionId":\d+/, '"sessionId":7777'), of(13).slice(0, -3));
    });
    const withIndex = createActivities({ pool: unit.pool, defaultSource: dir });
    const wholeFiles = createActivities({
      pool: unit.pool,
      defaultSource: dir,
      dialect: { ...postgres, sourceIndex: null },
    });
    const stagedBy = async (a: typeof withIndex, h: number) => {
      const interval = {
        start: `2018-11-02T${String(h).padStart(2, '0')}:00:00.000Z`,
        end: new Date(Date.parse('2018-11-02T00:00Z') + (h + 1) * 3_600_000).toISOString(),
      };
      const ref = { runKey: intervalKey(interval), stagingKey: `${intervalKey(interval)}_0000ffff` };
      const r = await runActivity(
        a.stageEvents,
        [{ ...ref, interval, source: '', maxErrors: 1000, onMissingFile: 'warn' as const }],
        new MockActivityEnvironment(
          { workflowExecution: { workflowId: 'ranges', runId: `r${h}-${Math.random()}` } },
          { logger },
        ),
      );
      const rows = await unit.pool.query(
        `SELECT * FROM staging_events_${ref.stagingKey} ORDER BY ts, itemInSession, sessionId, userId`,
      );
      const errors = await unit.pool.query(
        `SELECT file, line, reason, raw FROM load_errors WHERE run_key = $1 ORDER BY file, line`,
        [ref.runKey],
      );
      await unit.pool.query(`DELETE FROM load_errors WHERE run_key = $1`, [ref.runKey]);
      await runActivity(a.dropRunStaging, [ref], new MockActivityEnvironment(undefined, { logger }));
      return { linesRead: r.linesRead, rows: rows.rows, errors: errors.rows };
    };
    let fewer = 0;
    for (const h of [0, 5, 12, 13, 23]) {
      const ranged = await stagedBy(withIndex, h);
      const whole = await stagedBy(wholeFiles, h);
      expect(ranged.rows).toEqual(whole.rows);
      expect(ranged.errors).toEqual(whole.errors);
      if (h === 5 || h === 13) expect(whole.errors.length).toBeGreaterThan(0);
      if (ranged.linesRead < whole.linesRead) fewer++;
    }
    expect(fewer).toBeGreaterThanOrEqual(4);
  });

  test('a day file replaced after the run looked at it is read whole: offsets of one version are never read in another', async () => {
    const day = eventFileKey('2018-11-02');
    const dir = await sampleWithEditedFile('replaced', day, () => undefined);
    const a = createActivities({ pool: unit.pool, defaultSource: dir });
    const interval = { start: '2018-11-02T15:00:00.000Z', end: '2018-11-02T16:00:00.000Z' };
    const stage = async (stagingKey: string, actsOf = a) => {
      const ref = { runKey: intervalKey(interval), stagingKey };
      const r = await runActivity(
        actsOf.stageEvents,
        [{ ...ref, interval, source: '', maxErrors: 1000, onMissingFile: 'warn' as const }],
        new MockActivityEnvironment({ workflowExecution: { workflowId: 'replaced', runId: stagingKey } }, { logger }),
      );
      const rows = await unit.pool.query(
        `SELECT * FROM staging_events_${stagingKey} ORDER BY ts, itemInSession, sessionId, userId`,
      );
      await runActivity(a.dropRunStaging, [ref], new MockActivityEnvironment(undefined, { logger }));
      return { r, rows: rows.rows };
    };
    // indexed (ranges known), then the file is renamed over by a copy with one more event at its top, between the
    // run's look at it and its read
    await stage(`${intervalKey(interval)}_0000aaaa`);
    const file = path.join(dir, day);
    const lines = (await readFile(file, 'utf8')).split('\n');
    const source = openSource(dir);
    const proto = Object.getPrototypeOf(source) as { openRange: typeof source.openRange };
    const openRange = proto.openRange;
    proto.openRange = async function (this: typeof source, ...args: Parameters<typeof source.openRange>) {
      await writeFile(`${file}.new`, [lines[0]!, ...lines].join('\n'));
      await rename(`${file}.new`, file);
      return openRange.apply(this, args);
    };
    let replaced;
    try {
      replaced = await stage(`${intervalKey(interval)}_0000bbbb`);
    } finally {
      proto.openRange = openRange;
    }
    const whole = await stage(
      `${intervalKey(interval)}_0000cccc`,
      createActivities({ pool: unit.pool, defaultSource: dir, dialect: { ...postgres, sourceIndex: null } }),
    );
    expect(replaced.r.badLines).toBe(0);
    expect(replaced.rows).toEqual(whole.rows);
    expect(replaced.r.linesRead).toBe(lines.length + 1 - (lines.at(-1) === '' ? 1 : 0));
  });

  test("the warehouse's sessions run without JIT, also when WAREHOUSE_URL carries its own options", async () => {
    for (const url of [unit.url, `${unit.url}?options=-c%20search_path%3Dpublic`]) {
      const pool = createPool({ url, max: 1 });
      try {
        expect((await pool.query<{ jit: string }>('SHOW jit')).rows[0]?.jit).toBe('off');
        // and the URL's own options still apply
        if (url.includes('?')) {
          expect((await pool.query<{ search_path: string }>('SHOW search_path')).rows[0]?.search_path).toBe('public');
        }
      } finally {
        await pool.end();
      }
    }
  });
});
