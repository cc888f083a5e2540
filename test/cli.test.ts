/**
 * As a user would: `npm run generate`, start the worker process, `npm run etl` for one hour; the summary
 * prints, and the run with its activities is visible through the dev server's Web UI.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { workflowIdFor } from '../src/interval';
import { expectedFor } from './support/expected';
import { historyText } from './support/history';
import { count, createTestDatabase, testTmp, uniqueQueue, type TestDatabase } from './support/helpers';
import { Background, programEnv, ROOT, runCommand } from './support/processes';

const PASSWORD = 'not-a-real-secret-7f3a9c';
let db: TestDatabase;
let dataDir: string;
let env: NodeJS.ProcessEnv;
let worker: Background | undefined;

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} missing: run through npm test`);
  return v;
}

/**
 * What a developer may have exported in the shell that runs the tests (their own worker's metrics port, another
 * namespace, a settings file): the commands below run with the settings this file gives them, never these.
 */
const DEVELOPERS_SHELL = {
  METRICS_ADDRESS: 'in use by my own worker',
  TEMPORAL_NAMESPACE: 'my-namespace',
  TEMPORAL_API_KEY: 'my-key',
  SPARKIFY_CONFIG: '/no/such/settings.json',
  LOG_LEVEL: 'ERROR',
  SCHEDULE_START: 'tomorrow-ish',
};

beforeAll(async () => {
  Object.assign(process.env, DEVELOPERS_SHELL); // jest gives each test file a copy of the environment
  db = await createTestDatabase();
  dataDir = path.join(testTmp(), `cli-sample-${process.pid}`);
  const url = new URL(db.url);
  url.password = PASSWORD; // trust auth ignores it; it must never show up in output
  env = programEnv({
    TEMPORAL_ADDRESS: need('SPARKIFY_TEST_TEMPORAL_ADDRESS'),
    TEMPORAL_NAMESPACE: 'default',
    TASK_QUEUE: uniqueQueue('cli'),
    WAREHOUSE_URL: url.toString(),
    SOURCE_URL: dataDir,
  });
});

afterAll(async () => {
  await worker?.stop('SIGKILL');
  await db?.drop();
});

test('generate, worker, etl: the summary prints and the run is in the Web UI', async () => {
  const gen = await runCommand(
    'npm',
    [
      'run',
      '-s',
      'generate',
      '--',
      '--out',
      dataDir,
      '--days',
      '3',
      '--events-per-day',
      '2500',
      '--songs',
      '200',
      '--seed',
      '11',
    ],
    env,
  );
  expect(gen.stderr).toBe('');
  expect(gen.code).toBe(0);
  expect(gen.stdout).toContain('generated 7500 events in 3 day file(s), 200 songs by 80 artists');

  worker = new Background('npm', ['run', '-s', 'worker'], env);
  await worker.waitFor(/worker polling task queue/);
  expect(worker.output).toContain(`"source":"${dataDir}"`);

  const start = '2018-11-02T13:00:00.000Z';
  const end = '2018-11-02T14:00:00.000Z';
  const expected = expectedFor(dataDir, start, end);
  const etl = await runCommand(
    'npm',
    ['run', '-s', 'etl', '--', '--from', '2018-11-02T13:00Z', '--to', '2018-11-02T14:00Z'],
    env,
  );
  expect(etl.stderr).toBe('');
  expect(etl.code).toBe(0);
  const workflowId = workflowIdFor({ start, end });
  expect(etl.stdout).toContain(`SparkifyEtl ${workflowId}: ${start} .. ${end}`);
  const rowsOf = (step: string) => Number(new RegExp(`^${step}\\s+(\\d+)\\s+\\d+$`, 'm').exec(etl.stdout)?.[1]);
  // the hour's part of its day file (2,500 lines): what the source index says holds the hour
  const read = Number(/stage events \(1 file\(s\), (\d+) lines read\)/.exec(etl.stdout)?.[1]);
  expect(read).toBeGreaterThanOrEqual(expected.staged);
  expect(read).toBeLessThan(2500);
  expect(rowsOf('stage events \\(1 file\\(s\\), \\d+ lines read\\)')).toBe(expected.staged);
  expect(rowsOf('load songplays \\(replace\\)')).toBe(expected.songplays);
  expect(rowsOf('load users \\(upsert\\)')).toBe(expected.users);
  expect(rowsOf('load songs \\(upsert\\)')).toBe(expected.songs);
  expect(rowsOf('load artists \\(upsert\\)')).toBe(expected.artists);
  // time's upsert replaces the interval's rows (as songplays' replace does): the summary says so
  expect(rowsOf("load time \\(upsert: replaces the interval's rows\\)")).toBe(expected.time);
  expect(etl.stdout).toMatch(/^checks: 11\/11 passed$/m);
  expect(await count(db.pool, 'SELECT count(*) FROM songplays')).toBe(expected.songplays);

  // What the Web UI shows comes from its HTTP API: the run, completed, with each activity.
  const ui = need('SPARKIFY_TEST_TEMPORAL_UI');
  const described = (await (
    await fetch(`${ui}/api/v1/namespaces/default/workflows/${encodeURIComponent(workflowId)}`)
  ).json()) as {
    workflowExecutionInfo: { status: string; type: { name: string } };
  };
  expect(described.workflowExecutionInfo.type.name).toBe('SparkifyEtl');
  expect(described.workflowExecutionInfo.status).toBe('WORKFLOW_EXECUTION_STATUS_COMPLETED');
  const history = (await (
    await fetch(
      `${ui}/api/v1/namespaces/default/workflows/${encodeURIComponent(workflowId)}/history?maximumPageSize=500`,
    )
  ).json()) as {
    history: {
      events: {
        eventType: string;
        activityTaskScheduledEventAttributes?: { activityType: { name: string } };
        markerRecordedEventAttributes?: { markerName: string; details?: unknown };
      }[];
    };
  };
  // A sample hour takes the fast path: no activity through the server, one local activity as a marker that
  // stages, loads, checks and records, with its summary as the Web UI labels it.
  const activities = history.history.events
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType.name)
    .filter(Boolean);
  expect(activities).toEqual([]);
  const markers = history.history.events.filter(
    (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
  );
  expect(markers).toHaveLength(1);
  const markerText = historyText(markers);
  expect(markerText).toContain('runSmallHour');
  expect(markerText).toContain(`stage, load, check and record ${start.slice(0, 16)}Z .. ${end.slice(0, 16)}Z`);
  for (const part of ['"staged"', '"loads"', '"finished"']) expect(markerText).toContain(part);
  // the failure webhook is no step of the run: recordRun queues it, the worker process delivers it
  expect(markerText).not.toContain('alertRun');
  // The warehouse password is in the worker's environment only: not in history, not in the log.
  const stored = historyText(history);
  expect(stored.includes(`"end":"${end}"`)).toBe(true); // payloads are decoded before searching
  expect(stored.includes(PASSWORD)).toBe(false);
  expect(worker.output.includes(PASSWORD)).toBe(false);

  // Ctrl-C: the worker drains, closes its connections and says so (npm itself then re-raises SIGINT).
  await worker.stop('SIGINT');
  expect(worker.output).toContain('"state":"DRAINED"');
  expect(worker.output).toMatch(/"message":"worker stopped: connections closed".*\s*$/);
  // Logs are JSON lines; the pipeline's carry the run's ids and interval.
  const logs = worker.output
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const loaded = logs.find((l) => l.message === 'loaded songplays');
  expect(loaded).toMatchObject({
    level: 'INFO',
    workflowId,
    activityType: 'runSmallHour', // the fast path, which did the five loads
    interval: { start, end },
    rowsWritten: expected.songplays,
  });
  expect(typeof loaded?.workflowRunId).toBe('string');
});

test('a bad configuration stops the worker before it connects, listing every problem', async () => {
  const res = await runCommand(
    'npm',
    ['run', '-s', 'worker'],
    {
      ...env,
      TEMPORAL_ADDRESS: '127.0.0.1:1', // never reached
      WAREHOUSE_URL: 'not a url',
      TASK_QUEUE: 'bad queue!',
      WAREHOUSE_POOL_MAX: 'lots',
    },
    60_000,
  );
  expect(res.code).toBe(2);
  expect(res.stderr).toContain('invalid configuration:');
  expect(res.stderr).toContain('WAREHOUSE_URL is not a valid URL');
  expect(res.stderr).toContain('TASK_QUEUE=bad queue! may only hold letters, digits, _ . -');
  expect(res.stderr).toContain('WAREHOUSE_POOL_MAX=lots must be an integer from 2 to 200');
});

test('missing URL, bad region, unknown load mode, end before start: one error listing each; no connection', async () => {
  const { WAREHOUSE_URL: _unset, ...rest } = env;
  const res = await runCommand(
    'npm',
    ['run', '-s', 'worker'],
    {
      ...rest,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      WAREHOUSE_DIALECT: 'redshift',
      AWS_REGION: 'mars-north-1x',
      LOAD_MODES: 'users=sideways,songplays=replace,time=replace',
      SCHEDULE_START: '2018-11-05T00:00Z',
      SCHEDULE_END: '2018-11-01T00:00Z',
    },
    60_000,
  );
  expect(res.code).toBe(2);
  const problems = res.stderr.split('\n').filter((l) => l.startsWith('  - '));
  expect(problems).toEqual([
    '  - WAREHOUSE_URL is required with WAREHOUSE_DIALECT=redshift (postgres://user:password@cluster:5439/db)',
    '  - AWS_REGION=mars-north-1x is not an AWS region such as us-west-2',
    '  - REDSHIFT_IAM_ROLE must be the ARN of a role the cluster may assume (arn:aws:iam::<account>:role/<name>)',
    '  - SOURCE_URL must be an s3:// URL with WAREHOUSE_DIALECT=redshift (COPY reads from S3)',
    '  - REDSHIFT_LOG_JSONPATH must be the s3:// URL of sql/log_json_path.json uploaded to your bucket',
    '  - LOAD_MODES: "sideways" is not a load mode of users (use upsert, truncate-insert, append)',
    // what someone asking for time=replace looks for: time's upsert is that already
    `  - LOAD_MODES: "replace" is not a load mode of time (use upsert, truncate-insert, append; time's upsert replaces the interval's rows)`,
    '  - SCHEDULE_START (2018-11-05T00:00:00.000Z) must be before SCHEDULE_END (2018-11-01T00:00:00.000Z)',
  ]);
  expect(res.stderr).not.toMatch(/connect|ECONNREFUSED|transport/i);
});

/** The project's commands (package.json scripts but the developer tools). */
const COMMANDS = [
  'start',
  'worker',
  'etl',
  'late',
  'backfill',
  'status',
  'schedule',
  'db:init',
  'generate',
  'build:workflows',
  'docs:config',
];

test('every command is in the list below (a new command needs --help too)', () => {
  const scripts = Object.keys(
    (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts,
  );
  const tools = ['setup', 'build', 'typecheck', 'test', 'lint', 'format', 'bench', 'worker:js', 'golden:update'];
  expect(scripts.filter((s) => !tools.includes(s)).sort()).toEqual([...COMMANDS].sort());
});

test.each(COMMANDS)('%s: --help prints the usage and starts nothing; an unknown option is one line', async (name) => {
  const npm = name === 'start' ? ['start'] : ['run', name];
  const help = await runCommand('npm', [...npm, '-s', '--', '--help'], env);
  expect(help.stderr).toBe('');
  expect(help.code).toBe(0);
  const usage = name === 'start' ? 'usage: npm start' : `usage: npm run ${name}`;
  expect(help.stdout.split('\n')[0]!.split(' ').slice(0, usage.split(' ').length).join(' ')).toBe(usage);
  expect(readdirSync(ROOT)).not.toContain('--help'); // build:workflows once wrote a bundle named --help
  const bad = await runCommand('npm', [...npm, '-s', '--', '--bogus'], env);
  expect(bad.code).toBe(2);
  expect(bad.stdout).toBe('');
  const helpCommand = name === 'start' ? 'npm start -- --help' : `npm run ${name} -- --help`;
  expect(bad.stderr).toBe(`error: Unknown option '--bogus' (${helpCommand} shows the options)\n`);
});

test('the etl command refuses bad arguments in one line and starts nothing', async () => {
  const unknown = await runCommand(
    'npm',
    ['run', '-s', 'etl', '--', '--from', '2018-11-02T13:00Z', '--to', '2018-11-02T14:00Z', '--frobnicate'],
    env,
  );
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toBe("error: Unknown option '--frobnicate' (npm run etl -- --help shows the options)\n");
  const backwards = await runCommand(
    'npm',
    ['run', '-s', 'etl', '--', '--from', '2018-11-02T14:00Z', '--to', '2018-11-02T13:00Z'],
    env,
  );
  expect(backwards.code).toBe(2);
  expect(backwards.stderr).toContain(
    'error: --from 2018-11-02T14:00Z (2018-11-02T14:00:00.000Z) must be before --to 2018-11-02T13:00Z (2018-11-02T13:00:00.000Z)',
  );
  const mode = await runCommand(
    'npm',
    ['run', '-s', 'etl', '--', '--from', '2018-11-02T13:00Z', '--to', '2018-11-02T14:00Z', '--mode', 'users=replace'],
    env,
  );
  expect(mode.code).toBe(2);
  expect(mode.stderr).toContain(
    'error: --mode: "replace" is not a load mode of users (use upsert, truncate-insert, append)',
  );
  // time's upsert already replaces the interval's rows: the refusal says so
  const time = await runCommand(
    'npm',
    ['run', '-s', 'etl', '--', '--from', '2018-11-02T13:00Z', '--to', '2018-11-02T14:00Z', '--mode', 'time=replace'],
    env,
  );
  expect(time.code).toBe(2);
  expect(time.stderr).toBe(
    `error: --mode: "replace" is not a load mode of time (use upsert, truncate-insert, append; time's upsert ` +
      `replaces the interval's rows) (npm run etl -- --help shows the options)\n`,
  );
});
