/**
 * The hourly schedule and backfills, on the real dev server (Schedules need the full server, not the
 * time-skipping one) and a real PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { DAY_MS, HOUR_MS, hoursIn, makeInterval, workflowIdFor } from '../src/interval';
import { intervalSearchAttributes } from '../src/search-attributes';
import { eventFileKey } from '../src/source';
import { shortIso } from '../src/times';
import {
  catchUp,
  durationText,
  ScheduleSpanError,
  upsertSchedule,
  type ScheduleFacts,
  type ScheduleSettings,
} from '../src/schedule';
import { describeSchedule, scheduleChanges } from '../src/schedule-describe';
import { tableChecksums } from './support/checksum';
import {
  useTemporalEnv,
  createTestDatabase,
  need,
  sampleWithEditedFile,
  testTmp,
  uniqueQueue,
  withWorker,
  type TestDatabase,
} from './support/helpers';
import { SAMPLE_EVENT } from './support/sample';
import { Background, freePort, programEnv, runCommand } from './support/processes';

const env = useTemporalEnv();

/** A deployment of its own per schedule: its runs' ids never meet another test file's runs of the same hours. */
function settings(id: string, taskQueue: string, over: Partial<ScheduleSettings> = {}): ScheduleSettings {
  return { id, taskQueue, deployment: id, minute: 0, catchupWindow: '1d', overlap: 'BUFFER_ALL', ...over };
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The hourly and the late-data watcher's schedules `schedule up` made for `deployment`, if there. */
async function deleteSchedules(deployment: string): Promise<void> {
  for (const id of [`${deployment}-hourly`, `${deployment}-late-data`])
    await env.client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
}

async function intervalsLoaded(db: TestDatabase): Promise<string[]> {
  const res = await db.pool.query<{ s: Date }>(
    `SELECT interval_start AS s FROM etl_runs WHERE status = 'succeeded' ORDER BY interval_start`,
  );
  return res.rows.map((r) => new Date(`${r.s.toISOString().slice(0, 19)}`).toISOString());
}

test("schedule up twice leaves one schedule, with the second call's spec", async () => {
  const id = `sched-${randomUUID().slice(0, 8)}`;
  const queue = uniqueQueue('sched-up');
  expect(
    (await upsertSchedule(env.client, settings(id, queue, { startAt: '2018-11-01T00:00:00.000Z', minute: 0 }))).outcome,
  ).toBe('created');
  expect(
    (
      await upsertSchedule(
        env.client,
        settings(id, queue, { startAt: '2018-11-02T00:00:00.000Z', minute: 15, overlap: 'ALLOW_ALL' }),
      )
    ).outcome,
  ).toBe('updated');
  const d = await env.client.schedule.getHandle(id).describe();
  expect(d.spec.intervals).toEqual([{ every: 3_600_000, offset: 15 * 60_000 }]);
  // the first run loads the hour that starts at SCHEDULE_START, so it is scheduled an hour later
  expect(d.spec.startAt?.toISOString()).toBe('2018-11-02T01:00:00.000Z');
  expect(d.policies.overlap).toBe('ALLOW_ALL');
  expect(d.policies.catchupWindow).toBe(86_400_000);
  // `schedule describe` says it in words, not milliseconds
  const described = describeSchedule(d).split('\n');
  expect(described).toContain('  runs: hourly at :15');
  expect(described).toContain('  overlap: ALLOW_ALL  catch-up window 1d');
  expect(durationText(7 * 86_400_000)).toBe('7d');
  expect(durationText(90 * 60_000)).toBe('1h30m');
  const listed: string[] = [];
  for await (const s of env.client.schedule.list()) if (s.scheduleId === id) listed.push(s.scheduleId);
  expect(listed).toEqual([id]);
  await env.client.schedule.getHandle(id).delete();
});

test('catch-up, like Airflow catchup=True, runs every hour from SCHEDULE_START to SCHEDULE_END (or now)', async () => {
  const db = await createTestDatabase();
  const id = `sched-${randomUUID().slice(0, 8)}`;
  const taskQueue = uniqueQueue('sched-catchup');
  try {
    const s = settings(id, taskQueue, { startAt: '2018-11-01T10:00:00.000Z', endAt: '2018-11-01T13:00:00.000Z' });
    await upsertSchedule(env.client, s);
    await withWorker(env, { taskQueue, pool: db.pool }, async () => {
      const caught = await catchUp(env.client, s, new Date());
      expect(caught).toEqual({
        from: new Date('2018-11-01T11:00:00.000Z'),
        to: new Date('2018-11-01T13:00:00.000Z'),
        runs: 3,
      });
      const loaded = await waitUntil('three caught-up runs', async () => {
        const got = await intervalsLoaded(db);
        return got.length >= 3 ? got : undefined;
      });
      expect(loaded).toEqual(['2018-11-01T10:00:00.000Z', '2018-11-01T11:00:00.000Z', '2018-11-01T12:00:00.000Z']);
    });
  } finally {
    await env.client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
    await db.drop();
  }
});

test('`temporal schedule backfill` through the real CLI runs the hours its scheduled times name', async () => {
  const db = await createTestDatabase();
  const id = `sched-${randomUUID().slice(0, 8)}`;
  const taskQueue = uniqueQueue('sched-cli');
  try {
    await upsertSchedule(env.client, settings(id, taskQueue, { startAt: '2018-11-01T00:00:00.000Z' }));
    await env.client.schedule.getHandle(id).pause('test: only the backfill runs');
    await withWorker(env, { taskQueue, pool: db.pool }, async () => {
      const cli = await runCommand(
        process.env.SPARKIFY_TEST_TEMPORAL_CLI!,
        [
          'schedule',
          'backfill',
          '--address',
          process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS!,
          '--schedule-id',
          id,
          '--start-time',
          '2018-11-01T06:00:00Z',
          '--end-time',
          '2018-11-01T09:00:00Z',
          '--overlap-policy',
          'BufferAll',
        ],
        process.env,
      );
      expect(cli.stderr).toBe('');
      expect(cli.code).toBe(0);
      // scheduled times 06:00, 07:00, 08:00, 09:00 (both ends included) load the hours before them
      const loaded = await waitUntil('four scheduled runs', async () => {
        const got = await intervalsLoaded(db);
        return got.length >= 4 ? got : undefined;
      });
      expect(loaded).toEqual([
        '2018-11-01T05:00:00.000Z',
        '2018-11-01T06:00:00.000Z',
        '2018-11-01T07:00:00.000Z',
        '2018-11-01T08:00:00.000Z',
      ]);
    });
  } finally {
    await env.client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
    await db.drop();
  }
});

test('`npm run schedule -- up` gives scheduled runs an input that says what they do; trigger starts one with it', async () => {
  const deployment = `schedin-${randomUUID().slice(0, 8)}`;
  const { TASK_QUEUE: _unset, SCHEDULE_START: _none, ...base } = process.env;
  const cliEnv = {
    ...base,
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    SPARKIFY_DEPLOYMENT: deployment,
    LOAD_MODES: 'users=append',
  };
  const schedule = (...args: string[]) =>
    runCommand('npm', ['run', '-s', 'schedule', '--', ...args, '--skip-checks'], cliEnv);
  const expected = {
    loadModes: { songplays: 'replace', users: 'append', songs: 'upsert', artists: 'upsert', time: 'upsert' },
    retryBudget: '10m',
    maxErrors: 0,
    onMissingFile: 'warn',
  };
  try {
    const up = await schedule('up');
    expect(up.stderr).toBe('');
    expect(up.stdout).toContain(`created schedule ${deployment}-hourly (task queue ${deployment})`);
    const d = await env.client.schedule.getHandle(`${deployment}-hourly`).describe();
    expect(d.action.type === 'startWorkflow' && d.action.args).toEqual([expected]);
    // The late-data watcher's schedule: on the same queue, its re-runs given the same input.
    const w = await env.client.schedule.getHandle(`${deployment}-late-data`).describe();
    expect(w.action).toMatchObject({ type: 'startWorkflow', workflowType: 'LateDataWatcher', taskQueue: deployment });
    expect(w.action.type === 'startWorkflow' && w.action.args).toEqual([
      expect.objectContaining({ deployment, runInput: expected }),
    ]);

    // Pause stops the watcher too (a pause for maintenance must stop its re-runs); describe shows both.
    const paused = await schedule('pause', '--note', 'maintenance');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain(`paused ${deployment}-hourly and the late-data watcher's ${deployment}-late-data`);
    for (const id of [`${deployment}-hourly`, `${deployment}-late-data`])
      expect((await env.client.schedule.getHandle(id).describe()).state).toMatchObject({
        paused: true,
        note: 'maintenance',
      });
    const described = await schedule('describe');
    expect(described.code).toBe(0);
    expect(described.stdout).toContain(`schedule ${deployment}-hourly: PAUSED (maintenance)`);
    expect(described.stdout).toContain(`schedule ${deployment}-late-data: PAUSED (maintenance)`);
    expect((await schedule('unpause')).stdout).toContain(`unpaused ${deployment}-hourly and the late-data watcher's`);
    expect((await env.client.schedule.getHandle(`${deployment}-late-data`).describe()).state.paused).toBe(false);

    // No worker on the deployment's queue: the triggered run waits, and its input is what the Web UI shows:
    // the schedule's, with the last whole hour, under that hour's id (the one the schedule's run of it has).
    const endMs = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const hour = { start: new Date(endMs - 3_600_000).toISOString(), end: new Date(endMs).toISOString() };
    const triggered = await schedule('trigger');
    expect(triggered.code).toBe(0);
    expect(triggered.stdout).toContain(`started ${workflowIdFor(hour, deployment)}: the last whole hour`);
    const run = await waitUntil('the triggered run', async () => {
      // (the hourly run, not a cycle of the watcher's schedule, should one fall due meanwhile)
      const query = `WorkflowId STARTS_WITH '${deployment}-' AND WorkflowType = 'SparkifyEtl'`;
      for await (const w of env.client.workflow.list({ query })) return w;
      return undefined;
    });
    expect(run.taskQueue).toBe(deployment);
    const history = await env.client.workflow.getHandle(run.workflowId).fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const payload = started.input!.payloads![0]!;
    expect(JSON.parse(Buffer.from(payload.data!).toString('utf8'))).toEqual({ ...expected, ...hour });
    expect(run.workflowId).toBe(workflowIdFor(hour, deployment));
    // again: the run in progress of that hour is joined, not doubled, and the command says so
    const again = await schedule('trigger');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`joined the run in progress of ${workflowIdFor(hour, deployment)}`);
    expect((await env.client.workflow.getHandle(run.workflowId).describe()).runId).toBe(run.runId);
    await env.client.workflow.getHandle(run.workflowId).terminate('test over');
  } finally {
    await deleteSchedules(deployment);
  }
});

test('`npm run schedule -- up` without SCHEDULE_START keeps the start the schedule has; a first one makes none', async () => {
  const deployment = `schedstart-${randomUUID().slice(0, 8)}`;
  const cliEnv = programEnv({
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: 'default',
    SPARKIFY_DEPLOYMENT: deployment,
  });
  const schedule = async (env: NodeJS.ProcessEnv, ...args: string[]) => {
    const res = await runCommand('npm', ['run', '-s', 'schedule', '--', ...args, '--skip-checks'], env);
    expect([res.code, res.stderr]).toEqual([0, '']);
    return res.stdout.split('\n');
  };
  // the hourly schedule's lines of `describe` (the late-data watcher's follow)
  const described = async () => {
    const lines = await schedule(cliEnv, 'describe');
    const hourly = lines.slice(
      0,
      lines.findIndex((l, i) => i > 0 && !l.startsWith(' ')),
    );
    return hourly.filter((l) => /^ {2}(start|runs|first run at):/.test(l));
  };
  // A day ahead: no run falls due while the test runs.
  const start = new Date((Math.floor(Date.now() / HOUR_MS) + 24) * HOUR_MS);
  // the start as SCHEDULE_START gave it; the first run, an hour later, on its own line (times as status prints them)
  const startLines = (minute: string) => [
    `  runs: hourly at :${minute}`,
    `  start: ${shortIso(start)}  end: -`,
    `  first run at: ${shortIso(start.getTime() + HOUR_MS + Number(minute) * 60_000)} (it loads the hour that begins at the start)`,
  ];
  try {
    const created = await schedule(cliEnv, 'up');
    expect(created).toContain(`created schedule ${deployment}-hourly (task queue ${deployment})`);
    // what it was created with, and where each value came from
    expect(created).toEqual(
      expect.arrayContaining([
        '  start: - (SCHEDULE_START unset)',
        '  end: - (SCHEDULE_END unset)',
        '  minute: :00 (SCHEDULE_MINUTE unset)',
        "  source: the worker's SOURCE_URL (no --source)",
        '  overlap: BUFFER_ALL (SCHEDULE_OVERLAP unset)',
        '  catch-up window: 7d (SCHEDULE_CATCHUP_WINDOW unset)',
      ]),
    );
    expect(created).toContain('no SCHEDULE_START: nothing to catch up; runs start at the next hour');
    expect(await described()).toEqual(['  runs: hourly at :00', '  start: -  end: -']);

    const started = await schedule({ ...cliEnv, SCHEDULE_START: start.toISOString() }, 'up');
    expect(started.slice(0, 2)).toEqual([
      `updated schedule ${deployment}-hourly (task queue ${deployment})`,
      `  start: - -> ${shortIso(start)} (SCHEDULE_START)`,
    ]);
    expect(await described()).toEqual(startLines('00'));
    // Another shell, without SCHEDULE_START, changes the minute: the start stays, and up says so.
    const minute = await schedule(cliEnv, 'up', '--minute', '5');
    expect(minute.slice(0, 3)).toEqual([
      `updated schedule ${deployment}-hourly (task queue ${deployment})`,
      '  minute: :00 -> :05 (--minute)',
      `  kept its start ${shortIso(start)} (SCHEDULE_START or --start changes it)`,
    ]);
    expect(await described()).toEqual(startLines('05'));
    // A plain up applies the current settings: the minute goes back to :00, and up says so, and why.
    // --catchup catches up from the kept start (nothing yet: it is a day ahead).
    const caught = await schedule(cliEnv, 'up', '--catchup');
    expect(caught).toContain('  minute: :05 -> :00 (SCHEDULE_MINUTE unset)');
    expect(caught).toContain('nothing to catch up');
    expect(caught.join('\n')).not.toContain('no SCHEDULE_START');
    expect(await described()).toEqual(startLines('00'));
    // the same up again changes nothing, and says that
    expect((await schedule(cliEnv, 'up')).slice(0, 3)).toEqual([
      `updated schedule ${deployment}-hourly (task queue ${deployment})`,
      '  no change',
      `  kept its start ${shortIso(start)} (SCHEDULE_START or --start changes it)`,
    ]);
    // settings of the environment: each change named with the setting it came from
    const policies = await schedule(
      { ...cliEnv, SCHEDULE_OVERLAP: 'SKIP', SCHEDULE_CATCHUP_WINDOW: '1d', LOAD_MODES: 'users=append' },
      'up',
    );
    expect(policies.slice(0, 4)).toEqual([
      `updated schedule ${deployment}-hourly (task queue ${deployment})`,
      '  load mode of users: upsert -> append (LOAD_MODES)',
      '  overlap: BUFFER_ALL -> SKIP (SCHEDULE_OVERLAP)',
      '  catch-up window: 7d -> 1d (SCHEDULE_CATCHUP_WINDOW)',
    ]);
    // a paused schedule stays paused: up says so
    await schedule(cliEnv, 'pause', '--note', 'maintenance');
    const paused = await schedule(cliEnv, 'up');
    expect(paused).toEqual(
      expect.arrayContaining([
        '  load mode of users: append -> upsert (LOAD_MODES unset)',
        '  still paused (maintenance): up keeps it so; unpause starts its runs again',
      ]),
    );
  } finally {
    await deleteSchedules(deployment);
  }
});

test('`npm run schedule -- up` without SCHEDULE_END keeps the end the schedule has; --end none removes it', async () => {
  const deployment = `schedend-${randomUUID().slice(0, 8)}`;
  const cliEnv = programEnv({
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: 'default',
    SPARKIFY_DEPLOYMENT: deployment,
  });
  const schedule = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    runCommand('npm', ['run', '-s', 'schedule', '--', ...args, '--skip-checks'], env);
  const ok = async (env: NodeJS.ProcessEnv, ...args: string[]) => {
    const res = await schedule(env, ...args);
    expect([res.code, res.stderr]).toEqual([0, '']);
    return res.stdout.split('\n');
  };
  const startEnd = async () => (await ok(cliEnv, 'describe')).find((l) => l.startsWith('  start: '));
  // A day ahead, as above: no run falls due while the test runs.
  const startMs = (Math.floor(Date.now() / HOUR_MS) + 24) * HOUR_MS;
  const endMs = startMs + 48 * HOUR_MS;
  const [start, end] = [shortIso(startMs), shortIso(endMs)];
  try {
    await ok({ ...cliEnv, SCHEDULE_START: start, SCHEDULE_END: end }, 'up');
    expect(await startEnd()).toBe(`  start: ${start}  end: ${end}`);
    // Another shell, without SCHEDULE_END (nor SCHEDULE_START), changes the minute: start and end stay.
    const minute = await ok(cliEnv, 'up', '--minute', '5');
    expect(minute).toContain(`updated schedule ${deployment}-hourly (task queue ${deployment})`);
    expect(minute).toContain(`  kept its end ${end} (SCHEDULE_END or --end changes it; --end none removes it)`);
    expect(await startEnd()).toBe(`  start: ${start}  end: ${end}`);
    // The last run, at :05, loads the hour that ends at the end: it is due five minutes after it.
    const spec = (await env.client.schedule.getHandle(`${deployment}-hourly`).describe()).spec;
    expect(spec.endAt?.getTime()).toBe(endMs + 5 * 60_000);
    // A start after the end the schedule keeps would leave it no hour: refused, naming both, nothing changed.
    const later = shortIso(endMs + HOUR_MS);
    const refused = await schedule(cliEnv, 'up', '--start', later);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `error: the start ${later} is not before the end the schedule keeps (${end}): give an end after it ` +
        '(SCHEDULE_END or --end), or remove the end with --end none',
    );
    expect(await startEnd()).toBe(`  start: ${start}  end: ${end}`);
    // --end none removes it (SCHEDULE_END=none too); the start stays. Each says what it changed.
    const removed = await ok(cliEnv, 'up', '--end', 'none');
    expect(removed).toContain(`  end: ${end} -> - (--end none)`);
    expect(removed.join('\n')).not.toContain('kept its end');
    expect(await startEnd()).toBe(`  start: ${start}  end: -`);
    expect(await ok({ ...cliEnv, SCHEDULE_END: end }, 'up')).toContain(`  end: - -> ${end} (SCHEDULE_END)`);
    expect(await startEnd()).toBe(`  start: ${start}  end: ${end}`);
    expect(await ok({ ...cliEnv, SCHEDULE_END: 'None' }, 'up')).toContain(`  end: ${end} -> - (SCHEDULE_END=none)`);
    expect(await startEnd()).toBe(`  start: ${start}  end: -`);
  } finally {
    await deleteSchedules(deployment);
  }
});

test('`npm run schedule -- up` reads --start and --end as etl reads --from and --to, on whole hours; an end passed is a warning', async () => {
  const deployment = `schedtime-${randomUUID().slice(0, 8)}`;
  const cliEnv = programEnv({
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: 'default',
    SPARKIFY_DEPLOYMENT: deployment,
    LATE_DATA_EVERY: '0', // no watcher cycle waits for a worker this test does not run
  });
  const schedule = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    runCommand('npm', ['run', '-s', 'schedule', '--', ...args, '--skip-checks'], env);
  /**
   * `up` with times relative to the clock: its output must hold `expected(now)` for the clock before or after
   * the command (an hour or a day may turn meanwhile). Returns the output's lines and stderr.
   */
  const atClock = async (env: NodeJS.ProcessEnv, expected: (nowMs: number) => string, ...args: string[]) => {
    const before = Date.now();
    const res = await schedule(env, ...args);
    const after = Date.now();
    expect(res.code).toBe(0);
    const lines = [...res.stdout.split('\n'), ...res.stderr.split('\n')];
    expect(lines.some((l) => l === expected(before) || l === expected(after))).toBe(true);
    return { lines, stderr: res.stderr };
  };
  const hour = (nowMs: number, hours: number) => (Math.floor(nowMs / HOUR_MS) + hours) * HOUR_MS;
  const day = (nowMs: number, days: number) => (Math.floor(nowMs / DAY_MS) + days) * DAY_MS;
  const startEnd = async () =>
    (await schedule(cliEnv, 'describe')).stdout.split('\n').filter((l) => /^ {2}(start|warning|next):/.test(l));
  const currentEnd = async () => /end: (\S+)/.exec((await startEnd())[0]!)![1]!;
  // A day ahead, half past: not on a whole hour.
  const hourAhead = hour(Date.now(), 24);
  const halfPast = shortIso(hourAhead + 30 * 60_000);
  try {
    // A start or an end between two hours is refused, naming the hours meant; nothing is created.
    const start = await schedule(cliEnv, 'up', '--start', halfPast);
    expect([start.code, start.stdout]).toEqual([2, '']);
    expect(start.stderr).toBe(
      `error: --start ${halfPast} is not on a whole hour (the runs load whole hours); did you mean ` +
        `${shortIso(hourAhead)}? (npm run schedule -- --help shows the options)\n`,
    );
    const end = await schedule(cliEnv, 'up', '--end', halfPast);
    expect(end.code).toBe(2);
    expect(end.stderr).toContain(
      `error: --end ${halfPast} is not on a whole hour (the runs load whole hours); did you mean ` +
        `${shortIso(hourAhead)} or ${shortIso(hourAhead + HOUR_MS)}?`,
    );
    const setting = await schedule({ ...cliEnv, SCHEDULE_START: halfPast }, 'up');
    expect(setting.code).toBe(2);
    expect(setting.stderr).toContain(
      `  - SCHEDULE_START ${halfPast} is not on a whole hour (the runs load whole hours); did you mean ` +
        `${shortIso(hourAhead)}?`,
    );
    // An empty --start or --end (an unset shell variable) is refused, not read as "keep what the schedule has".
    for (const option of ['--start', '--end']) {
      const empty = await schedule(cliEnv, 'up', option, '');
      expect([empty.code, empty.stdout]).toEqual([2, '']);
      expect(empty.stderr).toContain(`error: ${option} "" is not a time such as 2018-11-15T13:00Z`);
    }
    await expect(env.client.schedule.getHandle(`${deployment}-hourly`).describe()).rejects.toThrow();

    // A date as --end is the end of that day (its last hour is loaded), as --to reads it.
    const date = shortIso(day(Date.now(), 2)).slice(0, 10);
    const endOfDate = shortIso(Date.parse(date) + DAY_MS);
    const dated = await schedule(cliEnv, 'up', '--end', date);
    expect(dated.code).toBe(0);
    expect(dated.stdout.split('\n')).toContain(`  end: ${endOfDate} (--end)`);
    expect((await startEnd())[0]).toBe(`  start: -  end: ${endOfDate}`);
    // Relative times, as etl takes them: now+3h; tomorrow, tomorrow+2d (dates: --end to its end).
    await atClock(cliEnv, (now) => `  end: ${endOfDate} -> ${shortIso(hour(now, 3))} (--end)`, 'up', '--end', 'now+3h');
    const relative = await currentEnd();
    await atClock(
      cliEnv,
      (now) => `  start: - -> ${shortIso(day(now, 1))} (--start)`,
      'up',
      '--start',
      'tomorrow',
      '--end',
      'tomorrow+2d',
    );
    const [, s, e] = /start: (\S+) {2}end: (\S+)/.exec((await startEnd())[0]!)!;
    expect(Date.parse(e!) - Date.parse(s!)).toBe(3 * DAY_MS);
    expect(relative).not.toBe(e);
    // SCHEDULE_END takes the same
    await atClock(
      { ...cliEnv, SCHEDULE_END: 'today+5d' },
      (now) => `  end: ${e} -> ${shortIso(day(now, 6))} (SCHEDULE_END)`,
      'up',
    );
    // An end that has passed: up warns (no more runs), and so does describe, whose next runs are none.
    await schedule(cliEnv, 'up', '--end', 'none');
    const warning = (now: number) =>
      `warning: the end (${shortIso(hour(now, -1))}) has passed: no more runs; give a later --end (or SCHEDULE_END) ` +
      'to schedule up, or --end none';
    const { stderr } = await atClock({ ...cliEnv, SCHEDULE_START: 'today-2d' }, warning, 'up', '--end', 'now-1h');
    const described = await startEnd();
    expect(described).toContain(`  ${stderr.trim()}`);
    expect(described).toContain('  next: -');
  } finally {
    await deleteSchedules(deployment);
  }
});

test('`npm start` says what it changed of a schedule `up` made: the start it sets without SCHEDULE_START', async () => {
  const deployment = `schedstart2-${randomUUID().slice(0, 8)}`;
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(testTmp(), 'sched-start-'));
  const userEnv = programEnv({
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: 'default',
    WAREHOUSE_URL: db.url,
    SPARKIFY_DATA_DIR: dataDir,
    SPARKIFY_DEPLOYMENT: deployment,
    WORKFLOW_BUNDLE: need('SPARKIFY_TEST_BUNDLE'),
    METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
    LATE_DATA_EVERY: '0',
  });
  const tomorrow = shortIso((Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS);
  const up = await runCommand(
    'npm',
    ['run', '-s', 'schedule', '--', 'up', '--start', tomorrow, '--skip-checks'],
    userEnv,
  );
  expect([up.code, up.stderr]).toEqual([0, '']);
  // npm start's sample: three days ending today (src/cli/start.ts); its first day is the start it sets
  const firstDay = (nowMs: number) => shortIso((Math.floor(nowMs / DAY_MS) - 2) * DAY_MS);
  const before = Date.now();
  const start = new Background('npm', ['start'], userEnv);
  try {
    await start.waitFor(/worker running on task queue/, 120_000);
    const lines = start.output.split('\n');
    const i = lines.indexOf(`updated schedule ${deployment}-hourly`);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(
      [before, Date.now()].map(
        (t) => `  start: ${tomorrow} -> ${firstDay(t)} (npm start: the first day of the sample data)`,
      ),
    ).toContain(lines[i + 1]);
  } finally {
    await start.stop('SIGINT', 60_000);
    await deleteSchedules(deployment);
    await rm(dataDir, { recursive: true, force: true });
    await db.drop();
  }
});

test('`npm run schedule -- trigger` without a schedule says so and what creates it, exit 1', async () => {
  const deployment = `schedtrig-${randomUUID().slice(0, 8)}`;
  const res = await runCommand(
    'npm',
    ['run', '-s', 'schedule', '--', 'trigger', '--skip-checks'],
    programEnv({
      TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: 'default',
      SPARKIFY_DEPLOYMENT: deployment,
    }),
  );
  expect(res.code).toBe(1);
  expect(res.stderr.trim()).toBe(`no schedule ${deployment}-hourly to trigger (schedule up creates it)`);
  expect(res.stdout).toBe('');
});

test('`npm run schedule -- --help`: unpause on its own line; trigger says which hour it loads', async () => {
  const help = await runCommand('npm', ['run', '-s', 'schedule', '--', '--help'], process.env);
  expect(help.code).toBe(0);
  const lines = help.stdout.split('\n');
  expect(lines).toContain("  pause [--note T] stop starting runs, the late-data watcher's cycles too");
  expect(lines).toContain('  unpause          start both again');
  expect(lines).toContain(
    "  trigger          start one run now, with the schedule's input: the last whole hour (at 14:20 it loads",
  );
  expect(lines).toContain(
    "                   13:00-14:00) under the hour's workflow id; a run of that hour in progress is joined",
  );
  expect(help.stdout).not.toContain('the hour that ends at the current scheduled time');
});

test("`npm run schedule -- describe` shows what each run is started with, no password, and the watcher's last cycle", async () => {
  const deployment = `scheddesc-${randomUUID().slice(0, 8)}`;
  const db = await createTestDatabase();
  const cliEnv = programEnv({
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: 'default',
    SPARKIFY_DEPLOYMENT: deployment,
    SCHEDULE_START: '2099-01-01T00:00Z',
    LOAD_MODES: 'users=append',
    // no cycle of its own falls due while the test runs: the one it takes is the one it triggers
    LATE_DATA_EVERY: '30d',
    // the sample's hours (2018) are within the watcher's reach
    LATE_DATA_LOOKBACK: '36500d',
  });
  const schedule = async (...args: string[]) => {
    const res = await runCommand('npm', ['run', '-s', 'schedule', '--', ...args, '--skip-checks'], cliEnv);
    expect([res.code, res.stderr]).toEqual([0, '']);
    return res.stdout;
  };
  // a source whose URL carries a key's secret: no run here ever reads it
  const source = 's3://AKIDEXAMPLE:S3cretKey99@warehouse-bucket/sparkify?x-amz-security-token=T0kenValue';
  try {
    await schedule('up', '--source', source);
    const before = await schedule('describe');
    const runInput =
      'source s3://AKIDEXAMPLE:***@warehouse-bucket/sparkify?x-amz-security-token=***, loadModes songplays=replace ' +
      "users=append songs=upsert artists=upsert time=upsert (replaces the interval's rows), retryBudget 10m, " +
      'maxErrors 0, onMissingFile warn';
    expect(before).not.toMatch(/S3cretKey99|T0kenValue/);
    const hourly = before.slice(0, before.indexOf(`schedule ${deployment}-late-data`)).split('\n');
    expect(hourly).toEqual(
      expect.arrayContaining([
        `schedule ${deployment}-hourly: active (created by sparkify (schedule up, or start))`,
        '  start: 2099-01-01T00:00Z  end: -',
        '  first run at: 2099-01-01T01:00Z (it loads the hour that begins at the start)',
        `  each run: SparkifyEtl on task queue ${deployment}, workflow id ${deployment}-<scheduled time>`,
        `  input: ${runInput}`,
      ]),
    );
    const watcher = before.slice(before.indexOf(`schedule ${deployment}-late-data`)).split('\n');
    expect(watcher).toEqual(
      expect.arrayContaining([
        '  start: -  end: -',
        `  each cycle: LateDataWatcher on task queue ${deployment}, workflow id ${deployment}-late-data-<scheduled time>`,
        `  input: deployment ${deployment}, lookback 36500d, concurrency 4`,
        `  its re-runs' input: ${runInput}`,
        '  last cycle: none yet',
      ]),
    );
    expect(watcher.join('\n')).not.toContain('first run at');

    // One cycle of the watcher, run to its end by a worker on the deployment's queue: the runs' source is the
    // worker's SOURCE_URL again (a copy of the sample data), not that bucket; up says so.
    const back = await schedule('up');
    expect(back).not.toMatch(/S3cretKey99|T0kenValue/);
    expect(back.split('\n')).toContain(
      '  source: s3://AKIDEXAMPLE:***@warehouse-bucket/sparkify?x-amz-security-token=*** -> ' +
        "the worker's SOURCE_URL (no --source)",
    );
    const handle = env.client.schedule.getHandle(`${deployment}-late-data`);
    const copy = await sampleWithEditedFile(`sched-desc-${deployment}`, eventFileKey('2018-11-01'), () => {});
    const cycle = await withWorker(env, { taskQueue: deployment, pool: db.pool, source: copy }, async () => {
      // One hour loaded, then an event of that hour appended to its file: the cycle re-runs that hour.
      const hour = makeInterval('2018-11-01T10:00Z', '2018-11-01T11:00Z');
      await env.client.workflow.execute('SparkifyEtl', {
        taskQueue: deployment,
        workflowId: workflowIdFor(hour, deployment),
        args: [{ ...hour }],
        typedSearchAttributes: intervalSearchAttributes(hour),
      });
      const late = { ...SAMPLE_EVENT, ts: Date.parse('2018-11-01T10:30Z'), sessionId: 990001, itemInSession: 0 };
      await appendFile(path.join(copy, eventFileKey('2018-11-01')), `${JSON.stringify(late)}\n`);
      await handle.trigger();
      const taken = await waitUntil('the cycle to start', async () => (await handle.describe()).info.recentActions[0]);
      await env.client.workflow.getHandle(taken.action.workflow.workflowId).result();
      return taken;
    });
    const closed = (await env.client.workflow.getHandle(cycle.action.workflow.workflowId).describe()).closeTime!;
    const after = await schedule('describe');
    expect(after).toContain(`  its re-runs' input: source the worker's SOURCE_URL, loadModes songplays=replace`);
    // when it ran, and what it did (from the cycle's result)
    expect(after.split('\n')).toEqual(
      expect.arrayContaining([
        `  last cycle: started ${shortIso(cycle.takenAt)}, completed ${shortIso(closed)} ` +
          `(${cycle.action.workflow.workflowId})`,
        '    1 hour(s) re-run: 1 succeeded, 0 failed',
      ]),
    );
    expect(after).not.toMatch(/\d\.\d{3}Z/);
  } finally {
    await deleteSchedules(deployment);
    await db.drop();
  }
});

test('`npm run schedule -- describe` of schedules made elsewhere with odd input: no crash, no control character, no secret, long values cut', async () => {
  const deployment = `schedodd-${randomUUID().slice(0, 8)}`;
  const cliEnv = programEnv({
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: 'default',
    SPARKIFY_DEPLOYMENT: deployment,
  });
  const create = (id: string, workflowType: string, input: unknown, note: string) =>
    env.client.schedule.create({
      scheduleId: id,
      spec: { intervals: [{ every: '1h' }], startAt: new Date('2099-01-01T01:00:00Z') },
      action: { type: 'startWorkflow', workflowType, workflowId: id, taskQueue: deployment, args: [input] },
      state: { paused: true, note },
    });
  try {
    // What nobody here writes, but anyone with the server's address may (the Temporal CLI, another program).
    await create(
      `${deployment}-hourly`,
      'SparkifyEtl',
      {
        source: 's3://bucket/prefix?X-Amz-Signature=S1gnature',
        // String() of it threw: "Cannot convert object to primitive value"
        loadModes: { users: 'append\x07', time: { toString: 1 } },
        reason: '\x1b[31mRED\x1b[0m\rOVER',
        // 3,000 lists deep (6 KB): JSON.stringify with a replacer overflowed the stack
        checks: JSON.parse('['.repeat(3000) + ']'.repeat(3000)) as unknown,
        retryBudget: 'moved from postgres://etl:hunter2@db/warehouse',
        // 100,000 letters: a scheme search without bound took quadratic time
        onMissingFile: 'x'.repeat(100_000),
      },
      'paused by \x1b[2Jsomeone',
    );
    await create(`${deployment}-late-data`, 'LateDataWatcher', { deployment, runInput: 'just a string' }, 'n');
    const res = await runCommand('npm', ['run', '-s', 'schedule', '--', 'describe'], cliEnv);
    expect([res.code, res.stderr]).toEqual([0, '']);
    // eslint-disable-next-line no-control-regex
    expect(res.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(res.stdout).not.toMatch(/hunter2|S1gnature/);
    const lines = res.stdout.split('\n');
    expect(lines).toContain(`schedule ${deployment}-hourly: PAUSED (paused by \\u001b[2Jsomeone)`);
    expect(lines.find((l) => l.startsWith('  input: source'))).toBe(
      '  input: source s3://bucket/prefix?X-Amz-Signature=***, loadModes users=append\\u0007 time={"toString":1}, ' +
        'reason \\u001b[31mRED\\u001b[0m\\u000dOVER, checks [[[[[[[…]]]]]]], ' +
        'retryBudget moved from postgres://etl:***@db/warehouse, ' +
        `onMissingFile ${'x'.repeat(300)}… (100000 characters)`,
    );
    expect(lines).toContain(`  input: deployment ${deployment}`);
    expect(lines).toContain("  its re-runs' input: just a string (not an object)");

    // `up` over it says what it changed: the values it replaced are shown as describe shows them.
    const up = await runCommand('npm', ['run', '-s', 'schedule', '--', 'up', '--skip-checks'], cliEnv);
    expect([up.code, up.stderr]).toEqual([0, '']);
    // eslint-disable-next-line no-control-regex
    expect(up.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(up.stdout).not.toMatch(/hunter2|S1gnature/);
    expect(up.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        `updated schedule ${deployment}-hourly (task queue ${deployment})`,
        "  source: s3://bucket/prefix?X-Amz-Signature=*** -> the worker's SOURCE_URL (no --source)",
        '  load mode of users: append\\u0007 -> upsert (LOAD_MODES unset)',
        '  load mode of time: {"toString":1} -> upsert (LOAD_MODES unset)',
        '  retry budget: moved from postgres://etl:***@db/warehouse -> 10m (RETRY_BUDGET unset)',
        '  reason: \\u001b[31mRED\\u001b[0m\\u000dOVER -> -',
        '  checks: [[[[[[[…]]]]]]] -> -',
        `  onMissingFile: ${'x'.repeat(300)}… (100000 characters) -> warn`,
        '  still paused (paused by \\u001b[2Jsomeone): up keeps it so; unpause starts its runs again',
      ]),
    );
  } finally {
    await deleteSchedules(deployment);
  }
});

test("`up`'s change lines of a schedule made elsewhere whose input is not an object: shown as itself, bounded", () => {
  const facts = (input: unknown): ScheduleFacts => ({
    minute: 0,
    taskQueue: 'q',
    input,
    overlap: 'BUFFER_ALL',
    catchupWindowMs: 7 * 24 * HOUR_MS,
    paused: false,
  });
  const after = facts({ loadModes: { users: 'upsert' }, retryBudget: '10m' });
  expect(scheduleChanges(facts('just a\x1b[2J string'), after, {})).toEqual([
    '  input: just a\\u001b[2J string (not an object) -> -',
    "  source: - -> the worker's SOURCE_URL",
    '  load mode of users: - -> upsert',
    '  retry budget: - -> 10m',
  ]);
  const deep = JSON.parse('['.repeat(3000) + ']'.repeat(3000)) as unknown;
  expect(scheduleChanges(facts(deep), after, {})[0]).toBe('  input: [[[[[[[…]]]]]]] (not an object) -> -');
  // on creation, the load modes on one line, whatever they hold
  const created = scheduleChanges(undefined, facts({ loadModes: { users: 'append\x07', time: { toString: 1 } } }), {});
  expect(created).toContain('  load modes: users=append\\u0007 time={"toString":1}');
});

test('`npm run schedule -- up` refuses a start and an end between which no run would start, nothing changed; an hour at :15 has its one run at the end plus the minute', async () => {
  const deployment = `schedspan-${randomUUID().slice(0, 8)}`;
  const cliEnv = programEnv({
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: 'default',
    SPARKIFY_DEPLOYMENT: deployment,
  });
  const schedule = (...args: string[]) =>
    runCommand('npm', ['run', '-s', 'schedule', '--', ...args, '--skip-checks'], cliEnv);
  const id = `${deployment}-hourly`;
  // A day ahead: no run falls due while the test runs.
  const startMs = (Math.floor(Date.now() / HOUR_MS) + 24) * HOUR_MS;
  const ms = (minutes: number) => startMs + minutes * 60_000;
  const at = (minutes: number) => shortIso(ms(minutes));
  try {
    // An end within the start's hour: no run would load it; refused as between hours, nothing created.
    const within = await schedule('up', '--start', at(0), '--end', at(30));
    expect(within.code).toBe(2);
    expect(within.stderr).toContain(
      `error: --end ${at(30)} is not on a whole hour (the runs load whole hours); did you mean ${at(0)} or ${at(60)}?`,
    );
    const none = await schedule('describe');
    expect(none.code).toBe(1);
    expect(none.stdout).toContain(`no schedule ${id} (schedule up creates it)`);
    // Settings given to upsertSchedule itself (not read by the CLI): a start between hours and an end in the
    // next hour leave no run (the first would be at the hour after): refused on creation, nothing created.
    const odd = settings(id, deployment, {
      startAt: new Date(ms(30)).toISOString(),
      endAt: new Date(ms(60)).toISOString(),
    });
    const refused = upsertSchedule(env.client, odd);
    await expect(refused).rejects.toThrow(ScheduleSpanError);
    await expect(refused).rejects.toThrow(
      `no run would ever start between the start ${at(30)} and the end ${at(60)}: the first would start at ` +
        `${at(120)} (runs start at :00, after the hour they load); give an end at or after ${at(120)} ` +
        '(SCHEDULE_END or --end), or remove the end with --end none',
    );
    expect((await schedule('describe')).code).toBe(1);

    // An end an hour after the start: its one run, at the end.
    const one = await schedule('up', '--start', at(0), '--end', at(60));
    expect([one.code, one.stderr]).toEqual([0, '']);
    expect((await schedule('describe')).stdout).toContain(`  next: ${at(60)}\n`);
    // Runs at :15, the start and the end kept: the kept end moves with the minute (the end plus the minute), so
    // the one run is at a quarter past the end and still loads the hour from the start to the end. Accepted.
    const minute = await schedule('up', '--minute', '15');
    expect([minute.code, minute.stderr]).toEqual([0, '']);
    expect(minute.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        '  minute: :00 -> :15 (--minute)',
        `  kept its start ${at(0)} (SCHEDULE_START or --start changes it)`,
        `  kept its end ${at(60)} (SCHEDULE_END or --end changes it; --end none removes it)`,
      ]),
    );
    expect((await env.client.schedule.getHandle(id).describe()).spec.endAt?.getTime()).toBe(ms(75));
    const described = await schedule('describe');
    expect(described.code).toBe(0);
    expect(described.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        '  runs: hourly at :15',
        `  start: ${at(0)}  end: ${at(60)}`,
        `  first run at: ${at(75)} (it loads the hour that begins at the start)`,
        `  next: ${at(75)}`,
      ]),
    );

    // A schedule made elsewhere (or by an `up` before starts between hours were refused) keeps a start between
    // hours: an end at the next hour leaves no run. Refused on update, naming the kept start; nothing changed.
    await env.client.schedule.getHandle(id).delete();
    await env.client.schedule.create({
      scheduleId: id,
      spec: { intervals: [{ every: '1h' }], startAt: new Date(ms(90)) },
      action: {
        type: 'startWorkflow',
        workflowType: 'SparkifyEtl',
        workflowId: deployment,
        taskQueue: deployment,
        args: [{}],
      },
      state: { paused: true, note: 'made elsewhere' },
    });
    const kept = await schedule('up', '--end', at(60));
    expect(kept.code).toBe(2);
    expect(kept.stderr).toContain(
      `error: no run would ever start between the start ${at(30)} (kept) and the end ${at(60)}: the first would ` +
        `start at ${at(120)} (runs start at :00, after the hour they load); give an end at or after ${at(120)} ` +
        '(SCHEDULE_END or --end), or remove the end with --end none',
    );
    expect((await schedule('describe')).stdout).toContain(`  start: ${at(30)}  end: -\n`);
  } finally {
    await deleteSchedules(deployment);
  }
});

test.each([
  ['', '--max-errors must be an integer >= 0, got ""'],
  [' ', '--max-errors must be an integer >= 0, got " "'],
  ['0x10', '--max-errors must be an integer >= 0, got "0x10"'],
  ['1e3', '--max-errors must be an integer >= 0, got "1e3"'],
  ['1.5', '--max-errors must be an integer >= 0, got "1.5"'],
  ['-1', '--max-errors must be an integer >= 0, got "-1"'],
  ['99999999999999999999', '--max-errors must be an integer >= 0, got "99999999999999999999"'],
  ['1000001', '--max-errors: 1000001 must be an integer from 0 to 1000000'],
])('backfill --max-errors=%j is refused before any hour starts: %s', async (value, message) => {
  const res = await runCommand(
    'npm',
    [
      'run',
      '-s',
      'backfill',
      '--',
      '--from',
      '2018-11-03T06:00Z',
      '--to',
      '2018-11-03T08:00Z',
      `--max-errors=${value}`,
    ],
    programEnv({ TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: 'default' }),
  );
  expect(res.code).toBe(2);
  expect(res.stderr).toContain(`error: ${message} (npm run backfill -- --help shows the options)`);
  expect(res.stdout).toBe('');
});

describe('backfill command', () => {
  const from = '2018-11-03T00:00Z';
  const to = '2018-11-03T06:00Z';
  let db: TestDatabase;
  let whole: TestDatabase;
  let taskQueue: string;
  let cliEnv: NodeJS.ProcessEnv;
  const backfill = (...args: string[]) => runCommand('npm', ['run', '-s', 'backfill', '--', ...args], cliEnv);

  beforeAll(async () => {
    db = await createTestDatabase();
    whole = await createTestDatabase();
    taskQueue = uniqueQueue('backfill');
    cliEnv = { ...process.env, TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS, TASK_QUEUE: taskQueue };
    // The reference: one run over the whole range.
    const wholeQueue = uniqueQueue('whole');
    await withWorker(env, { taskQueue: wholeQueue, pool: whole.pool }, () =>
      env.client.workflow.execute('SparkifyEtl', {
        taskQueue: wholeQueue,
        workflowId: `whole-${wholeQueue}`,
        args: [{ start: from, end: to }],
      }),
    );
  });
  afterAll(async () => {
    await db?.drop();
    await whole?.drop();
  });

  test('runs one workflow per hour and ends with the tables of one run over the whole range', async () => {
    const res = await withWorker(env, { taskQueue, pool: db.pool }, () =>
      backfill('--from', from, '--to', to, '--concurrency', '3'),
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('6 hour(s): 6 to run, 0 running (joined), 0 skipped (reprocess=failed)');
    expect(res.stdout).toMatch(/^completed\s+6$/m);
    expect(res.stderr).toMatch(/\[#{30}\] 6\/6 {2}done 6 {2}failed 0 {2}running 0 {2}skipped 0/);
    expect(await intervalsLoaded(db)).toEqual(hoursIn(makeInterval(from, to)).map((h) => h.start));
    const ids = [];
    for await (const w of env.client.workflow.list({
      query: `WorkflowId STARTS_WITH 'sparkify-etl-2018-11-03T0' AND TaskQueue = '${taskQueue}'`,
    })) {
      ids.push(w.workflowId);
    }
    // named by the end of the hour, as the schedule names its run of that hour
    expect(ids.sort()).toEqual(['01', '02', '03', '04', '05', '06'].map((h) => `sparkify-etl-2018-11-03T${h}:00:00Z`));
    expect(await tableChecksums(db.pool)).toEqual(await tableChecksums(whole.pool));
  });

  test('running it again skips the completed hours; --reprocess all runs them again without duplicates', async () => {
    const again = await backfill('--from', from, '--to', to); // no worker needed: nothing runs
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('6 hour(s): 0 to run, 0 running (joined), 6 skipped');
    const before = await tableChecksums(db.pool);
    const all = await withWorker(env, { taskQueue, pool: db.pool }, () =>
      backfill('--from', from, '--to', to, '--reprocess', 'all', '--reverse', '--concurrency', '6'),
    );
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('6 hour(s): 6 to run');
    expect(await tableChecksums(db.pool)).toEqual(before);
    expect(await tableChecksums(db.pool)).toEqual(await tableChecksums(whole.pool));
  });

  test('--dry-run prints the plan and starts nothing', async () => {
    const dry = await backfill('--from', '2018-11-03T06:00Z', '--to', '2018-11-03T08:00Z', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('run   sparkify-etl-2018-11-03T07:00:00Z  (last run: none)');
    expect(dry.stdout).toContain('run   sparkify-etl-2018-11-03T08:00:00Z  (last run: none)');
    await expect(env.client.workflow.getHandle('sparkify-etl-2018-11-03T07:00:00Z').describe()).rejects.toThrow();
  });

  test.each([
    [['--from', '2018-11-03T06:00Z', '--to', '2018-11-03T05:00Z'], 'must be before --to 2018-11-03T05:00Z'],
    [
      ['--from', '2018-11-03T06:30Z', '--to', '2018-11-03T08:00Z'],
      'is not on a whole hour; did you mean 2018-11-03T06:00Z?',
    ],
    [['--from', '2018-01-01T00:00Z', '--to', '2020-01-01T00:00Z'], 'a backfill may span at most 8784'],
    [['--from', 'soon', '--to', '2018-11-03T08:00Z'], '--from "soon" is not a time such as 2018-11-15T13:00Z'],
    [
      ['--from', '2018-11-03T06:00Z', '--to', '2018-11-03T08:00Z', '--reprocess', 'some'],
      '--reprocess must be one of none, failed, all',
    ],
    [['--from', '2018-11-03T06:00Z', '--to', '2018-11-03T08:00Z', '--parallel', '3'], "Unknown option '--parallel'"],
    [['--to', '2018-11-03T08:00Z'], '--from and --to are required'],
  ])('%j is refused: %s', async (args, message) => {
    const res = await backfill(...args);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(message);
    expect(res.stderr).toContain('(npm run backfill -- --help shows the options)');
    expect(res.stderr).not.toContain('usage:');
    expect(res.stdout).toBe('');
  });
});
