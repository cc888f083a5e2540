/**
 * Expected results computed straight from the generated JSON files, independently of the SQL under test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface Event {
  artist: string | null;
  song: string | null;
  length: number | null;
  page: string;
  ts: number;
  userId: string;
  level: string;
  sessionId: number;
  itemInSession: number;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.json') ? [path.join(dir, e.name)] : [],
  );
}

export function readEvents(root: string): Event[] {
  return walk(path.join(root, 'log_data')).flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Event),
  );
}

export function readSongs(root: string) {
  return walk(path.join(root, 'song_data')).map(
    (f) =>
      JSON.parse(readFileSync(f, 'utf8')) as {
        song_id: string;
        artist_id: string;
        title: string;
        artist_name: string;
        duration: number;
      },
  );
}

export interface Expected {
  staged: number;
  songplays: number;
  songplaysMatched: number;
  users: number;
  songs: number;
  artists: number;
  time: number;
  /** user id → level of that user's latest NextSong event in the interval */
  latestLevel: Map<number, string>;
}

export function expectedFor(root: string, startIso: string, endIso: string): Expected {
  const start = Date.parse(startIso);
  const end = Date.parse(endIso);
  const events = readEvents(root).filter((e) => e.ts >= start && e.ts < end);
  const songs = readSongs(root);
  const songKeys = new Set(songs.map((s) => `${s.title}\u0000${s.artist_name}\u0000${s.duration}`));
  const plays = events.filter((e) => e.page === 'NextSong');
  const latest = new Map<number, { ts: number; level: string }>();
  for (const e of plays) {
    if (e.userId === '') continue;
    const id = Number(e.userId);
    const seen = latest.get(id);
    if (!seen || e.ts > seen.ts) latest.set(id, { ts: e.ts, level: e.level });
  }
  return {
    staged: events.length,
    songplays: plays.length,
    songplaysMatched: plays.filter((e) => songKeys.has(`${e.song}\u0000${e.artist}\u0000${e.length}`)).length,
    users: latest.size,
    songs: new Set(songs.map((s) => s.song_id)).size,
    artists: new Set(songs.map((s) => s.artist_id)).size,
    time: new Set(plays.map((e) => e.ts)).size,
    latestLevel: new Map([...latest].map(([id, v]) => [id, v.level])),
  };
}
