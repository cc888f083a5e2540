/**
 * The staging hot path (bytes in, COPY rows out) against the reference path (JSON.parse per line,
 * records.encodeEventLine): the same rows, the same bad lines with the same reasons, for generated data,
 * for every odd shape we could think of, and for thousands of randomly damaged lines.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from '../src/datagen/generate';
import { EventCopyEncoder, lineTime, timeOfEventLine } from '../src/source/event-encoder';
import { digestEventLines } from '../src/source/hour-digest';
import { decodeUtf8, encodeEventLine, eventTimeOf, EVENT_FIELDS, RecordError, toCopyRow } from '../src/source/records';
import { testTmp } from './support/helpers';
import { SAMPLE_EVENT as base } from './support/sample';

interface Outcome {
  rows: string[];
  bad: { line: number; reason: string }[];
  nextSong: number;
}

const ALL_TIME: [number, number] = [0, Number.MAX_SAFE_INTEGER];

function viaEncoder(input: Buffer, [startMs, endMs] = ALL_TIME, pieces = 1): Outcome & { general: number } {
  const stats = { linesRead: 0, rowsStaged: 0, nextSongRows: 0 };
  const bad: Outcome['bad'] = [];
  const encoder = new EventCopyEncoder(startMs, endMs, stats, (line, reason) => bad.push({ line, reason }), 256);
  // Feed whole lines in a few pieces, as staging does with what it reads.
  let from = 0;
  let line = 1;
  for (let k = 1; k <= pieces; k++) {
    let to = k === pieces ? input.length : Math.floor((input.length * k) / pieces);
    const nl = input.indexOf(10, to - 1);
    to = k === pieces || nl === -1 ? input.length : nl + 1;
    if (to > from) line += encoder.encode(input, from, to, line);
    from = to;
  }
  const rows = binaryRowsAsText(Buffer.concat(encoder.finish()));
  expect(stats.rowsStaged).toBe(rows.length);
  return { rows, bad, nextSong: stats.nextSongRows, general: encoder.generalLines };
}

/**
 * The encoder's binary COPY rows read back field by field, as PostgreSQL's binary input reads them (each
 * column's length, then its bytes: UTF-8 text, a big-endian integer of 4 or 8 bytes, or a double), and written
 * as COPY text rows (toCopyRow) to compare with the reference's.
 */
function binaryRowsAsText(bytes: Buffer): string[] {
  const rows: string[] = [];
  let p = 0;
  while (p < bytes.length) {
    expect(bytes.readInt16BE(p)).toBe(EVENT_FIELDS.length);
    p += 2;
    const values = EVENT_FIELDS.map((f) => {
      const n = bytes.readInt32BE(p);
      p += 4;
      if (n === -1) return null;
      const at = p;
      p += n;
      if (f.kind === 'text' || f.kind === 'userId') return bytes.toString('utf8', at, at + n);
      if (f.kind === 'float') return (expect(n).toBe(8), bytes.readDoubleBE(at));
      expect(n).toBe(f.name === 'ts' ? 8 : 4);
      return n === 8 ? Number(bytes.readBigInt64BE(at)) : bytes.readInt32BE(at);
    });
    rows.push(toCopyRow(values).slice(0, -1));
  }
  expect(p).toBe(bytes.length);
  return rows;
}

function viaReference(input: Buffer, [startMs, endMs] = ALL_TIME): Outcome {
  const rows: string[] = [];
  const bad: Outcome['bad'] = [];
  let nextSong = 0;
  const lines: Buffer[] = [];
  for (let from = 0; from < input.length;) {
    let nl = input.indexOf(10, from);
    if (nl === -1) nl = input.length;
    lines.push(input.subarray(from, nl));
    from = nl + 1;
  }
  lines.forEach((raw, i) => {
    const bytes = raw[raw.length - 1] === 13 ? raw.subarray(0, -1) : raw;
    const text = bytes.toString('utf8');
    if (/^[ \t\r]*$/.test(text)) return; // blank: JSON whitespace only
    // the interval a line belongs to: its "ts" key's integer, if one can be read from the text (and can be
    // an interval's: years 1 to 9999)
    const time = lineTime(bytes, 0, bytes.length);
    if (time !== undefined && (time < startMs || time >= endMs) && Math.abs(time) < 62_135_596_800_000) return;
    try {
      decodeUtf8(bytes);
      const r = encodeEventLine(text);
      if (r.ts < startMs || r.ts >= endMs) return;
      rows.push(toCopyRow(r.values).slice(0, -1));
      if (r.page === 'NextSong') nextSong++;
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      const ts = eventTimeOf(text);
      if (ts === undefined || (ts >= startMs && ts < endMs)) bad.push({ line: i + 1, reason: err.message });
    }
  });
  return { rows, bad, nextSong };
}

const FLOAT_COLUMNS = EVENT_FIELDS.flatMap((f, i) => (f.kind === 'float' ? [i] : []));

/** Rows as PostgreSQL reads them: float columns compared as numbers (1.50 and 1.5 are the same double). */
function normalized(rows: string[]): string[] {
  return rows.map((r) => {
    const cells = r.split('\t');
    for (const i of FLOAT_COLUMNS) if (cells[i] !== '\\N') cells[i] = String(Number(cells[i]));
    return cells.join('\t');
  });
}

function expectSame(input: Buffer, interval = ALL_TIME) {
  const ref = viaReference(input, interval);
  for (const pieces of [1, 3]) {
    const got = viaEncoder(input, interval, pieces);
    expect(normalized(got.rows)).toEqual(normalized(ref.rows));
    expect(got.bad).toEqual(ref.bad);
    expect(got.nextSong).toBe(ref.nextSong);
  }
  return viaEncoder(input, interval);
}

const json = (o: Record<string, unknown>) => JSON.stringify(o);
const lines = (...ls: string[]) => Buffer.from(ls.join('\n') + '\n', 'utf8');

test('generated Sparkify days: every line takes the fast path and gives the reference rows', async () => {
  const gen = await generate({
    out: path.join(testTmp(), `enc-${process.pid}`),
    start: '2018-11-01',
    days: 1,
    eventsPerDay: 3000,
    songs: 50,
    seed: 5,
  });
  const input = await readFile(path.join(gen.out, gen.eventFiles[0]!));
  const all = expectSame(input);
  expect(all.rows).toHaveLength(3000);
  expect(all.general).toBe(0);
  // an hour of it: the other hours' lines are skipped
  const hour: [number, number] = [Date.UTC(2018, 10, 1, 13), Date.UTC(2018, 10, 1, 14)];
  const one = expectSame(input, hour);
  expect(one.rows.length).toBeGreaterThan(0);
  expect(one.rows.length).toBeLessThan(3000);
});

test('odd but valid shapes give the same rows as JSON.parse; the uncommon ones take the general path', () => {
  const fast = [
    json(base),
    json({ ...base, song: 'Tab\there, back\\slash, new\nline, cr\r, quote", slash/, bs\b, ff\f, ctl\u0001' }),
    json({ ...base, artist: 'Zoë Müller 日本 €' }),
    '{"artist":"Beyonc\\u00e9 \\u20ac \\u0041 \\u005c \\u0009","itemInSession":2,"page":"Home","sessionId":1,"ts":1541106106796}',
    json({ ...base, artist: null, length: null, song: null, userId: '', firstName: null }),
    json({ ...base, length: -0.5, registration: 1540344794796.25, status: -0, itemInSession: 0 }),
    json({ ...base, extra: 'ignored \\u00e9 "x"', more: 12.5e3, flag: true, nothing: null, neg: -1e-7 }),
    ' { "artist" : "A" ,\t"itemInSession":3, "page" : "NextSong" , "sessionId":4 , "ts" : 1541106106797 } ',
    json({ itemInSession: 6, page: 'Home', sessionId: 5, ts: 1541106106798 }),
    json({ ...base, song: 'emoji 😀', artist: 'pair \ud83d\ude00' }),
    json({ ...base, sessionId: 2147483647, itemInSession: -2147483647 }),
    json({ ...base, userId: '123456789' }),
  ];
  const general = [
    // same keys in another order, or repeated: JSON.parse's object decides (the last of a repeated key wins)
    json({ ts: 1541106106796, page: 'NextSong', sessionId: 1, itemInSession: 1, artist: 'B' }),
    '{"artist":"A","artist":"B","itemInSession":1,"page":"Home","sessionId":1,"ts":1541106106796}',
    json({ ...base, nested: { a: [1, 2] } }),
    '{"artist":"\\ud83d\\ude00","itemInSession":1,"page":"Home","sessionId":1,"ts":1541106106796}',
    json({ ...base, itemInSession: 1.0 }).replace('"itemInSession":1', '"itemInSession":1.0'),
    json({ ...base, sessionId: '42', ts: '1541106106799' }),
    json({ ...base, status: 1e2 }).replace('"status":100', '"status":1e2'),
    json({ ...base, length: 1 }).replace('"length":1', '"length":2.5E+2'),
    json({ ...base, artist: 12.5, song: true, location: false }),
    json({ ...base, userId: 42 }),
    json({ ...base, userId: ' 7 ' }),
  ];
  const input = lines(...fast, ...general);
  const got = expectSame(input);
  expect(got.rows).toHaveLength(fast.length + general.length);
  expect(got.bad).toEqual([]);
  expect(got.general).toBe(general.length);
});

test('bad lines are reported with the same line number and reason as the reference, good ones kept', () => {
  const input = lines(
    json(base),
    '{"ts": 1',
    '[1,2]',
    '',
    json({ ...base, ts: 'soon' }),
    json({ ...base, sessionId: undefined }),
    json({ ...base, page: null }),
    json({ ...base, userId: 'bob' }),
    json({ ...base, userId: '1234567890' }),
    json({ ...base, length: 'long' }),
    json({ ...base, sessionId: 2147483648 }),
    json({ ...base, ts: 1.5 }),
    json({ ...base }).replace('"length":246.30812', '"length":1e400'),
    json({ ...base }).replace('"status":200', '"status":0200'),
    json({ ...base }).replace('Kaylee', 'Kay\tlee'),
    json({ ...base }) + ' trailing',
    '{}',
    '   ',
    json({ ...base, ts: 1541106106800 }) + '\r',
    '\ufeff' + json(base),
    json({ ...base }).replace('Summers', 'Sum\\xmers'),
  );
  const got = expectSame(input);
  expect(got.rows).toHaveLength(2);
  expect(got.bad.map((b) => b.line)).toEqual([2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21]);
});

test('invalid UTF-8 is a bad line naming the byte, never a row with U+FFFD in it', () => {
  const good = Buffer.from(json(base) + '\n');
  const broken = Buffer.from(json({ ...base, artist: 'AB' }) + '\n');
  broken[broken.indexOf('AB')] = 0xff;
  const overlong = Buffer.from(json({ ...base, artist: 'AB' }) + '\n');
  overlong.set([0xc0, 0xaf], overlong.indexOf('AB')); // an overlong '/'
  const cut = Buffer.from(json({ ...base, artist: 'é' }) + '\n');
  cut[cut.indexOf('é') + 1] = 0x41; // a lead byte without its continuation
  const got = expectSame(Buffer.concat([good, broken, good, overlong, cut]));
  expect(got.rows).toHaveLength(2);
  expect(got.rows.join('\n')).not.toContain('\ufffd');
  const at = json(base).indexOf("Des'ree");
  expect(got.bad).toEqual([
    { line: 2, reason: `invalid UTF-8 (byte 0xff at offset ${at})` },
    { line: 4, reason: `invalid UTF-8 (byte 0xc0 at offset ${at})` },
    { line: 5, reason: `invalid UTF-8 (byte 0xc3 at offset ${at})` },
  ]);
});

test('what the warehouse would refuse is a bad line naming the field: NUL, lone surrogates, too long, out of range, nested', () => {
  const cases: [string, string][] = [
    [json({ ...base, artist: 'A\u0000B' }), 'field "artist" contains a NUL character (\\u0000)'],
    [json({ ...base }).replace('Kaylee', 'Kay\\u0000lee'), 'field "firstName" contains a NUL character (\\u0000)'],
    [json({ ...base }).replace('Kaylee', 'Kay\\ud800lee'), 'field "firstName" is not valid Unicode (a lone surrogate)'],
    [json({ ...base }).replace('Kaylee', '\\udc00'), 'field "firstName" is not valid Unicode (a lone surrogate)'],
    [json({ ...base, song: 'x'.repeat(513) }), 'field "song" is 513 bytes long; its column holds at most 512'],
    [json({ ...base, song: 'é'.repeat(257) }), 'field "song" is 514 bytes long; its column holds at most 512'],
    [
      json({ ...base, userAgent: 'u'.repeat(100_000) }),
      'field "userAgent" is 100000 bytes long; its column holds at most 1024',
    ],
    [json({ ...base, status: 2 ** 31 }), 'field "status" is out of range for a 32-bit integer, got 2147483648'],
    [
      json({ ...base, itemInSession: -(2 ** 40) }),
      `field "itemInSession" is out of range for a 32-bit integer, got ${-(2 ** 40)}`,
    ],
    [json({ ...base, ts: 253_402_300_800_000 }), 'field "ts" is out of range (years 1 to 9999), got 253402300800000'],
    [json({ ...base, ts: -9e15 }), 'field "ts" is out of range (years 1 to 9999), got -9000000000000000'],
    [json({ ...base, artist: { name: 'A' } }), 'field "artist" must be a string, got {"name":"A"}'],
    [json({ ...base, song: ['S'] }), 'field "song" must be a string, got ["S"]'],
    [json({ ...base, length: [1] }), 'field "length" must be a number, got [1]'],
    [json({ ...base, sessionId: { n: 1 } }), 'field "sessionId" must be an integer, got {"n":1}'],
    [
      json({ ...base }).replace('"length":246.30812', '"length":-1.8e308'),
      'field "length" must be a number, got a number beyond the range of a double (about 1.8e308)',
    ],
    [
      json({ ...base, sessionId: 7 }).replace('"sessionId":7', '"sessionId":1e400'),
      'field "sessionId" must be an integer, got a number beyond the range of a double (about 1.8e308)',
    ],
  ];
  const within = [
    json({ ...base, song: 'x'.repeat(512) }),
    json({ ...base, song: 'é'.repeat(256) }),
    json({ ...base, artist: 'pair \ud83d\ude00' }),
    json({ ...base }).replace("Des'ree", '\\ud83d\\ude00'),
    json({ ...base, status: 2 ** 31 - 1 }),
    json({ ...base, ts: 253_402_300_799_999 }),
  ];
  const got = expectSame(lines(...cases.map((c) => c[0]), ...within));
  expect(got.bad).toEqual(cases.map(([, reason], i) => ({ line: i + 1, reason })));
  expect(got.rows).toHaveLength(within.length);
});

test('a "ts" key inside a nested value is not the event time: the top-level one decides', () => {
  const hour: [number, number] = [Date.UTC(2018, 10, 1, 21), Date.UTC(2018, 10, 1, 22)];
  const input = lines(
    json({ ...base, meta: { ts: 5 } }),
    json({ ...base, meta: { a: [{ ts: 5 }, '}'], b: '{"ts":5}' } }),
    json({ ...base, meta: [{ ts: 5 }] }),
    '{"meta":{"ts":5},' + json(base).slice(1),
    // of repeated top-level keys JSON keeps the last
    json(base).slice(0, -1) + ',"ts":5}',
    json(base).replace('{', '{"ts":5,'),
    // of another hour, with a nested time inside this one: still the other hour's
    json({ ...base, ts: base.ts - 3_600_000, meta: { ts: base.ts } }),
    json({ ...base, ts: base.ts - 3_600_000, sessionId: 'bad', meta: { ts: base.ts } }),
  );
  const got = expectSame(input, hour);
  expect(got.bad).toEqual([]);
  expect(got.rows).toHaveLength(5);
  const nested = Buffer.from(json({ ...base, meta: { ts: 5 } }));
  expect(lineTime(nested, 0, nested.length)).toBe(base.ts);
  const last = Buffer.from(json(base).slice(0, -1) + ',"ts":5}');
  expect(lineTime(last, 0, last.length)).toBe(5);
});

test('a line belongs to the interval its "ts" names: a bad one is reported by that run only; one without a readable time by every run', () => {
  const hour: [number, number] = [Date.UTC(2018, 10, 1, 21), Date.UTC(2018, 10, 1, 22)];
  const inside = base.ts; // 2018-11-01T21:01:46Z
  const outside = inside - 3_600_000;
  const input = lines(
    json({ ...base, ts: outside, userId: 'bob' }),
    json({ ...base, ts: inside, userId: 'bob' }),
    json({ ...base, ts: outside, sessionId: null }),
    json({ ...base, ts: outside }),
    json({ ...base, ts: inside }),
    '{"ts": ' + outside + ', "page": "Home", "sessionId": 1, "itemInSe',
    '{"ts": ' + inside + ', "page": "Home", "sessionId": 1, "itemInSe',
    '{"page": "Home", "sessionId": 1, "itemInSe',
    json({ ...base, ts: 1.5e12 + 0.5 }),
  );
  const got = expectSame(input, hour);
  expect(got.rows).toHaveLength(1);
  expect(got.bad.map((b) => b.line)).toEqual([2, 7, 8, 9]);
  // the run of the hour before reports its own bad lines, and only those
  const before = expectSame(input, [hour[0] - 3_600_000, hour[0]]);
  expect(before.rows).toHaveLength(1);
  expect(before.bad.map((b) => b.line)).toEqual([1, 3, 6, 8, 9]);
  // an escaped "ts" inside a string is not the key
  const tricky = Buffer.from('{"song":"a \\"ts\\": 5","ts" : 42 }');
  expect(lineTime(tricky, 0, tricky.length)).toBe(42);
  const trickier = Buffer.from('{"ts" : 42, "song":"a \\"ts\\": 5"}');
  expect(lineTime(trickier, 0, trickier.length)).toBe(42);
});

test('the time a line is skipped by is the one JSON.parse reads, even with escaped keys (or it is left to JSON.parse)', () => {
  const head = JSON.stringify({ ...base, ts: 1541067394861 }).slice(0, -1);
  const lines = [
    `${head},"a\\"ts":1541080800000}`, // an escaped quote in a key name: not the ts key
    `${head},"t\\u0073":1541080800000}`, // a key written with an escape that decodes to "ts": it wins
    `${head},"\\u0074s":1541080800000,"x":1}`,
    `{"a\\"ts":5,${head.slice(1)}}`,
    `${head},"meta":{"t\\u0073":7}}`,
  ];
  for (const line of lines) {
    const bytes = Buffer.from(line);
    const parsed = (JSON.parse(line) as { ts: number }).ts;
    const time = lineTime(bytes, 0, bytes.length);
    expect([undefined, parsed]).toContain(time);
  }
});

/** 4000 lines of Sparkify events damaged at random (a fixed seed): a mix of good lines, bad lines and odd times. */
function damagedLines(): Buffer {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pieces = [
    '"',
    '\\',
    '{',
    '}',
    ':',
    ',',
    '0',
    '9',
    '.',
    'e',
    '-',
    ' ',
    '\t',
    'n',
    'null',
    'é',
    '\\u00',
    '\\"',
    '1',
    'x',
    '[',
    '\u0001',
    '\\u0000',
    '\\ud800',
    ',"ts":5',
    '{"ts":5}',
    ',"meta":{"ts":5}',
    ',"artist":"dup"',
    '"' + 'w'.repeat(600) + '"',
    '\u00ff', // replaced by the byte 0xff below: invalid UTF-8
    '\u0000',
  ];
  const variants = [
    json(base),
    json({ ...base, artist: null, userId: '', extra: 'a\\"b' }),
    json({ ...base, song: 'Beyoncé "live"' }),
  ];
  const damaged: string[] = [];
  for (let k = 0; k < 4000; k++) {
    let s = variants[rand(variants.length)] as string;
    for (let m = 1 + rand(2); m > 0; m--) {
      const at = rand(s.length);
      const op = rand(3);
      const piece = pieces[rand(pieces.length)] as string;
      s =
        op === 0
          ? s.slice(0, at) + piece + s.slice(at)
          : op === 1
            ? s.slice(0, at) + s.slice(at + 1)
            : s.slice(0, at) + piece + s.slice(at + 1);
    }
    damaged.push(s.replace(/\n/g, ' '));
  }
  return Buffer.concat(
    damaged.map((d) =>
      Buffer.concat([
        ...d
          .split('\u00ff')
          .flatMap((part) => [Buffer.from(part), Buffer.from([0xff])])
          .slice(0, -1),
        Buffer.from('\n'),
      ]),
    ),
  );
}

test('randomly damaged lines: the fast path never accepts what JSON.parse rejects, nor differs in a row', () => {
  const input = damagedLines();
  const got = expectSame(input);
  // the damage produced a real mix of good and bad lines, through both paths
  expect(got.rows.length).toBeGreaterThan(500);
  expect(got.bad.length).toBeGreaterThan(500);
  expect(got.general).toBeGreaterThan(500);
  expect(got.rows.length + got.bad.length).toBeLessThanOrEqual(4000);
});

test('one rule: the run of an interval stages or reports exactly the lines timeOfEventLine puts in it (every run those it puts in none), and the source index digests them by it', async () => {
  const hour = 3_600_000;
  const own = Math.floor(base.ts / hour) * hour;
  const other = base.ts - hour;
  const head = json({ ...base, ts: other }).slice(0, -1);
  const input = Buffer.concat([
    damagedLines(),
    lines(
      json(base),
      json({ ...base, ts: other, userId: 'bob' }),
      // cut short after a nested "ts" of another hour: the top-level one decides, for every run
      `${head},"meta":{"ts":${base.ts}},"itemInSe`,
      `${head},"meta":{"ts":${base.ts}}}`,
      `{"page": "Home", "sessionId": 1, "itemInSe`,
      json({ ...base, ts: 9e15 }),
      '   ',
    ),
  ]);
  const intervals: [number, number][] = [[own, own + hour], [own - hour, own], [0, 6], ALL_TIME];
  const wrong: string[] = [];
  let n = 0;
  for (let from = 0; from < input.length;) {
    const nl = input.indexOf(10, from);
    const line = input.subarray(from, nl + 1);
    from = nl + 1;
    n++;
    const time = timeOfEventLine(line, 0, line.length - 1);
    for (const interval of intervals) {
      const got = viaEncoder(line, interval);
      const taken = got.rows.length + got.bad.length;
      const belongs = time !== null && (time === undefined || (time >= interval[0] && time < interval[1]));
      if (taken !== (belongs ? 1 : 0)) wrong.push(`line ${n} in [${interval.join(', ')}): ${line.toString()}`);
    }
  }
  expect(wrong).toEqual([]);
  expect(n).toBe(4007);

  // The index's hours, for the same bytes: what the run of each hour stages or reports, counted by the encoder.
  const digest = await digestEventLines(
    (async function* () {
      yield input;
    })(),
  );
  expect(digest.hours.length).toBeGreaterThan(1);
  expect(digest.unhouredLines).toBeGreaterThan(0);
  for (const h of digest.hours) {
    const got = viaEncoder(input, [h.hourStartMs, h.hourStartMs + hour]);
    expect({ hour: h.hourStartMs, lines: got.rows.length + got.bad.length }).toEqual({
      hour: h.hourStartMs,
      lines: h.lines + digest.unhouredLines,
    });
  }
});

test("a byte-order mark at the start of a file is not part of its first line (for the run and the source index); anywhere else it is the line's", async () => {
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
  const second = json({ ...base, userId: '77' });
  const file = Buffer.concat([BOM, lines(json(base), second)]);
  const got = viaEncoder(file, ALL_TIME, 2);
  expect(got.bad).toEqual([]);
  expect(normalized(got.rows)).toEqual(normalized(viaReference(lines(json(base), second)).rows));
  // in one piece or cut anywhere after the first line, and with a line of its own hour only
  expect(viaEncoder(file).rows).toHaveLength(2);
  const hour = Math.floor(base.ts / 3_600_000) * 3_600_000;
  expect(viaEncoder(file, [hour, hour + 3_600_000]).rows).toHaveLength(2);

  // the index puts the first line in its hour, and digests it as the bytes after the mark
  const digest = await digestEventLines(
    (async function* () {
      yield file;
    })(),
  );
  const plain = await digestEventLines(
    (async function* () {
      yield lines(json(base), second);
    })(),
  );
  expect(digest.unhouredLines).toBe(0);
  expect(digest.hours.map((h) => [h.hourStartMs, h.lines, h.digest, h.firstLine])).toEqual(
    plain.hours.map((h) => [h.hourStartMs, h.lines, h.digest, h.firstLine]),
  );

  // a mark at the start of a later line is a character the line starts with: a bad line, named
  const inside = Buffer.concat([lines(json(base)), BOM, lines(second)]);
  expect(viaEncoder(inside).bad).toEqual([{ line: 2, reason: expect.stringMatching(/^invalid JSON/) }]);
});

test('a line of characters that JavaScript trims but JSON does not take as whitespace (a byte-order mark after the first line, \\f, \\v, no-break or line separators) is a bad line, not a blank one', async () => {
  // JSON's whitespace is space, tab, CR and LF; String.prototype.trim also drops U+FEFF, \f, \v, U+00A0,
  // U+2028, U+3000, ...: a line of those alone was neither a row nor a bad line (dropped without a word)
  const odd = ['\uFEFF', '\f', '\v', '\u00A0', '\u2028', '\u3000', ' \uFEFF \r'];
  const input = lines(json(base), ...odd, '', ' \t ', '\r', json({ ...base, userId: '77' }));
  const got = viaEncoder(input);
  expect(got.rows).toHaveLength(2);
  expect(got.bad).toEqual(odd.map((_, k) => ({ line: 2 + k, reason: expect.stringMatching(/^invalid JSON/) })));
  // every run that reads the file reports them (their time cannot be read); JSON whitespace alone stays blank
  for (const l of odd) expect(timeOfEventLine(Buffer.from(l), 0, Buffer.byteLength(l))).toBeUndefined();
  for (const l of ['', ' \t ', '\r']) expect(timeOfEventLine(Buffer.from(l), 0, Buffer.byteLength(l))).toBeNull();
  const digest = await digestEventLines(
    (async function* () {
      yield input;
    })(),
  );
  expect(digest.unhouredLines).toBe(odd.length);
});

test("a bad line's reason shows what a terminal would not: a no-break space, a form feed, a mark as their \\u escapes", () => {
  const got = viaEncoder(lines('\u00a0', '\f', `${json(base).slice(0, -1)}\u2028}x`));
  expect(got.bad.map((b) => b.line)).toEqual([1, 2, 3]);
  const [nbsp, ff, ls] = got.bad.map((b) => b.reason);
  expect(nbsp).toMatch(/^invalid JSON \(.*\\u00A0/);
  expect(ff).toMatch(/^invalid JSON \(.*\\u000C/);
  expect(ls).toMatch(/^invalid JSON \(/);
  for (const r of got.bad.map((b) => b.reason)) expect(r).not.toMatch(/[\p{Cc}\u00a0\u2028\ufeff]/u);
});
