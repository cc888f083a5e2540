/**
 * Custom checks cannot write or leak (issue 13, item 1). Adversarial review found that a check's SQL sent in
 * the workflow input ran through node-postgres's simple protocol, so `COMMIT; DELETE FROM users; SELECT 1`
 * emptied users, and `SELECT rolpassword FROM pg_authid` copied a password verifier into the failure message,
 * the history and etl_runs. Now the input only selects checks by name; their SQL is in files the worker's
 * operator reviews. Real PostgreSQL and dev server throughout.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities, type RunChecksDeps } from '../src/activities';
import { parseCheckFile } from '../src/activities/check-files';
import { couldNotRun, runCustomCheck } from '../src/activities/custom-checks';
import { checkSelectionProblems } from '../src/check-selection';
import { intervalKey, makeInterval, toMs, workflowIdFor } from '../src/interval';
import type { CheckResult, SparkifyEtlInput, SparkifyEtlResult } from '../src/types';
import { postgres } from '../src/warehouse/dialect';
import { classify } from '../src/warehouse/errors';
import { withClient } from '../src/warehouse/pool';
import { inActivityContext } from './support/activities';
import { tableChecksums } from './support/checksum';
import { historyText } from './support/history';
import {
  useTemporalEnv,
  useTestDatabase,
  count,
  need,
  testData,
  testTmp,
  uniqueQueue,
  untilBackend,
  withWorker,
} from './support/helpers';
import { Background, ROOT, runCommand } from './support/processes';

const suffix = randomUUID().replace(/-/g, '').slice(0, 10);
/** A login role whose password verifier the hostile checks try to read. */
const VICTIM = `sparkify_victim_${suffix}`;
/** The read-only role of docs/security.md's recipe, for CHECKS_ROLE. */
const READER = `sparkify_checks_${suffix}`;

const hour = { start: '2018-11-02T13:00:00.000Z', end: '2018-11-02T14:00:00.000Z' };
const interval = makeInterval(hour.start, hour.end);
/** The hour the commands run: its workflow id is the interval's own, so no other test file's command may use it. */
const CLI_HOUR = { start: '2018-11-03T21:00:00.000Z', end: '2018-11-03T22:00:00.000Z' };
const runKey = intervalKey(interval);

/** The operator's check files of this test: a folder of hostile and odd checks. */
function checkFolder(name: string, files: Record<string, string>): string {
  const dir = path.join(mkdtempSync(path.join(testTmp(), 'checks-')), name);
  mkdirSync(dir);
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  return dir;
}

const check = (name: string, sql: string, expected = 0) => `-- name: ${name}\n-- expected: ${expected}\n${sql}\n`;

const hostile = () => checkFolder('hostile', Object.fromEntries(hostileFiles()));

function hostileFiles(): [string, string][] {
  return Object.entries({
    'read_password.sql': check('read_password', `SELECT rolpassword FROM pg_authid WHERE rolname = '${VICTIM}'`),
    // the cast fails, and PostgreSQL's message for it quotes the value
    'read_password_as_int.sql': check(
      'read_password_as_int',
      `SELECT (SELECT rolpassword FROM pg_authid WHERE rolname = '${VICTIM}')::int`,
    ),
    'text_result.sql': check('text_result', `SELECT '5'::text`, 5),
    'delete_in_cte.sql': check('delete_in_cte', 'WITH d AS (DELETE FROM users RETURNING 1) SELECT count(*) FROM d'),
    'has_users.sql': check('has_users', 'SELECT count(*) > 0 FROM users', 1),
    'known_users.sql': check(
      'known_users',
      'SELECT count(*) FROM songplays p WHERE p.start_time >= $1 AND p.start_time < $2 ' +
        'AND NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = p.user_id)',
    ),
    'sleepy.sql': check('sleepy', 'SELECT count(*) FROM (SELECT pg_sleep(1.5)) s', 1),
  });
}

const env = useTemporalEnv();
const db = useTestDatabase();
let secret: string;
let dir: string;

async function admin<T>(fn: (c: PgClient) => Promise<T>, database?: string): Promise<T> {
  const url = new URL(need('SPARKIFY_TEST_PG_ADMIN_URL'));
  if (database) url.pathname = `/${database}`;
  const client = new PgClient({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await admin(async (c) => {
    await c.query(`CREATE ROLE ${VICTIM} LOGIN PASSWORD 'victim-${suffix}'`);
    await c.query(`CREATE ROLE ${READER} NOLOGIN`);
    secret = (await c.query(`SELECT rolpassword FROM pg_authid WHERE rolname = $1`, [VICTIM])).rows[0].rolpassword;
  });
  // docs/security.md's recipe for PostgreSQL, in the test database
  await admin(async (c) => {
    await c.query(`GRANT USAGE ON SCHEMA public TO ${READER}`);
    await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${READER}`);
    await c.query(`GRANT ${READER} TO CURRENT_USER`);
  }, db.name);
  dir = hostile();
  // the hour loaded once, with no custom checks: the state every later attempt must leave as it is
  await runEtl({ ...hour }, 'load');
});

afterAll(async () => {
  await admin(async (c) => {
    await c.query(`DROP ROLE IF EXISTS ${VICTIM}`);
    await c.query(`DROP ROLE IF EXISTS ${READER}`);
  });
});

async function runEtl(input: SparkifyEtlInput, label: string, checks?: RunChecksDeps['checks']) {
  const taskQueue = uniqueQueue(label);
  const workflowId = `${workflowIdFor(interval)}-${taskQueue}`;
  let history = '';
  const outcome = await withWorker(env, { taskQueue, pool: db.pool, checks: checks ?? { dir } }, async () => {
    const handle = await env.client.workflow.start('SparkifyEtl', { taskQueue, workflowId, args: [input] });
    const result = await handle.result().catch((err: unknown) => err);
    history = historyText(await handle.fetchHistory());
    return result as SparkifyEtlResult | WorkflowFailedError;
  });
  return { outcome, history, workflowId };
}

/** The activity itself, as the workflow calls it, without a workflow around it. */
function activities(checks: RunChecksDeps['checks']) {
  return inActivityContext(createActivities({ pool: db.pool, defaultSource: testData(), checks }));
}

describe('what a run may ask for (check-selection.ts, also used by the workflow)', () => {
  test('SQL, unknown fields and odd values are refused, one problem per field', () => {
    expect(
      checkSelectionProblems([
        { name: 'wipe', sql: 'COMMIT; DELETE FROM users; SELECT 1', expected: 1 },
        { name: 'x', op: 'toString' },
        { name: 'y', table: 'pg_authid', minRows: 1 },
        { name: 'z', table: 'users', minRows: -1, expected: 3 },
        { name: 'bad name; DROP TABLE users', expected: 'NaN' },
        'songplays_have_known_users',
      ]),
    ).toEqual([
      "checks[0].sql: a workflow input carries no SQL; checks are SQL files the worker's operator reviews " +
        '(checks/*.sql or CHECKS_DIR): select one by its name',
      'checks[1].op: "toString" is not one of =, !=, >, >=, <, <=',
      'checks[2].table: "pg_authid" is not one of songplays, users, songs, artists, time, staging_events, ' +
        'staging_songs, staged_song_files, load_errors',
      'checks[3].expected: unknown field (use name, table, minRows)',
      'checks[3].minRows: -1 is not a whole number >= 0',
      'checks[4].name: "bad name; DROP TABLE users" is not a check name (a letter, then letters, digits, _ . -)',
      'checks[4].expected: "NaN" is not a finite number',
      'checks[5]: expected an object such as { "name": "songplays_have_known_users" }, got "songplays_have_known_users"',
    ]);
    expect(checkSelectionProblems('SELECT 1')).toEqual(['checks: expected a list of checks, got "SELECT 1"']);
    expect(checkSelectionProblems([{ name: 'a' }, { name: 'a' }])).toEqual(['checks[1].name: "a" is selected twice']);
    expect(
      checkSelectionProblems([
        { name: 'songplays_have_known_users', expected: 2, op: '<=' },
        { name: 'enough_users', table: 'users', minRows: 10 },
      ]),
    ).toEqual([]);
    expect(checkSelectionProblems(undefined)).toEqual([]);
  });

  test('a check file holds exactly one SELECT; literals and comments do not count as statements', () => {
    const problems = (sql: string) => parseCheckFile('f.sql', check('c', sql)).problems;
    expect(problems('COMMIT; DELETE FROM users; SELECT 1')).toEqual([
      'f.sql: holds 3 statements; a check is exactly one SELECT',
    ]);
    expect(problems('SELECT 1; SELECT 2;')).toEqual(['f.sql: holds 2 statements; a check is exactly one SELECT']);
    expect(problems('DELETE FROM users')).toEqual(['f.sql: a check is one SELECT (or WITH … SELECT)']);
    expect(problems('SELECT $3')).toEqual(['f.sql: uses $3; only $1 (interval start) and $2 (interval end) are bound']);
    expect(problems('SELECT 1 /* unclosed ; DELETE')).toEqual(['f.sql: a /* comment is not closed']);
    expect(problems("SELECT count(*) FROM users WHERE first_name <> ';'")).toEqual([]);
    expect(problems(`SELECT count(*) FROM users WHERE first_name <> E'\\';DELETE' -- ; not code`)).toEqual([]);
    expect(problems('SELECT length($q$;DELETE FROM users;$q$) /* ; */ ;')).toEqual([]);
    // where 'a\'' ends depends on the server's standard_conforming_strings: refused rather than guessed
    expect(problems(`SELECT 'a\\''; DELETE FROM users; SELECT '`)).toEqual([
      "f.sql: a string holds a backslash: write it as E'…' so that every server reads it alike",
    ]);
    expect(parseCheckFile('g.sql', 'SELECT 1').problems).toEqual([
      'g.sql: "-- name:" must be a check name (a letter, then letters, digits, _ . -)',
      'g.sql: "-- expected:" must be a number',
    ]);
    const ok = parseCheckFile(
      'h.sql',
      '-- name: h\n-- Why: a plain comment\n-- expected: 2\n-- op: <=\nSELECT count(*) FROM t WHERE a >= $1 AND a < $2;',
    );
    expect(ok.check).toMatchObject({ name: 'h', expected: 2, op: '<=', params: 2 });
  });

  test("the repository's own checks/ folder loads, and its example passes on a loaded hour", async () => {
    const res = await activities({ dir: path.join(__dirname, '..', 'checks') }).runChecks({
      runKey,
      interval,
      builtin: false,
      checks: [{ name: 'songplays_have_known_users' }],
    });
    expect(res.results).toEqual([
      expect.objectContaining({ name: 'songplays_have_known_users', passed: true, actual: 0, expected: '= 0' }),
    ]);
  });
});

describe('a run cannot send SQL', () => {
  test('a workflow input carrying SQL in checks is refused; the tables and etl_runs stay as they were', async () => {
    const before = await tableChecksums(db.pool);
    const runsBefore = await count(db.pool, 'SELECT count(*) FROM etl_runs');
    const input = {
      ...hour,
      checks: [{ name: 'wipe', sql: 'COMMIT; DELETE FROM users; SELECT 1', expected: 1 }],
    } as unknown as SparkifyEtlInput;
    const { outcome, history } = await runEtl(input, 'sql-input');
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    let cause: Error | undefined = (outcome as WorkflowFailedError).cause;
    while (cause && !(cause instanceof ApplicationFailure && cause.type === 'BadInput')) cause = cause.cause as Error;
    expect(cause?.message).toContain('checks[0].sql: a workflow input carries no SQL');
    expect(cause?.message).not.toContain('DELETE');
    expect(await tableChecksums(db.pool)).toEqual(before);
    expect(before.users!.rows).toBeGreaterThan(0);
    expect(await count(db.pool, 'SELECT count(*) FROM etl_runs')).toBe(runsBefore);
    // the caller's own input is in the history, as sent; nothing the warehouse holds is
    expect(history).not.toContain(secret);
  });

  test('the etl command takes check names only, and names the known checks for an unknown one', async () => {
    const taskQueue = uniqueQueue('cli-checks');
    const cliEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: need('SPARKIFY_TEST_TEMPORAL_ADDRESS'),
      TEMPORAL_NAMESPACE: 'default',
      TASK_QUEUE: taskQueue,
      WAREHOUSE_URL: db.url,
      SOURCE_URL: testData(),
    };
    const etl = (...args: string[]) =>
      runCommand('npm', ['run', '-s', 'etl', '--', '--from', CLI_HOUR.start, '--to', CLI_HOUR.end, ...args], cliEnv);
    const bad = await etl('--check', 'x; DELETE FROM users');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      'error: --check: checks[0].name: "x; DELETE FROM users" is not a check name (a letter, then letters, digits, _ . -)',
    );
    const unknown = await withWorker(env, { taskQueue, pool: db.pool, checks: { dir } }, () =>
      etl('--check', 'no_such_check', '--check', 'has_users'),
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe(
      `${workflowIdFor(CLI_HOUR)} failed: checks: unknown check(s) "no_such_check": the checks defined in ${dir} are ` +
        'delete_in_cte, has_users, known_users, read_password, read_password_as_int, sleepy, text_result',
    );
    const ok = await withWorker(env, { taskQueue, pool: db.pool, checks: { dir } }, () =>
      etl('--check', 'has_users', '--check', 'known_users'),
    );
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^checks: 13\/13 passed$/m);
  });
});

describe("the operator's check files cannot write or leak either", () => {
  test('a file holding `COMMIT; DELETE FROM users; SELECT 1` is refused when loaded; users keep their rows', async () => {
    const wipe = checkFolder('wipe', { 'wipe.sql': check('wipe', 'COMMIT; DELETE FROM users; SELECT 1', 1) });
    const users = await count(db.pool, 'SELECT count(*) FROM users');
    const err = await activities({ dir: wipe })
      .runChecks({ runKey, interval, builtin: false, checks: [{ name: 'wipe' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('BadConfig');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).toBe(
      `the check files in CHECKS_DIR=${wipe} have problems: ${wipe}/wipe.sql: holds 3 statements; a check is exactly one SELECT`,
    );
    // and if such SQL got past the loader, the extended protocol refuses a second statement
    const result = await withClient(db.pool, (client) =>
      runCustomCheck(
        client,
        {
          name: 'wipe',
          file: 'wipe.sql',
          description: '',
          expected: 1,
          op: '=',
          sql: 'COMMIT; DELETE FROM users; SELECT 1',
          params: 0,
        },
        {},
        toMs(interval),
        { dir: wipe, statementTimeoutMs: 10_000, dialect: postgres },
      ),
    );
    expect(result).toEqual({
      name: 'wipe',
      passed: false,
      actual: null,
      expected: '= 1',
      detail: 'could not run: cannot insert multiple commands into a prepared statement [42601]',
    });
    expect(await count(db.pool, 'SELECT count(*) FROM users')).toBe(users);
  });

  test('a server message that quotes data (a value cast to regclass) is shown without its quoted parts', async () => {
    // what a check file could do with a secret: make the server name it in an error
    const err = await db.pool.query(`SELECT 'stolen-Ki8gVIHV'::regclass`).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('42P01');
    expect((err as Error).message).toContain('stolen-ki8gvihv');
    const shown = couldNotRun(err);
    expect(shown).toBe('could not run: relation "…" does not exist [42P01]');
    expect(shown).not.toContain('stolen');
  });

  test("reading pg_authid's rolpassword: the value is in neither the failure, the history nor etl_runs", async () => {
    expect(secret).toMatch(/^SCRAM-SHA-256\$/); // there is a secret to leak: the tests runs as a superuser
    const { outcome, history, workflowId } = await runEtl(
      {
        ...hour,
        builtinChecks: false,
        checks: [{ name: 'read_password' }, { name: 'read_password_as_int' }, { name: 'text_result' }],
      },
      'pg-authid',
    );
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    const message = (outcome as WorkflowFailedError).cause?.message ?? '';
    expect(message).toContain('checks: 3 failed');
    expect(message).toContain('read_password (returned a non-numeric value)');
    expect(message).toContain(
      "read_password_as_int (could not run: SQLSTATE 22P02 (the server's message is not shown: it may quote data))",
    );
    expect(message).toContain('text_result (returned a non-numeric value)');
    const audit = await db.pool.query<{ status: string; checks: string }>(
      'SELECT status, checks::text FROM etl_runs WHERE workflow_id = $1',
      [workflowId],
    );
    expect(audit.rows.map((r) => r.status)).toEqual(['failed_checks']);
    for (const stored of [message, history, audit.rows[0]!.checks]) {
      expect(stored).toContain('read_password');
      expect(stored).not.toContain(secret);
      expect(stored).not.toContain('SCRAM-SHA-256');
    }
  });

  test("nor in the worker's log: worker and etl as processes", async () => {
    // the worker reads checks/ in its working folder (CHECKS_DIR's default), here a copy of the hostile folder
    const workDir = path.dirname(checkFolder('checks', Object.fromEntries(hostileFiles())));
    const processEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: need('SPARKIFY_TEST_TEMPORAL_ADDRESS'),
      TEMPORAL_NAMESPACE: 'default',
      TASK_QUEUE: uniqueQueue('checks-log'),
      WAREHOUSE_URL: db.url,
      SOURCE_URL: testData(),
      CHECKS_DIR: path.join(workDir, 'checks'),
      WORKFLOW_BUNDLE: need('SPARKIFY_TEST_BUNDLE'),
      LOG_LEVEL: 'DEBUG',
    };
    const worker = new Background(
      path.join(ROOT, 'node_modules/.bin/tsx'),
      [path.join(ROOT, 'src/worker.ts')],
      processEnv,
      workDir,
    );
    try {
      await worker.waitFor(/worker polling task queue/);
      const etl = await runCommand(
        'npm',
        [
          'run',
          '-s',
          'etl',
          '--',
          '--from',
          CLI_HOUR.start,
          '--to',
          CLI_HOUR.end,
          '--check',
          'read_password',
          '--check',
          'read_password_as_int',
          '--check',
          'text_result',
        ],
        processEnv,
      );
      expect(etl.code).toBe(1);
      expect(etl.stderr).toContain('read_password (returned a non-numeric value)');
      expect(etl.stderr).toContain('read_password_as_int (could not run: SQLSTATE 22P02');
      // the run's own log lines (its audit record's among them) are written asynchronously: wait for the last
      await worker.waitFor(/"message":"run failed_checks".*"failedChecks":3/);
      for (const printed of [etl.stdout, etl.stderr, worker.output]) {
        expect(printed).not.toContain(secret);
        expect(printed).not.toContain('SCRAM-SHA-256');
      }
    } finally {
      await worker.stop('SIGINT');
    }
  });

  test('as CHECKS_ROLE (the read-only role of docs/security.md) a check cannot even read pg_authid', async () => {
    const res = await activities({ dir, role: READER }).runChecks({
      runKey,
      interval,
      builtin: false,
      checks: [{ name: 'read_password' }, { name: 'known_users' }, { name: 'delete_in_cte' }],
    });
    expect(res.results.map((r: CheckResult) => [r.name, r.passed, r.detail])).toEqual([
      ['read_password', false, 'could not run: permission denied for table pg_authid [42501]'],
      ['known_users', true, 'returned 0, expected = 0'],
      ['delete_in_cte', false, 'could not run: cannot execute SELECT in a read-only transaction [25006]'],
    ]);
  });

  test('a write is refused by the READ ONLY transaction; a boolean counts as 1; a slow check meets its timeout', async () => {
    const users = await count(db.pool, 'SELECT count(*) FROM users');
    const res = await activities({ dir, statementTimeoutMs: 300 }).runChecks({
      runKey,
      interval,
      builtin: false,
      checks: [{ name: 'delete_in_cte' }, { name: 'has_users' }, { name: 'sleepy' }, { name: 'known_users', op: '>' }],
    });
    expect(res.results.map((r: CheckResult) => [r.name, r.passed, r.detail])).toEqual([
      ['delete_in_cte', false, 'could not run: cannot execute SELECT in a read-only transaction [25006]'],
      ['has_users', true, 'returned 1, expected = 1'],
      ['sleepy', false, 'did not finish within 300 ms (CHECKS_STATEMENT_TIMEOUT_MS)'],
      ['known_users', false, 'returned 0, expected > 0'],
    ]);
    expect(await count(db.pool, 'SELECT count(*) FROM users')).toBe(users);
  });
});

describe('a lost connection during a custom check is retried, not failed', () => {
  const sleeping = "query LIKE '%pg_sleep(1.5)%' AND state = 'active' AND pid <> pg_backend_pid()";
  const terminate = () =>
    db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND ${sleeping} AND query NOT LIKE '%pg_stat_activity%'`,
      [db.name],
    );

  test('the activity rethrows it as transient, so its retry policy applies', async () => {
    const running = activities({ dir })
      .runChecks({ runKey, interval, builtin: false, checks: [{ name: 'sleepy' }] })
      .catch((e: unknown) => e);
    await untilBackend(db, `${sleeping} AND query NOT LIKE '%pg_stat_activity%'`, 'the check running', 20);
    expect((await terminate()).rowCount).toBe(1);
    const err = await running;
    // a retryable failure of type Transient: the activity's retry policy retries it
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('Transient');
    expect((err as ApplicationFailure).nonRetryable).toBe(false);
    expect(classify((err as ApplicationFailure).cause)).toBe('transient');
  });

  test('the run retries the checks and succeeds', async () => {
    const taskQueue = uniqueQueue('check-retry');
    const result = await withWorker(env, { taskQueue, pool: db.pool, checks: { dir } }, async () => {
      const handle = await env.client.workflow.start('SparkifyEtl', {
        taskQueue,
        workflowId: `${workflowIdFor(interval)}-${taskQueue}`,
        args: [{ ...hour, checks: [{ name: 'sleepy' }] }],
      });
      await untilBackend(db, `${sleeping} AND query NOT LIKE '%pg_stat_activity%'`, 'the check running', 20);
      expect((await terminate()).rowCount).toBe(1);
      return (await handle.result()) as SparkifyEtlResult;
    });
    expect(result.checks.find((c) => c.name === 'sleepy')).toMatchObject({ passed: true, actual: 1 });
  });
});
