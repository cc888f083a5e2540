/**
 * The failure path as the operator sees it: the real commands (`npm run worker`, `db:init`, `etl`, `backfill`)
 * run as child processes, and each failure is read where a person reads it: the command's printed message and
 * exit code, the run's top-level failure as the Web UI shows it (through the Temporal client), the worker
 * log, etl_runs and the metrics.
 */
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { hoursIn, intervalKey, makeInterval, workflowIdFor } from '../src/interval';
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
import { SAMPLE_EVENT } from './support/sample';

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

  test('a backfill over the bad day: hours that failed alike are one line, then what to do once, and exit 1', async () => {
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
    // line 7 has no time: both hours read it and fail on it, with the same message: one line for both
    const ids = ['10', '11'].map((h) =>
      workflowIdFor(makeInterval(`2018-11-02T${h}:00Z`, `2018-11-02T${Number(h) + 1}:00Z`)),
    );
    const lines = res.stdout.split('\n');
    const failedLines = lines.filter((l) => l.startsWith('  FAILED '));
    expect(failedLines).toHaveLength(1);
    expect(failedLines[0]).toMatch(
      new RegExp(`^  FAILED 2 hours 2018-11-02T10h\\.\\.11h: stageEvents: ${DAY_FILE} line 7: invalid JSON`),
    );
    expect(lines).toContain(`    workflow ids: ${ids.join(', ')}`);
    // What to do, once, under the FAILED line. The source is not SOURCE_URL, which the late-data watcher watches:
    // the advice is to run the same backfill again once the file is fixed, and it says which.
    const hint = lines.findIndex((l) => l.startsWith('what to do: '));
    expect(lines.filter((l) => l.startsWith('what to do: '))).toHaveLength(1);
    expect(hint).toBeGreaterThan(lines.indexOf(failedLines[0]!));
    expect(lines.slice(hint, hint + 3)).toEqual([
      'what to do: fix the line or file named above, then run the same command again (the late-data watcher ' +
        'watches SOURCE_URL only: it does not re-run what read another --source):',
      `  npm run backfill -- --from 2018-11-02T10:00Z --to 2018-11-02T12:00Z --source ${badSource} --concurrency 2`,
      'or run again with --max-errors N to set up to N bad lines aside in load_errors and load the rest',
    ]);
    expect(res.stdout).not.toContain(BAD_DATA_HINT);
    // and what it says works: the same backfill with --max-errors runs the failed hours again and loads them
    const again = await backfill('--max-errors', '1');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^completed\s+2$/m);
    expect(again.stdout).toMatch(/^ {2}WARNING 2018-11-02T10h {2}\S+: .*1 bad event line\(s\) kept in load_errors/m);
    expect(again.stdout).not.toContain('what to do');
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

describe('bad lines, as someone new to the project reads about them', () => {
  // Days of their own (no other test file's commands run these hours: the workflow id is the interval's).
  const TIMELESS_DAY = 'log_data/2018/11/2018-11-25-events.json';
  const HOURLY_DAY = 'log_data/2018/11/2018-11-26-events.json';
  const at = (day: string, hour: number, minute: number) =>
    Date.parse(`${day}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00Z`) + 7;
  let item = 0;
  const event = (ts: number, over: Record<string, unknown> = {}) =>
    JSON.stringify({ ...SAMPLE_EVENT, sessionId: 900, itemInSession: item++, ts, ...over });
  /** Line numbers (1-based) of the bad lines of HOURLY_DAY, by what is wrong with them. */
  const bad: Record<string, number[]> = { item10: [], session11: [], hour15: [] };
  let source: string;

  beforeAll(async () => {
    source = await sampleWithEditedFile('bad-lines-read', DAY_FILE, () => undefined);
    // 2018-11-25: two plays an hour, and on line 3 a line with no time: every hour of the day reads it.
    const timeless: string[] = [];
    for (let h = 0; h < 24; h++) timeless.push(event(at('2018-11-25', h, 10)), event(at('2018-11-25', h, 40)));
    timeless.splice(2, 0, 'no JSON here, and no time');
    // 2018-11-26: hours 10 to 15 play; 10 and 11 each hold a bad line of their own (a time that can be read,
    // a different field), 15 holds three.
    const hourly: string[] = [];
    for (let h = 10; h < 16; h++) {
      hourly.push(event(at('2018-11-26', h, 5)));
      if (h === 10) bad.item10!.push(hourly.push(event(at('2018-11-26', h, 20), { itemInSession: 'x' })));
      if (h === 11) bad.session11!.push(hourly.push(event(at('2018-11-26', h, 20), { sessionId: 'y' })));
      if (h === 15) {
        for (const m of [20, 30, 40])
          bad.hour15!.push(hourly.push(event(at('2018-11-26', h, m), { itemInSession: `i${m}` })));
      }
      hourly.push(event(at('2018-11-26', h, 50)));
    }
    for (const [file, lines] of [
      [TIMELESS_DAY, timeless],
      [HOURLY_DAY, hourly],
    ] as const) {
      await mkdir(path.dirname(path.join(source, file)), { recursive: true });
      await writeFile(path.join(source, file), lines.join('\n') + '\n');
    }
  });

  test('a bad line with no time fails all 24 hours of a backfill: one FAILED line for the 24; --max-errors 1 then keeps one load_errors row', async () => {
    const range = ['--from', '2018-11-25T00:00Z', '--to', '2018-11-26T00:00Z', '--source', source];
    const res = await npm(['backfill', '--', ...range, '--concurrency', '8']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^failed\s+24$/m);
    const failedLines = res.stdout.split('\n').filter((l) => l.startsWith('  FAILED '));
    expect(failedLines).toEqual([
      expect.stringMatching(
        new RegExp(`^  FAILED 24 hours 2018-11-25T00h\\.\\.23h: stageEvents: ${TIMELESS_DAY} line 3: invalid JSON`),
      ),
    ]);
    const first = workflowIdFor(makeInterval('2018-11-25T00:00Z', '2018-11-25T01:00Z'));
    const last = workflowIdFor(makeInterval('2018-11-25T23:00Z', '2018-11-26T00:00Z'));
    expect(res.stdout).toContain(`\n    workflow ids: ${first} .. ${last} (one per hour)\n`);
    expect(res.stdout).toContain(
      `\n  npm run backfill -- --from 2018-11-25T00:00Z --to 2018-11-26T00:00Z --source ${source} --concurrency 8\n`,
    );

    // Each hour's run counts the line (it is every hour's: it names none); load_errors, the source's record keyed
    // by file, version and line, keeps it once, under the run_key of the last run that found it
    // (docs/failures.md, "A bad line with no time").
    const tolerated = await npm(['backfill', '--', ...range, '--concurrency', '8', '--max-errors', '1']);
    expect(tolerated.code).toBe(0);
    expect(tolerated.stdout).toMatch(/^completed\s+24$/m);
    expect(tolerated.stdout).toMatch(/^warnings\s+24 of the completed$/m);
    expect(tolerated.stdout).toMatch(/^ {2}WARNING 2018-11-25T00h {2}\S+: 1 bad event line\(s\) kept in load_errors$/m);
    const rows = await db.pool.query<{ run_key: string; line: number }>(
      'SELECT run_key, line FROM load_errors WHERE file = $1',
      [TIMELESS_DAY],
    );
    expect(rows.rows.map((r) => r.line)).toEqual([3]);
    const dayKeys = hoursIn(makeInterval('2018-11-25T00:00Z', '2018-11-26T00:00Z')).map(intervalKey);
    expect(dayKeys).toContain(rows.rows[0]!.run_key);
  });

  test('hours that failed on lines of their own keep a FAILED line each', async () => {
    const res = await npm([
      'backfill',
      '--',
      '--from',
      '2018-11-26T10:00Z',
      '--to',
      '2018-11-26T13:00Z',
      '--source',
      source,
    ]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^completed\s+1$/m);
    expect(res.stdout).toMatch(/^failed\s+2$/m);
    const id = (h: number) => workflowIdFor(makeInterval(`2018-11-26T${h}:00Z`, `2018-11-26T${h + 1}:00Z`));
    expect(res.stdout.split('\n').filter((l) => l.startsWith('  FAILED '))).toEqual([
      `  FAILED 2018-11-26T10h  ${id(10)}: stageEvents: ${HOURLY_DAY} line ${bad.item10![0]}: field "itemInSession" must be an integer, got "x"`,
      `  FAILED 2018-11-26T11h  ${id(11)}: stageEvents: ${HOURLY_DAY} line ${bad.session11![0]}: field "sessionId" must be an integer, got "y"`,
    ]);
    expect(res.stdout).not.toContain('workflow ids');
  });

  test('etl past --max-errors: how many bad lines, the first ones printed, and the --max-errors that loads the hour', async () => {
    const hour = ['--from', '2018-11-26T15:00Z', '--to', '2018-11-26T16:00Z', '--source', source];
    const res = await npm(['etl', '--', ...hour, '--max-errors', '1']);
    expect(res.code).toBe(1);
    const id = workflowIdFor(makeInterval('2018-11-26T15:00Z', '2018-11-26T16:00Z'));
    const [l1, l2, l3] = bad.hour15!;
    expect(res.stderr.split('\n')).toEqual(
      expect.arrayContaining([
        `${id} failed: stageEvents: more than maxErrors=1 bad lines (3 in all, all in the failure's details); ` +
          `the 2nd: ${HOURLY_DAY} line ${l2}: field "itemInSession" must be an integer, got "i30"`,
        '  the 3 bad lines:',
        `    ${HOURLY_DAY} line ${l1}: field "itemInSession" must be an integer, got "i20"`,
        `    ${HOURLY_DAY} line ${l2}: field "itemInSession" must be an integer, got "i30"`,
        `    ${HOURLY_DAY} line ${l3}: field "itemInSession" must be an integer, got "i40"`,
        // the source is not SOURCE_URL: the command to run again, as given
        `  npm run etl -- --from 2018-11-26T15:00Z --to 2018-11-26T16:00Z --source ${source} --max-errors 1`,
        'or raise --max-errors from 1 to 3 (the run found 3 bad lines) to set them aside in load_errors and load the rest',
      ]),
    );
    expect(res.stderr).not.toContain('run again with --max-errors N');
    // and what it says works
    const loaded = await npm(['etl', '--', ...hour, '--max-errors', '3']);
    expect(loaded.code).toBe(0);
    expect(loaded.stdout).toContain('3 bad event line(s) kept in load_errors');
  });

  test('etl of the configured SOURCE_URL: the late-data watcher re-runs the hour when its file changes, and the hint says so', async () => {
    const hour = ['--from', '2018-11-26T10:00Z', '--to', '2018-11-26T11:00Z'];
    // --source naming SOURCE_URL (written otherwise: a trailing slash) is the configured source
    const watched = await npm(['etl', '--', ...hour, '--source', `${source}/`], { SOURCE_URL: source });
    expect(watched.code).toBe(1);
    expect(watched.stderr).toContain(`line ${bad.item10![0]}: field "itemInSession" must be an integer`);
    expect(watched.stderr.split('\n')).toContain(BAD_DATA_HINT);
    expect(watched.stderr).not.toContain('run the same command again');
    const other = await npm(['etl', '--', ...hour, '--source', source]);
    expect(other.code).toBe(1);
    expect(other.stderr).not.toContain(BAD_DATA_HINT);
    expect(other.stderr).toContain(
      `\n  npm run etl -- --from 2018-11-26T10:00Z --to 2018-11-26T11:00Z --source ${source}\n`,
    );
    expect(other.stderr).toContain('\nor run again with --max-errors N to set up to N bad lines aside');
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
