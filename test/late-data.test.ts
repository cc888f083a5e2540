/**
 * Late and corrected data (issue #14): every event reaches the run of its hour, whatever file it sits in, and
 * the late-data watcher re-runs exactly the hours whose source changed since they were loaded. Real dev server,
 * real PostgreSQL, the real commands as child processes. This file's data: generated for 2019-03-04 ..
 * 2019-03-06 (no other test file uses those days), each test under its own deployment name.
 */
import { randomUUID } from 'node:crypto';
import type { Stats } from 'node:fs';
import { appendFile, open, readdir, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from '../src/datagen/generate';
import { inputProblems } from '../src/input';
import type { SparkifyEtlResult } from '../src/types';
import { eventFileKey, localVersion } from '../src/source';
import { tableChecksums } from './support/checksum';
import { expectedFor } from './support/expected';
import {
  commandEnv,
  count,
  createTestDatabase,
  testTmp,
  uniqueQueue,
  useTemporalEnv,
  useTestDatabase,
  withWorker,
  type TestDatabase,
} from './support/helpers';
import { runCommand } from './support/processes';

const env = useTemporalEnv();
const db = useTestDatabase();

const DAYS = { start: '2019-03-04', days: 3, eventsPerDay: 1200, songs: 120 };

/** A generated data set of its own in the test's temporary folder. */
async function dataset(label: string, seed: number): Promise<string> {
  const dir = path.join(testTmp(), `late-${label}-${process.pid}`);
  await generate({ out: dir, ...DAYS, seed });
  return dir;
}

async function lines(dir: string, day: string): Promise<string[]> {
  return (await readFile(path.join(dir, eventFileKey(day)), 'utf8')).split('\n').filter((l) => l.trim() !== '');
}

const ts = (line: string) => (JSON.parse(line) as { ts: number }).ts;

function cliEnv(taskQueue: string, deployment: string, source: string): NodeJS.ProcessEnv {
  return commandEnv({ taskQueue, deployment, warehouseUrl: db.url, source });
}

/** `npm run backfill` over the two days the watcher tests load (2019-03-04 and 05), 8 runs at once. */
function backfillBothDays(cli: NodeJS.ProcessEnv) {
  const range = ['--from', '2019-03-04T00:00Z', '--to', '2019-03-06T00:00Z'];
  return runCommand('npm', ['run', '-s', 'backfill', '--', ...range, '--concurrency', '8'], cli, 300_000);
}

test("Must-show 1: a NextSong event of hour H in the previous day's file is loaded by H's run and counted by the reconciliation check", async () => {
  const dir = await dataset('ms1', 1401);
  const H = { start: '2019-03-05T10:00:00.000Z', end: '2019-03-05T11:00:00.000Z' };
  const [startMs, endMs] = [Date.parse(H.start), Date.parse(H.end)];
  // Move one NextSong event of H from its own day's file to the end of the day before's.
  const own = await lines(dir, '2019-03-05');
  const moved = own.find((l) => l.includes('"page":"NextSong"') && ts(l) >= startMs && ts(l) < endMs)!;
  expect(moved).toBeDefined();
  await writeFile(path.join(dir, eventFileKey('2019-03-05')), own.filter((l) => l !== moved).join('\n') + '\n');
  await appendFile(path.join(dir, eventFileKey('2019-03-04')), moved + '\n');
  // What H holds, from the files as they now are, read here (not by the SQL under test).
  const expected = expectedFor(dir, H.start, H.end);
  const movedTs = ts(moved);

  const taskQueue = uniqueQueue('late-ms1');
  const deployment = `late1-${randomUUID().slice(0, 8)}`;
  const etl = await withWorker(env, { taskQueue, pool: db.pool, source: dir }, () =>
    runCommand('npm', ['run', '-s', 'etl', '--', '--from', H.start, '--to', H.end], cliEnv(taskQueue, deployment, dir)),
  );
  expect(etl.stderr).toBe('');
  expect(etl.code).toBe(0);

  const plays = await db.pool.query<{ n: string; moved: string }>(
    `SELECT count(*) AS n, count(*) FILTER (WHERE start_time = timestamp 'epoch' + $3::bigint * interval '1 ms') AS moved
       FROM songplays WHERE start_time >= $1::timestamptz AT TIME ZONE 'UTC' AND start_time < $2::timestamptz AT TIME ZONE 'UTC'`,
    [H.start, H.end, movedTs],
  );
  expect(Number(plays.rows[0]!.n)).toBe(expected.songplays);
  expect(Number(plays.rows[0]!.moved)).toBeGreaterThanOrEqual(1);

  // The reconciliation check saw the moved event among the staged NextSong events, and passed.
  const run = await db.pool.query<{ status: string; checks: { name: string; passed: boolean; detail: string }[] }>(
    `SELECT status, checks FROM etl_runs WHERE workflow_id LIKE $1 ORDER BY finished_at DESC LIMIT 1`,
    [`${deployment}-%`],
  );
  expect(run.rows[0]!.status).toBe('succeeded');
  const reconciliation = run.rows[0]!.checks.find((c) => c.name === 'songplays_match_staged_nextsong')!;
  expect(reconciliation.passed).toBe(true);
  expect(reconciliation.detail).toContain(`songplays in interval = ${expected.songplays}`);

  // The run recorded both files it read for H.
  const reads = await db.pool.query<{ sources: Record<string, string> }>(
    `SELECT sources FROM run_hour_sources WHERE hour_start = $1::timestamptz AT TIME ZONE 'UTC'`,
    [H.start],
  );
  expect(reads.rows).toHaveLength(1);
  expect(Object.keys(reads.rows[0]!.sources).sort()).toEqual([eventFileKey('2019-03-04'), eventFileKey('2019-03-05')]);
}, 240_000);

interface Event {
  ts: number;
  page: string;
  userId: string;
  level: string;
  sessionId: number;
  itemInSession: number;
  song: string | null;
  firstName: string | null;
}

const at = (iso: string, plusMs = 0) => Date.parse(iso) + plusMs;
const hourOf = (ms: number) => new Date(Math.floor(ms / 3_600_000) * 3_600_000).toISOString().slice(0, 13);

async function runCounts(pool: TestDatabase['pool'], deployment: string): Promise<Map<string, number>> {
  const res = await pool.query<{ hour: string; n: number }>(
    `SELECT to_char(interval_start, 'YYYY-MM-DD"T"HH24') AS hour, count(*)::int AS n FROM etl_runs
      WHERE workflow_id LIKE $1 GROUP BY 1`,
    [`${deployment}-%`],
  );
  return new Map(res.rows.map((r) => [r.hour, r.n]));
}

test('Must-show 2: appended and corrected files re-run exactly the hours they feed, in one watcher cycle; the star tables then equal a load from scratch', async () => {
  const dir = await dataset('ms2', 1402);
  const day4 = path.join(dir, eventFileKey('2019-03-04'));
  const day5 = path.join(dir, eventFileKey('2019-03-05'));
  const template = JSON.parse((await lines(dir, '2019-03-04')).find((l) => l.includes('"NextSong"'))!) as Event;
  const play = (ts: number, changes: Partial<Event>) => JSON.stringify({ ...template, ts, ...changes });
  // Before the first load, day 4 also holds: user 99999's only play (04T07), and user 99998's plays at 04T07 (paid)
  // and 04T15 (free, the later one: it sets the user's level).
  const extra = [
    play(at('2019-03-04T07:10Z'), { userId: '99999', level: 'paid', sessionId: 90001, itemInSession: 0 }),
    play(at('2019-03-04T07:20Z'), { userId: '99998', level: 'paid', sessionId: 90002, itemInSession: 0 }),
    play(at('2019-03-04T15:20Z'), { userId: '99998', level: 'free', sessionId: 90002, itemInSession: 1 }),
  ];
  await appendFile(day4, extra.join('\n') + '\n');

  const taskQueue = uniqueQueue('late-ms2');
  const deployment = `late2-${randomUUID().slice(0, 8)}`;
  const own = await createTestDatabase();
  const scratch = await createTestDatabase();
  const envFor = (db2: TestDatabase) => ({ ...cliEnv(taskQueue, deployment, dir), WAREHOUSE_URL: db2.url });
  try {
    await withWorker(env, { taskQueue, pool: own.pool, source: dir }, async () => {
      const backfill = await backfillBothDays(envFor(own));
      expect(backfill.code).toBe(0);
      const nothing = await runCommand('npm', ['run', '-s', 'late', '--', '--lookback', '5000d'], envFor(own));
      expect(nothing.stdout).toContain('nothing to re-run');
      expect(nothing.code).toBe(0);

      // 50 events appended to day 5's file: 30 of hours 05T03 and 05T04 (loaded), 20 of 06T10 (not loaded yet).
      const appended = Array.from({ length: 50 }, (_, i) =>
        play(
          i < 15
            ? at('2019-03-05T03:00Z', i * 1000)
            : i < 30
              ? at('2019-03-05T04:00Z', i * 1000)
              : at('2019-03-06T10:00Z', i * 1000),
          {
            sessionId: 80000 + i,
            itemInSession: 0,
          },
        ),
      );
      await appendFile(day5, appended.join('\n') + '\n');
      // Day 4's file replaced by a corrected version: user 99999's play and user 99998's 04T15 play removed, and
      // every play of hour 04T12 changed (its level flipped, its song renamed).
      const corrected = (await lines(dir, '2019-03-04'))
        .filter((l) => !l.includes('"99999"') && !(l.includes('"99998"') && l.includes('"free"')))
        .map((l) => {
          const e = JSON.parse(l) as Event;
          if (hourOf(e.ts) !== '2019-03-04T12' || e.page !== 'NextSong') return l;
          return JSON.stringify({ ...e, level: e.level === 'free' ? 'paid' : 'free', song: `${e.song} (remastered)` });
        });
      await writeFile(day4, corrected.join('\n') + '\n');
      const affected = ['2019-03-04T07', '2019-03-04T12', '2019-03-04T15', '2019-03-05T03', '2019-03-05T04'];

      const dry = await runCommand('npm', ['run', '-s', 'late', '--', '--dry-run', '--lookback', '5000d'], envFor(own));
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain(`dry run: would re-run ${affected.length} hour(s):`);
      for (const h of affected)
        expect(dry.stdout).toMatch(new RegExp(`  ${h}:00Z  ${deployment}-\\S+  \\(late data: `));
      expect(dry.stdout).toContain(`(late data: ${eventFileKey('2019-03-04')} changed)`);
      expect(dry.stdout).toContain(`(late data: ${eventFileKey('2019-03-05')} changed)`);
      expect(await runCounts(own.pool, deployment)).toEqual(new Map(hoursOf48().map((h) => [h, 1])));
      // npm run status shows the same hours as stale (the dry run refreshed the index), each with what changed.
      const statusArgs = ['run', '-s', 'status', '--', '--from', '2019-03-04', '--to', '2019-03-05'];
      const grid = await runCommand('npm', statusArgs, envFor(own));
      expect(grid.code).toBe(0);
      expect(grid.stdout).toMatch(/^2019-03-04 {2}[#-]{6} [#-]~[#-]{4} ~[#-]{2}~[#-]{2} [#-]{6}$/m);
      expect(grid.stdout).toMatch(/^2019-03-05 {2}[#-]{3}~~[#-] [#-]{6} [#-]{6} [#-]{6}$/m);
      expect(grid.stdout).toMatch(
        / {2}stale 5 {2}missing_file 0 {2}failed 0 {2}running 0 {2}missing 0 {2}\(48 hours\)/,
      );
      expect(grid.stdout).toContain(
        `  2019-03-04T07h  ${deployment}-2019-03-04T08:00:00Z  late data: ${eventFileKey('2019-03-04')} changed`,
      );
      const json = JSON.parse((await runCommand('npm', [...statusArgs, '--json'], envFor(own))).stdout) as {
        hours: { start: string; state: string; reason?: string }[];
      };
      expect(json.hours.filter((h) => h.state === 'stale').map((h) => h.start.slice(0, 13))).toEqual(affected);
      expect(json.hours.find((h) => h.start.startsWith('2019-03-05T03'))?.reason).toBe(
        `late data: ${eventFileKey('2019-03-05')} changed`,
      );

      const cycle = await runCommand('npm', ['run', '-s', 'late', '--', '--lookback', '5000d'], envFor(own), 300_000);
      expect(cycle.stderr).toBe('');
      expect(cycle.code).toBe(0);
      expect(cycle.stdout).toContain(`re-ran ${affected.length} hour(s):`);
      expect(cycle.stdout.match(/ succeeded /g)).toHaveLength(affected.length);
      // Exactly the affected hours ran again; every other hour once.
      const counts = await runCounts(own.pool, deployment);
      expect(counts).toEqual(new Map(hoursOf48().map((h) => [h, affected.includes(h) ? 2 : 1])));
      // The reason is in the re-run's input (the Web UI shows it).
      const history = await env.client.workflow.getHandle(`${deployment}-2019-03-04T08:00:00Z`).fetchHistory();
      const startInput = JSON.stringify(history.events?.[0]?.workflowExecutionStartedEventAttributes?.input);
      expect(Buffer.from(JSON.parse(startInput).payloads[0].data, 'base64').toString()).toContain(
        `late data: ${eventFileKey('2019-03-04')} changed`,
      );
      // A second cycle finds nothing left.
      const again = await runCommand('npm', ['run', '-s', 'late', '--', '--lookback', '5000d'], envFor(own));
      expect(again.stdout).toContain('nothing to re-run');
      const after = await runCommand('npm', [...statusArgs, '--json'], envFor(own));
      expect((JSON.parse(after.stdout) as { totals: Record<string, number> }).totals).toMatchObject({
        stale: 0,
        failed: 0,
        missing: 0,
      });
    });

    // From scratch: a fresh warehouse loads the same two days from the source as it is now.
    const fresh = `late2s-${randomUUID().slice(0, 8)}`;
    await withWorker(env, { taskQueue, pool: scratch.pool, source: dir }, async () => {
      const backfill = await backfillBothDays({ ...envFor(scratch), SPARKIFY_DEPLOYMENT: fresh });
      expect(backfill.code).toBe(0);
    });
    expect(await tableChecksums(own.pool)).toEqual(await tableChecksums(scratch.pool));
    // And what the files hold, read here: the plays of the two days, user 99999 gone, 99998 back to paid.
    const expected = expectedFor(dir, '2019-03-04T00:00Z', '2019-03-06T00:00Z');
    expect(await count(own.pool, 'SELECT count(*) FROM songplays')).toBe(expected.songplays);
    expect(await count(own.pool, 'SELECT count(*) FROM users')).toBe(expected.users);
    expect(await count(own.pool, 'SELECT count(*) FROM users WHERE user_id = 99999')).toBe(0);
    const level = await own.pool.query<{ level: string }>('SELECT level FROM users WHERE user_id = 99998');
    expect(level.rows[0]?.level).toBe('paid');
    expect(expected.latestLevel.get(99998)).toBe('paid');
  } finally {
    await own.drop();
    await scratch.drop();
  }
}, 600_000);

/** A local file's version as the previous release computed it: size and mtime (ms). */
const oldVersion = (s: Stats) => `${s.size}-${Math.trunc(s.mtimeMs)}`;

/** `npm run backfill` over 2019-03-04 (24 hourly runs, 8 at once). */
function backfillDay4(cli: NodeJS.ProcessEnv) {
  const range = ['--from', '2019-03-04T00:00Z', '--to', '2019-03-05T00:00Z'];
  return runCommand('npm', ['run', '-s', 'backfill', '--', ...range, '--concurrency', '8'], cli, 300_000);
}

test("a correction that keeps the file's size and mtime (an in-place edit, then touch -r) is re-run by one cycle: exactly the two hours; an index of the old version format refreshed re-runs nothing", async () => {
  const dir = await dataset('samesize', 1406);
  const day4 = path.join(dir, eventFileKey('2019-03-04'));
  const taskQueue = uniqueQueue('late-samesize');
  const deployment = `latess-${randomUUID().slice(0, 8)}`;
  const own = await createTestDatabase();
  const scratch = await createTestDatabase();
  const envFor = (db2: TestDatabase) => ({ ...cliEnv(taskQueue, deployment, dir), WAREHOUSE_URL: db2.url });
  const late = (...args: string[]) =>
    runCommand('npm', ['run', '-s', 'late', '--', '--lookback', '5000d', ...args], envFor(own), 300_000);
  try {
    await withWorker(env, { taskQueue, pool: own.pool, source: dir }, async () => {
      expect((await backfillDay4(envFor(own))).code).toBe(0);

      // An index kept by the previous release, whose local versions were `size-mtimeMs`: the upgrade's first
      // refresh reads every file once more (the version differs), finds the same per-hour digests, and re-runs
      // nothing.
      const indexed = await own.pool.query<{ path: string }>('SELECT path FROM source_files WHERE source = $1', [dir]);
      expect(indexed.rows.length).toBe(3);
      for (const { path: key } of indexed.rows) {
        const s = await stat(path.join(dir, key));
        await own.pool.query('UPDATE source_files SET version = $1 WHERE source = $2 AND path = $3', [
          oldVersion(s),
          dir,
          key,
        ]);
      }
      const upgraded = await late();
      expect(upgraded.stderr).toBe('');
      expect(upgraded.code).toBe(0);
      expect(upgraded.stdout).toContain('3 event file(s); 3 read for the index (new or changed), 0 gone');
      expect(upgraded.stdout).toContain('nothing to re-run: every loaded hour read what its files hold now');
      const versions = await own.pool.query<{ version: string }>(
        'SELECT version FROM source_files WHERE source = $1 AND path = $2',
        [dir, eventFileKey('2019-03-04')],
      );
      expect(versions.rows[0]?.version).toBe(localVersion(await stat(day4, { bigint: true })));
      expect(await runCounts(own.pool, deployment)).toEqual(
        new Map(
          hoursOf48()
            .slice(0, 24)
            .map((h) => [h, 1]),
        ),
      );

      // One play of 04T12 moved to 04T13, in place: the same bytes but for the timestamp's digits (the same
      // length), and the file's mtime set back to what it was (touch -r): size and mtime say nothing changed.
      const before = await stat(day4);
      const text = await readFile(day4, 'utf8');
      const moved = text
        .split('\n')
        .find(
          (l) =>
            l.includes('"NextSong"') &&
            hourOf(ts(l)) === '2019-03-04T12' &&
            hourOf(ts(l) + 3_600_000) === '2019-03-04T13',
        )!;
      expect(moved).toBeDefined();
      const session = (JSON.parse(moved) as Event).sessionId;
      const edited = moved.replace(`"ts":${ts(moved)}`, `"ts":${ts(moved) + 3_600_000}`);
      expect(edited.length).toBe(moved.length);
      const handle = await open(day4, 'r+');
      try {
        await handle.write(edited, Buffer.byteLength(text.slice(0, text.indexOf(moved))), 'utf8');
      } finally {
        await handle.close();
      }
      await utimes(day4, before.atimeMs / 1000, before.mtimeMs / 1000);
      // What the previous release compared: size and mtime (in ms), unchanged.
      expect(oldVersion(await stat(day4))).toBe(oldVersion(before));

      const cycle = await late();
      expect(cycle.stderr).toBe('');
      expect(cycle.code).toBe(0);
      expect(cycle.stdout).toContain(`${eventFileKey('2019-03-04')} (read)`);
      expect(cycle.stdout).toContain('re-ran 2 hour(s):');
      for (const h of ['2019-03-04T12', '2019-03-04T13']) {
        expect(cycle.stdout).toMatch(
          new RegExp(
            `  ${h}:00Z  ${deployment}-\\S+  succeeded  \\(late data: ${eventFileKey('2019-03-04')} changed\\)`,
          ),
        );
      }
      const counts = await runCounts(own.pool, deployment);
      expect(counts).toEqual(
        new Map(
          hoursOf48()
            .slice(0, 24)
            .map((h) => [h, ['2019-03-04T12', '2019-03-04T13'].includes(h) ? 2 : 1]),
        ),
      );
      // The play is loaded at its new time, and not at its old one.
      const playAt = (ms: number) =>
        count(
          own.pool,
          `SELECT count(*) FROM songplays WHERE session_id = $1 AND start_time = to_timestamp($2::bigint / 1000.0) AT TIME ZONE 'UTC'`,
          [session, ms],
        );
      expect([await playAt(ts(moved)), await playAt(ts(edited))]).toEqual([0, 1]);
      expect((await late('--dry-run')).stdout).toContain('nothing to re-run');
    });

    // From scratch: a fresh warehouse loads the day from the source as it is now; the same tables.
    const fresh = `latesss-${randomUUID().slice(0, 8)}`;
    await withWorker(env, { taskQueue, pool: scratch.pool, source: dir }, async () => {
      expect((await backfillDay4({ ...envFor(scratch), SPARKIFY_DEPLOYMENT: fresh })).code).toBe(0);
    });
    expect(await tableChecksums(own.pool)).toEqual(await tableChecksums(scratch.pool));
    const expected = expectedFor(dir, '2019-03-04T00:00Z', '2019-03-05T00:00Z');
    expect(await count(own.pool, 'SELECT count(*) FROM songplays')).toBe(expected.songplays);
  } finally {
    await own.drop();
    await scratch.drop();
  }
}, 600_000);

function hoursOf48(): string[] {
  return Array.from({ length: 48 }, (_, i) => hourOf(at('2019-03-04T00:00Z', i * 3_600_000)));
}

test('Must-show 3: a song file that arrives after its plays were loaded: the next song staging matches them, and the tables equal a load from scratch', async () => {
  const dir = await dataset('ms3', 1403);
  const H = { start: '2019-03-06T09:00:00.000Z', end: '2019-03-06T10:00:00.000Z' };
  const next = { start: '2019-03-06T10:00:00.000Z', end: '2019-03-06T11:00:00.000Z' };
  // A song that plays of H match, and its file, set aside before H is loaded.
  const songFiles = (await readdir(path.join(dir, 'song_data'), { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
  const songs = await Promise.all(
    songFiles.map(async (f) => ({
      file: f,
      song: JSON.parse(await readFile(f, 'utf8')) as {
        song_id: string;
        title: string;
        artist_name: string;
        duration: number;
      },
    })),
  );
  const plays = (await lines(dir, '2019-03-06'))
    .map((l) => JSON.parse(l) as Event & { artist: string; length: number })
    .filter((e) => e.page === 'NextSong' && e.ts >= Date.parse(H.start) && e.ts < Date.parse(H.end));
  const late = songs.find(({ song }) =>
    plays.some((p) => p.song === song.title && p.artist === song.artist_name && p.length === song.duration),
  )!;
  expect(late).toBeDefined();
  const aside = `${late.file}.aside`;
  await rename(late.file, aside);

  const taskQueue = uniqueQueue('late-ms3');
  const deployment = `late3-${randomUUID().slice(0, 8)}`;
  const own = await createTestDatabase();
  const scratch = await createTestDatabase();
  const etl = (db2: TestDatabase, deployment2: string, i: { start: string; end: string }) =>
    runCommand('npm', ['run', '-s', 'etl', '--', '--from', i.start, '--to', i.end], {
      ...cliEnv(taskQueue, deployment2, dir),
      WAREHOUSE_URL: db2.url,
    });
  const matched = (db2: TestDatabase) =>
    count(db2.pool, 'SELECT count(*) FROM songplays WHERE song_id = $1 AND song_key IS NULL', [late.song.song_id]);
  try {
    await withWorker(env, { taskQueue, pool: own.pool, source: dir, songListingMaxAgeMs: 0 }, async () => {
      expect((await etl(own, deployment, H)).code).toBe(0);
      expect(await matched(own)).toBe(0);
      const waiting = await count(
        own.pool,
        'SELECT count(*) FROM songplays WHERE song_id IS NULL AND song_key IS NOT NULL',
      );
      expect(waiting).toBeGreaterThan(0);
      // The song file arrives; the next run (of another hour) stages it, and the plays of H get their song.
      await rename(aside, late.file);
      expect((await etl(own, deployment, next)).code).toBe(0);
      expect(await matched(own)).toBeGreaterThan(0);
    });
    await withWorker(env, { taskQueue, pool: scratch.pool, source: dir, songListingMaxAgeMs: 0 }, async () => {
      const fresh = `late3s-${randomUUID().slice(0, 8)}`;
      expect((await etl(scratch, fresh, H)).code).toBe(0);
      expect((await etl(scratch, fresh, next)).code).toBe(0);
    });
    expect(await tableChecksums(own.pool)).toEqual(await tableChecksums(scratch.pool));
    // And what the files say, read here: every play of H whose song is the late one is matched to it.
    const expectedMatched = plays.filter(
      (p) => p.song === late.song.title && p.artist === late.song.artist_name && p.length === late.song.duration,
    ).length;
    expect(
      await count(
        own.pool,
        `SELECT count(*) FROM songplays WHERE song_id = $1 AND start_time >= $2::timestamptz AT TIME ZONE 'UTC' AND start_time < $3::timestamptz AT TIME ZONE 'UTC'`,
        [late.song.song_id, H.start, H.end],
      ),
    ).toBe(expectedMatched);
  } finally {
    await own.drop();
    await scratch.drop();
  }
}, 600_000);

test('npm run schedule -- up makes the late-data watcher its own schedule; LATE_DATA_EVERY=0 turns it off', async () => {
  const deployment = `late5-${randomUUID().slice(0, 8)}`;
  const taskQueue = uniqueQueue('late-schedule');
  const base = { ...cliEnv(taskQueue, deployment, testTmp()), SCHEDULE_START: '' };
  try {
    const up = await runCommand('npm', ['run', '-s', 'schedule', '--', 'up', '--skip-checks'], base);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`created schedule ${deployment}-late-data (late-data watcher every 5m, lookback 30d)`);
    const d = await env.client.schedule.getHandle(`${deployment}-late-data`).describe();
    expect(d.spec.intervals?.map((i) => i.every)).toEqual([300_000]);
    expect(d.policies.overlap).toBe('SKIP');
    expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'LateDataWatcher', taskQueue });
    expect((d.action as { args?: unknown[] }).args?.[0]).toMatchObject({ deployment, lookback: '30d', concurrency: 4 });

    const again = await runCommand('npm', ['run', '-s', 'schedule', '--', 'up', '--skip-checks'], {
      ...base,
      LATE_DATA_EVERY: '15m',
      LATE_DATA_LOOKBACK: '48h',
    });
    expect(again.stdout).toContain(
      `updated schedule ${deployment}-late-data (late-data watcher every 15m, lookback 48h)`,
    );
    const off = await runCommand('npm', ['run', '-s', 'schedule', '--', 'up', '--skip-checks'], {
      ...base,
      LATE_DATA_EVERY: '0',
    });
    expect(off.code).toBe(0);
    expect(off.stdout).toContain(`late-data watcher off (LATE_DATA_EVERY=0): deleted schedule ${deployment}-late-data`);
    await expect(env.client.schedule.getHandle(`${deployment}-late-data`).describe()).rejects.toThrow(/not found/i);
  } finally {
    await env.client.schedule
      .getHandle(`${deployment}-hourly`)
      .delete()
      .catch(() => undefined);
    await env.client.schedule
      .getHandle(`${deployment}-late-data`)
      .delete()
      .catch(() => undefined);
  }
}, 240_000);

test('a run refuses a reason that is not one bounded line of text, naming the field; a good reason changes nothing it loads', async () => {
  expect(inputProblems({ reason: 'late data: log_data/2019/03/2019-03-04-events.json changed' })).toEqual([]);
  expect(inputProblems({ reason: 42 })).toEqual(['reason: must be a string']);
  expect(inputProblems({ reason: 'x'.repeat(501) })).toEqual(['reason: longer than 500 characters']);
  expect(inputProblems({ reason: 'two\nlines' })).toEqual(['reason: must be one line of printable text']);
  const taskQueue = uniqueQueue('late-reason');
  const H = { start: '2019-03-04T20:00Z', end: '2019-03-04T21:00Z' };
  const dir = await dataset('reason', 1405);
  await withWorker(env, { taskQueue, pool: db.pool, source: dir }, async () => {
    const bad = env.client.workflow.execute('SparkifyEtl', {
      taskQueue,
      workflowId: `late-reason-bad-${randomUUID().slice(0, 8)}`,
      args: [{ ...H, reason: 'x'.repeat(600) }],
    });
    await expect(bad).rejects.toMatchObject({ cause: { message: 'input: reason: longer than 500 characters' } });
    const good: SparkifyEtlResult = await env.client.workflow.execute('SparkifyEtl', {
      taskQueue,
      workflowId: `late-reason-good-${randomUUID().slice(0, 8)}`,
      args: [{ ...H, reason: 'late data: a test' }],
    });
    expect(good.loads.find((l) => l.table === 'songplays')!.rowsWritten).toBe(
      expectedFor(dir, H.start, H.end).songplays,
    );
  });
}, 240_000);

test('a re-run that fails on a bad line is not repeated every cycle; correcting the file re-runs the hour again', async () => {
  const dir = await dataset('failing', 1405);
  const day = path.join(dir, eventFileKey('2019-03-05'));
  const H = { start: '2019-03-05T15:00Z', end: '2019-03-05T16:00Z' };
  const taskQueue = uniqueQueue('late-failing');
  const deployment = `latef-${randomUUID().slice(0, 8)}`;
  const own = await createTestDatabase();
  const cli = { ...cliEnv(taskQueue, deployment, dir), WAREHOUSE_URL: own.url };
  const late = (...args: string[]) =>
    runCommand('npm', ['run', '-s', 'late', '--', '--lookback', '5000d', ...args], cli, 300_000);
  try {
    await withWorker(env, { taskQueue, pool: own.pool, source: dir }, async () => {
      expect((await runCommand('npm', ['run', '-s', 'etl', '--', '--from', H.start, '--to', H.end], cli)).code).toBe(0);
      // A late line of H that is bad: the watcher re-runs H, which fails on it, naming file and line.
      const good = await readFile(day, 'utf8');
      const badLine = `{"ts":${at('2019-03-05T15:30Z')},"page":"NextSong","sessionId":"oops","itemInSession":0}`;
      await writeFile(day, `${good}${badLine}\n`);
      const first = await late();
      expect(first.code).toBe(1);
      expect(first.stdout).toMatch(new RegExp(`2019-03-05T15:00Z .* failed`));
      expect(first.stdout).toContain(`${eventFileKey('2019-03-05')} line ${good.split('\n').length}`);
      // The next cycle does not re-run it again: the failed run read the file as it is now.
      const second = await late('--dry-run');
      expect(second.code).toBe(0);
      expect(second.stdout).toContain('nothing to re-run');
      // The file corrected (the bad line removed): the hour differs from what its latest run read, and re-runs.
      await writeFile(day, good);
      const third = await late();
      expect(third.code).toBe(0);
      expect(third.stdout).toContain('re-ran 1 hour(s):');
      expect(third.stdout).toMatch(/2019-03-05T15:00Z .* succeeded/);
    });
  } finally {
    await own.drop();
  }
}, 600_000);
