/**
 * Property (issue 13, must-show 2): random damage to generated source files (truncation, byte flips, NULs,
 * invalid UTF-8, huge strings, nested keys, wrong types, duplicated lines). Every case either fails naming
 * file and line with every star table unchanged, or, within maxErrors, loads exactly what the reference
 * below computes from the bytes and records every rejected line in load_errors.
 *
 * The cases call the activities directly (in an activity context: support/activities.ts) on one database, each with its own day,
 * ids and source folder, so that 500 of them run in about a minute; a few also run through a real workflow.
 * DAMAGE_SEED replays a run (the seed is printed); DAMAGE_CASES changes how many cases run.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createActivities } from '../src/activities';
import { intervalKey, makeInterval, type Interval } from '../src/interval';
import { localVersion } from '../src/source';
import { DEFAULT_LOAD_MODES, TABLES, type SparkifyEtlInput } from '../src/types';
import { inActivityContext } from './support/activities';
import { tableChecksums } from './support/checksum';
import {
  useTemporalEnv,
  useTestDatabase,
  testTmp,
  uniqueQueue,
  withWorker,
  type TestDatabase,
} from './support/helpers';
import { SAMPLE_EVENT } from './support/sample';

const SEED = Number(process.env.DAMAGE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(process.env.DAMAGE_CASES ?? 500);
const WORKFLOW_CASES = 4;

// ------------------------------------------------------------------ the reference

const INT32_MAX = 2_147_483_647;
const TS_MIN = Date.parse('0001-01-01T00:00:00Z');
const TS_MAX = Date.parse('+010000-01-01T00:00:00Z');

type Kind = 'text' | 'int' | 'float' | 'userId';
/** The staging columns as the warehouse takes them (Redshift widths in bytes), written out independently. */
const EVENT_SPEC: [string, Kind, number?, boolean?][] = [
  ['artist', 'text', 512],
  ['auth', 'text', 32],
  ['firstName', 'text', 256],
  ['gender', 'text', 8],
  ['itemInSession', 'int', undefined, true],
  ['lastName', 'text', 256],
  ['length', 'float'],
  ['level', 'text', 16],
  ['location', 'text', 512],
  ['method', 'text', 16],
  ['page', 'text', 64, true],
  ['registration', 'float'],
  ['sessionId', 'int', undefined, true],
  ['song', 'text', 512],
  ['status', 'int'],
  ['ts', 'int', undefined, true],
  ['userAgent', 'text', 1024],
  ['userId', 'userId'],
];
const SONG_SPEC: [string, Kind, number?, boolean?][] = [
  ['num_songs', 'int'],
  ['artist_id', 'text', 32, true],
  ['artist_latitude', 'float'],
  ['artist_longitude', 'float'],
  ['artist_location', 'text', 512],
  ['artist_name', 'text', 512],
  ['song_id', 'text', 32, true],
  ['title', 'text', 512],
  ['duration', 'float'],
  ['year', 'int'],
];

class Bad extends Error {}

/** A field's value as the warehouse would store it, or Bad. */
function value(name: string, kind: Kind, raw: unknown, maxBytes?: number, required?: boolean): unknown {
  if (raw === undefined || raw === null || (raw === '' && kind !== 'text' && kind !== 'userId')) {
    if (required) throw new Bad(`${name} missing`);
    return null;
  }
  if (kind === 'text') {
    if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
    if (typeof raw !== 'string') throw new Bad(`${name} type`);
    if (raw.includes('\u0000')) throw new Bad(`${name} NUL`);
    if (Buffer.from(raw, 'utf8').toString('utf8') !== raw) throw new Bad(`${name} lone surrogate`);
    if (Buffer.byteLength(raw) > (maxBytes ?? Infinity)) throw new Bad(`${name} too long`);
    return raw;
  }
  if (kind === 'int') {
    const n = typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new Bad(`${name} not an integer`);
    if (name === 'ts' ? n < TS_MIN || n >= TS_MAX : Math.abs(n) > INT32_MAX) throw new Bad(`${name} range`);
    return n;
  }
  if (kind === 'float') {
    const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new Bad(`${name} not a number`);
    return n;
  }
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0 && raw <= INT32_MAX) return String(raw);
  if (typeof raw === 'string' && /^\d{0,9}$/.test(raw.trim())) return raw.trim();
  throw new Bad(`${name} not a user id`);
}

function record(doc: unknown, spec: typeof EVENT_SPEC): Record<string, unknown> {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Bad('not an object');
  const r = doc as Record<string, unknown>;
  return Object.fromEntries(spec.map(([name, kind, max, req]) => [name, value(name, kind, r[name], max, req)]));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The event time a whole, valid line belongs to (as JSON.parse reads its top-level ts), if readable. */
function timeOf(doc: unknown): number | undefined {
  try {
    return value('ts', 'int', (doc as Record<string, unknown>).ts, undefined, true) as number;
  } catch {
    return undefined;
  }
}

interface EventOutcome {
  rows: Record<string, unknown>[];
  bad: number[];
}

/** Events of an interval from a day file's bytes. Every generated line lies in the interval. */
function referenceEvents(bytes: Buffer, startMs: number, endMs: number): EventOutcome {
  const out: EventOutcome = { rows: [], bad: [] };
  let line = 0;
  for (let from = 0; from < bytes.length;) {
    let nl = bytes.indexOf(10, from);
    if (nl === -1) nl = bytes.length;
    let raw = bytes.subarray(from, nl);
    from = nl + 1;
    line++;
    if (raw[raw.length - 1] === 13) raw = raw.subarray(0, -1);
    let doc: unknown;
    try {
      const text = utf8.decode(raw);
      if (/^[ \t\r]*$/.test(text)) continue; // blank: JSON whitespace only
      doc = JSON.parse(text);
    } catch {
      out.bad.push(line);
      continue;
    }
    const ts = timeOf(doc);
    if (ts !== undefined && (ts < startMs || ts >= endMs)) continue; // another interval's
    try {
      out.rows.push(record(doc, EVENT_SPEC));
    } catch (err) {
      if (!(err instanceof Bad)) throw err;
      out.bad.push(line);
    }
  }
  return out;
}

/** The songs of one song file, or Bad: one JSON document (an object or an array), or one object per line. */
function referenceSongs(bytes: Buffer): Record<string, unknown>[] {
  let text: string;
  try {
    text = utf8.decode(bytes).trim();
  } catch {
    throw new Bad('invalid UTF-8');
  }
  if (text === '') throw new Bad('empty');
  let docs: unknown[];
  try {
    const parsed = JSON.parse(text) as unknown;
    docs = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length < 2) throw new Bad('invalid JSON');
    docs = lines.map((l) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        throw new Bad('invalid JSON');
      }
    });
  }
  return docs.map((d) => record(d, SONG_SPEC));
}

// ------------------------------------------------------------------ generation and damage

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return { int: (n: number) => next() % n, pick: <T>(xs: readonly T[]) => xs[next() % xs.length] as T };
}
type Rng = ReturnType<typeof rng>;

const DAMAGES = ['truncate', 'flip', 'nul', 'utf8', 'huge', 'nested', 'type', 'duplicate'] as const;
type Damage = (typeof DAMAGES)[number];

function damageText(r: Rng, json: string, kind: Damage, fields: string[]): Buffer {
  const b = Buffer.from(json);
  const at = 1 + r.int(Math.max(1, b.length - 2));
  switch (kind) {
    case 'truncate':
      return b.subarray(0, at);
    case 'flip': {
      const c = Buffer.from(b);
      let x = r.int(256);
      if (x === 10 || x === 13) x = 0x41;
      c[at] = x;
      return c;
    }
    case 'nul': {
      if (r.int(2) === 0) return Buffer.concat([b.subarray(0, at), Buffer.from([0]), b.subarray(at)]);
      const o = JSON.parse(json) as Record<string, unknown>;
      const f = r.pick(fields);
      o[f] = `${String(o[f] ?? '')}\u0000x`;
      return Buffer.from(JSON.stringify(o));
    }
    case 'utf8': {
      const bad = r.pick([[0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80]]);
      return Buffer.concat([b.subarray(0, at), Buffer.from(bad), b.subarray(at)]);
    }
    case 'huge': {
      const o = JSON.parse(json) as Record<string, unknown>;
      o[r.pick(fields)] = 'h'.repeat(r.pick([9, 33, 257, 513, 1025, 100_000]));
      return Buffer.from(JSON.stringify(o));
    }
    case 'nested': {
      const o = JSON.parse(json) as Record<string, unknown>;
      const f = r.pick(fields);
      const v = r.pick([{ ts: 5 }, [o[f]], { [f]: o[f] }, { a: { ts: 1 } }]);
      if (r.int(2) === 0) o.meta = v;
      else o[f] = v;
      return Buffer.from(JSON.stringify(o));
    }
    case 'type': {
      const o = JSON.parse(json) as Record<string, unknown>;
      o[r.pick(fields)] = r.pick([true, 'x', '12', 1.5, -1, 2 ** 31, 2 ** 53, '', null, 1e300, -0, ' 7 ']);
      return Buffer.from(JSON.stringify(o));
    }
    case 'duplicate':
      return b; // the caller repeats the line
  }
}

interface Case {
  k: number;
  dir: string;
  interval: Interval;
  startMs: number;
  endMs: number;
  maxErrors: number;
  eventBytes: Buffer;
  songBytes: Map<string, Buffer>;
}

const DAY_MS = 86_400_000;
const FIRST_DAY = Date.UTC(2010, 0, 1);

async function makeCase(root: string, k: number, r: Rng): Promise<Case> {
  const startMs = FIRST_DAY + k * DAY_MS + 10 * 3_600_000;
  const endMs = startMs + 3_600_000;
  const day = new Date(startMs).toISOString().slice(0, 10);
  const dir = path.join(root, `case-${k}`);
  const songs = Array.from({ length: 3 }, (_, i) => ({
    num_songs: 1,
    artist_id: `ARC${k}X${i % 2}`,
    artist_latitude: i === 0 ? null : 40.5 + i,
    artist_longitude: i === 0 ? null : -70.25 - i,
    artist_location: `Town ${k}`,
    artist_name: `Band ${k} ${i % 2}`,
    song_id: `SOC${k}X${i}`,
    title: `Tune ${k} ${i}`,
    duration: 150 + i + k / 1000,
    year: 1990 + i,
  }));
  const events = Array.from({ length: 10 }, (_, j) => {
    const s = songs[j % 4 === 3 ? 0 : j % 3]!;
    return {
      ...SAMPLE_EVENT,
      artist: j % 4 === 3 ? 'Unknown' : s.artist_name,
      song: s.title,
      length: s.duration,
      page: j % 5 === 4 ? 'Home' : 'NextSong',
      itemInSession: j,
      sessionId: k,
      userId: String(100_000 + k * 10 + (j % 3)),
      level: j % 2 ? 'paid' : 'free',
      ts: startMs + j * 300_000 + r.int(1000),
    };
  });
  const lines: Buffer[] = events.map((e) => Buffer.from(JSON.stringify(e)));
  const songFiles: Buffer[] = songs.map((s) => Buffer.from(JSON.stringify(s)));
  const damages = 1 + r.int(3);
  const touched = new Set<Buffer>();
  for (let d = 0; d < damages; d++) {
    const kind = r.pick(DAMAGES);
    if (r.int(4) === 0) {
      const i = r.int(songFiles.length);
      if (touched.has(songFiles[i]!)) continue; // one damage a file
      const fields = SONG_SPEC.map((f) => f[0]);
      songFiles[i] =
        kind === 'duplicate'
          ? Buffer.concat([songFiles[i]!, Buffer.from('\n'), songFiles[i]!])
          : damageText(r, songFiles[i]!.toString(), kind, fields);
      touched.add(songFiles[i]!);
      continue;
    }
    const j = r.int(lines.length);
    // one damage a line: the reference assigns a damaged line to an interval by its own ts
    if (touched.has(lines[j]!)) continue;
    if (kind === 'duplicate') lines.splice(j, 0, lines[j]!);
    else
      lines[j] = damageText(
        r,
        lines[j]!.toString(),
        kind,
        EVENT_SPEC.map((f) => f[0]),
      );
    touched.add(lines[j]!);
  }
  const eventBytes = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'log_data', day.slice(0, 4), day.slice(5, 7)), { recursive: true });
  await mkdir(path.join(dir, 'song_data', 'S'), { recursive: true });
  await writeFile(path.join(dir, 'log_data', day.slice(0, 4), day.slice(5, 7), `${day}-events.json`), eventBytes);
  const songBytes = new Map<string, Buffer>();
  for (const [i, b] of songFiles.entries()) {
    const key = `song_data/S/TRC${k}X${i}.json`;
    songBytes.set(key, b);
    await writeFile(path.join(dir, key), b);
  }
  const maxErrors = r.pick([0, 0, 1, 2, 3, 10]);
  const interval = makeInterval(new Date(startMs).toISOString(), new Date(endMs).toISOString());
  return { k, dir, interval, startMs, endMs, maxErrors, eventBytes, songBytes };
}

// ------------------------------------------------------------------ checking a case

interface Expected {
  eventFile: string;
  events: EventOutcome;
  songs: Record<string, unknown>[];
  badSongFiles: string[];
}

function expectedOf(c: Case): Expected {
  const day = new Date(c.startMs).toISOString().slice(0, 10);
  const eventFile = `log_data/${day.slice(0, 4)}/${day.slice(5, 7)}/${day}-events.json`;
  const songs: Record<string, unknown>[] = [];
  const badSongFiles: string[] = [];
  for (const [key, bytes] of [...c.songBytes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    try {
      songs.push(...referenceSongs(bytes));
    } catch (err) {
      if (!(err instanceof Bad)) throw err;
      badSongFiles.push(key);
    }
  }
  return { eventFile, events: referenceEvents(c.eventBytes, c.startMs, c.endMs), songs, badSongFiles };
}

/** The file and line a step must name when it fails: the first bad one, or the one past maxErrors. */
function failingAt(bad: string[], maxErrors: number): string | undefined {
  return bad.length > maxErrors ? bad[maxErrors] : undefined;
}

async function checkLoaded(db: TestDatabase, c: Case, e: Expected): Promise<void> {
  const plays = e.events.rows.filter((r) => r.page === 'NextSong');
  const identity = (r: Record<string, unknown>) => `${r.userId ?? ''}|${r.sessionId}|${r.itemInSession}|${r.ts}`;
  const songKeys = new Map<string, string>();
  for (const s of [...e.songs].sort((a, b) => (String(a.song_id) < String(b.song_id) ? -1 : 1))) {
    const key = `${s.title}|${s.artist_name}|${s.duration}`;
    if (!songKeys.has(key)) songKeys.set(key, String(s.song_id));
  }
  // one songplay per event identity (a line delivered twice is one play)
  const fact = new Map<string, string>();
  for (const p of plays) {
    const user = p.userId === '' || p.userId === null ? null : Number(p.userId);
    const songId = songKeys.get(`${p.song}|${p.artist}|${p.length}`) ?? null;
    if (!fact.has(identity(p))) fact.set(identity(p), `${p.ts}|${user}|${p.sessionId}|${songId}`);
  }
  const rows = await db.pool.query<{
    start_ms: string;
    song_id: string | null;
    user_id: number | null;
    session_id: number;
  }>(
    `SELECT (extract(epoch FROM start_time) * 1000)::bigint AS start_ms, song_id, user_id, session_id FROM songplays
      WHERE start_time >= to_timestamp($1::bigint / 1000.0) AT TIME ZONE 'UTC'
        AND start_time < to_timestamp($2::bigint / 1000.0) AT TIME ZONE 'UTC' ORDER BY songplay_id`,
    [c.startMs, c.endMs],
  );
  const have = rows.rows.map((r) => `${r.start_ms}|${r.user_id}|${r.session_id}|${r.song_id}`);
  expect(have.sort()).toEqual([...fact.values()].sort());

  const times = await db.pool.query<{ ms: string }>(
    `SELECT (extract(epoch FROM start_time) * 1000)::bigint AS ms FROM time
      WHERE start_time >= to_timestamp($1::bigint / 1000.0) AT TIME ZONE 'UTC'
        AND start_time < to_timestamp($2::bigint / 1000.0) AT TIME ZONE 'UTC' ORDER BY 1`,
    [c.startMs, c.endMs],
  );
  expect(times.rows.map((t) => Number(t.ms))).toEqual(
    [...new Set(plays.map((p) => p.ts as number))].sort((a, b) => a - b),
  );

  // users: the level of each user's latest play in the interval (ties: the higher level)
  const latest = new Map<number, { ts: number; level: unknown }>();
  for (const p of plays) {
    if (p.userId === '' || p.userId === null) continue;
    const id = Number(p.userId);
    const seen = latest.get(id);
    const ts = p.ts as number;
    if (!seen || ts > seen.ts || (ts === seen.ts && String(p.level) > String(seen.level)))
      latest.set(id, { ts, level: p.level });
  }
  const users = await db.pool.query<{ user_id: number; level: string | null; level_ts: string }>(
    'SELECT user_id, level, level_ts FROM users WHERE user_id = ANY($1::int[]) ORDER BY user_id',
    [[...latest.keys()]],
  );
  for (const u of users.rows) {
    const want = latest.get(u.user_id)!;
    // an id shared with another case (a flipped digit) keeps the newer event's level
    if (Number(u.level_ts) === want.ts) expect(u.level).toBe(want.level);
    else expect(Number(u.level_ts)).toBeGreaterThan(want.ts);
  }
  expect(users.rows).toHaveLength(latest.size);

  // songs and artists of this case's accepted song files
  const songIds = [...new Set(e.songs.map((s) => String(s.song_id)))].sort();
  const songs = await db.pool.query<{ song_id: string }>(
    'SELECT song_id FROM songs WHERE song_id = ANY($1::text[]) ORDER BY song_id',
    [songIds],
  );
  expect(songs.rows.map((s) => s.song_id)).toEqual(songIds);
  const artistIds = [...new Set(e.songs.map((s) => String(s.artist_id)))].sort();
  const artists = await db.pool.query<{ artist_id: string }>(
    'SELECT artist_id FROM artists WHERE artist_id = ANY($1::text[]) ORDER BY artist_id',
    [artistIds],
  );
  expect(artists.rows.map((a) => a.artist_id)).toEqual(artistIds);
}

async function checkLoadErrors(db: TestDatabase, c: Case, e: Expected): Promise<void> {
  const files = [e.eventFile, ...c.songBytes.keys()];
  const rows = await db.pool.query<{ file: string; line: number; version: string }>(
    'SELECT file, line, version FROM load_errors WHERE file = ANY($1::text[]) AND run_key = $2 ORDER BY file, line',
    [files.map((f) => f), intervalKey(c.interval)],
  );
  const want = [
    ...e.events.bad.map((line) => ({ file: e.eventFile, line })),
    ...e.badSongFiles.map((file) => ({ file, line: 1 })),
  ].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  expect(rows.rows.map((r) => ({ file: r.file, line: r.line }))).toEqual(want);
  for (const r of rows.rows) {
    expect(r.version).toBe(localVersion(await stat(path.join(c.dir, r.file), { bigint: true })));
  }
}

/** A failure must name a file and a line; this one is where the reference says the step stops. */
function expectNamed(err: unknown, fileLine: string): void {
  expect(err).toBeInstanceOf(Error);
  const message = String((err as Error).message);
  expect(message).toContain(fileLine);
}

// ------------------------------------------------------------------ the property

const env = useTemporalEnv();
const db = useTestDatabase();
let root: string;
beforeAll(async () => {
  root = path.join(testTmp(), `damage-${process.pid}`);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Tally {
  loaded: number;
  failed: number;
  rejected: number;
}

async function runCase(c: Case, through: 'activities' | 'workflow', tally: Tally): Promise<void> {
  const e = expectedOf(c);
  const badEventLines = e.events.bad.map((line) => `${e.eventFile} line ${line}:`);
  const badSongs = e.badSongFiles.map((f) => `${f} line 1:`);
  const eventsFailAt = failingAt(badEventLines, c.maxErrors);
  const songsFailAt = failingAt(badSongs, c.maxErrors);
  const before = eventsFailAt || songsFailAt ? await tableChecksums(db.pool) : undefined;
  const runKey = intervalKey(c.interval);
  const errors: { step: string; err: unknown }[] = [];
  if (through === 'activities') {
    const acts = inActivityContext(createActivities({ pool: db.pool, defaultSource: c.dir, songListingMaxAgeMs: 0 }));
    await acts
      .stageSongs({ source: c.dir, maxErrors: c.maxErrors, runKey })
      .catch((err: unknown) => errors.push({ step: 'songs', err }));
    await acts
      .stageEvents({ runKey, interval: c.interval, source: c.dir, maxErrors: c.maxErrors, onMissingFile: 'fail' })
      .catch((err: unknown) => errors.push({ step: 'events', err }));
    if (errors.length === 0) {
      for (const table of TABLES) {
        await acts.loadTable({ runKey, interval: c.interval, table, mode: DEFAULT_LOAD_MODES[table] });
      }
    }
    await acts.dropRunStaging({ runKey });
  } else {
    const taskQueue = uniqueQueue('damage');
    const input: SparkifyEtlInput = { ...c.interval, source: c.dir, maxErrors: c.maxErrors };
    await withWorker(env, { taskQueue, pool: db.pool, source: c.dir }, () =>
      env.client.workflow.execute('SparkifyEtl', { taskQueue, workflowId: `damage-${taskQueue}`, args: [input] }),
    ).catch((err: unknown) => {
      // the step's failure, wherever the workflow put it in the chain
      let cause: unknown = err;
      const messages: string[] = [];
      while (cause instanceof Error) {
        messages.push(cause.message);
        cause = cause.cause;
      }
      errors.push({ step: 'workflow', err: new Error(messages.join(' / ')) });
    });
  }

  const context = `case ${c.k} (seed ${SEED}, maxErrors ${c.maxErrors}) in ${c.dir}`;
  if (eventsFailAt || songsFailAt) {
    tally.failed++;
    expect({ context, failed: errors.length > 0 }).toEqual({ context, failed: true });
    const text = errors.map((x) => String((x.err as Error).message)).join('\n');
    const named = [eventsFailAt, songsFailAt].filter((at): at is string => at !== undefined);
    // run directly, each failing step names its line; a workflow reports the step that failed first
    if (through === 'activities') for (const at of named) expectNamed(new Error(text), at);
    else expect({ context, text, named: named.some((at) => text.includes(at)) }).toMatchObject({ named: true });
    expect(await tableChecksums(db.pool)).toEqual(before);
    return;
  }
  expect({ context, errors: errors.map((x) => String((x.err as Error).message)) }).toEqual({ context, errors: [] });
  tally.loaded++;
  tally.rejected += e.events.bad.length + e.badSongFiles.length;
  try {
    await checkLoaded(db, c, e);
    await checkLoadErrors(db, c, e);
  } catch (err) {
    (err as Error).message = `${context}\n${(err as Error).message}`;
    throw err;
  }
}

test(`${CASES} randomly damaged sources: each fails naming file and line with the star tables unchanged, or loads what the reference computes`, async () => {
  console.log(`damage property: seed ${SEED} (set DAMAGE_SEED=${SEED} to replay), ${CASES} cases`);
  const r = rng(SEED);
  const tally: Tally = { loaded: 0, failed: 0, rejected: 0 };
  for (let k = 0; k < CASES; k++) await runCase(await makeCase(root, k, r), 'activities', tally);
  // the damage makes a real mix: runs that fail, and runs that load with lines quarantined
  expect(tally.failed).toBeGreaterThan(CASES / 10);
  expect(tally.loaded).toBeGreaterThan(CASES / 10);
  expect(tally.rejected).toBeGreaterThan(CASES / 10);
}, 600_000);

test('a few damaged sources through a real workflow behave the same', async () => {
  const r = rng(SEED ^ 0x5bd1e995);
  const tally: Tally = { loaded: 0, failed: 0, rejected: 0 };
  for (let k = 0; k < WORKFLOW_CASES; k++) await runCase(await makeCase(root, 5000 + k, r), 'workflow', tally);
  expect(tally.loaded + tally.failed).toBe(WORKFLOW_CASES);
}, 300_000);
