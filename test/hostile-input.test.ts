/**
 * Hostile or odd input (issue 13, items 2 to 6), each written against the symptom first seen: the failing
 * input, the error a person reads (file and line) or the counts, and the star tables before and after.
 * Expected counts come from the JSON written here, never from the SQL under test.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ActivityFailure, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { workflowIdFor } from '../src/interval';
import { localVersion } from '../src/source';
import { classify } from '../src/warehouse/errors';
import type { SparkifyEtlInput, SparkifyEtlResult } from '../src/types';
import { tableChecksums } from './support/checksum';
import {
  useTemporalEnv,
  count,
  createTestDatabase,
  testTmp,
  uniqueQueue,
  type TestDatabase,
  withWorker,
} from './support/helpers';
import { Background, runCommand } from './support/processes';
import { SAMPLE_EVENT } from './support/sample';

const env = useTemporalEnv();

const DAY_FILE = 'log_data/2018/11/2018-11-10-events.json';
const HOUR = { start: '2018-11-10T10:00:00.000Z', end: '2018-11-10T11:00:00.000Z' };
const NEXT_HOUR = { start: '2018-11-10T11:00:00.000Z', end: '2018-11-10T12:00:00.000Z' };
const T0 = Date.parse(HOUR.start);

interface Song {
  song_id: string;
  artist_id: string;
  title: string;
  artist_name: string;
  duration: number;
  num_songs: number;
  year: number;
  artist_location: string;
  artist_latitude: null;
  artist_longitude: null;
}
const song = (n: number, over: Partial<Song> = {}): Song => ({
  num_songs: 1,
  artist_id: `AR${n}`,
  artist_latitude: null,
  artist_longitude: null,
  artist_location: 'Somewhere',
  artist_name: `Artist ${n}`,
  song_id: `SO${n}`,
  title: `Title ${n}`,
  duration: 100 + n,
  year: 2000 + n,
  ...over,
});
const SONGS = [song(1), song(2), song(3)];

/** Plays of the hour (and, with `hour = 1`, of the next): user u plays song (k % 3) at T0 + k minutes. */
const play = (k: number, hour = 0) => {
  const s = SONGS[k % SONGS.length]!;
  return {
    ...SAMPLE_EVENT,
    artist: s.artist_name,
    song: s.title,
    length: s.duration,
    itemInSession: k,
    sessionId: 500 + hour,
    userId: String(10 + (k % 4)),
    ts: T0 + hour * 3_600_000 + k * 60_000 + 7,
  };
};
type Event = ReturnType<typeof play>;

/** A source folder holding the given event lines (strings or buffers, one per line) and song files. */
async function makeSource(label: string, lines: (string | Buffer)[], songs: Record<string, string | Buffer>) {
  const root = path.join(testTmp(), `hostile-${label}-${process.pid}`);
  await rm(root, { recursive: true, force: true });
  await mkdir(path.join(root, path.dirname(DAY_FILE)), { recursive: true });
  await writeFile(
    path.join(root, DAY_FILE),
    Buffer.concat(lines.map((l) => Buffer.concat([typeof l === 'string' ? Buffer.from(l) : l, Buffer.from('\n')]))),
  );
  for (const [key, body] of Object.entries(songs)) {
    await mkdir(path.join(root, path.dirname(key)), { recursive: true });
    await writeFile(path.join(root, key), body);
  }
  return root;
}
const songFiles = (songs: Song[]) =>
  Object.fromEntries(songs.map((s) => [`song_data/A/${s.song_id}.json`, JSON.stringify(s)]));

/** A version as the local source computes it (size, mtime, ctime, inode), read here from the file system. */
async function versionOf(root: string, key: string): Promise<string> {
  return localVersion(await stat(path.join(root, key), { bigint: true }));
}

/** Runs one interval through a real workflow on an in-process worker that lists song files afresh each run. */
async function run(db: TestDatabase, source: string, input: SparkifyEtlInput): Promise<SparkifyEtlResult> {
  const taskQueue = uniqueQueue('hostile');
  return withWorker(env, { taskQueue, pool: db.pool, source, songListingMaxAgeMs: 0 }, () =>
    env.client.workflow.execute('SparkifyEtl', { taskQueue, workflowId: `hostile-${taskQueue}`, args: [input] }),
  );
}

/** The failed activity and its cause, wherever the workflow put the activity's failure in the chain. */
function failureOf(err: unknown): { activity: ActivityFailure; app: ApplicationFailure } {
  expect(err).toBeInstanceOf(WorkflowFailedError);
  let activity: unknown = (err as WorkflowFailedError).cause;
  while (activity instanceof Error && !(activity instanceof ActivityFailure)) activity = activity.cause;
  expect(activity).toBeInstanceOf(ActivityFailure);
  if (!(activity instanceof ActivityFailure)) throw err;
  const app = activity.cause as ApplicationFailure;
  expect(app).toBeInstanceOf(ApplicationFailure);
  return { activity, app };
}

/** The expected star rows of plays (all NextSong, in the interval), computed from the JSON. */
function expectedOf(plays: Event[], songs: Song[]) {
  const known = new Set(songs.map((s) => `${s.title}|${s.artist_name}|${s.duration}`));
  return {
    songplays: plays.length,
    matched: plays.filter((p) => known.has(`${p.song}|${p.artist}|${p.length}`)).length,
    time: new Set(plays.map((p) => p.ts)).size,
    users: new Set(plays.map((p) => p.userId)).size,
  };
}

async function starCounts(db: TestDatabase, interval = HOUR) {
  const inHour = `start_time >= $1::timestamp AND start_time < $2::timestamp`;
  const at = [interval.start.replace('Z', ''), interval.end.replace('Z', '')];
  return {
    songplays: await count(db.pool, `SELECT count(*) FROM songplays WHERE ${inHour}`, at),
    matched: await count(db.pool, `SELECT count(*) FROM songplays WHERE song_id IS NOT NULL AND ${inHour}`, at),
    time: await count(db.pool, `SELECT count(*) FROM time WHERE ${inHour}`, at),
    users: await count(db.pool, `SELECT count(*) FROM users`),
  };
}

describe('item 2: a song file with a 100 KB artist_name', () => {
  const bigKey = 'song_data/B/SOBIG.json';
  const plays = Array.from({ length: 12 }, (_, k) => play(k));
  let db: TestDatabase;
  let source: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    source = await makeSource(
      'big-artist',
      [...plays, ...plays.map((_, k) => play(k, 1))].map((e) => JSON.stringify(e)),
      {
        ...songFiles(SONGS),
        [bigKey]: JSON.stringify(song(9, { artist_name: 'x'.repeat(100_000) })),
      },
    );
  });
  afterAll(() => db?.drop());

  test('fails at once naming the file (not retried as unknown), then is quarantined under maxErrors and blocks no later hour', async () => {
    const before = await tableChecksums(db.pool);
    const err = await run(db, source, HOUR).catch((e: unknown) => e);
    const { activity, app } = failureOf(err);
    expect(activity.activityType).toBe('stageSongs');
    expect(app.type).toBe('BadData');
    expect(app.nonRetryable).toBe(true);
    expect(activity.retryState).toBe('NON_RETRYABLE_FAILURE');
    expect(app.message).toBe(
      `${bigKey} line 1: field "artist_name" is 100000 bytes long; its column holds at most 512`,
    );
    expect(await tableChecksums(db.pool)).toEqual(before);
    expect(await count(db.pool, 'SELECT count(*) FROM staging_songs')).toBe(0);

    const result = await run(db, source, { ...HOUR, maxErrors: 1 });
    expect(result.staged.songs.badFiles).toBe(1);
    expect(await starCounts(db)).toEqual(expectedOf(plays, SONGS));
    const errors = await db.pool.query('SELECT file, version, line, reason FROM load_errors');
    expect(errors.rows).toEqual([
      {
        file: bigKey,
        version: await versionOf(source, bigKey),
        line: 1,
        reason: 'field "artist_name" is 100000 bytes long; its column holds at most 512',
      },
    ]);
    const manifest = await db.pool.query('SELECT songs, rejected FROM staged_song_files WHERE path = $1', [bigKey]);
    expect(manifest.rows).toEqual([{ songs: 0, rejected: true }]);

    // the next hour, with no bad lines allowed, is not blocked: the rejected file is not read again
    await run(db, source, NEXT_HOUR);
    expect(await starCounts(db, NEXT_HOUR)).toMatchObject({ songplays: plays.length, matched: plays.length });
  });

  test('the match index cannot be overflowed even by a row that skips validation: a check violation (bad data), not 54000', async () => {
    const err = await db.pool
      .query(
        `INSERT INTO staging_songs (song_id, artist_id, title, artist_name, duration) VALUES ('SOX', 'ARX', 't', $1, 1)`,
        ['y'.repeat(100_000)],
      )
      .catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('23514');
    expect(classify(err)).toBe('bad-data');
    // and a program limit that still escapes is bad data too, never retried as unknown
    expect(classify({ code: '54000' })).toBe('bad-data');
  });
});

describe('item 3: NUL characters and invalid UTF-8', () => {
  const plays = Array.from({ length: 8 }, (_, k) => play(k));
  const nulLine = JSON.stringify({ ...play(20), song: 'A\u0000B' }); // written as the escape \u0000
  const badUtf8 = Buffer.from(JSON.stringify({ ...play(21), artist: 'ZZ' }));
  badUtf8[badUtf8.indexOf('ZZ')] = 0xff;
  const lines = [...plays.slice(0, 2).map((e) => JSON.stringify(e)), nulLine, JSON.stringify(plays[2]), badUtf8];
  lines.push(...plays.slice(3).map((e) => JSON.stringify(e)));
  const nulSongKey = 'song_data/N/SONUL.json';
  let db: TestDatabase;
  let source: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    source = await makeSource('nul', lines, {
      ...songFiles(SONGS),
      [nulSongKey]: JSON.stringify(song(8, { title: 'T\u0000' })),
    });
  });
  afterAll(() => db?.drop());

  test('a NUL in an event is a bad line naming file and line, not a broken COPY', async () => {
    const eventsOnly = await makeSource('nul-events', lines, songFiles(SONGS));
    const before = await tableChecksums(db.pool);
    const { activity, app } = failureOf(await run(db, eventsOnly, HOUR).catch((e: unknown) => e));
    expect(activity.activityType).toBe('stageEvents');
    expect(app.type).toBe('BadData');
    expect(app.message).toBe(`${DAY_FILE} line 3: field "song" contains a NUL character (\\u0000)`);
    expect(await tableChecksums(db.pool)).toEqual(before);
  });

  test('a NUL in a song file is a bad line naming the file', async () => {
    const songOnly = await makeSource(
      'nul-song',
      plays.map((e) => JSON.stringify(e)),
      { ...songFiles(SONGS), [nulSongKey]: JSON.stringify(song(8, { title: 'T\u0000' })) },
    );
    const before = await tableChecksums(db.pool);
    const { activity, app } = failureOf(await run(db, songOnly, HOUR).catch((e: unknown) => e));
    expect(await tableChecksums(db.pool)).toEqual(before);
    expect(activity.activityType).toBe('stageSongs');
    expect(app.message).toBe(`${nulSongKey} line 1: field "title" contains a NUL character (\\u0000)`);
  });

  test('under maxErrors they are quarantined with file and line, invalid UTF-8 is rejected (never stored as U+FFFD), the rest loads', async () => {
    const result = await run(db, source, { ...HOUR, maxErrors: 3 });
    expect(result.staged.events.badLines).toBe(2);
    expect(result.staged.songs.badFiles).toBe(1);
    expect(await starCounts(db)).toEqual(expectedOf(plays, SONGS));
    const at = badUtf8.indexOf(0xff);
    const errors = await db.pool.query('SELECT file, line, reason, raw FROM load_errors ORDER BY file, line');
    expect(errors.rows.map((r) => [r.file, r.line, r.reason])).toEqual([
      [DAY_FILE, 3, 'field "song" contains a NUL character (\\u0000)'],
      [DAY_FILE, 5, `invalid UTF-8 (byte 0xff at offset ${at})`],
      [nulSongKey, 1, 'field "title" contains a NUL character (\\u0000)'],
    ]);
    expect(errors.rows[0].raw).toBe(nulLine);
    for (const t of ['songplays', 'users', 'songs', 'artists']) {
      expect(await count(db.pool, `SELECT count(*) FROM ${t} t WHERE t::text LIKE '%' || chr(65533) || '%'`)).toBe(0);
    }
  });
});

test('item 4: a nested "ts" after the real one does not move the event out of its hour', async () => {
  const db = await createTestDatabase();
  try {
    const plays = Array.from({ length: 6 }, (_, k) => play(k));
    const lines = plays.map((e, k) =>
      k === 2
        ? JSON.stringify({ ...e, meta: { ts: 5 } })
        : k === 4
          ? JSON.stringify({ ...e, meta: [{ ts: 5 }] })
          : JSON.stringify(e),
    );
    expect(lines[2]).toMatch(/"ts":\d+,.*"meta":\{"ts":5\}\}$/);
    const source = await makeSource('nested-ts', lines, songFiles(SONGS));
    const result = await run(db, source, HOUR);
    expect(result.staged.events.rowsStaged).toBe(plays.length);
    expect(await starCounts(db)).toEqual(expectedOf(plays, SONGS));
    const times = await db.pool.query(
      `SELECT (extract(epoch FROM start_time) * 1000)::bigint AS ms FROM time ORDER BY 1`,
    );
    expect(times.rows.map((r) => Number(r.ms))).toEqual(plays.map((p) => p.ts));
  } finally {
    await db.drop();
  }
});

describe('item 5: quarantine is durable', () => {
  const badKey = 'song_data/Q/SOBAD.json';
  const plays = Array.from({ length: 10 }, (_, k) => play(k));
  const badEvent = JSON.stringify({ ...play(30), sessionId: 'x' });
  let db: TestDatabase;
  let source: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    const fixed = song(4, { title: 'Fixed' });
    source = await makeSource('durable', [...plays.map((e) => JSON.stringify(e)), badEvent], {
      ...songFiles(SONGS),
      [badKey]: JSON.stringify({ ...fixed, duration: 'long' }),
    });
  });
  afterAll(() => db?.drop());

  test('a re-run keeps (and does not repeat) the rejected song file and event line; a changed file is read again', async () => {
    const expectedErrors = [
      [DAY_FILE, await versionOf(source, DAY_FILE), plays.length + 1, 'field "sessionId" must be an integer, got "x"'],
      [badKey, await versionOf(source, badKey), 1, 'field "duration" must be a number, got "long"'],
    ];
    const errors = async () =>
      (await db.pool.query('SELECT file, version, line, reason FROM load_errors ORDER BY file')).rows.map((r) => [
        r.file,
        r.version,
        r.line,
        r.reason,
      ]);
    await run(db, source, { ...HOUR, maxErrors: 2 });
    expect(await errors()).toEqual(expectedErrors);
    const afterFirst = await tableChecksums(db.pool);

    // the same hour again, as an operator re-running it would: nothing erased, nothing repeated
    await run(db, source, { ...HOUR, maxErrors: 2 });
    expect(await errors()).toEqual(expectedErrors);
    expect(await tableChecksums(db.pool)).toEqual(afterFirst);
    expect(
      (await db.pool.query('SELECT songs, rejected FROM staged_song_files WHERE path = $1', [badKey])).rows,
    ).toEqual([{ songs: 0, rejected: true }]);

    // the file is fixed: the next run reads it again; the rejected version's record stays as its history
    const fixed = song(4, { title: 'Fixed' });
    await writeFile(path.join(source, badKey), JSON.stringify(fixed, null, 1));
    const result = await run(db, source, { ...HOUR, maxErrors: 2 });
    expect(result.staged.songs).toMatchObject({ filesStaged: 1, songsStaged: 1, badFiles: 0 });
    expect(
      (await db.pool.query('SELECT songs, rejected FROM staged_song_files WHERE path = $1', [badKey])).rows,
    ).toEqual([{ songs: 1, rejected: false }]);
    expect((await db.pool.query(`SELECT title FROM songs WHERE song_id = 'SO4'`)).rows).toEqual([{ title: 'Fixed' }]);
    expect(await errors()).toEqual(expectedErrors);
    const current = await versionOf(source, badKey);
    expect(
      await count(db.pool, 'SELECT count(*) FROM load_errors WHERE file = $1 AND version = $2', [badKey, current]),
    ).toBe(0);
  });
});

test('item 6: a re-run after an event was removed from the source leaves exactly what the source says (no orphaned time row)', async () => {
  const db = await createTestDatabase();
  try {
    const plays = Array.from({ length: 9 }, (_, k) => play(k));
    const source = await makeSource(
      'removed',
      plays.map((e) => JSON.stringify(e)),
      songFiles(SONGS),
    );
    await run(db, source, HOUR);
    expect(await starCounts(db)).toEqual(expectedOf(plays, SONGS));
    const removed = plays[4]!;
    const kept = plays.filter((p) => p !== removed);
    await writeFile(path.join(source, DAY_FILE), kept.map((e) => JSON.stringify(e)).join('\n') + '\n');

    await run(db, source, HOUR);
    const after = await starCounts(db);
    expect(after).toMatchObject({ songplays: kept.length, time: new Set(kept.map((p) => p.ts)).size });
    const gone = new Date(removed.ts).toISOString().replace('Z', '');
    expect(await count(db.pool, 'SELECT count(*) FROM time WHERE start_time = $1::timestamp', [gone])).toBe(0);
    expect(await count(db.pool, 'SELECT count(*) FROM songplays WHERE start_time = $1::timestamp', [gone])).toBe(0);
    // users accumulate across hours (docs/data-semantics.md): a removed event does not remove its user
    expect(after.users).toBe(expectedOf(plays, SONGS).users);
  } finally {
    await db.drop();
  }
});

describe('as a user sees it: `npm run etl` against a worker process', () => {
  let db: TestDatabase;
  let worker: Background;
  let cliEnv: NodeJS.ProcessEnv;
  beforeAll(async () => {
    db = await createTestDatabase();
    cliEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: 'default',
      TASK_QUEUE: uniqueQueue('cli-hostile'),
      WAREHOUSE_URL: db.url,
      SOURCE_URL: testTmp(),
    };
    worker = new Background('npm', ['run', '-s', 'worker'], cliEnv);
    await worker.waitFor(/worker polling task queue/);
  });
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await db?.drop();
  });
  /** `npm run etl` for HOUR, reading `source`. */
  const etlHour = (source: string) =>
    runCommand(
      'npm',
      ['run', '-s', 'etl', '--', '--from', '2018-11-10T10:00Z', '--to', '2018-11-10T11:00Z', '--source', source],
      cliEnv,
    );
  /**
   * What to do, as etl prints it under a bad line of `source`: not SOURCE_URL, so the late-data watcher does not
   * re-run the hour when the file is fixed, and the hint gives the command that does.
   */
  const hint = (source: string) =>
    [
      'what to do: fix the line or file named above, then run the same command again (the late-data watcher ' +
        'watches SOURCE_URL only: it does not re-run what read another --source):',
      `  npm run etl -- --from 2018-11-10T10:00Z --to 2018-11-10T11:00Z --source ${source}`,
      'or run again with --max-errors N to set up to N bad lines aside in load_errors and load the rest',
    ].join('\n');

  test('a NUL in an event line: exit code 1, and the failure of the run names file and line; nothing loaded', async () => {
    const plays = Array.from({ length: 5 }, (_, k) => play(k));
    const lines = plays.map((e) => JSON.stringify(e));
    lines.splice(3, 0, JSON.stringify({ ...play(40), artist: 'nul \u0000 here' }));
    const source = await makeSource('cli-nul', lines, songFiles(SONGS));
    const before = await tableChecksums(db.pool);
    const etl = await etlHour(source);
    expect(etl.code).toBe(1);
    // and what to do about it, on the lines under it
    expect(etl.stderr).toContain(
      `${workflowIdFor(HOUR)} failed: stageEvents: ${DAY_FILE} line 4: field "artist" contains a NUL character (\\u0000)\n` +
        hint(source),
    );
    // The run as the Web UI reads it: the same failure, the activity's under it.
    const failed = await env.client.workflow
      .getHandle(workflowIdFor(HOUR))
      .result()
      .catch((e: unknown) => e);
    const { activity, app } = failureOf(failed);
    expect(activity.activityType).toBe('stageEvents');
    expect(app.message).toBe(`${DAY_FILE} line 4: field "artist" contains a NUL character (\\u0000)`);
    expect(await tableChecksums(db.pool)).toEqual(before);
  });

  test('a line of a no-break space alone, or a number past a double: named by line, the character as its escape, and what to do', async () => {
    const lines = [JSON.stringify(play(0)), JSON.stringify(play(1)), '\u00a0', JSON.stringify(play(2))];
    const nbspSource = await makeSource('cli-nbsp', lines, songFiles(SONGS));
    const nbsp = await etlHour(nbspSource);
    expect(nbsp.code).toBe(1);
    expect(nbsp.stderr).toMatch(new RegExp(`failed: stageEvents: ${DAY_FILE} line 3: invalid JSON \\(.*\\\\u00A0`));
    expect(nbsp.stderr).not.toContain('\u00a0');
    expect(nbsp.stderr).toContain(hint(nbspSource));

    const huge = JSON.stringify(play(1)).replace(/"length":[\d.]+/, '"length":1e400');
    const overflowSource = await makeSource('cli-overflow', [JSON.stringify(play(0)), huge], songFiles(SONGS));
    const overflow = await etlHour(overflowSource);
    expect(overflow.code).toBe(1);
    expect(overflow.stderr).toContain(
      `failed: stageEvents: ${DAY_FILE} line 2: field "length" must be a number, got a number beyond the range of a double (about 1.8e308)`,
    );
    expect(overflow.stderr).toContain(hint(overflowSource));
  });

  test('a day file saved with a byte-order mark: every event loads, the first line too, and no bad line is reported', async () => {
    const plays = Array.from({ length: 6 }, (_, k) => play(k));
    const lines = plays.map((e) => JSON.stringify(e));
    const source = await makeSource(
      'cli-bom',
      [Buffer.from('\uFEFF' + lines[0]!), ...lines.slice(1)],
      songFiles(SONGS),
    );
    const etl = await etlHour(source);
    expect(etl.stderr).toBe('');
    expect(etl.code).toBe(0);
    expect(etl.stdout).toMatch(/^stage events \(1 file\(s\), 6 lines read\)\s+6\s+\d+$/m);
    expect(etl.stdout).not.toMatch(/bad line/i);
    expect(await starCounts(db)).toEqual(expectedOf(plays, SONGS));
    expect(await count(db.pool, 'SELECT count(*) FROM load_errors')).toBe(0);
  });
});
