/**
 * Adversary of song_match (migration 014, 440afdf): the songplays load joins it instead of staging_songs. Each
 * case builds a tiny source of its own (a few song files, one day of events) and compares what the load, the
 * late-song re-match and song_match give with the old join's semantics (the lowest song_id of the staged songs
 * sharing title, artist name and duration, by `=`).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createActivities } from '../src/activities';
import { intervalKey, makeInterval } from '../src/interval';
import { migrate } from '../src/warehouse/migrate';
import { tsFromMs } from '../src/warehouse/sql/base';
import { inActivityContext } from './support/activities';
import { createTestDatabase, testTmp, type TestDatabase } from './support/helpers';

interface Song {
  song_id: string;
  title: string | null;
  artist_name: string | null;
  duration: number | null;
  artist_id?: string;
}

const HOUR = makeInterval('2018-11-02T13:00Z', '2018-11-02T14:00Z');
const RUN_KEY = intervalKey(HOUR);
const T0 = Date.parse('2018-11-02T13:00:00Z');

let n = 0;
async function source(label: string): Promise<string> {
  const dir = path.join(testTmp(), `adv-song-match-${label}-${process.pid}-${n++}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'song_data/A/A/A'), { recursive: true });
  await mkdir(path.join(dir, 'log_data/2018/11'), { recursive: true });
  return dir;
}

async function writeSong(dir: string, s: Song, mtime?: Date): Promise<void> {
  const file = path.join(dir, 'song_data/A/A/A', `TR${s.song_id}.json`);
  const body = {
    num_songs: 1,
    artist_id: s.artist_id ?? `AR_${s.song_id}`,
    artist_latitude: null,
    artist_longitude: null,
    artist_location: '',
    artist_name: s.artist_name,
    song_id: s.song_id,
    title: s.title,
    duration: s.duration,
    year: 2000,
  };
  await writeFile(file, JSON.stringify(body));
  if (mtime) {
    const { utimes } = await import('node:fs/promises');
    await utimes(file, mtime, mtime);
  }
}

/** NextSong events of the hour, one per play, `length` written as given (raw JSON text). */
async function writeEvents(dir: string, plays: { song: string; artist: string; length: string }[]): Promise<void> {
  const lines = plays.map(
    (p, i) =>
      `{"artist":${JSON.stringify(p.artist)},"auth":"Logged In","firstName":"A","gender":"F","itemInSession":${i},` +
      `"lastName":"B","length":${p.length},"level":"free","location":"X","method":"PUT","page":"NextSong",` +
      `"registration":1540000000000,"sessionId":1,"song":${JSON.stringify(p.song)},"status":200,` +
      `"ts":${T0 + 1000 * (i + 1)},"userAgent":"ua","userId":"7"}`,
  );
  await writeFile(path.join(dir, 'log_data/2018/11/2018-11-02-events.json'), lines.join('\n') + '\n');
}

async function withWarehouse(
  dir: string,
  fn: (own: TestDatabase, acts: ReturnType<typeof createActivities>) => Promise<void>,
): Promise<void> {
  const own = await createTestDatabase();
  try {
    const acts = inActivityContext(createActivities({ pool: own.pool, defaultSource: dir, songListingMaxAgeMs: 0 }));
    await fn(own, acts);
  } finally {
    await own.drop();
  }
}

/** The old join's choice: per triple, the song no staged song of the same triple (by `=`) has a lower id of. */
const OLD_MATCH = `
  SELECT s.title, s.artist_name, s.duration, s.song_id, s.artist_id FROM staging_songs s
   WHERE s.title IS NOT NULL AND s.artist_name IS NOT NULL AND s.duration IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM staging_songs other
                      WHERE other.title = s.title AND other.artist_name = s.artist_name
                        AND other.duration = s.duration AND other.song_id < s.song_id)
   ORDER BY s.song_id`;
const SONG_MATCH = `SELECT title, artist_name, duration, song_id, artist_id FROM song_match ORDER BY song_id`;

async function plays(own: TestDatabase) {
  return (
    await own.pool.query<{ song: string; song_id: string | null; keyed: boolean }>(
      `SELECT e.song, p.song_id, p.song_key IS NOT NULL AS keyed
         FROM songplays p
         JOIN staging_events_${RUN_KEY.toLowerCase()} e ON p.start_time = ${tsFromMs('e.ts')}
        ORDER BY p.start_time`,
    )
  ).rows;
}

async function stageAndLoad(acts: ReturnType<typeof createActivities>, mode: 'append' | 'replace' = 'replace') {
  await acts.stageSongs({ runKey: RUN_KEY, source: '', maxErrors: 0 });
  await acts.stageEvents({ runKey: RUN_KEY, interval: HOUR, source: '', maxErrors: 0, onMissingFile: 'warn' });
  await acts.loadTable({ runKey: RUN_KEY, interval: HOUR, table: 'songplays', mode });
}

describe('song_match (adversary)', () => {
  test('a song file that moves a song to another title: the old triple falls to the next song, the new one matches it, late plays re-matched as a re-load would', async () => {
    const dir = await source('moved');
    await writeSong(dir, { song_id: 'SOB', title: 'One', artist_name: 'Art', duration: 100 });
    await writeSong(dir, { song_id: 'SOC', title: 'One', artist_name: 'Art', duration: 100 });
    await writeEvents(dir, [
      { song: 'One', artist: 'Art', length: '100' },
      { song: 'Two', artist: 'Art', length: '100' },
    ]);
    await withWarehouse(dir, async (own, acts) => {
      await stageAndLoad(acts);
      expect(await plays(own)).toEqual([
        { song: 'One', song_id: 'SOB', keyed: false },
        { song: 'Two', song_id: null, keyed: true },
      ]);
      // SOB becomes "Two" (a later version of its file)
      await writeSong(
        dir,
        { song_id: 'SOB', title: 'Two', artist_name: 'Art', duration: 100 },
        new Date(Date.now() + 5000),
      );
      await acts.stageSongs({ runKey: RUN_KEY, source: '', maxErrors: 0 });
      expect((await own.pool.query(SONG_MATCH)).rows).toEqual((await own.pool.query(OLD_MATCH)).rows);
      expect((await own.pool.query(SONG_MATCH)).rows.map((r: { song_id: string }) => r.song_id)).toEqual([
        'SOB',
        'SOC',
      ]);
      // the late play got SOB; the play of "One" keeps what it matched when loaded
      expect(await plays(own)).toEqual([
        { song: 'One', song_id: 'SOB', keyed: false },
        { song: 'Two', song_id: 'SOB', keyed: false },
      ]);
      // a re-load: "One" now matches SOC, "Two" SOB, as the re-match said
      await acts.loadTable({ runKey: RUN_KEY, interval: HOUR, table: 'songplays', mode: 'replace' });
      expect(await plays(own)).toEqual([
        { song: 'One', song_id: 'SOC', keyed: false },
        { song: 'Two', song_id: 'SOB', keyed: false },
      ]);
    });
  });

  test('an event of length -0.0: the late re-match gives it the song of duration 0 that song_match (and a re-load) gives it', async () => {
    const dir = await source('negzero');
    await writeSong(dir, { song_id: 'SOX', title: 'Other', artist_name: 'Art', duration: 5 });
    await writeEvents(dir, [{ song: 'Zero', artist: 'Art', length: '-0.0' }]);
    await withWarehouse(dir, async (own, acts) => {
      await stageAndLoad(acts);
      expect(await plays(own)).toEqual([{ song: 'Zero', song_id: null, keyed: true }]);
      await writeSong(dir, { song_id: 'SOZ', title: 'Zero', artist_name: 'Art', duration: 0 });
      await acts.stageSongs({ runKey: RUN_KEY, source: '', maxErrors: 0 });
      const lateMatched = await plays(own);
      await acts.loadTable({ runKey: RUN_KEY, interval: HOUR, table: 'songplays', mode: 'replace' });
      const reloaded = await plays(own);
      expect(reloaded).toEqual([{ song: 'Zero', song_id: 'SOZ', keyed: false }]);
      expect(lateMatched).toEqual(reloaded);
    });
  });

  test('a rolled-back song staging leaves song_match as it was', async () => {
    const dir = await source('rollback');
    await writeSong(dir, { song_id: 'SOB', title: 'One', artist_name: 'Art', duration: 100 });
    await writeEvents(dir, [{ song: 'One', artist: 'Art', length: '100' }]);
    await withWarehouse(dir, async (own, acts) => {
      await stageAndLoad(acts);
      const before = (await own.pool.query(SONG_MATCH)).rows;
      // a lower song of the same triple, and a bad file: with maxErrors 0 the staging fails and rolls back
      await writeSong(dir, { song_id: 'SOA', title: 'One', artist_name: 'Art', duration: 100 });
      await writeFile(path.join(dir, 'song_data/A/A/A/TRBAD.json'), '{not json');
      await expect(acts.stageSongs({ runKey: RUN_KEY, source: '', maxErrors: 0 })).rejects.toThrow();
      expect((await own.pool.query(SONG_MATCH)).rows).toEqual(before);
      expect((await own.pool.query(OLD_MATCH)).rows).toEqual(before);
    });
  });

  test('an upgraded warehouse: staging_songs filled before 014, then 014 applied, gives what the old join gave', async () => {
    const dir = await source('upgrade');
    await writeSong(dir, { song_id: 'SOB', title: 'One', artist_name: 'Art', duration: 100 });
    await writeEvents(dir, [{ song: 'One', artist: 'Art', length: '100' }]);
    await withWarehouse(dir, async (own) => {
      await own.pool.query(`DROP TABLE song_match; DELETE FROM etl_migrations WHERE name = '014_song_match.sql'`);
      const long = 'é'.repeat(256); // 512 bytes, the CHECK's bound
      await own.pool.query(
        `INSERT INTO staging_songs (artist_id, artist_name, song_id, title, duration) VALUES
           ('A1', 'Art', 'SO3', 'One', 100), ('A2', 'Art', 'SO1', 'One', 100), ('A3', 'Art', 'SO2', 'One', 100),
           ('A4', 'Art', 'SO4', 'Zero', 0), ('A5', 'Art', 'SO5', 'Zero', '-0'), ('A6', 'Art', 'SO0', 'Zero', '-0'),
           ('A7', 'Art', 'SO6', 'NaN', 'NaN'), ('A8', 'Art', 'SO7', 'NaN', 'NaN'),
           ('A9', NULL, 'SO8', 'One', 100), ('AA', 'Art', 'SO9', NULL, 100), ('AB', 'Art', 'SOA', 'One', NULL),
           ('AC', $1, 'SOL', $1, 1e308), ('AD', $1, 'SOK', $1, 1e308)`,
        [long],
      );
      await migrate(own.pool);
      const got = (await own.pool.query(SONG_MATCH)).rows;
      expect(got).toEqual((await own.pool.query(OLD_MATCH)).rows);
      expect(got.map((r: { song_id: string }) => r.song_id)).toEqual(['SO0', 'SO1', 'SO6', 'SOK']);
    });
  });
});
