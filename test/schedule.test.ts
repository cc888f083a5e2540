/**
 * The hourly schedule and backfills, on the real dev server (Schedules need the full server, not the
 * time-skipping one) and a real PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { HOUR_MS, hoursIn, makeInterval } from '../src/interval';
import { catchUp, describeSchedule, durationText, upsertSchedule, type ScheduleSettings } from '../src/schedule';
import { tableChecksums } from './support/checksum';
import { useTemporalEnv, createTestDatabase, uniqueQueue, withWorker, type TestDatabase } from './support/helpers';
import { programEnv, runCommand } from './support/processes';

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
    await upsertSchedule(env.client, settings(id, queue, { startAt: '2018-11-01T00:00:00.000Z', minute: 0 })),
  ).toBe('created');
  expect(
    await upsertSchedule(
      env.client,
      settings(id, queue, { startAt: '2018-11-02T00:00:00.000Z', minute: 15, overlap: 'ALLOW_ALL' }),
    ),
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

    // No worker on the deployment's queue: the triggered run waits, and its input is what the Web UI shows.
    expect((await schedule('trigger')).code).toBe(0);
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
    expect(JSON.parse(Buffer.from(payload.data!).toString('utf8'))).toEqual(expected);
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
  const firstRun = new Date(start.getTime() + HOUR_MS).toISOString();
  // the start as SCHEDULE_START gave it; the first run, an hour later, on its own line
  const startLines = (minute: string) => [
    `  runs: hourly at :${minute}`,
    `  start: ${start.toISOString()}  end: -`,
    `  first run at: ${firstRun.replace(':00:00', `:${minute}:00`)} (it loads the hour that begins at the start)`,
  ];
  try {
    const created = await schedule(cliEnv, 'up');
    expect(created).toContain(`created schedule ${deployment}-hourly (task queue ${deployment})`);
    expect(created).toContain('no SCHEDULE_START: nothing to catch up; runs start at the next hour');
    expect(await described()).toEqual(['  runs: hourly at :00', '  start: -  end: -']);

    expect(await schedule({ ...cliEnv, SCHEDULE_START: start.toISOString() }, 'up')).toContain(
      `updated schedule ${deployment}-hourly (task queue ${deployment})`,
    );
    expect(await described()).toEqual(startLines('00'));
    // Another shell, without SCHEDULE_START, changes the minute: the start stays, and up says so.
    const minute = await schedule(cliEnv, 'up', '--minute', '5');
    expect(minute).toContain(`updated schedule ${deployment}-hourly (task queue ${deployment})`);
    expect(minute).toContain(`kept its start ${start.toISOString()} (SCHEDULE_START or --start changes it)`);
    expect(await described()).toEqual(startLines('05'));
    // and --catchup catches up from it (nothing yet: it is a day ahead)
    const caught = await schedule(cliEnv, 'up', '--catchup');
    expect(caught).toContain('nothing to catch up');
    expect(caught.join('\n')).not.toContain('no SCHEDULE_START');
    expect(await described()).toEqual(startLines('00'));
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
  const start = new Date((Math.floor(Date.now() / HOUR_MS) + 24) * HOUR_MS).toISOString();
  const end = new Date(Date.parse(start) + 48 * HOUR_MS).toISOString();
  try {
    await ok({ ...cliEnv, SCHEDULE_START: start, SCHEDULE_END: end }, 'up');
    expect(await startEnd()).toBe(`  start: ${start}  end: ${end}`);
    // Another shell, without SCHEDULE_END (nor SCHEDULE_START), changes the minute: start and end stay.
    const minute = await ok(cliEnv, 'up', '--minute', '5');
    expect(minute).toContain(`updated schedule ${deployment}-hourly (task queue ${deployment})`);
    expect(minute).toContain(`kept its end ${end} (SCHEDULE_END or --end changes it; --end none removes it)`);
    expect(await startEnd()).toBe(`  start: ${start}  end: ${end}`);
    // A start after the end the schedule keeps would leave it no hour: refused, naming both, nothing changed.
    const later = new Date(Date.parse(end) + HOUR_MS).toISOString();
    const refused = await schedule(cliEnv, 'up', '--start', later);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `error: the start ${later} is not before the end the schedule keeps (${end}): give an end after it ` +
        '(SCHEDULE_END or --end), or remove the end with --end none',
    );
    expect(await startEnd()).toBe(`  start: ${start}  end: ${end}`);
    // --end none removes it (SCHEDULE_END=none too); the start stays.
    const removed = await ok(cliEnv, 'up', '--end', 'none');
    expect(removed.join('\n')).not.toContain('kept its end');
    expect(await startEnd()).toBe(`  start: ${start}  end: -`);
    await ok({ ...cliEnv, SCHEDULE_END: end }, 'up');
    expect(await startEnd()).toBe(`  start: ${start}  end: ${end}`);
    await ok({ ...cliEnv, SCHEDULE_END: 'none' }, 'up');
    expect(await startEnd()).toBe(`  start: ${start}  end: -`);
  } finally {
    await deleteSchedules(deployment);
  }
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
        '  start: 2099-01-01T00:00:00.000Z  end: -',
        '  first run at: 2099-01-01T01:00:00.000Z (it loads the hour that begins at the start)',
        `  each run: SparkifyEtl on task queue ${deployment}, workflow id ${deployment}-<scheduled time>`,
        `  input: ${runInput}`,
      ]),
    );
    const watcher = before.slice(before.indexOf(`schedule ${deployment}-late-data`)).split('\n');
    expect(watcher).toEqual(
      expect.arrayContaining([
        '  start: -  end: -',
        `  each cycle: LateDataWatcher on task queue ${deployment}, workflow id ${deployment}-late-data-<scheduled time>`,
        `  input: deployment ${deployment}, lookback 30d, concurrency 4`,
        `  its re-runs' input: ${runInput}`,
        '  last cycle: none yet',
      ]),
    );
    expect(watcher.join('\n')).not.toContain('first run at');

    // One cycle of the watcher, run to its end by a worker on the deployment's queue: the runs' source is the
    // worker's SOURCE_URL again (the sample data), not that bucket.
    await schedule('up');
    const handle = env.client.schedule.getHandle(`${deployment}-late-data`);
    const cycle = await withWorker(env, { taskQueue: deployment, pool: db.pool }, async () => {
      await handle.trigger();
      const taken = await waitUntil('the cycle to start', async () => (await handle.describe()).info.recentActions[0]);
      await env.client.workflow.getHandle(taken.action.workflow.workflowId).result();
      return taken;
    });
    const closed = (await env.client.workflow.getHandle(cycle.action.workflow.workflowId).describe()).closeTime!;
    const after = await schedule('describe');
    expect(after).toContain(`  its re-runs' input: source the worker's SOURCE_URL, loadModes songplays=replace`);
    expect(after).toContain(
      `  last cycle: started ${cycle.takenAt.toISOString()}, completed ${closed.toISOString()} ` +
        `(${cycle.action.workflow.workflowId})`,
    );
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
  } finally {
    await deleteSchedules(deployment);
  }
});

test('`npm run schedule -- up` refuses a start and an end between which no run would start (an end within the first hour, or before the minute), nothing changed', async () => {
  const deployment = `schedspan-${randomUUID().slice(0, 8)}`;
  const cliEnv = programEnv({
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: 'default',
    SPARKIFY_DEPLOYMENT: deployment,
  });
  const schedule = (...args: string[]) =>
    runCommand('npm', ['run', '-s', 'schedule', '--', ...args, '--skip-checks'], cliEnv);
  // A day ahead: no run falls due while the test runs.
  const startMs = (Math.floor(Date.now() / HOUR_MS) + 24) * HOUR_MS;
  const at = (minutes: number) => new Date(startMs + minutes * 60_000).toISOString();
  try {
    // The first run starts at the start's hour's end: an end half an hour after the start leaves none.
    const within = await schedule('up', '--start', at(0), '--end', at(30));
    expect(within.code).toBe(2);
    expect(within.stderr).toContain(
      `error: no run would ever start between the start ${at(0)} and the end ${at(30)}: the first would start ` +
        `at ${at(60)} (runs start at :00, after the hour they load); give an end at or after it (SCHEDULE_END or ` +
        '--end), or remove the end with --end none',
    );
    const none = await schedule('describe');
    expect(none.code).toBe(1);
    expect(none.stdout).toContain(`no schedule ${deployment}-hourly (schedule up creates it)`);

    // An end an hour after the start: its one run, at the end.
    const one = await schedule('up', '--start', at(0), '--end', at(60));
    expect([one.code, one.stderr]).toEqual([0, '']);
    // Runs at :15, the start and the end kept: that run would be at a quarter past the end. Refused as such.
    const minute = await schedule('up', '--minute', '15');
    expect(minute.code).toBe(2);
    expect(minute.stderr).toContain(
      `error: no run would ever start between the start ${at(0)} (kept) and the end ${at(60)} (kept): the first ` +
        `would start at ${at(75)} (runs start at :15, after the hour they load)`,
    );
    const described = await schedule('describe');
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('  runs: hourly at :00');
    expect(described.stdout).toContain(`  start: ${at(0)}  end: ${at(60)}`);
    expect(described.stdout).toContain(`  next: ${at(60)}`);
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
