/**
 * The failure path as the operator sees it: the real commands (`npm run worker`, `db:init`, `etl`, `backfill`)
 * run as child processes, and each failure is read where a person reads it: the command's printed message and
 * exit code, the run's top-level failure as the Web UI shows it (through the Temporal client), the worker
 * log, etl_runs and the metrics.
 */
import { mkdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { intervalKey, makeInterval, workflowIdFor } from '../src/interval';
import { Client as PgClient } from 'pg';
import {
  count,
  createTestDatabase,
  sampleWithEditedFile,
  testData,
  testTmp,
  uniqueQueue,
  untilBackend,
  type TestDatabase,
} from './support/helpers';
import { BAD_DATA_HINT } from '../src/outcome';
import { metric } from './support/metrics';
import { Background, freePort, runCommand } from './support/processes';

const DAY_FILE = 'log_data/2018/11/2018-11-02-events.json';
let db: TestDatabase;
let badSource: string;
let env: NodeJS.ProcessEnv;
let worker: Background;
let metricsAddress: string;
let client: Client;
let connection: Connection;

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} missing: run through npm test`);
  return v;
}

const npm = (args: string[], extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 120_000) =>
  runCommand('npm', ['run', '-s', ...args], { ...env, ...extraEnv }, timeoutMs);

/** The message the Web UI shows at the top of a failed run: the failure of its closing event. */
async function topLevelFailure(workflowId: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const last = history.events?.[history.events.length - 1];
  return last?.workflowExecutionFailedEventAttributes?.failure?.message ?? '(not failed)';
}

beforeAll(async () => {
  db = await createTestDatabase();
  // A copy of the sample whose 2018-11-02 log has a line cut short on line 7.
  badSource = await sampleWithEditedFile('failures-source', DAY_FILE, (lines) => {
    lines[6] = '{"artist": "Broken", "ts": 1541';
  });
  metricsAddress = `127.0.0.1:${await freePort()}`;
  env = {
    ...process.env,
    TEMPORAL_ADDRESS: need('SPARKIFY_TEST_TEMPORAL_ADDRESS'),
    TEMPORAL_NAMESPACE: 'default',
    TASK_QUEUE: uniqueQueue('failures'),
    WAREHOUSE_URL: db.url,
    SOURCE_URL: testData(),
    LOG_FORMAT: 'json',
  };
  worker = new Background('npm', ['run', '-s', 'worker'], { ...env, METRICS_ADDRESS: metricsAddress });
  connection = await Connection.connect({ address: need('SPARKIFY_TEST_TEMPORAL_ADDRESS') });
  client = new Client({ connection });
  await worker.waitFor(/worker polling task queue/);
});

afterAll(async () => {
  await worker?.stop('SIGINT');
  await connection?.close();
  await db?.drop();
});

describe('fail fast on what cannot heal', () => {
  test('a worker whose WAREHOUSE_URL port is closed exits 1 within seconds, naming WAREHOUSE_URL', async () => {
    const port = await freePort();
    const url = `postgres://sparkify:s3cret-pw@127.0.0.1:${port}/sparkify`;
    const t0 = Date.now();
    const res = await npm(['worker'], { WAREHOUSE_URL: url, TASK_QUEUE: uniqueQueue('closed') }, 60_000);
    expect(res.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(res.stderr).toContain(
      `worker not started: WAREHOUSE_URL (postgres://sparkify:***@127.0.0.1:${port}/sparkify): connection refused`,
    );
    expect(res.stdout + res.stderr).not.toContain('s3cret-pw');
  });

  test('status against a closed warehouse port, or a database never initialised, says which setting or command fixes it', async () => {
    const port = await freePort();
    const range = ['--', '--from', '2018-11-01T00:00Z', '--to', '2018-11-01T01:00Z'];
    const closed = await npm(['status', ...range], { WAREHOUSE_URL: `postgres://postgres@127.0.0.1:${port}/sparkify` });
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain(
      `WAREHOUSE_URL (postgres://postgres@127.0.0.1:${port}/sparkify): connection refused`,
    );
    const missing = new URL(db.url);
    missing.pathname = `/no_such_db_${process.pid}`;
    const uninitialised = await npm(['status', ...range], { WAREHOUSE_URL: missing.toString() });
    expect(uninitialised.code).toBe(1);
    expect(uninitialised.stderr).toContain('npm run db:init');
  });

  test('a Temporal address that does not answer: the message says what npm start does with TEMPORAL_ADDRESS set', async () => {
    const port = await freePort();
    const res = await npm(['status', '--', '--from', '2018-11-01T00:00Z', '--to', '2018-11-01T01:00Z'], {
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`TEMPORAL_ADDRESS (127.0.0.1:${port}): cannot reach the Temporal server`);
    expect(res.stderr).toContain('With TEMPORAL_ADDRESS set, `npm start` uses that server and starts none');
  });

  test('an ALERT_WEBHOOK_URL with user:password@ is refused at start (exit 2), without echoing it', async () => {
    const res = await npm(['worker'], { ALERT_WEBHOOK_URL: 'https://hookuser:S3cr3tHook@hooks.example/x' }, 60_000);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('ALERT_WEBHOOK_URL must not carry user:password@');
    expect(res.stdout + res.stderr).not.toContain('S3cr3tHook');
  });

  test('npm run setup -- --help prints its usage and installs nothing; an unknown option exits 2', async () => {
    const help = await npm(['setup', '--', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: npm run setup');
    const unknown = await npm(['setup', '--', '--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      "error: Unknown option '--frobnicate' (npm run setup -- --help shows the options)",
    );
  });

  test('db:init against a closed port exits 1 naming WAREHOUSE_URL', async () => {
    const port = await freePort();
    const res = await npm(['db:init'], { WAREHOUSE_URL: `postgres://postgres@127.0.0.1:${port}/sparkify` }, 60_000);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `error: WAREHOUSE_URL (postgres://postgres@127.0.0.1:${port}/sparkify): connection refused`,
    );
  });

  test('npm start against a closed warehouse port exits 1 naming WAREHOUSE_URL', async () => {
    const port = await freePort();
    const res = await runCommand(
      'npm',
      ['start'],
      {
        ...env,
        WAREHOUSE_URL: `postgres://postgres@127.0.0.1:${port}/sparkify`,
        SPARKIFY_DATA_DIR: path.join(testTmp(), `start-closed-${process.pid}`),
        // a port of its own: another npm start or worker on this machine holds the default one
        METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
      },
      90_000,
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `error: WAREHOUSE_URL (postgres://postgres@127.0.0.1:${port}/sparkify): connection refused`,
    );
  });

  test('schedule up against a closed warehouse port exits 1 naming WAREHOUSE_URL, and creates no schedule', async () => {
    const port = await freePort();
    const id = uniqueQueue('sched');
    const res = await npm(['schedule', '--', 'up'], {
      WAREHOUSE_URL: `postgres://postgres@127.0.0.1:${port}/sparkify`,
      SCHEDULE_ID: id,
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `error: WAREHOUSE_URL (postgres://postgres@127.0.0.1:${port}/sparkify): connection refused`,
    );
    await expect(client.schedule.getHandle(id).describe()).rejects.toThrow(/not found/i);
  });

  test('a worker on a database without the schema, or with a missing source folder, exits 1 saying what to do', async () => {
    const empty = await createTestDatabase();
    try {
      await empty.pool.query('DROP TABLE etl_migrations');
      const unmigrated = await npm(['worker'], { WAREHOUSE_URL: empty.url }, 60_000);
      expect(unmigrated.code).toBe(1);
      expect(unmigrated.stderr).toMatch(/WAREHOUSE_URL \(.*\): the schema is not up to date .*run `npm run db:init`/);
      const noSource = await npm(['worker'], { SOURCE_URL: '/no/such/folder' }, 60_000);
      expect(noSource.code).toBe(1);
      expect(noSource.stderr).toContain(
        'worker not started: SOURCE_URL (/no/such/folder): source folder /no/such/folder',
      );
    } finally {
      await empty.drop();
    }
  });

  test('a configuration error exits 2', async () => {
    const res = await npm(['worker'], { WAREHOUSE_DIALECT: 'oracle' }, 60_000);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('WAREHOUSE_DIALECT=oracle must be postgres or redshift');
  });
});

describe('a malformed source line', () => {
  // Hours of this file's commands are used by no other file's (the workflow id is the interval's).
  const hour = makeInterval('2018-11-02T17:00Z', '2018-11-02T18:00Z');
  const workflowId = workflowIdFor(hour);

  test('etl prints the step, file and line, and exits 1; the Web UI, etl_runs, the log and the metrics say the same', async () => {
    const res = await npm([
      'etl',
      '--',
      '--from',
      '2018-11-02T17:00Z',
      '--to',
      '2018-11-02T18:00Z',
      '--source',
      badSource,
    ]);
    expect(res.code).toBe(1);
    const message = `stageEvents: ${DAY_FILE} line 7: invalid JSON`;
    expect(res.stderr).toContain(`${workflowId} failed: ${message}`);

    // The Web UI's failure row: the message at the top of the failed run, not "Activity task failed".
    expect(await topLevelFailure(workflowId)).toMatch(new RegExp(`^${message}`));

    const audit = await db.pool.query(
      `SELECT status, failed_step, error FROM etl_runs WHERE workflow_id = $1 ORDER BY finished_at DESC LIMIT 1`,
      [workflowId],
    );
    expect(audit.rows[0]).toMatchObject({ status: 'failed', failed_step: 'stageEvents' });
    expect(audit.rows[0].error).toMatch(new RegExp(`^${message}`));
    // The run's staging was dropped although the run failed.
    expect(
      await count(db.pool, `SELECT count(*) FROM pg_tables WHERE tablename = $1`, [
        `staging_events_${intervalKey(hour).toLowerCase()}`,
      ]),
    ).toBe(0);

    // The worker log: each line about this failure is one JSON line; no stack dump for an expected error.
    await worker.waitFor(/"Workflow failed"[^\n]*line 7: invalid JSON/, 10_000);
    const lines = worker.output.split('\n').filter((l) => l.includes(`line 7: invalid JSON`));
    expect(lines.length).toBeGreaterThanOrEqual(2); // the attempt's failure and the run's
    for (const line of lines) expect(JSON.parse(line)).not.toHaveProperty('error.stack');
    expect(worker.output).not.toMatch(/\n\s+at .*\(/); // no stack trace lines anywhere

    const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    expect(metric(text, 'sparkify_runs_total', { status: 'failed', step: 'stageEvents' })).toBe(1);
    expect(metric(text, 'sparkify_run_duration_seconds_count', { status: 'failed' })).toBe(1);
  });

  test('a backfill over the bad day lists each failed hour with its one-line cause, then what to do once, and exits 1', async () => {
    const backfill = (...more: string[]) =>
      npm([
        'backfill',
        '--',
        '--from',
        '2018-11-02T10:00Z',
        '--to',
        '2018-11-02T12:00Z',
        '--source',
        badSource,
        ...more,
      ]);
    const res = await backfill('--concurrency', '2');
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^failed\s+2$/m);
    for (const h of ['10', '11']) {
      const id = workflowIdFor(makeInterval(`2018-11-02T${h}:00Z`, `2018-11-02T${Number(h) + 1}:00Z`));
      expect(res.stdout).toContain(`FAILED 2018-11-02T${h}h  ${id}: stageEvents: ${DAY_FILE} line 7: invalid JSON`);
    }
    // The hint etl prints under a bad-data failure: once, under the FAILED lines, not once per hour.
    const lines = res.stdout.split('\n');
    expect(lines.filter((l) => l === BAD_DATA_HINT)).toHaveLength(1);
    const lastFailed = lines.length - 1 - [...lines].reverse().findIndex((l) => l.startsWith('  FAILED '));
    expect(lines.indexOf(BAD_DATA_HINT)).toBeGreaterThan(lastFailed);
    // and what it says works: the same backfill with --max-errors runs the failed hours again and loads them
    const again = await backfill('--max-errors', '1');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^completed\s+2$/m);
    expect(again.stdout).toMatch(/^ {2}WARNING 2018-11-02T10h {2}\S+: .*1 bad event line\(s\) kept in load_errors/m);
    expect(again.stdout).not.toContain(BAD_DATA_HINT);
  });

  test('a backfill whose hour fails on something other than its data prints no bad-data hint', async () => {
    const folder = await sampleWithEditedFile('backfill-folder-not-file', DAY_FILE, () => undefined);
    await rm(path.join(folder, DAY_FILE));
    await mkdir(path.join(folder, DAY_FILE));
    const res = await npm([
      'backfill',
      '--',
      '--from',
      '2018-11-02T23:00Z',
      '--to',
      '2018-11-03T00:00Z',
      '--source',
      folder,
    ]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(
      /^ {2}FAILED 2018-11-02T23h {2}\S+: stageEvents: listing the event files: .* is not a file$/m,
    );
    expect(res.stdout).not.toContain('what to do');
  });
});

test('a failed check: etl prints the check by name and exits 1', async () => {
  // A songplay in the hour that no staged event explains: append keeps it, and the reconciliation fails.
  await db.pool.query(
    `INSERT INTO songplays (songplay_id, start_time, user_id, level, session_id, location, user_agent)
     VALUES ('planted-by-test', '2018-11-01 10:30:00', 1, 'free', 1, 'x', 'x')`,
  );
  const res = await npm([
    'etl',
    '--',
    '--from',
    '2018-11-01T10:00Z',
    '--to',
    '2018-11-01T11:00Z',
    '--mode',
    'songplays=append',
  ]);
  expect(res.code).toBe(1);
  expect(res.stderr).toMatch(
    /failed: checks: 1 failed for .*: songplays_match_staged_nextsong \(songplays in interval = \d+/,
  );
});

describe('inputs are validated at the door', () => {
  test('an interval of 10 years is refused before anything starts (exit 2)', async () => {
    const res = await npm(['etl', '--', '--from', '2010-01-01T00:00Z', '--to', '2020-01-01T00:00Z']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--from\/--to: the interval spans 87648 hours; one run loads at most 744 .*backfill/);
  });

  test('an interval that ends tomorrow is refused unless --allow-incomplete (exit 2)', async () => {
    const day = new Date(Date.now() + 24 * 3_600_000).toISOString().slice(0, 10);
    const res = await npm(['etl', '--', '--from', `${day}T00:00Z`, '--to', `${day}T01:00Z`]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--to: .* is after the run started .*pass --allow-incomplete/);
  });

  test('a workflow input with a bad duration and a bad check op fails at once as BadInput naming both fields', async () => {
    const err = await client.workflow
      .execute('SparkifyEtl', {
        taskQueue: env.TASK_QUEUE!,
        workflowId: `bad-input-${uniqueQueue('x')}`,
        args: [
          {
            start: '2018-11-01T10:00Z',
            end: '2018-11-01T11:00Z',
            heartbeatTimeout: 'abc',
            checks: [{ name: 'songplays_have_known_users', op: 'toString' }],
          },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as Error & { type?: string };
    expect(cause.type).toBe('BadInput');
    expect(cause.message).toMatch(/^input: .*heartbeatTimeout: "abc" must be a duration/);
    expect(cause.message).toContain('checks[0].op: "toString" is not one of');
  });
});

test('a null input, or one whose problems would fill the history, fails once as BadInput with a bounded message', async () => {
  const start = (args: unknown[], label: string) =>
    client.workflow
      .execute('SparkifyEtl', { taskQueue: env.TASK_QUEUE!, workflowId: `${label}-${uniqueQueue('x')}`, args })
      .catch((e: unknown) => e);
  const nul = await start([null], 'null-input');
  expect(nul).toBeInstanceOf(WorkflowFailedError);
  const nulCause = (nul as WorkflowFailedError).cause as Error & { type?: string };
  expect(nulCause.type).toBe('BadInput');
  expect(nulCause.message).toMatch(/^SparkifyEtl needs an interval: pass \{ start, end \}/);
  const huge = await start(
    [
      {
        start: '2018-11-01T10:00Z',
        end: '2018-11-01T11:00Z',
        ['x'.repeat(1_000_000)]: 1,
        checks: Array.from({ length: 100 }, (_, i) => ({ name: `c${i}`, op: 'bogus' })),
      },
    ],
    'huge-input',
  );
  expect(huge).toBeInstanceOf(WorkflowFailedError);
  const message = ((huge as WorkflowFailedError).cause as Error).message;
  expect(message).toMatch(/^input: x{40}\.\.\.: unknown field/);
  expect(message.length).toBeLessThan(5_000);
});

test('runs of one interval under different workflow ids, at once, each stage privately and all succeed', async () => {
  const runs = await Promise.all(
    [1, 2, 3].map((n) =>
      client.workflow.execute('SparkifyEtl', {
        taskQueue: env.TASK_QUEUE!,
        workflowId: `same-hour-${n}-${uniqueQueue('x')}`,
        args: [{ start: '2018-11-01T20:00Z', end: '2018-11-01T21:00Z', heartbeatTimeout: ' 30s' }],
      }),
    ),
  );
  for (const r of runs) expect(r.checks.every((c: { passed: boolean }) => c.passed)).toBe(true);
  expect(new Set(runs.map((r) => r.staged.events.table)).size).toBe(3);
});

test('a local-activity step that fails (the audit record) is named as its step, and audited as such', async () => {
  const locker = new PgClient({ connectionString: db.url });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE etl_runs IN ACCESS EXCLUSIVE MODE');
    const etl = new Background(
      'npm',
      ['run', '-s', 'etl', '--', '--from', '2018-11-01T22:00Z', '--to', '2018-11-01T23:00Z', '--retry-budget', '0s'],
      env,
    );
    // Twice: the fast path's record (finishRun), then the record the run makes on its own after it. A terminated
    // backend stays in pg_stat_activity for a moment, so the second wait must not see the first one again.
    const terminated: number[] = [];
    for (const attempt of ['in the fast path', 'on its own']) {
      // the record's first statement on etl_runs: its look at the run's earlier record (finish.ts), then its insert
      const waiting = `wait_event_type = 'Lock' AND (query LIKE 'SELECT status, rows, checks FROM etl_runs%' OR query LIKE 'INSERT INTO etl_runs%') AND pid <> ALL('{${terminated.join(',')}}'::int[])`;
      await untilBackend(db, waiting, `the audit record waiting (${attempt})`, 50);
      const gone = await db.pool.query<{ pid: number }>(
        `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND ${waiting}`,
        [db.name],
      );
      terminated.push(...gone.rows.map((r) => r.pid));
    }
    await locker.query('ROLLBACK');
    expect(await etl.exit(60_000)).toBe(1);
    expect(etl.output).toMatch(/failed: recordRun: recording the run in etl_runs: \[57P01 operator intervention\]/);
    const id = workflowIdFor(makeInterval('2018-11-01T22:00Z', '2018-11-01T23:00Z'));
    const audit = await db.pool.query(`SELECT status, failed_step FROM etl_runs WHERE workflow_id = $1`, [id]);
    expect(audit.rows).toEqual([{ status: 'failed', failed_step: 'recordRun' }]);
  } finally {
    await locker.end();
  }
});

test('a day file that links out of the source folder, or is a folder, fails the run naming it; nothing is read or deleted', async () => {
  const linked = await sampleWithEditedFile('linked-out', DAY_FILE, () => undefined);
  await rm(path.join(linked, DAY_FILE));
  await symlink('/proc/self/environ', path.join(linked, DAY_FILE));
  const before = await count(db.pool, 'SELECT count(*) FROM load_errors');
  const out = await npm([
    'etl',
    '--',
    '--from',
    '2018-11-02T20:00Z',
    '--to',
    '2018-11-02T21:00Z',
    '--source',
    linked,
    '--max-errors',
    '5',
  ]);
  expect(out.code).toBe(1);
  expect(out.stderr).toContain(`failed: stageEvents: listing the event files: ${DAY_FILE} is a link to /proc/`);
  expect(out.stderr).toContain('outside the source folder');
  expect(await count(db.pool, 'SELECT count(*) FROM load_errors')).toBe(before);

  const folder = await sampleWithEditedFile('folder-not-file', DAY_FILE, () => undefined);
  await rm(path.join(folder, DAY_FILE));
  await mkdir(path.join(folder, DAY_FILE));
  const res = await npm(['etl', '--', '--from', '2018-11-02T21:00Z', '--to', '2018-11-02T22:00Z', '--source', folder]);
  expect(res.code).toBe(1);
  expect(res.stderr).toContain(
    `failed: stageEvents: listing the event files: ${DAY_FILE} in ${folder} exists but is not a file`,
  );
});

test('a nonsense time-zone offset is refused (exit 2)', async () => {
  const res = await npm(['etl', '--', '--from', '2018-11-01T00:00+99:99', '--to', '2018-11-01T01:00+99:99']);
  expect(res.code).toBe(2);
  expect(res.stderr).toContain('has an offset outside -14:00..+14:00');
});

describe('one run per hour, honestly attached', () => {
  // No worker polls this queue, so a run started on it stays in progress for as long as the test needs.
  const idle = { TASK_QUEUE: uniqueQueue('idle') };
  const from = ['--from', '2018-11-03T17:00Z', '--to', '2018-11-03T18:00Z'];
  const workflowId = workflowIdFor(makeInterval('2018-11-03T17:00Z', '2018-11-03T18:00Z'));

  afterAll(async () => {
    await client.workflow
      .getHandle(workflowId)
      .terminate('test done')
      .catch(() => undefined);
  });

  test('a second etl with a different --max-errors is refused and names the difference; the same input attaches', async () => {
    const first = await npm(['etl', '--', ...from, '--no-wait'], idle);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^started ${workflowId} \\(run [\\w-]+\\)`));

    const other = await npm(['etl', '--', ...from, '--max-errors', '5'], idle);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(
      new RegExp(
        `refused: run [\\w-]+ of ${workflowId} \\(started .*\\) is in progress with a different input: maxErrors is 0 there, 5 here`,
      ),
    );

    const elsewhere = await npm(['etl', '--', ...from], { TASK_QUEUE: uniqueQueue('elsewhere') });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/task queue is "test-idle-\w+" there, "test-elsewhere-\w+" here/);

    const backfill = await npm(['backfill', '--', ...from, '--source', '/tmp'], idle);
    expect(backfill.code).toBe(1);
    expect(backfill.stdout).toMatch(
      new RegExp(
        `REFUSED ${workflowId}: a run of this hour is in progress with a different input \\(source is .*\\); not joined`,
      ),
    );

    const same = await npm(['etl', '--', ...from, '--no-wait'], idle);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(new RegExp(`^attached to run [\\w-]+ of ${workflowId}, started at 20\\d\\d-`));
    expect(same.stdout).not.toContain('started sparkify');
  });
});

test('etl says when no worker picks up the run, and Ctrl-C leaves the run going, saying how to attach again', async () => {
  const queue = uniqueQueue('nobody');
  const etl = new Background(
    'npm',
    ['run', '-s', 'etl', '--', '--from', '2018-11-03T15:00Z', '--to', '2018-11-03T16:00Z'],
    { ...env, TASK_QUEUE: queue },
  );
  const id = workflowIdFor(makeInterval('2018-11-03T15:00Z', '2018-11-03T16:00Z'));
  try {
    await etl.waitFor(
      new RegExp(`no worker has picked up the run for \\d+ s: is a worker running on task queue "${queue}"\\?`),
      60_000,
    );
    await etl.stop('SIGINT');
    expect(etl.output).toContain(`stopped waiting; run `);
    expect(etl.output).toContain(`of ${id} goes on. Run the same command again to attach to it`);
    expect((await client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
  } finally {
    await client.workflow
      .getHandle(id)
      .terminate('test done')
      .catch(() => undefined);
  }
});

test('a backfill over hours without their day file completes them and says so under its summary, as etl does', async () => {
  const res = await npm([
    'backfill',
    '--',
    '--from',
    '2018-10-31T22:00Z',
    '--to',
    '2018-11-01T01:00Z',
    '--reprocess',
    'all',
  ]);
  expect(res.code).toBe(0);
  expect(res.stdout).toMatch(/^completed\s+3$/m);
  expect(res.stdout).toMatch(/^warnings\s+2 of the completed$/m);
  for (const hour of ['22', '23']) {
    expect(res.stdout).toMatch(
      new RegExp(
        `^  WARNING 2018-10-31T${hour}h  \\S+: missing event file\\(s\\): log_data/2018/10/2018-10-31-events\\.json$`,
        'm',
      ),
    );
  }
});

test('a backfill that reaches into the future is refused before anything starts (exit 2)', async () => {
  const next = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 3_600_000).toISOString().slice(0, 16) + 'Z';
  const res = await npm(['backfill', '--', '--from', '2018-11-01T00:00Z', '--to', next]);
  expect(res.code).toBe(2);
  expect(res.stderr).toMatch(/--to .* is in the future: an hour is loaded once it is over/);
});

describe('a role that may not log in', () => {
  const role = `nologin_${process.pid}`;
  let roleWorker: Background | undefined;

  afterAll(async () => {
    await roleWorker?.stop('SIGKILL');
    await db.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  });

  test('the run fails at once, without retrying, printing the step and the SQLSTATE class', async () => {
    await db.pool.query(`CREATE ROLE ${role} LOGIN SUPERUSER`);
    const url = new URL(db.url);
    url.username = role;
    const queue = uniqueQueue('nologin');
    roleWorker = new Background('npm', ['run', '-s', 'worker'], {
      ...env,
      WAREHOUSE_URL: url.toString(),
      TASK_QUEUE: queue,
    });
    await roleWorker.waitFor(/worker polling task queue/);
    // The role loses LOGIN while the worker runs (the worker's start-up check saw it could log in).
    await db.pool.query(`ALTER ROLE ${role} NOLOGIN`);
    await db.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);

    const res = await npm(['etl', '--', '--from', '2018-11-01T02:00Z', '--to', '2018-11-01T03:00Z'], {
      TASK_QUEUE: queue,
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /failed: stage(Events|Songs): .*\[28000 invalid authorization\] role "nologin_\d+" is not permitted to log in/,
    );
    expect(res.stderr).not.toMatch(/attempt \d+ failed/);
    const id = workflowIdFor(makeInterval('2018-11-01T02:00Z', '2018-11-01T03:00Z'));
    const history = await client.workflow.getHandle(id).fetchHistory();
    const starts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    for (const s of starts) expect(s.activityTaskStartedEventAttributes!.attempt).toBe(1);
  });
});

describe('a load that is retried', () => {
  let timeoutWorker: Background | undefined;
  let locker: PgClient | undefined;

  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    await timeoutWorker?.stop('SIGKILL');
  });

  test('each retry line names the step as the failure does: "load users", not the activity type', async () => {
    const queue = uniqueQueue('statement-timeout');
    timeoutWorker = new Background('npm', ['run', '-s', 'worker'], {
      ...env,
      TASK_QUEUE: queue,
      WAREHOUSE_STATEMENT_TIMEOUT_MS: '1500',
    });
    await timeoutWorker.waitFor(/worker polling task queue/);
    // Another session holds the users table: the users load times out (57014) until it lets go.
    locker = new PgClient({ connectionString: db.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
    const etl = new Background(
      'npm',
      ['run', '-s', 'etl', '--', '--from', '2018-11-03T09:00Z', '--to', '2018-11-03T10:00Z', '--retry-budget', '2m'],
      { ...env, TASK_QUEUE: queue },
    );
    await etl.waitFor(
      /load users: attempt 1 failed: \[57014[^\]]*\].*; retrying at \d\d:\d\d:\d\dZ \(attempt 2 of \d+\)/,
      90_000,
    );
    await locker.query('COMMIT');
    expect(await etl.exit(120_000)).toBe(0);
    expect(etl.output).not.toMatch(/loadTable: attempt/);
    expect(etl.output).toMatch(/checks: \d+\/\d+ passed/);
  });
});
