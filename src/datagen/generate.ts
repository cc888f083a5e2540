import { mkdir, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { DAY_MS, parseInstant, toIso } from '../interval';

/**
 * Synthetic Sparkify data in exactly the layout and formats of the original bucket, deterministic for a
 * seed: song files (one JSON object each, some artists without coordinates or location), and one
 * newline-delimited event log per UTC day, with NextSong and other pages, logged-out visitors with an
 * empty userId, users who move from free to paid (and a few back), and plays whose song, artist and
 * length match a generated song as well as many that match none.
 */
export interface GenerateOptions {
  out: string;
  /** First day, YYYY-MM-DD (UTC). */
  start: string;
  days: number;
  eventsPerDay: number;
  songs: number;
  seed: number;
  /** Share of NextSong events that play a generated song (the rest match nothing). */
  matchRate?: number;
}

export interface GenerateSummary {
  out: string;
  songFiles: number;
  artists: number;
  eventFiles: string[];
  events: number;
  users: number;
  /**
   * What a load of each day must produce, counted here from the generated events (never from the warehouse):
   * NextSong events (songplays), their distinct times (time rows) and the users who played (users rows).
   */
  tally: DayTally[];
}

export interface DayTally {
  /** YYYY-MM-DD */
  day: string;
  events: number;
  nextSongs: number;
  distinctTimes: number;
  /** Ids of the users with a NextSong event that day, ascending. */
  playingUsers: number[];
}

/** mulberry32: small, fast, good enough for test data, identical on every platform. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'];
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ra',
  'ven',
  'tor',
  'sa',
  'lin',
  'do',
  'ber',
  'qua',
  'zen',
  'el',
  'mar',
  'ty',
  'no',
];
const WORDS = [
  'Love',
  'Night',
  'Dance',
  'Heart',
  'Fire',
  'Rain',
  'Blue',
  'Dream',
  'City',
  'River',
  'Gold',
  'Shadow',
  'Light',
  'Road',
  'Summer',
  'Ghost',
  'Echo',
  'Storm',
  'Wild',
  'Paper',
  'Moon',
  'Electric',
  'Silver',
  'Sweet',
  'Lost',
];
const FIRST = ['Lily', 'Kevin', 'Chloe', 'Jacob', 'Tegan', 'Aleena', 'Ryan', 'Kate', 'Mohammad', 'Ava', 'Noah', 'Zoë'];
const LAST = ['Koch', 'Arellano', 'Cuevas', 'Klein', 'Levine', 'Kirby', 'Smith', 'Harrell', 'Rodriguez', 'Müller'];
const PLACES = [
  'San Francisco-Oakland-Hayward, CA',
  'Chicago-Naperville-Elgin, IL-IN-WI',
  'Portland-South Portland, ME',
  'Lansing-East Lansing, MI',
  'Atlanta-Sandy Springs-Roswell, GA',
  'New York-Newark-Jersey City, NY-NJ-PA',
  'Tampa-St. Petersburg-Clearwater, FL',
  'Waterloo-Cedar Falls, IA',
];
const AGENTS = [
  '"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36"',
  '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.78.2 (KHTML, like Gecko) Version/7.0.6 Safari/537.78.2"',
  'Mozilla/5.0 (X11; Linux x86_64; rv:31.0) Gecko/20100101 Firefox/31.0',
  'Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0) like Gecko',
];
const ARTIST_PLACES = ['Memphis, TN', 'London, England', 'Berlin', 'Kingston, Jamaica', 'Hamilton, Ohio', ''];
// Logged-in pages other than NextSong, with weights.
const OTHER_PAGES: [string, number][] = [
  ['Home', 30],
  ['Thumbs Up', 20],
  ['Add to Playlist', 10],
  ['Thumbs Down', 6],
  ['Add Friend', 6],
  ['Settings', 5],
  ['Help', 5],
  ['About', 3],
  ['Upgrade', 3],
  ['Downgrade', 3],
  ['Save Settings', 2],
  ['Error', 1],
];

interface Song {
  songId: string;
  trackId: string;
  title: string;
  duration: number;
  year: number;
  artist: Artist;
}
interface Artist {
  id: string;
  name: string;
  location: string;
  latitude: number | null;
  longitude: number | null;
}
interface User {
  id: number;
  firstName: string;
  lastName: string;
  gender: string;
  location: string;
  userAgent: string;
  registration: number;
  /** Times at which the level flips, ascending; the level starts as `initialLevel`. */
  flips: number[];
  initialLevel: 'free' | 'paid';
}

export async function generate(opts: GenerateOptions): Promise<GenerateSummary> {
  const random = rng(opts.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const chance = (p: number) => random() < p;
  const round5 = (x: number) => Math.round(x * 100000) / 100000;
  const used = new Set<string>();
  const id = (prefix: string) => {
    for (;;) {
      let s = prefix;
      for (let i = 0; i < 16; i++) s += pick(ALNUM);
      if (!used.has(s)) {
        used.add(s);
        return s;
      }
    }
  };
  const name = (parts: number) => {
    let s = '';
    for (let i = 0; i < parts; i++) s += pick(SYLLABLES);
    return s.charAt(0).toUpperCase() + s.slice(1);
  };

  const startMs = parseInstant(opts.start, 'start');
  const endMs = startMs + opts.days * DAY_MS;
  const matchRate = opts.matchRate ?? 0.55;

  // Artists and songs
  const artistCount = Math.max(1, Math.ceil(opts.songs / 2.5));
  const artists: Artist[] = [];
  for (let i = 0; i < artistCount; i++) {
    const located = chance(0.4);
    artists.push({
      id: id('AR'),
      name: chance(0.2) ? `${name(2)} & The ${pick(WORDS)}s` : `${name(2)} ${name(2)}`,
      location: located ? pick(ARTIST_PLACES.slice(0, -1)) : pick(['', '', 'Somewhere, USA']),
      latitude: located ? round5(int(-60_00000, 60_00000) / 100000) : null,
      longitude: located ? round5(int(-170_00000, 170_00000) / 100000) : null,
    });
  }
  const songs: Song[] = [];
  for (let i = 0; i < opts.songs; i++) {
    songs.push({
      songId: id('SO'),
      trackId: id('TR'),
      title: `${pick(WORDS)} ${pick(WORDS)}${chance(0.2) ? ` (${pick(['Live', 'Remix', 'Acoustic'])})` : ''}`,
      duration: round5(60 + random() * 480),
      year: chance(0.3) ? 0 : int(1960, 2018),
      artist: artists[i % artistCount] as Artist,
    });
  }
  await mkdir(opts.out, { recursive: true });
  for (const song of songs) {
    const t = song.trackId;
    const dir = path.join(opts.out, 'song_data', t[2] as string, t[3] as string, t[4] as string);
    await mkdir(dir, { recursive: true });
    const doc = {
      num_songs: 1,
      artist_id: song.artist.id,
      artist_latitude: song.artist.latitude,
      artist_longitude: song.artist.longitude,
      artist_location: song.artist.location,
      artist_name: song.artist.name,
      song_id: song.songId,
      title: song.title,
      duration: song.duration,
      year: song.year,
    };
    await writeFile(path.join(dir, `${t}.json`), JSON.stringify(doc));
  }

  // Users: some start paid, some upgrade during the range, a few downgrade again.
  const userCount = Math.max(10, Math.min(200, Math.round(opts.eventsPerDay / 40)));
  const users: User[] = [];
  for (let i = 0; i < userCount; i++) {
    const initialLevel = chance(0.3) ? 'paid' : 'free';
    const flips: number[] = [];
    if (chance(0.4)) {
      const at = startMs + Math.floor(random() * (endMs - startMs));
      flips.push(at);
      if (chance(0.25)) flips.push(at + Math.floor(random() * (endMs - at)));
    }
    users.push({
      id: 2 + i * 3 + int(0, 2),
      firstName: pick(FIRST),
      lastName: pick(LAST),
      gender: pick(['F', 'M']),
      location: pick(PLACES),
      userAgent: pick(AGENTS),
      registration: startMs - int(1, 400) * DAY_MS + int(0, 86_399_999) + 0.0,
      flips,
      initialLevel,
    });
  }
  const levelAt = (u: User, ts: number) => {
    let level = u.initialLevel;
    for (const f of u.flips) if (f <= ts) level = level === 'free' ? 'paid' : 'free';
    return level;
  };

  const eventFiles: string[] = [];
  const tally: DayTally[] = [];
  let events = 0;
  let sessionId = 1;
  for (let day = 0; day < opts.days; day++) {
    const dayStart = startMs + day * DAY_MS;
    const dayEnd = dayStart + DAY_MS;
    const rows: { ts: number; doc: Record<string, unknown> }[] = [];
    while (rows.length < opts.eventsPerDay) {
      const session = sessionId++;
      let ts = dayStart + Math.floor(random() * (DAY_MS - 60_000));
      const guest = chance(0.08);
      const user = guest ? null : pick(users);
      const items = guest ? int(1, 3) : int(1, 40);
      for (let item = 0; item < items && rows.length < opts.eventsPerDay && ts < dayEnd; item++) {
        let page: string;
        if (guest) page = pick(['Home', 'Home', 'Login', 'About', 'Help']);
        else if (item === items - 1 && chance(0.3)) page = 'Logout';
        else if (chance(0.8)) page = 'NextSong';
        else {
          let w = random() * OTHER_PAGES.reduce((a, [, x]) => a + x, 0);
          page = OTHER_PAGES.find(([, x]) => (w -= x) < 0)?.[0] ?? 'Home';
        }
        let artist: string | null = null;
        let song: string | null = null;
        let length: number | null = null;
        if (page === 'NextSong') {
          if (chance(matchRate)) {
            const s = pick(songs);
            artist = s.artist.name;
            song = s.title;
            length = s.duration;
          } else {
            artist = `${name(3)} ${pick(['Band', 'Project', 'Trio', ''])}`.trim();
            song = `${pick(WORDS)} ${name(2)}`;
            length = round5(90 + random() * 300);
          }
        }
        const doc: Record<string, unknown> = {
          artist,
          auth: guest ? 'Logged Out' : 'Logged In',
          firstName: user ? user.firstName : null,
          gender: user ? user.gender : null,
          itemInSession: item,
          lastName: user ? user.lastName : null,
          length,
          level: user ? levelAt(user, ts) : 'free',
          location: user ? user.location : null,
          method: page === 'NextSong' || page === 'Logout' || page === 'Login' ? 'PUT' : 'GET',
          page,
          registration: user ? user.registration : null,
          sessionId: session,
          song,
          status: page === 'Logout' || page === 'Login' ? 307 : page === 'Error' ? 404 : 200,
          ts,
          userAgent: user ? user.userAgent : null,
          userId: user ? String(user.id) : '',
        };
        rows.push({ ts, doc });
        ts += page === 'NextSong' ? Math.round((length ?? 200) * 1000) : int(2_000, 90_000);
      }
    }
    rows.sort((a, b) => a.ts - b.ts);
    const day10 = toIso(dayStart).slice(0, 10);
    const plays = rows.filter((r) => r.doc.page === 'NextSong');
    tally.push({
      day: day10,
      events: rows.length,
      nextSongs: plays.length,
      distinctTimes: new Set(plays.map((r) => r.ts)).size,
      playingUsers: [...new Set(plays.map((r) => Number(r.doc.userId)))].sort((a, b) => a - b),
    });
    const rel = `log_data/${day10.slice(0, 4)}/${day10.slice(5, 7)}/${day10}-events.json`;
    const file = path.join(opts.out, rel);
    await mkdir(path.dirname(file), { recursive: true });
    const out = createWriteStream(file);
    for (const { doc } of rows) {
      if (!out.write(JSON.stringify(doc) + '\n')) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    eventFiles.push(rel);
    events += rows.length;
  }

  return {
    out: opts.out,
    songFiles: songs.length,
    artists: artists.length,
    eventFiles,
    events,
    users: users.length,
    tally,
  };
}
