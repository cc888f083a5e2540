/**
 * SparkifyEtl end to end on the real dev server and a real PostgreSQL, over the generated sample
 * (3 days, 9,000 events). Every expected number is computed from the JSON files by the test itself.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { AsyncResource } from 'node:async_hooks';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { createActivities, type RunChecksDeps } from '../src/activities';
import { ANALYZE_FROM_ROWS } from '../src/activities/stage-events';
import { runBackfill } from '../src/backfill';
import { inThisAttempt } from '../src/activities/progress';
import { generate } from '../src/datagen/generate';
import { intervalKey, makeInterval, toMs, workflowIdFor } from '../src/interval';
import { postgres } from '../src/warehouse/dialect';
import { refreshSongMatch } from '../src/warehouse/sql/postgres';
import { DEFAULT_LOAD_MODES, TABLES, type SparkifyEtlInput, type SparkifyEtlResult } from '../src/types';
import { activityEnvironment, inActivityContext, runActivity } from './support/activities';
import { expectedFor, readEvents } from './support/expected';
import { historyText } from './support/history';
import {
  useTemporalEnv,
  useTestDatabase,
  count,
  createTestDatabase,
  testData,
  testTmp,
  uniqueQueue,
  untilBackend,
  withWorker,
  type TestDatabase,
} from './support/helpers';

const env = useTemporalEnv();

/** A warehouse of the test's own, the activities over it and the sample hour 13:00-14:00 (dropped after). */
async function onOwnWarehouse(
  fn: (w: {
    own: TestDatabase;
    acts: ReturnType<typeof createActivities>;
    interval: ReturnType<typeof makeInterval>;
    runKey: string;
  }) => Promise<void>,
): Promise<void> {
  const own = await createTestDatabase();
  try {
    const acts = inActivityContext(createActivities({ pool: own.pool, defaultSource: testData() }));
    const interval = makeInterval('2018-11-02T13:00Z', '2018-11-02T14:00Z');
    await fn({ own, acts, interval, runKey: intervalKey(interval) });
  } finally {
    await own.drop();
  }
}

async function runEtl(
  db: TestDatabase,
  input: SparkifyEtlInput,
  label: string,
  checks?: RunChecksDeps['checks'],
): Promise<SparkifyEtlResult> {
  const taskQueue = uniqueQueue(label);
  return withWorker(env, { taskQueue, pool: db.pool, ...(checks ? { checks } : {}) }, () =>
    env.client.workflow.execute('SparkifyEtl', {
      taskQueue,
      workflowId: `${workflowIdFor({ start: input.start!, end: input.end! })}-${taskQueue}`,
      args: [input],
    }),
  );
}

async function tableCounts(db: TestDatabase) {
  return {
    songplays: await count(db.pool, 'SELECT count(*) FROM songplays'),
    songplaysMatched: await count(db.pool, 'SELECT count(*) FROM songplays WHERE song_id IS NOT NULL'),
    users: await count(db.pool, 'SELECT count(*) FROM users'),
    songs: await count(db.pool, 'SELECT count(*) FROM songs'),
    artists: await count(db.pool, 'SELECT count(*) FROM artists'),
    time: await count(db.pool, 'SELECT count(*) FROM time'),
  };
}

describe.each([
  ['one hour', '2018-11-02T13:00:00.000Z', '2018-11-02T14:00:00.000Z'],
  ['a whole day', '2018-11-02T00:00:00.000Z', '2018-11-03T00:00:00.000Z'],
])('SparkifyEtl over %s', (label, start, end) => {
  const db = useTestDatabase();
  let result: SparkifyEtlResult;
  const expected = expectedFor(testData(), start, end);

  beforeAll(async () => {
    result = await runEtl(db, { start, end }, label.replace(/\W/g, '-'));
  });

  test('the sample is big enough to mean something', () => {
    expect(readEvents(testData()).length).toBeGreaterThanOrEqual(9000);
    expect(expected.songplays).toBeGreaterThan(25);
    expect(expected.songplaysMatched).toBeGreaterThan(10);
    expect(expected.songplaysMatched).toBeLessThan(expected.songplays);
  });

  test('stages exactly the events whose ts falls in the interval, from the day files it touches', () => {
    expect(result.interval).toEqual({ start, end });
    expect(result.staged.events.files).toBe(1);
    // an hour reads only its part of the day file (the source index's byte range), a day all 3,000 lines
    expect(result.staged.events.linesRead).toBeGreaterThanOrEqual(expected.staged);
    if (Date.parse(end) - Date.parse(start) < 86_400_000) expect(result.staged.events.linesRead).toBeLessThan(3000);
    else expect(result.staged.events.linesRead).toBe(3000);
    expect(result.staged.events.rowsStaged).toBe(expected.staged);
    expect(result.staged.events.nextSongRows).toBe(expected.songplays);
    expect(result.staged.songs.songsStaged).toBe(expected.songs);
    expect(result.staged.songs.filesStaged).toBe(expected.songs);
  });

  test('loads every table with exactly the expected rows', async () => {
    expect(await tableCounts(db)).toEqual({
      songplays: expected.songplays,
      songplaysMatched: expected.songplaysMatched,
      users: expected.users,
      songs: expected.songs,
      artists: expected.artists,
      time: expected.time,
    });
    const loaded = Object.fromEntries(result.loads.map((l) => [l.table, l.rowsWritten]));
    expect(loaded).toEqual({
      songplays: expected.songplays,
      users: expected.users,
      songs: expected.songs,
      artists: expected.artists,
      time: expected.time,
    });
  });

  test('users carry the level of their latest event and songplays stay inside the interval', async () => {
    const rows = (await db.pool.query<{ user_id: number; level: string }>('SELECT user_id, level FROM users')).rows;
    expect(new Map(rows.map((r) => [r.user_id, r.level]))).toEqual(expected.latestLevel);
    const outside = await count(
      db.pool,
      `SELECT count(*) FROM songplays WHERE start_time < $1::timestamptz AT TIME ZONE 'UTC'
          OR start_time >= $2::timestamptz AT TIME ZONE 'UTC'`,
      [start, end],
    );
    expect(outside).toBe(0);
  });

  test('passes every built-in check, records the run and drops its staging table', async () => {
    expect(result.checks.length).toBeGreaterThanOrEqual(11);
    expect(result.checks.filter((c) => !c.passed)).toEqual([]);
    const audit = await db.pool.query('SELECT status, rows FROM etl_runs');
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].status).toBe('succeeded');
    expect(audit.rows[0].rows.songplays).toBe(expected.songplays);
    const leftovers = await count(
      db.pool,
      `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'staging\\_events\\_%'`,
    );
    expect(leftovers).toBe(0);
  });
});

test("the run's staging is dropped by its audit record, after the checks' result: no clean-up step after it", async () => {
  // The record drops it once committed. A worker dying after that commit, before the history took the record,
  // leaves the next worker to replay the run: a step that then finds the staging gone takes the run's record
  // (small-hours.test.ts, 'a step run again after its run recorded itself').
  const db = await createTestDatabase();
  try {
    const taskQueue = uniqueQueue('drop-order');
    const workflowId = `drop-order-${taskQueue}`;
    await withWorker(env, { taskQueue, pool: db.pool }, () =>
      env.client.workflow.execute('SparkifyEtl', {
        taskQueue,
        workflowId,
        args: [{ start: '2018-11-02T13:00Z', end: '2018-11-02T14:00Z' }],
      }),
    );
    const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const marker = (step: string) =>
      events.find((e) => e.markerRecordedEventAttributes && historyText(e).includes(step));
    // the fast path's last part: the checks, then the record, then the drop
    expect(historyText(marker('runSmallHour'))).toContain('"finished"');
    expect(historyText({ events }).includes('dropRunStaging')).toBe(false);
    expect(await count(db.pool, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'staging_events_%'`)).toBe(0);
  } finally {
    await db.drop();
  }
});

test("a backfill's run takes local steps: every step a marker, the staging dropped by the record, the rows the same", async () => {
  const db = await createTestDatabase();
  try {
    const taskQueue = uniqueQueue('local-steps');
    const interval = makeInterval('2018-11-02T13:00Z', '2018-11-02T14:00Z');
    const workflowId = `local-steps-${taskQueue}`;
    const outcomes = await withWorker(env, { taskQueue, pool: db.pool }, () =>
      runBackfill(env.client, [{ interval, workflowId, previous: 'none', action: 'run' }], {
        taskQueue,
        concurrency: 1,
      }),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['completed']);
    const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const markers = events.filter((e) => e.markerRecordedEventAttributes).map((e) => historyText(e));
    // a small hour's fast path: every step in one local activity
    expect(markers.filter((m) => m.includes('runSmallHour'))).toHaveLength(1);
    const result = (await env.client.workflow.getHandle(workflowId).result()) as SparkifyEtlResult;
    expect(result.loads.map((l) => l.table).sort()).toEqual([...TABLES].sort());
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
    expect(events.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
    expect(await count(db.pool, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'staging_events_%'`)).toBe(0);
    const expected = expectedFor(testData(), interval.start, interval.end);
    expect(await count(db.pool, 'SELECT count(*) FROM songplays')).toBe(expected.songplays);
    expect(await count(db.pool, `SELECT count(*) FROM etl_runs WHERE status = 'succeeded'`)).toBe(1);
  } finally {
    await db.drop();
  }
});

test('localSteps must be true or false', async () => {
  const taskQueue = uniqueQueue('local-steps-bad');
  const db = await createTestDatabase();
  try {
    const run = withWorker(env, { taskQueue, pool: db.pool }, () =>
      env.client.workflow.execute('SparkifyEtl', {
        taskQueue,
        workflowId: `local-steps-bad-${taskQueue}`,
        args: [
          { start: '2018-11-02T13:00Z', end: '2018-11-02T14:00Z', localSteps: 'yes' } as unknown as SparkifyEtlInput,
        ],
      }),
    );
    await expect(run).rejects.toThrow(WorkflowFailedError);
    await expect(run).rejects.toMatchObject({
      cause: { message: expect.stringContaining('localSteps: must be true or false') },
    });
  } finally {
    await db.drop();
  }
});

describe('data-quality checks', () => {
  const db = useTestDatabase();
  // the operator's check files of these tests
  const checksDir = mkdtempSync(path.join(testTmp(), 'checks-'));
  writeFileSync(
    path.join(checksDir, 'plays.sql'),
    '-- name: plays_in_interval\n-- expected: 0\n-- op: >=\nSELECT count(*) FROM songplays WHERE start_time >= $1 AND start_time < $2\n',
  );
  writeFileSync(
    path.join(checksDir, 'typo.sql'),
    '-- name: typo\n-- expected: 0\nSELECT count(*) FROM no_such_table;\n',
  );

  test('a failing check fails the run with a message that names it, and is audited', async () => {
    const start = '2018-11-01T10:00:00.000Z';
    const end = '2018-11-01T11:00:00.000Z';
    const err = await runEtl(
      db,
      {
        start,
        end,
        checks: [
          { name: 'template_staging_has_rows', table: 'staging_events', minRows: 1 },
          { name: 'songplays_have_known_users' }, // checks/songplays_have_known_users.sql
        ],
      },
      'failing-check',
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('DataQualityChecksFailed');
    expect(cause?.message).toMatch(/^checks: 1 failed for 2018-11-01T10:00:00.000Z .. 2018-11-01T11:00:00.000Z/);
    expect(cause?.message).toContain('template_staging_has_rows (staging_events has 0 row(s), expected at least 1)');
    expect(cause?.message).not.toContain('songplays_have_known_users');
    const audit = await db.pool.query('SELECT status, checks FROM etl_runs');
    expect(audit.rows[0].status).toBe('failed_checks');
    expect(audit.rows[0].checks.find((c: { name: string }) => c.name === 'songplays_have_known_users').passed).toBe(
      true,
    );
  });

  test('a custom check (a file of checks/) may use the interval bounds as $1 and $2', async () => {
    const start = '2018-11-03T05:00:00.000Z';
    const end = '2018-11-03T06:00:00.000Z';
    const expected = expectedFor(testData(), start, end);
    const result = await runEtl(
      db,
      {
        start,
        end,
        checks: [
          { name: 'plays_in_interval', expected: expected.songplays, op: '=' },
          { name: 'some_users', table: 'users', minRows: 1 },
        ],
      },
      'sql-check',
      { dir: checksDir },
    );
    expect(result.checks.find((c) => c.name === 'plays_in_interval')).toMatchObject({
      passed: true,
      actual: expected.songplays,
    });
    expect(result.checks.find((c) => c.name === 'some_users')?.passed).toBe(true);
  });

  test('the built-in checks find keys a warehouse without enforced keys lets through (Redshift; here the PostgreSQL constraints are dropped)', async () => {
    await onOwnWarehouse(async ({ own, acts, interval, runKey }) => {
      await acts.stageEvents({ runKey, interval, source: '', maxErrors: 0, onMissingFile: 'warn' });
      await acts.stageSongs({ runKey, source: '', maxErrors: 0 });
      for (const table of TABLES) await acts.loadTable({ runKey, interval, table, mode: DEFAULT_LOAD_MODES[table] });
      const clean = await acts.runChecks({ runKey, interval, builtin: true, checks: [] });
      expect(clean.results.filter((c) => !c.passed)).toEqual([]);

      await own.pool.query(`
      ALTER TABLE songplays DROP CONSTRAINT songplays_pkey;
      ALTER TABLE time DROP CONSTRAINT time_pkey;
      ALTER TABLE users DROP CONSTRAINT users_pkey, ALTER COLUMN user_id DROP NOT NULL;
      INSERT INTO songplays SELECT * FROM songplays ORDER BY songplay_id LIMIT 1;  -- in the interval
      INSERT INTO time SELECT * FROM time ORDER BY start_time LIMIT 2;             -- in the interval
      INSERT INTO time VALUES ('2018-11-01 00:00:00', 0, 1, 44, 11, 2018, 4), ('2018-11-01 00:00:00', 0, 1, 44, 11, 2018, 4);
      INSERT INTO users (user_id, first_name) VALUES (NULL, 'nobody');
      ALTER TABLE songs DROP CONSTRAINT songs_pkey;                                -- counted again without it
      INSERT INTO songs SELECT * FROM songs ORDER BY song_id LIMIT 1;`);
      const dirty = await acts.runChecks({ runKey, interval, builtin: true, checks: [] });
      expect(dirty.results.filter((c) => !c.passed).map((c) => [c.name, c.detail])).toEqual([
        [
          'songplays_match_staged_nextsong',
          expect.stringMatching(/^songplays in interval = \d+, NextSong events staged = \d+$/),
        ],
        ['songplays_no_duplicate_keys', '1 duplicate key(s) in songplays within the interval'],
        ['users_no_null_keys', '1 row(s) of users with a NULL key'],
        ['songs_no_duplicate_keys', '1 duplicate key(s) in songs'],
        // the repeated row of another day is that day's run's to find: an hourly check stays cheap
        ['time_no_duplicate_keys', '2 duplicate key(s) in time within the interval'],
      ]);
      await acts.dropRunStaging({ runKey });
    });
  });

  test('a play matches the lowest song_id of the songs sharing its title, artist and duration, found in song_match (migration 014), which song staging rebuilds and analyzes', async () => {
    await onOwnWarehouse(async ({ own, acts, interval, runKey }) => {
      await acts.stageEvents({ runKey, interval, source: '', maxErrors: 0, onMissingFile: 'warn' });
      await acts.stageSongs({ runKey, source: '', maxErrors: 0 });
      // Staging songs analyzed song_match: a large hour's join is planned from its statistics (the songs hashed,
      // the events read in their order), not from the planner's defaults.
      expect(await count(own.pool, `SELECT reltuples FROM pg_class WHERE relname = 'song_match'`)).toBe(
        await count(own.pool, 'SELECT count(*) FROM song_match'),
      );
      // Every staged song gets two twins of its title, artist and duration: one sorting before it, one after.
      await own.pool.query(`
      INSERT INTO staging_songs (num_songs, artist_id, artist_name, song_id, title, duration, year)
      SELECT 1, 'AR_TWIN', artist_name, twin || song_id, title, duration, year
        FROM staging_songs, (VALUES ('0'), ('~')) t(twin)`);
      await own.pool.query(refreshSongMatch); // as song staging does in its transaction
      expect(await count(own.pool, 'SELECT count(*) FROM song_match')).toBe(
        await count(own.pool, 'SELECT count(DISTINCT (title, artist_name, duration)) FROM staging_songs'),
      );
      await acts.loadTable({ runKey, interval, table: 'songplays', mode: 'append' });
      const plays = await own.pool.query<{ song_id: string | null; artist_id: string | null }>(
        'SELECT song_id, artist_id FROM songplays',
      );
      const nextSongs = await count(
        own.pool,
        `SELECT count(*) FROM staging_events_${runKey.toLowerCase()} WHERE page = 'NextSong'`,
      );
      expect(plays.rows).toHaveLength(nextSongs);
      const matched = plays.rows.filter((p) => p.song_id !== null);
      expect(matched.length).toBeGreaterThan(0);
      for (const p of matched) expect(p).toEqual({ song_id: expect.stringMatching(/^0/), artist_id: 'AR_TWIN' });
      const index = await own.pool.query<{ indexdef: string }>(
        `SELECT indexdef FROM pg_indexes WHERE indexname = 'staging_songs_match_idx'`,
      );
      expect(index.rows.map((r) => r.indexdef)).toEqual([
        expect.stringContaining('(title, artist_name, duration, song_id) INCLUDE (artist_id)'),
      ]);
      await acts.dropRunStaging({ runKey });
    });
  });

  test('songs load from a changed staging only: an up-to-date load writes and locks nothing; one that waited for a concurrent first record still loads its newer songs', async () => {
    await onOwnWarehouse(async ({ own, acts, interval, runKey }) => {
      await acts.stageSongs({ runKey, source: '', maxErrors: 0 });
      const loadSongs = () => acts.loadTable({ runKey, interval, table: 'songs', mode: 'upsert' });
      const staged = await count(own.pool, 'SELECT count(*) FROM staging_songs');
      expect((await loadSongs()).rowsWritten).toBe(staged);
      const record = () =>
        own.pool
          .query(`SELECT generation, xmin::text, xmax::text FROM dimension_loads WHERE table_name = 'songs'`)
          .then((r) => r.rows);
      const before = await record();
      expect(before).toHaveLength(1);
      // Up to date: nothing written, and the row is not even locked (a lock would set its xmax).
      expect((await loadSongs()).rowsWritten).toBe(0);
      expect(await record()).toEqual(before);

      const newSong = (id: string) =>
        own.pool.query(`
        INSERT INTO staging_songs (num_songs, artist_id, artist_name, song_id, title, duration, year)
        VALUES (1, 'AR_NEW', 'New Artist', '${id}', 'New Song ${id}', 200.5, 2020);
        UPDATE song_staging_generation SET generation = generation + 1`);
      await newSong('SO_NEW_ONE');
      expect((await loadSongs()).rowsWritten).toBe(1);

      // The first record of a table, raced: A records the generation it sees and holds its transaction open;
      // a song is staged; B, which sees that song, waits for A's row, then finds it older and loads.
      await own.pool.query('DELETE FROM dimension_loads');
      const [statement] = postgres
        .loadPlan('songs', 'upsert', 'unused', toMs(interval))
        .steps.slice(-1)
        .map((s) => s.statement);
      const a = await own.pool.connect();
      const b = await own.pool.connect();
      try {
        await a.query('BEGIN');
        expect((await a.query(statement!)).rowCount).toBe(0);
        await newSong('SO_NEW_TWO');
        const bPid = (await b.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        const bLoad = b.query(statement!);
        await untilBackend(
          own,
          `pid = ${bPid} AND wait_event_type = 'Lock'`,
          'the second load waiting for the first',
          10,
        );
        await a.query('COMMIT');
        expect((await bLoad).rowCount).toBe(1);
      } finally {
        a.release();
        b.release();
      }
      expect(await count(own.pool, `SELECT count(*) FROM songs WHERE song_id LIKE 'SO_NEW_%'`)).toBe(2);
      const generation = await count(own.pool, 'SELECT generation FROM song_staging_generation');
      expect((await record()).map((r) => Number(r.generation))).toEqual([generation]);
    });
  });

  test('staging is analyzed from ANALYZE_FROM_ROWS rows on: a small hour is planned from its file size alone', async () => {
    const own = await createTestDatabase();
    const source = path.join(testTmp(), `analyze-${process.pid}`);
    try {
      await generate({
        out: source,
        start: '2018-11-01',
        days: 1,
        eventsPerDay: ANALYZE_FROM_ROWS + 2000,
        songs: 20,
        seed: 3,
      });
      const acts = inActivityContext(createActivities({ pool: own.pool, defaultSource: testData() }));
      const reltuples = async (runKey: string) =>
        count(own.pool, `SELECT reltuples FROM pg_class WHERE relname = $1`, [
          `staging_events_${runKey.toLowerCase()}`,
        ]);
      const hour = makeInterval('2018-11-02T13:00Z', '2018-11-02T14:00Z');
      const small = await acts.stageEvents({
        runKey: intervalKey(hour),
        interval: hour,
        source: '',
        maxErrors: 0,
        onMissingFile: 'warn',
      });
      expect(small.rowsStaged).toBeGreaterThan(0);
      expect(small.rowsStaged).toBeLessThan(ANALYZE_FROM_ROWS);
      expect(await reltuples(intervalKey(hour))).toBe(-1); // never analyzed
      const day = makeInterval('2018-11-01T00:00Z', '2018-11-02T00:00Z');
      const large = await acts.stageEvents({
        runKey: intervalKey(day),
        interval: day,
        source,
        maxErrors: 0,
        onMissingFile: 'warn',
      });
      expect(large.rowsStaged).toBeGreaterThanOrEqual(ANALYZE_FROM_ROWS);
      expect(await reltuples(intervalKey(day))).toBe(large.rowsStaged);
    } finally {
      await own.drop();
    }
  });

  test('a broken check SQL is a failed check that says why', async () => {
    const err = await runEtl(
      db,
      {
        start: '2018-11-03T07:00:00.000Z',
        end: '2018-11-03T08:00:00.000Z',
        builtinChecks: false,
        checks: [{ name: 'typo' }],
      },
      'broken-check',
      { dir: checksDir },
    ).catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause?.message).toMatch(
      /typo \(could not run: relation "…" does not exist \[42P01\]\)/,
    );
  });
});

describe('stageEvents in an activity context (MockActivityEnvironment, as a worker runs it)', () => {
  const db = useTestDatabase();
  const interval = makeInterval('2018-11-02T00:00Z', '2018-11-03T00:00Z');
  const input = { runKey: intervalKey(interval), interval, source: '', maxErrors: 0, onMissingFile: 'warn' as const };
  const dayFile = 'log_data/2018/11/2018-11-02-events.json';
  // a day bigger than what the connection's buffers hold, so that the COPY waits for them to drain
  let source: string;
  beforeAll(async () => {
    source = path.join(testTmp(), `busy-day-${process.pid}`);
    await generate({ out: source, start: '2018-11-02', days: 1, eventsPerDay: 40_000, songs: 50, seed: 21 });
  });
  const stageEvents = () => createActivities({ pool: db.pool, defaultSource: source }).stageEvents;

  test('heartbeats what it lists, then the file, the line and the rows staged so far', async () => {
    // A connection opened outside any activity, as the worker's freshness gauges open one: the COPY's stream
    // resumes the rows' generator from its callbacks, in whatever context that connection was opened.
    await db.pool.query('SELECT 1');
    const env = activityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const result = await runActivity(stageEvents(), [input], env);
    expect(result.rowsStaged).toBe(40_000);
    expect(beats[0]).toEqual({ listing: '2018-11-02' });
    expect(beats.at(-1)).toEqual({ file: dayFile, line: 40_000, rowsStaged: 40_000 });
    await runActivity(createActivities({ pool: db.pool }).dropRunStaging, [{ runKey: input.runKey }]);
  });

  test("the rows a COPY reads are made in the attempt's context, wherever its stream resumes them", async () => {
    // a callback of something opened outside any activity, as the socket of a pool connection can be
    const outside = new AsyncResource('opened outside any activity');
    async function* rows() {
      yield Context.current().info.activityId;
    }
    const readFirst = async (it: AsyncIterable<string>) =>
      outside.runInAsyncScope(() => it[Symbol.asyncIterator]().next());
    await expect(runActivity(() => readFirst(rows()), [])).rejects.toThrow('Activity context not initialized');
    await expect(runActivity(() => readFirst(inThisAttempt(rows())), [])).resolves.toEqual({
      value: 'test',
      done: false,
    });
  });

  test('cancelled while it copies, it stops and leaves nothing staged', async () => {
    const env = activityEnvironment();
    env.on('heartbeat', (details: Record<string, unknown>) => {
      if ('file' in details) env.cancel();
    });
    const err = await runActivity(stageEvents(), [input], env).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/aborted/);
    expect(await count(db.pool, 'SELECT count(*) FROM run_staging')).toBe(0);
    expect(await count(db.pool, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'staging_events_%'`)).toBe(0);
  });
});
