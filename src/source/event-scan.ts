/**
 * The event encoder's byte scans: the time of a line, and the fast path that turns a line in the common shape (a
 * flat JSON object whose values are strings, numbers or null, its known keys in column order, in valid UTF-8)
 * into a row of PostgreSQL's binary COPY format in one pass, copying each value into its column as it is read: a
 * string's bytes as they are (JSON forbids raw control characters, and the few escapes are decoded on the way),
 * a number as the 4- or 8-byte integer or the double its column holds. What a value may be comes from the
 * fields' rules (records.EVENT_FIELDS); a line the scan does not take goes to the general path, which decides
 * and whose values writeRow writes the same way.
 *
 * One module with the JSON pieces both scans are made of: code that runs for every byte or field reads no other
 * module's bindings, because the CommonJS that tsx and Jest run makes each such read a getter call (split into
 * modules, staging took several times the CPU; see docs/benchmarks.md).
 */
import { EVENT_FIELDS } from './records';

// ------------------------------------------------------------------ JSON, read from bytes

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const DOT = 0x2e;

/** Bytes inside a JSON string, by what they do there; a raw control character is not allowed. */
const PLAIN = 0;
const CLOSING_QUOTE = 1;
const CONTROL = 3;
const IN_STRING = new Uint8Array(256);
IN_STRING.fill(CONTROL, 0, 0x20);
IN_STRING[QUOTE] = CLOSING_QUOTE;
IN_STRING[BACKSLASH] = 2;

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isWs(c: number | undefined): boolean {
  // most bytes are not: one comparison says so
  return c !== undefined && c <= 0x20 && (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d);
}

function skipWs(b: Buffer, i: number, end: number): number {
  while (i < end && isWs(b[i])) i++;
  return i;
}

/** The end of b[start, end) without its trailing whitespace. */
function skipWsBack(b: Buffer, start: number, end: number): number {
  while (end > start && isWs(b[end - 1])) end--;
  return end;
}

/** Where the run of digits at b[i] ends (i itself when there is none). */
function digitsEnd(b: Buffer, i: number, end: number): number {
  while (i < end && isDigit(b[i])) i++;
  return i;
}

/** The value of the last integer part integerEnd read (exact up to 15 digits: 2^53 has 16). */
let integerValue = 0;

/**
 * Where the integer part of a JSON number at b[i] ends: `0`, or digits not starting with 0; -1 if none. Leaves
 * its value in integerValue.
 */
function integerEnd(b: Buffer, i: number, end: number): number {
  if (b[i] === 0x30) {
    integerValue = 0;
    return isDigit(b[i + 1]) ? -1 : i + 1;
  }
  let v = 0;
  let j = i;
  for (; j < end; j++) {
    const d = b[j]! - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  integerValue = v;
  return j === i ? -1 : j;
}

/**
 * Where the string that opens at b[i] closes (its quote), skipping escapes without checking them; end, or just
 * past it, when the line ends inside the string.
 */
function stringClose(b: Buffer, i: number, end: number): number {
  for (i++; i < end; i++) {
    const x = b[i];
    if (x === QUOTE) break;
    if (x === BACKSLASH) i++;
  }
  return i;
}

/**
 * What the escape at b[j] (a backslash) stands for: a UTF-16 code unit (any, for `\u`), or -1 when JSON does not
 * allow it or the line ends inside it. It is escapeLength(b, j) bytes long.
 */
function escapeAt(b: Buffer, j: number, end: number): number {
  switch (b[j + 1]) {
    case QUOTE:
      return QUOTE;
    case BACKSLASH:
      return BACKSLASH;
    case 0x2f: // /
      return 0x2f;
    case 0x62: // b
      return 0x08;
    case 0x66: // f
      return 0x0c;
    case 0x6e: // n
      return 0x0a;
    case 0x72: // r
      return 0x0d;
    case 0x74: // t
      return 0x09;
    case 0x75: // u and four hex digits: negative if one is not
      if (j + 5 >= end) return -1;
      return (hex(b[j + 2]) << 12) | (hex(b[j + 3]) << 8) | (hex(b[j + 4]) << 4) | hex(b[j + 5]);
    default:
      return -1;
  }
}

function escapeLength(b: Buffer, j: number): number {
  return b[j + 1] === 0x75 ? 6 : 2;
}

function hex(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function isSurrogate(u: number): boolean {
  return u >= 0xd800 && u <= 0xdfff;
}

function isNullAt(b: Buffer, i: number): boolean {
  return b[i] === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c;
}

function isTrueAt(b: Buffer, i: number): boolean {
  return b[i] === 0x74 && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65;
}

function isFalseAt(b: Buffer, i: number): boolean {
  return b[i] === 0x66 && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65;
}

/** Skips a string, number or literal at b[i]; returns where it ends, or -1 for anything else. */
function skipValue(b: Buffer, i: number, end: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i, end);
  if (c === MINUS || isDigit(c)) return skipNumber(b, i, end);
  if (isNullAt(b, i) || isTrueAt(b, i)) return i + 4;
  if (isFalseAt(b, i)) return i + 5;
  return -1;
}

function skipString(b: Buffer, i: number, end: number): number {
  let j = i + 1;
  while (j < end) {
    const cls = IN_STRING[b[j] as number];
    if (cls === PLAIN) j++;
    else if (cls === CLOSING_QUOTE) return j + 1;
    else if (cls === CONTROL || escapeAt(b, j, end) < 0) return -1;
    else j += escapeLength(b, j);
  }
  return -1;
}

function skipNumber(b: Buffer, i: number, end: number): number {
  let j = integerEnd(b, b[i] === MINUS ? i + 1 : i, end);
  if (j < 0) return -1;
  if (b[j] === DOT) {
    const f0 = j + 1;
    j = digitsEnd(b, f0, end);
    if (j === f0) return -1;
  }
  if (b[j] === 0x65 || b[j] === 0x45) {
    j++;
    if (b[j] === 0x2b || b[j] === MINUS) j++;
    const e0 = j;
    j = digitsEnd(b, e0, end);
    if (j === e0) return -1;
  }
  return j;
}

/** Writes code unit u (not a surrogate, not NUL) as UTF-8. Returns the new end of the output. */
function writeCodePoint(u: number, out: Buffer, p: number): number {
  if (u < 0x80) {
    out[p++] = u;
  } else if (u < 0x800) {
    out[p++] = 0xc0 | (u >> 6);
    out[p++] = 0x80 | (u & 0x3f);
  } else {
    out[p++] = 0xe0 | (u >> 12);
    out[p++] = 0x80 | ((u >> 6) & 0x3f);
    out[p++] = 0x80 | (u & 0x3f);
  }
  return p;
}

// ------------------------------------------------------------------ the time of a line

/**
 * The time a line belongs to: the integer value of its last top-level "ts" key, read without parsing the
 * line. Undefined when there is none (or it is not a plain integer); the line is then parsed to decide. This
 * is the rule that assigns a line to an interval: a line of another interval is not examined further, so a
 * bad one is reported by the run that owns it, not by every run that reads its file. A "ts" inside a nested
 * value (`"meta":{"ts":5}`) is not the event's: JSON.parse would not read it either.
 */
export function lineTime(b: Buffer, start: number, end: number): number | undefined {
  return timeOfLine(b, start, end, 0, 0);
}

/**
 * lineTime, except that a time in [lo, hi) is returned before making sure it is the top-level one: the
 * caller then reads the whole line, and its real time decides. Only a line about to be skipped needs it.
 */
function timeOfLine(b: Buffer, start: number, end: number, lo: number, hi: number): number | undefined {
  // searched from the end: `ts` is one of the last keys, and of repeated keys JSON keeps the last
  let k = lastTsKey(b, start, end - 4);
  while (k >= start) {
    // `"ts"` right after an odd run of backslashes is inside a string (`"a\"ts":…`), not a key
    let slashes = 0;
    while (k - 1 - slashes >= start && b[k - 1 - slashes] === BACKSLASH) slashes++;
    if (slashes % 2 === 1) {
      k = lastTsKey(b, start, k - 1);
      continue;
    }
    let i = skipWs(b, k + 4, end);
    if (b[i] === COLON) {
      i = skipWs(b, i + 1, end);
      const d0 = b[i] === MINUS ? i + 1 : i;
      const d1 = integerEnd(b, d0, end);
      if (d1 < 0 || d1 - d0 > 16) return undefined;
      // the number must end where a value ends: not 12.5, 1e3, or a line cut short after some digits
      const after = skipWs(b, d1, end);
      if (b[after] !== COMMA && b[after] !== CLOSE_BRACE) return undefined;
      // When the first '}' after the value ends the line, the key's object is the outermost one; only other
      // lines need the exact scan.
      const ts = d0 > i ? -integerValue : integerValue;
      if (ts >= lo && ts < hi) return ts;
      // A later key written with escapes (`"t\u0073"`) may decode to "ts" and win: only JSON.parse can tell.
      if (escapedKeyAfter(b, after, end)) return undefined;
      if (b.indexOf(CLOSE_BRACE, after) === skipWsBack(b, start, end) - 1) return ts;
      if (atTopLevel(b, after, end)) return ts;
    }
    k = lastTsKey(b, start, k - 1);
  }
  return undefined;
}

/**
 * lineTime when it is a time an interval can hold (the ts field's range, records.ts): the line belongs to it.
 * Otherwise (none, or out of that range) the line is parsed to decide (event-encoder.ts, timeOfEventLine).
 */
export function scannedTime(b: Buffer, start: number, end: number): number | undefined {
  const ts = lineTime(b, start, end);
  return ts !== undefined && isEventTime(ts) ? ts : undefined;
}

function isEventTime(ts: number): boolean {
  return ts >= INT_MIN[TS]! && ts <= INT_MAX[TS]!;
}

/** Where the last `"ts"` starting at or before `from` (and at or after `start`) is, or -1. */
function lastTsKey(b: Buffer, start: number, from: number): number {
  // a plain loop: for a key a hundred bytes from the end it is several times cheaper than Buffer.lastIndexOf
  for (let k = from; k >= start; k--) {
    if (b[k + 1] === 0x74 && b[k] === QUOTE && b[k + 2] === 0x73 && b[k + 3] === QUOTE) return k; // "ts"
  }
  return -1;
}

/** Whether a key (a string followed by ':') after position i holds a backslash escape. */
function escapedKeyAfter(b: Buffer, i: number, end: number): boolean {
  for (; i < end; i++) {
    if (b[i] !== QUOTE) continue;
    let escaped = false;
    for (i++; i < end; i++) {
      const x = b[i];
      if (x === QUOTE) break;
      if (x === BACKSLASH) {
        escaped = true;
        i++;
      }
    }
    if (escaped && b[skipWs(b, i + 1, end)] === COLON) return true;
  }
  return false;
}

/**
 * Whether a value followed by b[i] (',' or '}') belongs to the line's outermost object: what follows it
 * closes exactly one more object than it opens, and that last '}' ends the line. A line cut short before
 * its end counts as top level, so a truncated line still belongs to the interval its time names.
 */
function atTopLevel(b: Buffer, i: number, end: number): boolean {
  let depth = 0;
  for (; i < end; i++) {
    const c = b[i];
    if (c === QUOTE) {
      i = stringClose(b, i, end);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (--depth < 0) return skipWs(b, i + 1, end) === end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
    }
  }
  return true;
}

// ------------------------------------------------------------------ an event line, scanned into a binary COPY row

// The fields' rules as typed arrays, for the loop that runs for every field of every line.
const N_FIELDS = EVENT_FIELDS.length;
const KEY_BYTES = EVENT_FIELDS.map((f) => Buffer.from(f.name, 'latin1'));
const REQUIRED = EVENT_FIELDS.map((f) => f.required);
const MAX_BYTES = Int32Array.from(EVENT_FIELDS.map((f) => Math.min(f.maxBytes, 0x7fffffff)));
const INT_MIN = Float64Array.from(EVENT_FIELDS.map((f) => f.range.min));
const INT_MAX = Float64Array.from(EVENT_FIELDS.map((f) => f.range.max));
const MAX_DIGITS = Int32Array.from(EVENT_FIELDS.map((f) => f.maxDigits));
const TEXT = 0;
const INT = 1;
const FLOAT = 2;
const USER_ID = 3;
const KIND = Uint8Array.from(
  EVENT_FIELDS.map((f) => ({ text: TEXT, int: INT, float: FLOAT, userId: USER_ID })[f.kind]),
);
/** An int column that is a bigint (8 bytes) rather than an integer: one whose values go past 32 bits (ts). */
const WIDE = Uint8Array.from(EVENT_FIELDS.map((f) => (f.kind === 'int' && f.range.max > 0x7fffffff ? 1 : 0)));
const TS = EVENT_FIELDS.findIndex((f) => f.name === 'ts');
const PAGE = EVENT_FIELDS.findIndex((f) => f.name === 'page');
const NEXT_SONG = Buffer.from('NextSong', 'latin1');
/** The longest numbers copied as they are: longer ones (and exponents) are the general path's to convert. */
const MAX_INTEGER_DIGITS = 16;
const MAX_FRACTION_DIGITS = 17;

/**
 * Each key with its closing quote, and as 32-bit words (little-endian) of four bytes each: the last group padded
 * with zeros, with the mask that keeps only the key's bytes of what is read there.
 */
const QUOTED_KEYS = EVENT_FIELDS.map((f) => Buffer.from(`${f.name}"`, 'latin1'));
const QUOTED_KEY_LENGTH = Int32Array.from(QUOTED_KEYS.map((k) => k.length));
const KEY_GROUPS_PER_FIELD = Math.max(...QUOTED_KEYS.map((k) => (k.length + 3) >> 2));
const QUOTED_KEY_WORDS = new Int32Array(N_FIELDS * KEY_GROUPS_PER_FIELD);
const QUOTED_KEY_MASKS = new Int32Array(N_FIELDS * KEY_GROUPS_PER_FIELD);
QUOTED_KEYS.forEach((k, f) => {
  const padded = Buffer.alloc(KEY_GROUPS_PER_FIELD * 4);
  k.copy(padded);
  for (let g = 0; g * 4 < k.length; g++) {
    const bytes = Math.min(4, k.length - g * 4);
    QUOTED_KEY_WORDS[f * KEY_GROUPS_PER_FIELD + g] = padded.readInt32LE(g * 4);
    QUOTED_KEY_MASKS[f * KEY_GROUPS_PER_FIELD + g] = bytes === 4 ? -1 : (1 << (bytes * 8)) - 1;
  }
});

/** Field indices by key length and first byte: keys are ASCII and short, at most two share a slot. */
const BY_SHAPE = new Map<number, number[]>();
EVENT_FIELDS.forEach((f, i) => {
  const slot = f.name.length * 128 + f.name.charCodeAt(0);
  BY_SHAPE.set(slot, [...(BY_SHAPE.get(slot) ?? []), i]);
});

/**
 * DataViews of the buffer being read and of the one being written, for the loops that move four bytes at a
 * time (copyString, startsWithKey); made again only when the buffer changes (a chunk of the file, an output
 * chunk), which is rare next to the lines they serve.
 */
let inBuffer: Buffer | undefined;
let inView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
let outBuffer: Buffer | undefined;
let outView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

function viewOf(b: Buffer): DataView {
  if (b !== inBuffer) {
    inBuffer = b;
    inView = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  return inView;
}

function outViewOf(out: Buffer): DataView {
  if (out !== outBuffer) {
    outBuffer = out;
    outView = new DataView(out.buffer, out.byteOffset, out.byteLength);
  }
  return outView;
}

/**
 * Whether any of the four bytes of w ends a plain run inside a JSON string: not 0 exactly when one is a control
 * character (< 0x20), a quote or a backslash. Bit arithmetic on all four at once (the "has a byte less than n"
 * and "has a zero byte" tests, exact for whether any byte does); `| 0` keeps the subtractions in 32 bits.
 */
function plainRunStops(w: number): number {
  const q = w ^ 0x22222222;
  const s = w ^ 0x5c5c5c5c;
  return ((((w - 0x20202020) | 0) & ~w) | (((q - 0x01010101) | 0) & ~q) | (((s - 0x01010101) | 0) & ~s)) & 0x80808080;
}

/** What row() answers for a line that is not in the common shape: the general path decides. */
const GENERAL = -1;

/**
 * Where copyString stopped reading. It returns where it stopped writing and leaves this: module state rather
 * than a returned pair, so that the scan allocates nothing.
 */
let readTo = 0;

/** The byte scans of one interval's lines; one per encoder, reused for every line. */
export class EventScanner {
  /** After a row: whether it is a NextSong event. */
  nextSong = false;

  constructor(
    private readonly startMs: number,
    private readonly endMs: number,
  ) {}

  /**
   * Whether the line b[start, end) belongs to another interval, as its time says: it is then skipped without
   * being examined further. A time no interval can hold (before year 1 or after 9999) is not skipped: the
   * line is reported.
   */
  ofAnotherInterval(b: Buffer, start: number, end: number): boolean {
    const ts = timeOfLine(b, start, end, this.startMs, this.endMs);
    return ts !== undefined && (ts < this.startMs || ts >= this.endMs) && isEventTime(ts);
  }

  /**
   * Scans the line b[start, end) and, when it is in the common shape and of this interval, writes its row at
   * out[p] (binary COPY: the field count, then each field's length and bytes): returns the row's end, or p for a
   * line of another interval, or GENERAL. Keys may be missing or unknown, but those it knows must come in column
   * order (as Sparkify's producers write them). The caller makes room for the row: rowRoom(end - start).
   */
  row(b: Buffer, start: number, end: number, out: Buffer, p: number): number {
    const p0 = p;
    const bv = viewOf(b);
    const ov = outViewOf(out);
    let col = 0; // the next column to write
    let ts = 0;
    let nextSong = false;
    let i = skipWs(b, start, end);
    if (b[i] !== OPEN_BRACE) return GENERAL;
    i = skipWs(b, i + 1, end);
    if (b[i] === CLOSE_BRACE) return GENERAL;
    ov.setInt16(p, N_FIELDS, false);
    p += 2;
    for (;;) {
      // the key: usually the next column's, else found by its shape; one with escapes is the general path's
      if (b[i] !== QUOTE) return GENERAL;
      let k = i + 1;
      let f: number;
      if (col < N_FIELDS && startsWithKey(b, bv, k, end, col)) {
        f = col;
        k += (KEY_BYTES[col] as Buffer).length;
      } else {
        while (k < end && IN_STRING[b[k] as number] === PLAIN) k++;
        if (k >= end || b[k] !== QUOTE) return GENERAL;
        f = fieldOf(b, i + 1, k);
      }
      i = skipWs(b, k + 1, end);
      if (b[i] !== COLON) return GENERAL;
      i = skipWs(b, i + 1, end);

      if (f < 0) {
        i = skipValue(b, i, end); // a field staging does not keep
        if (i < 0) return GENERAL;
      } else {
        if (f < col) return GENERAL; // repeated, or out of column order
        if (f > col) p = nullColumns(ov, p, col, f);
        if (p < 0) return GENERAL; // a required column left out
        col = f + 1;
        const c = b[i];
        const kind = KIND[f];
        if (c === QUOTE) {
          if (kind !== TEXT && kind !== USER_ID) return GENERAL; // the general path converts
          const v0 = p + 4; // after the length, written once the value is
          p = copyString(b, bv, i, end, out, ov, v0);
          if (p < 0 || p - v0 > MAX_BYTES[f]!) return GENERAL; // not plain JSON, or too wide for its column
          ov.setInt32(v0 - 4, p - v0, false);
          i = readTo;
          if (kind === USER_ID) {
            if (p - v0 > MAX_DIGITS[f]! || !allDigits(out, v0, p)) return GENERAL;
          } else if (f === PAGE) {
            nextSong = sameBytes(out, v0, p, NEXT_SONG);
          }
        } else if (c === MINUS || isDigit(c)) {
          if (kind === TEXT || kind === USER_ID) return GENERAL; // the general path converts
          const j = numberEnd(b, i, end, kind === FLOAT);
          if (j < 0) return GENERAL;
          if (kind === INT) {
            const n = c === MINUS ? -integerValue : integerValue;
            if (n < INT_MIN[f]! || n > INT_MAX[f]!) return GENERAL;
            if (f === TS) ts = n;
            p = WIDE[f] ? writeInt8(ov, p, n) : writeInt4(ov, p, n);
          } else {
            p = writeFloat8(ov, p, floatValue(b, i, j));
          }
          i = j;
        } else if (isNullAt(b, i)) {
          if (REQUIRED[f]) return GENERAL;
          ov.setInt32(p, -1, false);
          p += 4;
          i += 4;
        } else {
          return GENERAL; // true, false, objects, arrays, or not JSON
        }
      }
      i = skipWs(b, i, end);
      if (b[i] === COMMA) {
        i = skipWs(b, i + 1, end);
        continue;
      }
      if (b[i] !== CLOSE_BRACE || skipWs(b, i + 1, end) !== end) return GENERAL;
      break;
    }
    p = nullColumns(ov, p, col, N_FIELDS);
    if (p < 0) return GENERAL; // ts among the required ones
    // The line is well-formed JSON. One of another interval is left to the run of that interval, which
    // also reports any field that does not fit (as the general path does).
    if (ts < this.startMs || ts >= this.endMs) return p0;
    this.nextSong = nextSong;
    return p;
  }
}

/**
 * Room enough for the row row() writes for a line of `lineBytes` bytes: its field count, and per field at most
 * a 4-byte length and an 8-byte value more than the line spends on it (a string's bytes are at most its JSON's).
 */
export function rowRoom(lineBytes: number): number {
  return lineBytes + 2 + 12 * N_FIELDS;
}

/** Writes NULL for the columns from, ..., to - 1, which the line leaves out; -1 if one of them is required. */
function nullColumns(ov: DataView, p: number, from: number, to: number): number {
  for (let col = from; col < to; col++) {
    if (REQUIRED[col]) return -1;
    ov.setInt32(p, -1, false);
    p += 4;
  }
  return p;
}

function writeInt4(ov: DataView, p: number, n: number): number {
  ov.setInt32(p, 4, false);
  ov.setInt32(p + 4, n, false);
  return p + 8;
}

/** n: a whole number within ±2^53, written as a two's complement 64-bit integer. */
function writeInt8(ov: DataView, p: number, n: number): number {
  const high = Math.floor(n / 0x100000000);
  ov.setInt32(p, 8, false);
  ov.setInt32(p + 4, high, false);
  ov.setUint32(p + 8, n - high * 0x100000000, false);
  return p + 12;
}

/**
 * v + 0: -0 is written as 0. PostgreSQL's `=` (the songplays load's join to song_match) takes them for one
 * value but their text differs ('-0'), and a play's song_key, which the late re-match compares with the songs',
 * is made of the text: a play of length -0.0 would match a song of duration 0 when loaded, never when re-matched.
 */
function writeFloat8(ov: DataView, p: number, v: number): number {
  ov.setInt32(p, 8, false);
  ov.setFloat64(p + 4, v + 0, false);
  return p + 12;
}

/**
 * The double a JSON number b[i, j) (as numberEnd takes it: no exponent) stands for, as PostgreSQL's float8 input
 * reads its text: the nearest one. With at most 15 digits the digits make an exact integer m and the value is
 * m / 10^k, one correctly rounded division of two exact numbers; longer ones are converted from their text.
 */
function floatValue(b: Buffer, i: number, j: number): number {
  const negative = b[i] === MINUS;
  let m = 0;
  let scale = 1;
  let digits = 0;
  let fraction = false;
  for (let x = negative ? i + 1 : i; x < j; x++) {
    const c = b[x]!;
    if (c === DOT) {
      fraction = true;
      continue;
    }
    m = m * 10 + (c - 0x30);
    if (fraction) scale *= 10;
    digits++;
  }
  if (digits > 15) return Number(b.toString('latin1', i, j));
  return negative ? -(m / scale) : m / scale;
}

/** The binary COPY stream's header (signature, flags, no extension) and trailer: around every file's rows. */
export const COPY_BINARY_HEADER = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
export const COPY_BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/** The bytes writeRow takes for these values. */
export function rowBytes(values: readonly (string | number | null)[]): number {
  let n = 2;
  for (let f = 0; f < N_FIELDS; f++) {
    const v = values[f];
    n += 4;
    if (v === null || v === undefined) continue;
    const kind = KIND[f];
    n += kind === TEXT || kind === USER_ID ? Buffer.byteLength(String(v), 'utf8') : kind === INT && !WIDE[f] ? 4 : 8;
  }
  return n;
}

/** Writes a row of the general path's values (records.encodeEventLine) at out[p], as row() does; returns its end. */
export function writeRow(values: readonly (string | number | null)[], out: Buffer, p: number): number {
  const ov = outViewOf(out);
  ov.setInt16(p, N_FIELDS, false);
  p += 2;
  for (let f = 0; f < N_FIELDS; f++) {
    const v = values[f];
    const kind = KIND[f];
    if (v === null || v === undefined) {
      ov.setInt32(p, -1, false);
      p += 4;
    } else if (kind === TEXT || kind === USER_ID) {
      const n = out.write(String(v), p + 4, 'utf8');
      ov.setInt32(p, n, false);
      p += 4 + n;
    } else if (kind === INT) {
      p = WIDE[f] ? writeInt8(ov, p, v as number) : writeInt4(ov, p, v as number);
    } else {
      p = writeFloat8(ov, p, v as number);
    }
  }
  return p;
}

/**
 * Copies the JSON string at b[i] to out[p] as UTF-8, its escapes decoded, and returns the end of the copy
 * (readTo: past the string), or -1 for a string the general path must decide.
 */
function copyString(b: Buffer, bv: DataView, i: number, end: number, out: Buffer, ov: DataView, p: number): number {
  let j = i + 1;
  for (;;) {
    // four bytes at a time while none of them is a quote, backslash or control character, then one at a time
    while (j + 4 <= end) {
      const w = bv.getInt32(j, true);
      if (plainRunStops(w) !== 0) break;
      ov.setInt32(p, w, true);
      p += 4;
      j += 4;
    }
    let x = 0;
    while (j < end && IN_STRING[(x = b[j]!)] === PLAIN) {
      out[p++] = x;
      j++;
    }
    if (j >= end) return -1;
    if (x === QUOTE) break;
    p = copyEscape(b, j, end, out, p);
    if (p < 0) return -1;
    j += escapeLength(b, j);
  }
  readTo = j + 1;
  return p;
}

/** Copies the escape at b[j]; -1 for a control character, an invalid escape, NUL or a surrogate. */
function copyEscape(b: Buffer, j: number, end: number, out: Buffer, p: number): number {
  if (b[j] !== BACKSLASH) return -1; // a raw control character: not JSON
  const u = escapeAt(b, j, end);
  // invalid escapes, NUL and surrogate pairs are left to the general path
  if (u <= 0 || isSurrogate(u)) return -1;
  return writeCodePoint(u, out, p);
}

/**
 * Where the JSON number at b[i] ends, if the fast path converts it: at most 16 integer digits, a fraction (at
 * most 17 digits) only for a float, no exponent. -1 for any other (the general path converts).
 */
function numberEnd(b: Buffer, i: number, end: number, float: boolean): number {
  const d0 = b[i] === MINUS ? i + 1 : i;
  let j = integerEnd(b, d0, end);
  if (j < 0 || j - d0 > MAX_INTEGER_DIGITS) return -1;
  if (b[j] === DOT) {
    if (!float) return -1; // 12.0 as an integer: the general path decides
    const f0 = j + 1;
    j = digitsEnd(b, f0, end);
    if (j === f0 || j - f0 > MAX_FRACTION_DIGITS) return -1;
  }
  if (b[j] === 0x65 || b[j] === 0x45) return -1; // exponents (and their overflow) too
  return j;
}

function allDigits(out: Buffer, s: number, e: number): boolean {
  for (let x = s; x < e; x++) if (!isDigit(out[x])) return false;
  return true;
}

function sameBytes(out: Buffer, s: number, e: number, bytes: Buffer): boolean {
  if (e - s !== bytes.length) return false;
  for (let x = 0; x < bytes.length; x++) if (out[s + x] !== bytes[x]) return false;
  return true;
}

/**
 * Whether b[s, ...) holds field f's name and its closing quote: compared four bytes at a time, the last group
 * masked to the key's bytes; byte by byte when the line ends within a group's reach.
 */
function startsWithKey(b: Buffer, bv: DataView, s: number, end: number, f: number): boolean {
  const n = QUOTED_KEY_LENGTH[f]!;
  const groups = (n + 3) >> 2;
  if (s + groups * 4 > end) {
    if (s + n > end) return false;
    const key = QUOTED_KEYS[f] as Buffer;
    for (let x = 0; x < n; x++) if (key[x] !== b[s + x]) return false;
    return true;
  }
  const w0 = f * KEY_GROUPS_PER_FIELD;
  for (let g = 0; g < groups; g++) {
    if ((bv.getInt32(s + g * 4, true) & QUOTED_KEY_MASKS[w0 + g]!) !== QUOTED_KEY_WORDS[w0 + g]) return false;
  }
  return true;
}

/** Index of the event field whose name is b[s, e), or -1 for one staging does not keep. */
function fieldOf(b: Buffer, s: number, e: number): number {
  const len = e - s;
  const first = b[s];
  if (len === 0 || first === undefined || first >= 128) return -1;
  const candidates = BY_SHAPE.get(len * 128 + first);
  if (!candidates) return -1;
  for (const f of candidates) {
    const key = KEY_BYTES[f] as Buffer;
    let x = 1;
    while (x < len && key[x] === b[s + x]) x++;
    if (x === len) return f;
  }
  return -1;
}
