import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import path from 'node:path';
import { generate } from '../src/datagen/generate';
import { wholeLines } from '../src/source';
import { parseEventLine, parseSongFile, toCopyRow } from '../src/source/records';
import { testTmp } from './support/helpers';
import { SAMPLE_EVENT as event } from './support/sample';

test('an event becomes a COPY row in staging column order, escaping what COPY needs escaped', () => {
  const row = parseEventLine(JSON.stringify({ ...event, song: 'Tab\there\\new\nline' }));
  expect(row.ts).toBe(1541106106796);
  expect(row.page).toBe('NextSong');
  expect(toCopyRow(row.values)).toBe(
    "Des'ree\tLogged In\tKaylee\tF\t1\tSummers\t246.30812\tfree\tPhoenix-Mesa-Scottsdale, AZ\tPUT\tNextSong\t" +
      '1540344794796\t139\tTab\\there\\\\new\\nline\t200\t1541106106796\t"Mozilla/5.0"\t8\n',
  );
});

test('logged-out events have an empty userId and nulls', () => {
  const row = parseEventLine(
    JSON.stringify({ ...event, userId: '', firstName: null, registration: null, length: null, artist: null }),
  );
  const fields = toCopyRow(row.values).slice(0, -1).split('\t');
  expect(fields[0]).toBe('\\N'); // artist
  expect(fields[2]).toBe('\\N'); // firstName
  expect(fields[11]).toBe('\\N'); // registration
  expect(fields[17]).toBe(''); // userId: empty, not NULL, as in the source
});

test('wrong types and missing fields are reported with the field name', () => {
  expect(() => parseEventLine('{"ts": 1')).toThrow(/^invalid JSON/);
  expect(() => parseEventLine('[1,2]')).toThrow('expected a JSON object, got [1,2]');
  expect(() => parseEventLine(JSON.stringify({ ...event, ts: 'soon' }))).toThrow(
    'field "ts" must be an integer, got "soon"',
  );
  expect(() => parseEventLine(JSON.stringify({ ...event, sessionId: undefined }))).toThrow(
    'field "sessionId" is missing',
  );
  expect(() => parseEventLine(JSON.stringify({ ...event, userId: 'bob' }))).toThrow(
    'field "userId" must be a numeric user id',
  );
  expect(() => parseEventLine(JSON.stringify({ ...event, length: 'long' }))).toThrow('field "length" must be a number');
});

test('song files: one object, or one per line', () => {
  const song = {
    num_songs: 1,
    artist_id: 'AR1',
    artist_latitude: null,
    artist_longitude: null,
    artist_location: '',
    artist_name: 'X',
    song_id: 'SO1',
    title: 'T',
    duration: 1.5,
    year: 0,
  };
  expect(parseSongFile(JSON.stringify(song))).toHaveLength(1);
  expect(parseSongFile(`${JSON.stringify(song)}\n${JSON.stringify({ ...song, song_id: 'SO2' })}\n`)).toHaveLength(2);
  expect(() => parseSongFile(JSON.stringify({ ...song, song_id: null }))).toThrow('field "song_id" is missing');
});

test('lines are split across chunk boundaries (inside a UTF-8 character too), with CRLF and a last line without newline', async () => {
  const bytes = Buffer.from('{"a":"Zoë"}\r\n{"b":2}\n\n{"c":"Müller"}', 'utf8');
  const cut = bytes.indexOf(0xc3) + 1; // between the two bytes of ë
  const chunks = [bytes.subarray(0, cut), bytes.subarray(cut, cut + 9), bytes.subarray(cut + 9)];
  const pieces: Buffer[] = [];
  for await (const piece of wholeLines(Readable.from(chunks))) pieces.push(piece);
  // every piece but the last ends a line, and together they are the stream
  expect(pieces.slice(0, -1).every((p) => p[p.length - 1] === 10)).toBe(true);
  expect(Buffer.concat(pieces).equals(bytes)).toBe(true);
  const texts = pieces.map((p) => p.toString('utf8'));
  // the line cut inside "ë" is joined whole; the others stay views of what was read
  expect(texts).toEqual(['{"a":"Zoë"}\r\n', '{"b":2}\n', '\n', '{"c":"Müller"}']);
});

test('the generator is deterministic for a seed and writes the Sparkify layout', async () => {
  const opts = { start: '2018-11-01', days: 2, eventsPerDay: 500, songs: 40, seed: 3 };
  const a = await generate({ out: path.join(testTmp(), `gen-a-${process.pid}`), ...opts });
  const b = await generate({ out: path.join(testTmp(), `gen-b-${process.pid}`), ...opts });
  expect(a.eventFiles).toEqual(['log_data/2018/11/2018-11-01-events.json', 'log_data/2018/11/2018-11-02-events.json']);
  const fa = await readFile(path.join(a.out, a.eventFiles[1]!), 'utf8');
  const fb = await readFile(path.join(b.out, b.eventFiles[1]!), 'utf8');
  expect(fa).toBe(fb);
  const events = fa
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(events).toHaveLength(500);
  expect(Object.keys(events[0]).sort()).toEqual(Object.keys(event).sort());
  const pages = new Set(events.map((e) => e.page));
  expect(pages.has('NextSong') && pages.has('Home')).toBe(true);
  expect(events.some((e) => e.userId === '' && e.auth === 'Logged Out')).toBe(true);
  expect(events.every((e, i) => i === 0 || e.ts >= events[i - 1].ts)).toBe(true);
});
