/**
 * One identity per hour: the schedule's run of an hour, `etl` and `backfill` of that hour share one workflow
 * id (workflowIdFor), and every run carries its interval as search attributes. Real dev server, real
 * PostgreSQL, the real commands as child processes.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from '../src/datagen/generate';
import { hoursIn, makeInterval, workflowIdFor } from '../src/interval';
import { catchUp, upsertSchedule } from '../src/schedule';
import { DATA_INTERVAL_END, DATA_INTERVAL_START } from '../src/search-attributes';
import { eventFileKey } from '../src/source';
import { testTmp, useTemporalEnv, useTestDatabase, uniqueQueue, withWorker } from './support/helpers';
import { Background, runCommand } from './support/processes';

const env = useTemporalEnv();
const db = useTestDatabase();

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function listIds(query: string): Promise<{ id: string; status: string }[]> {
  const out: { id: string; status: string }[] = [];
  for await (const w of env.client.workflow.list({ query })) out.push({ id: w.workflowId, status: w.status.name });
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

test('the schedule catches up 24 hours; backfill then skips all 24 and etl of one of them attaches to its run', async () => {
  const deployment = `ident-${randomUUID().slice(0, 8)}`;
  const taskQueue = uniqueQueue('identity');
  const scheduleId = `${deployment}-hourly`;
  const range = makeInterval('2018-11-04T00:00Z', '2018-11-05T00:00Z');
  const hours = hoursIn(range);
  const ids = hours.map((h) => workflowIdFor(h, deployment));
  const cliEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TASK_QUEUE: taskQueue,
    SPARKIFY_DEPLOYMENT: deployment,
  };
  const settings = {
    id: scheduleId,
    taskQueue,
    deployment,
    minute: 0,
    catchupWindow: '1d',
    overlap: 'ALLOW_ALL' as const,
    startAt: range.start,
    endAt: range.end,
  };
  try {
    await upsertSchedule(env.client, settings);
    // No worker yet: the 24 caught-up runs wait, so `etl` finds one of them in progress.
    expect(await catchUp(env.client, settings, new Date())).toMatchObject({ runs: 24 });
    const started = await waitUntil('24 scheduled runs', async () => {
      const got = await listIds(`WorkflowId STARTS_WITH '${deployment}-'`);
      return got.length >= 24 ? got : undefined;
    });
    // The server names the run at T `<deployment>-<T>` (RFC 3339): exactly the ids workflowIdFor gives the hours.
    expect(started.map((w) => w.id)).toEqual([...ids].sort());
    expect(ids[5]).toBe(`${deployment}-2018-11-04T06:00:00Z`);

    const hour = hours[5]!;
    const etl = new Background('npm', ['run', '-s', 'etl', '--', '--from', hour.start, '--to', hour.end], cliEnv);
    try {
      await etl.waitFor(new RegExp(`attached to run \\S+ of ${ids[5]}, started at`));
      await withWorker(env, { taskQueue, pool: db.pool }, async () => {
        expect(await etl.exit(90_000)).toBe(0);
        expect(etl.output).toMatch(/rows|songplays/);
        await waitUntil('24 completed runs', async () => {
          const done = await listIds(`WorkflowId STARTS_WITH '${deployment}-' AND ExecutionStatus = 'Completed'`);
          return done.length >= 24 ? done : undefined;
        });
      });
    } finally {
      await etl.stop();
    }
    expect(etl.output).not.toMatch(/^started /m);

    // The backfill of the same range finds the scheduled runs under its own ids: nothing to run.
    const backfill = await runCommand(
      'npm',
      ['run', '-s', 'backfill', '--', '--from', range.start, '--to', range.end],
      cliEnv,
    );
    expect(backfill.stderr).not.toMatch(/error/i);
    expect(backfill.code).toBe(0);
    expect(backfill.stdout).toContain(
      'backfill 2018-11-04T00:00:00.000Z .. 2018-11-05T00:00:00.000Z: 24 hour(s): 0 to run, 0 running (joined), 24 skipped (reprocess=failed)',
    );
    expect(backfill.stdout).toMatch(/^completed\s+0$/m);
    expect(backfill.stdout).toMatch(/^skipped\s+24$/m);

    // The Web UI's filter finds the run of an hour by its interval, whoever started it.
    // (a range: `DataIntervalStart = '…'` matches nothing on the dev server's SQLite visibility, as for
    // TemporalScheduledStartTime; docs/operations.md says so)
    const byInterval = await listIds(
      `DataIntervalStart >= '${hour.start}' AND DataIntervalStart < '${hour.end}' AND WorkflowId STARTS_WITH '${deployment}-'`,
    );
    expect(byInterval).toEqual([{ id: ids[5], status: 'COMPLETED' }]);
    const described = await env.client.workflow.getHandle(ids[5]!).describe();
    expect(described.typedSearchAttributes.get(DATA_INTERVAL_START)?.toISOString()).toBe(hour.start);
    expect(described.typedSearchAttributes.get(DATA_INTERVAL_END)?.toISOString()).toBe(hour.end);

    // Another deployment in the same namespace does not take these runs for its own.
    const other = await runCommand(
      'npm',
      ['run', '-s', 'backfill', '--', '--from', range.start, '--to', range.end, '--dry-run'],
      { ...cliEnv, SPARKIFY_DEPLOYMENT: `${deployment}-other` },
    );
    expect(other.code).toBe(0);
    expect(other.stdout).toContain('24 hour(s): 24 to run, 0 running (joined), 0 skipped');
    expect(other.stdout).toContain(`run   ${deployment}-other-2018-11-04T06:00:00Z  (last run: none)`);
  } finally {
    await env.client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
  }
});

test('a worker refuses a namespace without the search attributes, naming the command that registers them', async () => {
  const namespace = `nosa-${randomUUID().slice(0, 8)}`;
  const cli = await runCommand(
    process.env.SPARKIFY_TEST_TEMPORAL_CLI!,
    [
      'operator',
      'namespace',
      'create',
      '--namespace',
      namespace,
      '--address',
      process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS!,
    ],
    process.env,
  );
  expect(cli.code).toBe(0);
  const res = await runCommand('npm', ['run', '-s', 'worker'], {
    ...process.env,
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: namespace,
    TASK_QUEUE: uniqueQueue('nosa'),
    WAREHOUSE_URL: db.url,
    SOURCE_URL: process.env.SPARKIFY_TEST_DATA,
    WORKFLOW_BUNDLE: process.env.SPARKIFY_TEST_BUNDLE,
  });
  expect(res.code).toBe(1);
  expect(res.stderr).toContain(
    `worker not started: namespace ${namespace} lacks the search attribute(s) DataIntervalStart, DataIntervalEnd that every run sets: ` +
      `register them once with \`temporal operator search-attribute create --namespace ${namespace} --name DataIntervalStart --name DataIntervalEnd --type Datetime\``,
  );
});

test('two deployments in one namespace: a task queue each by default, and a worker refuses the other deployment’s run on a shared one', async () => {
  const [a, b] = ['depa', 'depb'].map((d) => `${d}-${randomUUID().slice(0, 8)}`) as [string, string];
  const hour = makeInterval('2018-11-05T03:00Z', '2018-11-05T04:00Z');
  const { TASK_QUEUE: _unset, ...base } = process.env;
  const common = {
    ...base,
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    WAREHOUSE_URL: db.url,
    SOURCE_URL: process.env.SPARKIFY_TEST_DATA,
    WORKFLOW_BUNDLE: process.env.SPARKIFY_TEST_BUNDLE,
  };
  const idOfB = workflowIdFor(hour, b);
  const worker = new Background('npm', ['run', '-s', 'worker'], { ...common, SPARKIFY_DEPLOYMENT: a });
  try {
    // No TASK_QUEUE: the deployment's name.
    await worker.waitFor(new RegExp(`worker polling task queue \\\\"${a}\\\\"`));
    const etlOfB = (extra: Record<string, string>, ...args: string[]) =>
      runCommand('npm', ['run', '-s', 'etl', '--', '--from', hour.start, '--to', hour.end, ...args], {
        ...common,
        SPARKIFY_DEPLOYMENT: b,
        ...extra,
      });

    // B's run goes to B's queue, which A's worker does not poll.
    const queued = await etlOfB({}, '--no-wait');
    expect(queued.stderr).toBe('');
    expect(queued.stdout).toContain(`started ${idOfB} `);
    expect(queued.stdout).toContain(`on task queue ${b}`);
    const described = await env.client.workflow.getHandle(idOfB).describe();
    expect(described.taskQueue).toBe(b);
    await env.client.workflow.getHandle(idOfB).terminate('test: no worker of deployment b');

    // Told to share A's queue, B's run is refused by A's worker at its first step: nothing in A's warehouse.
    const refused = await etlOfB({ TASK_QUEUE: a });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `${idOfB} failed: stageEvents: refused by a worker of deployment "${a}": this run is deployment "${b}"'s, ` +
        `and a step here would write to "${a}"'s warehouse. The two deployments share task queue "${a}" in ` +
        'namespace "default": give each deployment its own namespace (TEMPORAL_NAMESPACE), or at least its own ' +
        'TASK_QUEUE (by default the deployment name) (not recorded in etl_runs either, for the same reason)\n',
    );
    const audit = await db.pool.query('SELECT 1 FROM etl_runs WHERE workflow_id = $1', [idOfB]);
    expect(audit.rowCount).toBe(0);
  } finally {
    await worker.stop('SIGINT');
  }
});

test("the late-data watcher on the deployment's own worker: its cycle passes the deployment guard, and its re-run carries the configured run input on the deployment's queue", async () => {
  // A data set of its own (this file's day 2019-05-14): one file of it changes after its hour is loaded.
  const dir = path.join(testTmp(), `identity-late-${process.pid}`);
  await generate({ out: dir, start: '2019-05-14', days: 1, eventsPerDay: 400, songs: 40, seed: 514 });
  const deployment = `idlate-${randomUUID().slice(0, 8)}`;
  const hour = makeInterval('2019-05-14T10:00Z', '2019-05-14T11:00Z');
  const id = workflowIdFor(hour, deployment);
  const { TASK_QUEUE: _unset, ...base } = process.env;
  const common = {
    ...base,
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    WAREHOUSE_URL: db.url,
    SOURCE_URL: dir,
    WORKFLOW_BUNDLE: process.env.SPARKIFY_TEST_BUNDLE,
    SPARKIFY_DEPLOYMENT: deployment,
    LOAD_MODES: 'users=append',
    RETRY_BUDGET: '7m',
  };
  const configured = {
    loadModes: { songplays: 'replace', users: 'append', songs: 'upsert', artists: 'upsert', time: 'upsert' },
    retryBudget: '7m',
    maxErrors: 0,
    onMissingFile: 'warn',
  };
  const worker = new Background('npm', ['run', '-s', 'worker'], common);
  try {
    await worker.waitFor(new RegExp(`worker polling task queue \\\\"${deployment}\\\\"`));
    const etl = await runCommand('npm', ['run', '-s', 'etl', '--', '--from', hour.start, '--to', hour.end], common);
    expect(etl.stderr).toBe('');
    expect(etl.code).toBe(0);

    // A late NextSong event of the loaded hour, appended to its day's file.
    const file = path.join(dir, eventFileKey('2019-05-14'));
    const play = (await readFile(file, 'utf8')).split('\n').find((l) => l.includes('"NextSong"'))!;
    const late = { ...JSON.parse(play), ts: Date.parse('2019-05-14T10:59:00Z'), sessionId: 95141, itemInSession: 0 };
    await appendFile(file, JSON.stringify(late) + '\n');

    const cycle = await runCommand('npm', ['run', '-s', 'late', '--', '--lookback', '5000d'], common, 180_000);
    expect(cycle.stderr).toBe('');
    expect(cycle.stdout).toContain('re-ran 1 hour(s):');
    expect(cycle.stdout).toContain(
      `  2019-05-14T10:00Z  ${id}  succeeded  (late data: ${eventFileKey('2019-05-14')} changed)`,
    );
    expect(cycle.code).toBe(0);
    expect(worker.output).not.toContain('refused by a worker of deployment');

    // The re-run: the hour's own id, the deployment's queue, and what the configuration says runs do.
    const rerun = env.client.workflow.getHandle(id);
    expect((await rerun.describe()).taskQueue).toBe(deployment);
    const started = (await rerun.fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
    expect(JSON.parse(Buffer.from(started.input!.payloads![0]!.data!).toString('utf8'))).toEqual({
      ...configured,
      start: hour.start,
      end: hour.end,
      reason: `late data: ${eventFileKey('2019-05-14')} changed`,
    });

    // Another deployment's cycle sent to this deployment's queue is refused at its first step, and says so.
    const other = `${deployment}-other`;
    const refused = await runCommand(
      'npm',
      ['run', '-s', 'late', '--', '--lookback', '5000d'],
      { ...common, SPARKIFY_DEPLOYMENT: other, TASK_QUEUE: deployment },
      180_000,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `^late-data cycle ${other}-late-data-now-\\S+ failed: refreshSourceIndex: refused by a worker of deployment ` +
          `"${deployment}": this run is deployment "${other}"'s, and a step here would write to "${deployment}"'s warehouse`,
      ),
    );
  } finally {
    await worker.stop('SIGINT');
  }
});
