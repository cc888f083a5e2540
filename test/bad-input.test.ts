/**
 * Bad source data and bad configuration fail fast and say what to fix; transient errors are retried.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkflowFailedError, ActivityFailure } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { postgres } from '../src/warehouse/dialect';
import { classify } from '../src/warehouse/errors';
import type { SparkifyEtlInput, SparkifyEtlResult } from '../src/types';
import {
  useTemporalEnv,
  useTestDatabase,
  sampleWithEditedFile,
  count,
  createTestDatabase,
  testTmp,
  uniqueQueue,
  withWorker,
  redshiftLoadsOnPostgres,
} from './support/helpers';
import { SAMPLE_EVENT } from './support/sample';

const env = useTemporalEnv();
const db = useTestDatabase();
let badSource: string;
const DAY_FILE = 'log_data/2018/11/2018-11-02-events.json';

beforeAll(async () => {
  // A copy of the sample whose 2018-11-02 log has a malformed line 7 and a wrong type on line 12.
  badSource = await sampleWithEditedFile('bad-source', DAY_FILE, (lines) => {
    lines[6] = '{"artist": "Broken", "ts": 1541';
    lines[11] = lines[11]!.replace(/"itemInSession":\d+/, '"itemInSession":"seven"');
  });
});

async function run(input: SparkifyEtlInput, label: string) {
  const taskQueue = uniqueQueue(label);
  return withWorker(env, { taskQueue, pool: db.pool, source: badSource }, () =>
    env.client.workflow.execute('SparkifyEtl', { taskQueue, workflowId: `${label}-${taskQueue}`, args: [input] }),
  );
}

function activityFailure(err: unknown): { activity: ActivityFailure; app: ApplicationFailure } {
  expect(err).toBeInstanceOf(WorkflowFailedError);
  // The run's own failure names the step; the activity's failure is under it.
  const step = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(step).toBeInstanceOf(ApplicationFailure);
  const activity = step.cause as ActivityFailure;
  expect(activity).toBeInstanceOf(ActivityFailure);
  const app = activity.cause as ApplicationFailure;
  expect(app).toBeInstanceOf(ApplicationFailure);
  return { activity, app };
}

test('a malformed JSON line fails staging at once, naming file and line, and stages nothing', async () => {
  const err = await run({ start: '2018-11-02T13:00Z', end: '2018-11-02T14:00Z' }, 'malformed').catch((e) => e);
  const { activity, app } = activityFailure(err);
  expect(activity.activityType).toBe('stageEvents');
  expect(app.type).toBe('BadData');
  expect(app.nonRetryable).toBe(true);
  expect(app.message).toMatch(new RegExp(`^${DAY_FILE} line 7: invalid JSON`));
  expect(activity.retryState).toBe('NON_RETRYABLE_FAILURE');
  expect(await count(db.pool, 'SELECT count(*) FROM songplays')).toBe(0);
  expect(await count(db.pool, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'staging\\_events\\_%'`)).toBe(0);
});

test('with maxErrors the bad lines go to load_errors with file, line and reason, and the rest loads', async () => {
  const result = await run({ start: '2018-11-02T00:00Z', end: '2018-11-03T00:00Z', maxErrors: 5 }, 'max-errors');
  expect(result.staged.events.badLines).toBe(2);
  expect(result.staged.events.rowsStaged).toBe(3000 - 2);
  expect(result.warnings).toContain('2 bad event line(s) kept in load_errors');
  const rows = (await db.pool.query('SELECT file, line, reason, raw FROM load_errors ORDER BY line')).rows;
  expect(rows.map((r) => [r.file, r.line])).toEqual([
    [DAY_FILE, 7],
    [DAY_FILE, 12],
  ]);
  expect(rows[0].reason).toMatch(/^invalid JSON/);
  expect(rows[0].raw).toBe('{"artist": "Broken", "ts": 1541');
  expect(rows[1].reason).toBe('field "itemInSession" must be an integer, got "seven"');
});

test('more bad lines than maxErrors fails, saying how many in all, the one past the limit, and listing the first', async () => {
  const err = await run({ start: '2018-11-02T00:00Z', end: '2018-11-03T00:00Z', maxErrors: 1 }, 'too-many').catch(
    (e) => e,
  );
  const { app } = activityFailure(err);
  expect(app.message).toBe(
    `more than maxErrors=1 bad lines (2 in all, all in the failure's details); the 2nd: ${DAY_FILE} line 12: ` +
      'field "itemInSession" must be an integer, got "seven"',
  );
  expect(app.type).toBe('BadData');
  expect(app.details).toEqual([
    {
      badLines: 2,
      maxErrors: 1,
      listed: [
        { file: DAY_FILE, line: 7, reason: expect.stringMatching(/^invalid JSON/) },
        { file: DAY_FILE, line: 12, reason: 'field "itemInSession" must be an integer, got "seven"' },
      ],
    },
  ]);
});

test('a missing event file is a warning by default and a non-retryable failure with onMissingFile=fail', async () => {
  const ok = await run({ start: '2018-12-24T10:00Z', end: '2018-12-24T11:00Z' }, 'missing-warn');
  expect(ok.staged.events.rowsStaged).toBe(0);
  expect(ok.warnings).toEqual(['missing event file(s): log_data/2018/12/2018-12-24-events.json']);
  const err = await run(
    { start: '2018-12-24T10:00Z', end: '2018-12-24T11:00Z', onMissingFile: 'fail' },
    'missing-fail',
  ).catch((e) => e);
  const { app } = activityFailure(err);
  expect(app.type).toBe('SourceFileMissing');
  expect(app.message).toContain('log_data/2018/12/2018-12-24-events.json');
});

test('a source folder that does not exist is a configuration error, not retried', async () => {
  const err = await run(
    { start: '2018-11-02T13:00Z', end: '2018-11-02T14:00Z', source: '/nonexistent/sparkify' },
    'no-source',
  ).catch((e) => e);
  const { activity, app } = activityFailure(err);
  expect(app.type).toBe('BadConfig');
  expect(app.message).toContain('source folder /nonexistent/sparkify does not exist');
  expect(activity.retryState).toBe('NON_RETRYABLE_FAILURE');
});

test('an interval that is not one is refused with a clear message', async () => {
  const err = await run({ start: '2018-11-02T14:00Z', end: '2018-11-02T13:00Z' }, 'bad-interval').catch((e) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause?.message).toBe(
    'input: start, end: start (2018-11-02T14:00:00.000Z) must be before end (2018-11-02T13:00:00.000Z)',
  );
});

test('warehouse errors are sorted into transient, bad data and bad config', () => {
  expect(classify({ code: 'ECONNREFUSED' })).toBe('transient');
  expect(classify({ code: '40001' })).toBe('transient');
  expect(classify({ code: '40P01' })).toBe('transient');
  expect(classify({ code: '57P01' })).toBe('transient');
  expect(classify({ code: '08006' })).toBe('transient');
  expect(classify({ code: '22P02' })).toBe('bad-data');
  expect(classify({ code: '42P01' })).toBe('bad-config');
  expect(classify({ code: '28P01' })).toBe('bad-config');
  expect(classify(new Error('Connection terminated unexpectedly'))).toBe('transient');
});

test('user ids written with leading zeros are one user, as in the users table (latest event wins)', async () => {
  const source = path.join(testTmp(), `zero-padded-${process.pid}`);
  await mkdir(path.join(source, 'log_data/2018/11'), { recursive: true });
  await mkdir(path.join(source, 'song_data'), { recursive: true });
  const base = {
    artist: 'A',
    auth: 'Logged In',
    firstName: 'Lily',
    gender: 'F',
    lastName: 'Koch',
    length: 200.5,
    location: 'X',
    method: 'PUT',
    page: 'NextSong',
    registration: 1540000000000,
    sessionId: 9,
    song: 'S',
    status: 200,
    userAgent: 'UA',
  };
  const events = [
    { ...base, itemInSession: 0, level: 'free', ts: Date.UTC(2018, 10, 5, 10, 1), userId: '7' },
    { ...base, itemInSession: 1, level: 'paid', ts: Date.UTC(2018, 10, 5, 10, 2), userId: '007' },
  ];
  await writeFile(
    path.join(source, 'log_data/2018/11/2018-11-05-events.json'),
    events.map((e) => JSON.stringify(e)).join('\n') + '\n',
  );
  const own = await createTestDatabase();
  try {
    const taskQueue = uniqueQueue('zero-padded');
    const result: SparkifyEtlResult = await withWorker(env, { taskQueue, pool: own.pool, source }, () =>
      env.client.workflow.execute('SparkifyEtl', {
        taskQueue,
        workflowId: `zero-padded-${taskQueue}`,
        args: [{ start: '2018-11-05T10:00Z', end: '2018-11-05T11:00Z' }],
      }),
    );
    expect(result.loads.find((l) => l.table === 'songplays')?.rowsWritten).toBe(2);
    expect((await own.pool.query('SELECT user_id, level FROM users')).rows).toEqual([{ user_id: 7, level: 'paid' }]);
  } finally {
    await own.drop();
  }
});

describe('an event line delivered twice (log shippers deliver at least once) is one songplay', () => {
  const base = { ...SAMPLE_EVENT, ts: Date.UTC(2018, 10, 6, 10, 1) };
  const events = [
    base,
    { ...base, itemInSession: 2, ts: base.ts + 60_000 },
    base, // the same line again
    { ...base, itemInSession: 3, ts: base.ts + 120_000, page: 'Home' },
  ];
  let source: string;
  beforeAll(async () => {
    source = path.join(testTmp(), `repeated-${process.pid}`);
    await mkdir(path.join(source, 'log_data/2018/11'), { recursive: true });
    await mkdir(path.join(source, 'song_data'), { recursive: true });
    await writeFile(
      path.join(source, 'log_data/2018/11/2018-11-06-events.json'),
      events.map((e) => JSON.stringify(e)).join('\n') + '\n',
    );
  });

  test.each([
    ['postgres', 'replace', postgres],
    ['postgres', 'append', postgres],
    ['postgres', 'truncate-insert', postgres],
    ['redshift (its statements run on PostgreSQL; no Redshift cluster here)', 'replace', redshiftLoadsOnPostgres],
    ['redshift (its statements run on PostgreSQL; no Redshift cluster here)', 'append', redshiftLoadsOnPostgres],
    [
      'redshift (its statements run on PostgreSQL; no Redshift cluster here)',
      'truncate-insert',
      redshiftLoadsOnPostgres,
    ],
  ] as const)('%s, songplays in %s mode, run twice: loaded once, and the check says so', async (_d, mode, dialect) => {
    const own = await createTestDatabase();
    try {
      for (const attempt of [1, 2]) {
        const taskQueue = uniqueQueue(`repeated-${attempt}`);
        const result: SparkifyEtlResult = await withWorker(env, { taskQueue, pool: own.pool, source, dialect }, () =>
          env.client.workflow.execute('SparkifyEtl', {
            taskQueue,
            workflowId: `repeated-${taskQueue}`,
            args: [{ start: '2018-11-06T10:00Z', end: '2018-11-06T11:00Z', loadModes: { songplays: mode } }],
          }),
        );
        expect(result.staged.events.rowsStaged).toBe(4);
        expect(await count(own.pool, 'SELECT count(*) FROM songplays')).toBe(2);
        const check = result.checks.find((c) => c.name === 'songplays_match_staged_nextsong')!;
        expect(check.passed).toBe(true);
        expect(check.detail).toBe(
          'songplays in interval = 2, NextSong events staged = 3, of which 1 repeat an earlier event ' +
            '(same user, session, item and ts) and are loaded once',
        );
      }
      expect((await own.pool.query('SELECT count(*)::int AS n FROM songplays GROUP BY songplay_id')).rows).toEqual([
        { n: 1 },
        { n: 1 },
      ]);
    } finally {
      await own.drop();
    }
  });
});
