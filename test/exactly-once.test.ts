/**
 * Exactly-once loads: re-runs in every load mode, a worker killed mid-staging, connections killed
 * mid-load, overlapping and reversed backfills. Every comparison is against an undisturbed run, by
 * ordered checksum of each star-schema table.
 */
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { planBackfill, runBackfill } from '../src/backfill';
import { generate } from '../src/datagen/generate';
import { makeInterval, toMs } from '../src/interval';
import { postgres } from '../src/warehouse/dialect';
import { TABLES, type LoadModes, type SparkifyEtlInput, type SparkifyEtlResult } from '../src/types';
import { migrate } from '../src/warehouse/migrate';
import { KEYS, tableChecksums } from './support/checksum';
import { expectedFor, readEvents } from './support/expected';
import { historyText } from './support/history';
import {
  useTemporalEnv,
  count,
  createTestDatabase,
  testData,
  testTmp,
  uniqueQueue,
  untilBackend,
  withWorker,
  type TestDatabase,
} from './support/helpers';
import { Background } from './support/processes';

const env = useTemporalEnv();

async function duplicateKeys(db: TestDatabase): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) out[t] = await count(db.pool, `SELECT count(*) - count(DISTINCT ${KEYS[t]}) FROM "${t}"`);
  return out;
}
const NO_DUPLICATES = { songplays: 0, users: 0, songs: 0, artists: 0, time: 0 };

async function run(db: TestDatabase, input: SparkifyEtlInput, source?: string): Promise<SparkifyEtlResult> {
  const taskQueue = uniqueQueue('once');
  return withWorker(env, { taskQueue, pool: db.pool, ...(source ? { source } : {}) }, () =>
    env.client.workflow.execute('SparkifyEtl', { taskQueue, workflowId: `once-${taskQueue}`, args: [input] }),
  );
}

describe('the same interval run twice', () => {
  const hour = { start: '2018-11-02T15:00Z', end: '2018-11-02T16:00Z' };
  const all = (mode: string): LoadModes => Object.fromEntries(TABLES.map((t) => [t, mode])) as LoadModes;

  test.each([
    ['default (replace fact, upsert dimensions)', {} as LoadModes],
    ['truncate-insert', all('truncate-insert')],
    ['append', all('append')],
  ])('%s: no duplicate keys, identical fact rows', async (_label, loadModes) => {
    const db = await createTestDatabase();
    try {
      // an earlier hour first, so that truncate-insert has something to throw away
      await run(db, { start: '2018-11-02T10:00Z', end: '2018-11-02T11:00Z', loadModes });
      const first = await run(db, { ...hour, loadModes });
      const afterFirst = await tableChecksums(db.pool);
      const second = await run(db, { ...hour, loadModes });
      const afterSecond = await tableChecksums(db.pool);
      expect(await duplicateKeys(db)).toEqual(NO_DUPLICATES);
      expect(afterSecond).toEqual(afterFirst);
      const expected = expectedFor(testData(), '2018-11-02T15:00Z', '2018-11-02T16:00Z');
      const earlier = expectedFor(testData(), '2018-11-02T10:00Z', '2018-11-02T11:00Z');
      if (loadModes.songplays === 'truncate-insert') {
        // the original's truncate=True: only this run's rows remain
        expect(afterSecond.songplays!.rows).toBe(expected.songplays);
        expect(afterSecond.users!.rows).toBe(expected.users);
      } else {
        expect(afterSecond.songplays!.rows).toBe(expected.songplays + earlier.songplays);
      }
      // the second run writes what it wrote the first time (replace) or nothing new (append)
      if (!loadModes.songplays)
        expect(second.loads.find((l) => l.table === 'songplays')?.rowsWritten).toBe(expected.songplays);
      if (loadModes.songplays === 'append') {
        expect(first.loads.find((l) => l.table === 'songplays')?.rowsWritten).toBe(expected.songplays);
        expect(second.loads.every((l) => l.rowsWritten === 0)).toBe(true);
      }
    } finally {
      await db.drop();
    }
  });
});

test('a warehouse loaded with the earlier md5-only songplay keys: migration 003 rewrites them, a re-run adds nothing', async () => {
  const db = await createTestDatabase();
  const hour = { start: '2018-11-02T15:00Z', end: '2018-11-02T16:00Z' };
  try {
    await run(db, hour);
    const current = await tableChecksums(db.pool);
    // The keys, computed here from the JSON: the earlier md5 of the event's identity, and the time-ordered one.
    const plays = readEvents(testData()).filter(
      (e) => e.page === 'NextSong' && e.ts >= Date.parse(hour.start) && e.ts < Date.parse(hour.end),
    );
    const older = plays.map((e) =>
      createHash('md5').update(`${e.userId}|${e.sessionId}|${e.itemInSession}|${e.ts}`).digest('hex'),
    );
    const newer = plays.map((e, i) => e.ts.toString(16).padStart(12, '0') + older[i]!.slice(0, 20));
    // Turn the warehouse back into what the earlier version left: md5 keys, migration 003 not applied.
    const back = await db.pool.query(
      `UPDATE songplays s SET songplay_id = k.older FROM unnest($1::text[], $2::text[]) AS k(newer, older) WHERE s.songplay_id = k.newer`,
      [newer, older],
    );
    expect(back.rowCount).toBe(plays.length);
    await db.pool.query(`DELETE FROM etl_migrations WHERE name = '003_time_ordered_songplay_ids.sql'`);

    expect((await migrate(db.pool)).applied).toEqual(['003_time_ordered_songplay_ids.sql']);
    expect(await tableChecksums(db.pool)).toEqual(current);
    const again = await run(db, { ...hour, loadModes: { songplays: 'append' } });
    expect(again.loads.find((l) => l.table === 'songplays')?.rowsWritten).toBe(0);
    expect(await tableChecksums(db.pool)).toEqual(current);
  } finally {
    await db.drop();
  }
});

describe('faults on a large day (300,000 events)', () => {
  let big: string;
  let reference: TestDatabase;
  let referenceSums: Awaited<ReturnType<typeof tableChecksums>>;
  const day = { start: '2018-11-01T00:00Z', end: '2018-11-02T00:00Z' };

  beforeAll(async () => {
    big = path.join(testTmp(), `big-${process.pid}`);
    await generate({ out: big, start: '2018-11-01', days: 1, eventsPerDay: 300_000, songs: 300, seed: 9 });
    reference = await createTestDatabase();
    await run(reference, day, big);
    referenceSums = await tableChecksums(reference.pool);
    expect(referenceSums.songplays!.rows).toBeGreaterThan(150_000);
  });
  afterAll(async () => {
    await reference?.drop();
  });

  test('SIGKILL the worker process while staging: a new worker finishes the run, tables equal an undisturbed run', async () => {
    const db = await createTestDatabase();
    const taskQueue = uniqueQueue('sigkill');
    const password = `pw-${randomUUID()}`;
    const awsSecret = `aws-${randomUUID()}`;
    const url = new URL(db.url);
    url.password = password;
    const workerEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
      TASK_QUEUE: taskQueue,
      WAREHOUSE_URL: url.toString(),
      SOURCE_URL: big,
      AWS_SECRET_ACCESS_KEY: awsSecret,
    };
    let first: Background | undefined;
    let second: Background | undefined;
    try {
      first = new Background('npm', ['run', '-s', 'worker'], workerEnv);
      await first.waitFor(/worker polling/);
      const handle = await env.client.workflow.start('SparkifyEtl', {
        taskQueue,
        workflowId: `sigkill-${taskQueue}`,
        args: [{ ...day, heartbeatTimeout: '3s' }],
      });
      // Kill -9 the worker while its staging COPY streams rows into PostgreSQL (300,000 events take ~0.5 s
      // or more; polled every 10 ms). Staging no longer lasts long enough to wait for its first heartbeat.
      // (The day file is over 64 MiB: its staging is an ordinary activity, handed over by the local attempt.)
      await untilBackend(
        db,
        `state = 'active' AND query LIKE 'COPY %staging_events_%FROM STDIN%'`,
        'the staging COPY running',
        10,
      );
      await first.stop('SIGKILL');
      second = new Background('npm', ['run', '-s', 'worker'], workerEnv);
      const result = await handle.result();
      expect(result.staged.events.rowsStaged).toBe(300_000);
      expect(await tableChecksums(db.pool)).toEqual(referenceSums);

      const history = await handle.fetchHistory();
      const attempts = (history.events ?? [])
        .filter((e) => e.activityTaskStartedEventAttributes)
        .map((e) => e.activityTaskStartedEventAttributes!.attempt);
      expect(Math.max(...attempts.map(Number))).toBeGreaterThanOrEqual(2); // the killed attempt did not finish
      // secrets stay in the worker's environment
      const text = historyText(history) + first.output + second.output;
      expect(text.includes('"rowsStaged":300000')).toBe(true); // payloads are decoded before searching
      expect(text.includes(password)).toBe(false);
      expect(text.includes(awsSecret)).toBe(false);
    } finally {
      await first?.stop('SIGKILL');
      await second?.stop('SIGKILL');
      await db.drop();
    }
  });

  test('pg_terminate_backend on the staging COPY and on the fact insert: retried, tables equal an undisturbed run', async () => {
    const db = await createTestDatabase();
    try {
      const killed: string[] = [];
      let stop = false;
      const killer = (async () => {
        const targets = [/^COPY "staging_events_/, /^INSERT INTO "songplays"/];
        while (!stop && targets.length) {
          const res = await db.pool.query<{ pid: number; query: string }>(
            `SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'
                AND pid <> pg_backend_pid()`,
          );
          for (const row of res.rows) {
            const q = row.query.trim();
            const i = targets.findIndex((t) => t.test(q));
            if (i >= 0) {
              await db.pool.query('SELECT pg_terminate_backend($1)', [row.pid]);
              killed.push(q.slice(0, 30));
              targets.splice(i, 1);
            }
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const result = await run(db, day, big);
      stop = true;
      await killer;
      expect(killed).toEqual([
        expect.stringMatching(/^COPY "staging_events_/),
        expect.stringMatching(/^INSERT INTO "songplays"/),
      ]);
      expect(result.checks.every((c) => c.passed)).toBe(true);
      expect(await tableChecksums(db.pool)).toEqual(referenceSums);
    } finally {
      await db.drop();
    }
  });
});

describe('order and concurrency do not change the result', () => {
  const range = makeInterval('2018-11-01T00:00Z', '2018-11-03T00:00Z'); // 48 hours
  async function backfillInto(
    db: TestDatabase,
    runs: { from: string; to: string; reverse?: boolean; concurrency: number }[],
  ) {
    const taskQueue = uniqueQueue('order');
    const idPrefix = `order-${randomUUID().slice(0, 8)}`;
    await withWorker(env, { taskQueue, pool: db.pool }, () =>
      Promise.all(
        runs.map(async (r) => {
          const plan = await planBackfill(env.client, makeInterval(r.from, r.to), {
            reprocess: 'failed',
            reverse: r.reverse ?? false,
            deployment: idPrefix,
          });
          const outcomes = await runBackfill(env.client, plan, { taskQueue, concurrency: r.concurrency });
          expect(outcomes.filter((o) => o.status === 'failed')).toEqual([]);
        }),
      ),
    );
    return tableChecksums(db.pool);
  }

  test("two overlapping parallel backfills, and one in reverse, equal a forward serial one (users' levels included)", async () => {
    const [serial, overlapping, reverse] = [
      await createTestDatabase(),
      await createTestDatabase(),
      await createTestDatabase(),
    ];
    try {
      const serialSums = await backfillInto(serial, [{ from: range.start, to: range.end, concurrency: 1 }]);
      const overlapSums = await backfillInto(overlapping, [
        { from: '2018-11-01T00:00Z', to: '2018-11-02T06:00Z', concurrency: 4 },
        { from: '2018-11-01T18:00Z', to: '2018-11-03T00:00Z', concurrency: 4, reverse: true },
      ]);
      const reverseSums = await backfillInto(reverse, [
        { from: range.start, to: range.end, reverse: true, concurrency: 6 },
      ]);
      expect(overlapSums).toEqual(serialSums);
      expect(reverseSums).toEqual(serialSums);
      // and the levels are those of each user's latest event, read from the JSON
      const expected = expectedFor(testData(), range.start, range.end);
      const rows = (await reverse.pool.query<{ user_id: number; level: string }>('SELECT user_id, level FROM users'))
        .rows;
      expect(new Map(rows.map((r) => [r.user_id, r.level]))).toEqual(expected.latestLevel);
      expect(serialSums.songplays!.rows).toBe(expected.songplays);
      expect(await duplicateKeys(overlapping)).toEqual(NO_DUPLICATES);
    } finally {
      await Promise.all([serial.drop(), overlapping.drop(), reverse.drop()]);
    }
  });

  test("two runs of one hour at once (a manual run beside the scheduled one), fact in replace mode: the one that meets the other's rows retries, nothing doubles", async () => {
    const db = await createTestDatabase();
    const hour = makeInterval('2018-11-02T15:00Z', '2018-11-02T16:00Z');
    const other = await db.pool.connect();
    try {
      await run(db, hour);
      const undisturbed = await tableChecksums(db.pool);
      // The other run, caught between its delete and its commit: it has emptied the hour and written it again.
      await db.pool.query('CREATE TABLE songplays_written_by_other AS SELECT * FROM songplays');
      await other.query('BEGIN');
      const plan = postgres.loadPlan('songplays', 'replace', 'unused', toMs(hour));
      const upToDelete = plan.steps.slice(
        0,
        plan.steps.findIndex((s) => s.name === 'delete songplays of the interval') + 1,
      );
      expect(upToDelete.at(-1)?.name).toBe('delete songplays of the interval');
      for (const step of upToDelete) await other.query(step.statement);
      await other.query('INSERT INTO songplays SELECT * FROM songplays_written_by_other');
      const taskQueue = uniqueQueue('concurrent');
      const handle = await env.client.workflow.start('SparkifyEtl', {
        taskQueue,
        workflowId: `concurrent-${taskQueue}`,
        args: [hour],
      });
      const result = withWorker(env, { taskQueue, pool: db.pool }, () => handle.result() as Promise<SparkifyEtlResult>);
      // Its fact load (the delete of the hour) waits for the other run's transaction; then that one commits.
      await untilBackend(
        db,
        `wait_event_type = 'Lock' AND query LIKE '% "songplays" %'`,
        "the run's fact load waiting for the other run",
        20,
      );
      await other.query('COMMIT');
      const done = await result;
      expect(done.checks.filter((c) => !c.passed)).toEqual([]);
      expect(await tableChecksums(db.pool)).toEqual(undisturbed);
      // The fact load was retried: its local attempt failed and it went on as an activity.
      const events = (await handle.fetchHistory()).events!;
      expect(
        events
          .filter((e) => e.activityTaskScheduledEventAttributes)
          .map((e) => e.activityTaskScheduledEventAttributes!.activityType?.name),
      ).toEqual(['loadTable']);
      expect(historyText(await handle.fetchHistory())).toContain(
        'another run loaded rows of this interval at the same time',
      );
    } finally {
      other.release();
      await db.drop();
    }
  });

  test('staging left behind by a run that never finished is swept by a later run', async () => {
    const db = await createTestDatabase();
    try {
      await db.pool.query(`CREATE UNLOGGED TABLE staging_events_20181101t0000_1h (LIKE staging_events)`);
      await db.pool.query(
        `INSERT INTO run_staging (table_name, run_key, workflow_id, created_at)
         VALUES ('staging_events_20181101t0000_1h', '20181101T0000_1h', 'crashed', now() - interval '7 hours')`,
      );
      await run(db, { start: '2018-11-02T15:00Z', end: '2018-11-02T16:00Z' });
      expect(await count(db.pool, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'staging\\_events\\_%'`)).toBe(
        0,
      );
      expect(await count(db.pool, 'SELECT count(*) FROM run_staging')).toBe(0);
    } finally {
      await db.drop();
    }
  });
});
