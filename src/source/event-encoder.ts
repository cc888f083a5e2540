/**
 * The staging hot path: event-log bytes in, PostgreSQL COPY text rows out, without building a JavaScript
 * object or string per event.
 *
 * A line of another interval is skipped once its `ts` is read (lineTime). A line in the common shape (one
 * flat JSON object whose values are strings, numbers or null, its known keys in column order, in valid
 * UTF-8) is scanned byte by byte and its field values are copied straight into the output buffer: a JSON
 * string without escapes is already a valid COPY text value (JSON forbids raw control characters), and
 * the few escapes are decoded on the way. Any other line (keys out of order, nested values, booleans,
 * numbers of the wrong form, missing required fields, invalid JSON or UTF-8, ...) goes through the general
 * path, records.encodeEventLine, which accepts what it can and otherwise reports the field and the reason.
 * Both paths produce the same rows and the same errors (test/event-encoder.test.ts); the fast one takes
 * about a sixth of the CPU time.
 */
import { isUtf8 } from 'node:buffer';
import { decodeUtf8, EVENT_FIELDS, encodeEventLine, eventTimeOf, RecordError, TS_MAX, TS_MIN } from './records';

const N_FIELDS = EVENT_FIELDS.length;
const KEY_BYTES = EVENT_FIELDS.map((f) => Buffer.from(f.name, 'latin1'));
const REQUIRED = EVENT_FIELDS.map((f) => f.required === true);
const MAX_BYTES = Int32Array.from(EVENT_FIELDS.map((f) => f.maxBytes ?? 0x7fffffff));
const TS = EVENT_FIELDS.findIndex((f) => f.name === 'ts');
const PAGE = EVENT_FIELDS.findIndex((f) => f.name === 'page');
const NEXT_SONG = Buffer.from('NextSong', 'latin1');
const INT32_MAX = 2_147_483_647;

/** Field indices by key length and first byte: keys are ASCII and short, at most two share a slot. */
const BY_SHAPE = new Map<number, number[]>();
EVENT_FIELDS.forEach((f, i) => {
  const slot = f.name.length * 128 + f.name.charCodeAt(0);
  BY_SHAPE.set(slot, [...(BY_SHAPE.get(slot) ?? []), i]);
});

// Field kinds, as small integers for the hot loop.
const K_TEXT = 0;
const K_INT = 1;
const K_FLOAT = 2;
const K_USER_ID = 3;
const KIND = Uint8Array.from(
  EVENT_FIELDS.map((f) => ({ text: K_TEXT, int: K_INT, float: K_FLOAT, userId: K_USER_ID })[f.kind]),
);

/** Byte classes inside a JSON string: 0 plain, 1 the closing quote, 2 a backslash, 3 a raw control character. */
const CLS = new Uint8Array(256);
CLS.fill(3, 0, 0x20);
CLS[0x22] = 1;
CLS[0x5c] = 2;

const enum Scan {
  Row,
  OutsideInterval,
  /** Not in the common shape: let the general path decide. */
  General,
}

export interface EncodeStats {
  linesRead: number;
  rowsStaged: number;
  nextSongRows: number;
}

export type BadLineHandler = (line: number, reason: string, text: string) => void;

/**
 * Encodes event lines into COPY text chunks of about `chunkBytes`, keeping events with ts in
 * [startMs, endMs). Feed it the bytes of whole lines with `encode`; take the filled chunks with `take`.
 */
export class EventCopyEncoder {
  /** Lines that took the general path: a number to watch (and to test) when the data changes shape. */
  generalLines = 0;
  private out: Buffer;
  private pos = 0;
  private ready: Buffer[] = [];

  constructor(
    private readonly startMs: number,
    private readonly endMs: number,
    private readonly stats: EncodeStats,
    private readonly onBadLine: BadLineHandler,
    private readonly chunkBytes = 64 * 1024,
  ) {
    this.out = Buffer.allocUnsafe(chunkBytes + 1024);
  }

  /**
   * Encodes the lines of buf[start, end): whole lines, the last one ending with '\n' or at the end of the
   * file. `firstLine` is the line number of the first one. Returns how many lines there were.
   */
  encode(buf: Buffer, start: number, end: number, firstLine: number): number {
    // Complete lines never split a UTF-8 character; if this stretch is not valid UTF-8, every line of it
    // takes the general path, which decodes as Node does (invalid bytes become U+FFFD).
    const utf8 = isUtf8(buf.subarray(start, end));
    let line = firstLine;
    let from = start;
    while (from < end) {
      let nl = buf.indexOf(10, from);
      if (nl === -1 || nl >= end) nl = end;
      let stop = nl;
      if (stop > from && buf[stop - 1] === 13) stop--;
      this.stats.linesRead++;
      this.line(buf, from, stop, line, utf8);
      line++;
      from = nl + 1;
    }
    return line - firstLine;
  }

  /** Chunks filled so far, ready to send. */
  take(): Buffer[] {
    const r = this.ready;
    this.ready = [];
    return r;
  }

  /** At the end of the input: every chunk not taken yet, the last one partly filled. */
  finish(): Buffer[] {
    if (this.pos > 0) {
      this.ready.push(this.out.subarray(0, this.pos));
      this.out = Buffer.allocUnsafe(this.chunkBytes + 1024);
      this.pos = 0;
    }
    return this.take();
  }

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.out.length) return;
    if (this.pos > 0) this.ready.push(this.out.subarray(0, this.pos));
    this.out = Buffer.allocUnsafe(Math.max(this.chunkBytes, bytes) + 1024);
    this.pos = 0;
  }

  private line(buf: Buffer, start: number, end: number, lineNo: number, utf8: boolean): void {
    if (start === end) return;
    // A line of another interval is skipped at the cost of finding its time: an hourly run reads a whole
    // day file, and 23 of its 24 parts belong to other runs.
    // A time no interval can hold (before year 1 or after 9999) is not skipped: the line is reported.
    const ts = timeOfLine(buf, start, end, this.startMs, this.endMs);
    if (ts !== undefined && (ts < this.startMs || ts >= this.endMs) && ts >= TS_MIN && ts < TS_MAX) return;
    // A row is at most the line's bytes (decoding escapes never grows them) plus separators and \N's.
    this.reserve(end - start + 4 * N_FIELDS);
    const mark = this.pos;
    const result = utf8 ? this.scan(buf, start, end) : Scan.General;
    if (result === Scan.Row) {
      this.stats.rowsStaged++;
    } else if (result === Scan.OutsideInterval) {
      this.pos = mark;
    } else {
      this.pos = mark;
      this.generalLines++;
      this.general(buf, start, end, lineNo, utf8);
    }
    if (this.pos >= this.chunkBytes) {
      this.ready.push(this.out.subarray(0, this.pos));
      this.out = Buffer.allocUnsafe(this.chunkBytes + 1024);
      this.pos = 0;
    }
  }

  private general(buf: Buffer, start: number, end: number, lineNo: number, utf8: boolean): void {
    const text = buf.toString('utf8', start, end);
    if (text.trim() === '') return;
    let row;
    try {
      if (!utf8) decodeUtf8(buf, start, end);
      row = encodeEventLine(text);
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      const ts = eventTimeOf(text);
      if (ts === undefined || (ts >= this.startMs && ts < this.endMs)) this.onBadLine(lineNo, err.message, text);
      return;
    }
    if (row.ts < this.startMs || row.ts >= this.endMs) return;
    this.stats.rowsStaged++;
    if (row.page === 'NextSong') this.stats.nextSongRows++;
    const bytes = Buffer.byteLength(row.row);
    this.reserve(bytes);
    this.pos += this.out.write(row.row, this.pos, 'utf8');
  }

  /**
   * Scans one line and, when it is in the common shape and inside the interval, writes its row: a single
   * pass that copies each value into its column as it goes. Keys may be missing or unknown, but those it
   * knows must come in column order (as Sparkify's producers write them); anything else is General.
   */
  private scan(b: Buffer, start: number, end: number): Scan {
    const out = this.out;
    let p = this.pos;
    let col = 0; // the next column to write
    let ts = 0;
    let nextSong = false;
    let i = skipWs(b, start, end);
    if (b[i] !== 0x7b /* { */) return Scan.General;
    i = skipWs(b, i + 1, end);
    if (b[i] === 0x7d /* } */) return Scan.General;
    for (;;) {
      // key
      if (b[i] !== 0x22 /* " */) return Scan.General;
      const k0 = i + 1;
      let k: number;
      let f: number;
      if (col < N_FIELDS && startsWithKey(b, k0, end, col)) {
        f = col; // the usual case: the next column's key
        k = k0 + (KEY_BYTES[col] as Buffer).length;
      } else {
        k = k0;
        while (k < end && CLS[b[k] as number] === 0) k++;
        if (b[k] !== 0x22 || k >= end) return Scan.General;
        f = fieldOf(b, k0, k);
      }
      i = skipWs(b, k + 1, end);
      if (b[i] !== 0x3a /* : */) return Scan.General;
      i = skipWs(b, i + 1, end);

      if (f < 0) {
        i = skipValue(b, i, end); // a field staging does not keep
        if (i < 0) return Scan.General;
      } else {
        if (f < col) return Scan.General; // repeated, or out of column order
        for (; col < f; col++) {
          if (REQUIRED[col]) return Scan.General;
          if (col > 0) out[p++] = 0x09;
          out[p++] = 0x5c;
          out[p++] = 0x4e; // \N
        }
        if (f > 0) out[p++] = 0x09;
        col = f + 1;
        const kind = KIND[f];
        const c = b[i] as number;
        if (c === 0x22) {
          if (kind !== K_TEXT && kind !== K_USER_ID) return Scan.General;
          const v0 = p;
          let j = i + 1;
          for (;;) {
            if (j >= end) return Scan.General;
            const x = b[j] as number;
            const cls = CLS[x];
            if (cls === 0) {
              out[p++] = x;
              j++;
            } else if (cls === 1) {
              break;
            } else if (cls === 3) {
              return Scan.General; // a raw control character: not JSON
            } else {
              // a backslash escape, decoded and re-escaped for COPY
              const y = b[j + 1];
              if (y === 0x22 || y === 0x2f) {
                out[p++] = y;
              } else if (y === 0x5c) {
                out[p++] = 0x5c;
                out[p++] = 0x5c;
              } else if (y === 0x6e || y === 0x74 || y === 0x72) {
                out[p++] = 0x5c;
                out[p++] = y; // \n \t \r mean the same in COPY text
              } else if (y === 0x62) {
                out[p++] = 0x08;
              } else if (y === 0x66) {
                out[p++] = 0x0c;
              } else if (y === 0x75) {
                if (j + 5 >= end) return Scan.General;
                const u =
                  (hex(b[j + 2] as number) << 12) |
                  (hex(b[j + 3] as number) << 8) |
                  (hex(b[j + 4] as number) << 4) |
                  hex(b[j + 5] as number);
                // invalid hex, NUL and surrogate pairs are left to the general path
                if (u <= 0 || (u >= 0xd800 && u <= 0xdfff)) return Scan.General;
                p = writeCodePoint(u, out, p);
                j += 4;
              } else {
                return Scan.General;
              }
              j += 2;
            }
          }
          i = j + 1;
          if (p - v0 > (MAX_BYTES[f] as number)) return Scan.General; // wider than its column
          if (kind === K_USER_ID) {
            // a string of up to 9 digits, possibly empty
            if (p - v0 > 9) return Scan.General;
            for (let x = v0; x < p; x++)
              if ((out[x] as number) < 0x30 || (out[x] as number) > 0x39) return Scan.General;
          } else if (f === PAGE) {
            nextSong = p - v0 === 8;
            for (let x = 0; nextSong && x < 8; x++) nextSong = out[v0 + x] === NEXT_SONG[x];
          }
        } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
          if (kind === K_TEXT || kind === K_USER_ID) return Scan.General; // the general path converts
          let j = i;
          if (c === 0x2d) {
            out[p++] = 0x2d;
            j++;
          }
          const d0 = j;
          let v = 0;
          if (b[j] === 0x30) {
            out[p++] = 0x30;
            j++;
          } else {
            for (let x = b[j] as number; j < end && x >= 0x30 && x <= 0x39; x = b[++j] as number) {
              v = v * 10 + (x - 0x30);
              out[p++] = x;
            }
          }
          const digits = j - d0;
          if (digits === 0 || digits > 16) return Scan.General;
          let x = b[j] as number;
          if (x >= 0x30 && x <= 0x39) return Scan.General; // a leading zero: not JSON
          if (x === 0x2e /* . */) {
            if (kind !== K_FLOAT) return Scan.General; // 12.0 as an integer: the general path decides
            out[p++] = 0x2e;
            const f0 = ++j;
            for (x = b[j] as number; j < end && x >= 0x30 && x <= 0x39; x = b[++j] as number) out[p++] = x;
            if (j === f0 || j - f0 > 17) return Scan.General;
            x = b[j] as number;
          }
          if (x === 0x65 || x === 0x45) return Scan.General; // exponents (and their overflow) too
          if (kind === K_INT) {
            if (v > Number.MAX_SAFE_INTEGER) return Scan.General;
            if (f === TS) {
              ts = c === 0x2d ? -v : v;
              if (ts < TS_MIN || ts >= TS_MAX) return Scan.General;
            } else if (v > INT32_MAX) return Scan.General;
          }
          i = j;
        } else if (c === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c) {
          if (REQUIRED[f]) return Scan.General;
          out[p++] = 0x5c;
          out[p++] = 0x4e;
          i += 4;
        } else {
          return Scan.General; // true, false, objects, arrays, or not JSON
        }
      }
      i = skipWs(b, i, end);
      if (b[i] === 0x2c /* , */) {
        i = skipWs(b, i + 1, end);
        continue;
      }
      if (b[i] !== 0x7d || skipWs(b, i + 1, end) !== end) return Scan.General;
      break;
    }
    for (; col < N_FIELDS; col++) {
      if (REQUIRED[col]) return Scan.General; // ts among them
      if (col > 0) out[p++] = 0x09;
      out[p++] = 0x5c;
      out[p++] = 0x4e;
    }
    // The line is well-formed JSON. One of another interval is left to the run of that interval, which
    // also reports any field that does not fit (as the general path does).
    if (ts < this.startMs || ts >= this.endMs) return Scan.OutsideInterval;
    out[p++] = 0x0a;
    this.pos = p;
    if (nextSong) this.stats.nextSongRows++;
    return Scan.Row;
  }
}

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
    while (k - 1 - slashes >= start && b[k - 1 - slashes] === 0x5c) slashes++;
    if (slashes % 2 === 1) {
      k = lastTsKey(b, start, k - 1);
      continue;
    }
    let i = skipWs(b, k + 4, end);
    if (b[i] === 0x3a /* : */) {
      i = skipWs(b, i + 1, end);
      const negative = b[i] === 0x2d;
      if (negative) i++;
      const d0 = i;
      let v = 0;
      for (let x = b[i] as number; i < end && x >= 0x30 && x <= 0x39; x = b[++i] as number) v = v * 10 + (x - 0x30);
      if (i === d0 || i - d0 > 16 || (b[d0] === 0x30 && i - d0 > 1)) return undefined;
      // the number must end where a value ends: not 12.5, 1e3, or a line cut short after some digits
      const after = skipWs(b, i, end);
      if (b[after] !== 0x2c && b[after] !== 0x7d) return undefined;
      // When the first '}' after the value ends the line, the key's object is the outermost one; only other
      // lines need the exact scan.
      const ts = negative ? -v : v;
      if (ts >= lo && ts < hi) return ts;
      // A later key written with escapes (`"t\u0073"`) may decode to "ts" and win: only JSON.parse can tell.
      if (escapedKeyAfter(b, after, end)) return undefined;
      if (b.indexOf(0x7d, after) === skipWsBack(b, start, end) - 1) return ts;
      if (atTopLevel(b, after, end)) return ts;
    }
    k = lastTsKey(b, start, k - 1);
  }
  return undefined;
}

/** Where the last `"ts"` starting at or before `from` (and at or after `start`) is, or -1. */
function lastTsKey(b: Buffer, start: number, from: number): number {
  // a plain loop: for a key a hundred bytes from the end it is several times cheaper than Buffer.lastIndexOf
  for (let k = from; k >= start; k--) {
    if (b[k + 1] === 0x74 && b[k] === 0x22 && b[k + 2] === 0x73 && b[k + 3] === 0x22) return k;
  }
  return -1;
}

/** Whether a key (a string followed by ':') after position i holds a backslash escape. */
function escapedKeyAfter(b: Buffer, i: number, end: number): boolean {
  for (; i < end; i++) {
    if (b[i] !== 0x22) continue;
    let escaped = false;
    for (i++; i < end; i++) {
      const x = b[i];
      if (x === 0x22) break;
      if (x === 0x5c) {
        escaped = true;
        i++;
      }
    }
    if (escaped && b[skipWs(b, i + 1, end)] === 0x3a) return true;
  }
  return false;
}

/** The end of b[start, end) without its trailing whitespace. */
function skipWsBack(b: Buffer, start: number, end: number): number {
  while (end > start) {
    const c = b[end - 1];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    end--;
  }
  return end;
}

/**
 * Whether a value followed by b[i] (',' or '}') belongs to the line's outermost object: what follows it
 * closes exactly one more object than it opens, and that last '}' ends the line. A line cut short before
 * its end counts as top level, so a truncated line still belongs to the interval its time names.
 */
function atTopLevel(b: Buffer, i: number, end: number): boolean {
  let depth = 0;
  for (; i < end; i++) {
    const c = b[i] as number;
    if (c === 0x22) {
      for (i++; i < end; i++) {
        const x = b[i];
        if (x === 0x22) break;
        if (x === 0x5c) i++;
      }
    } else if (c === 0x7d || c === 0x5d) {
      if (--depth < 0) return skipWs(b, i + 1, end) === end;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
    }
  }
  return true;
}

function skipWs(b: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/** Whether b[s, ...) holds field f's name and its closing quote. */
function startsWithKey(b: Buffer, s: number, end: number, f: number): boolean {
  const key = KEY_BYTES[f] as Buffer;
  const n = key.length;
  if (s + n >= end || b[s + n] !== 0x22) return false;
  for (let x = 0; x < n; x++) if (key[x] !== b[s + x]) return false;
  return true;
}

/** Index of the event field whose name is b[s, e), or -1. */
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

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function writeCodePoint(u: number, out: Buffer, p: number): number {
  if (u < 0x20) {
    // control characters: COPY needs tab, newline and carriage return escaped; others pass as they are
    if (u === 0x09 || u === 0x0a || u === 0x0d) {
      out[p++] = 0x5c;
      out[p++] = u === 0x09 ? 0x74 : u === 0x0a ? 0x6e : 0x72;
    } else {
      out[p++] = u;
    }
  } else if (u === 0x5c) {
    out[p++] = 0x5c;
    out[p++] = 0x5c;
  } else if (u < 0x80) {
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

/** Skips a string, number or literal at b[i]; returns where it ends, or -1 for anything else. */
function skipValue(b: Buffer, i: number, end: number): number {
  const c = b[i] as number;
  if (c === 0x22) {
    let j = i + 1;
    for (;;) {
      if (j >= end) return -1;
      const cls = CLS[b[j] as number];
      if (cls === 1) return j + 1;
      if (cls === 3) return -1;
      if (cls === 2) {
        const y = b[j + 1];
        if (y === 0x75) {
          if (
            j + 5 >= end ||
            (hex(b[j + 2] as number) | hex(b[j + 3] as number) | hex(b[j + 4] as number) | hex(b[j + 5] as number)) < 0
          )
            return -1;
          j += 6;
        } else if (
          y === 0x22 ||
          y === 0x5c ||
          y === 0x2f ||
          y === 0x62 ||
          y === 0x66 ||
          y === 0x6e ||
          y === 0x72 ||
          y === 0x74
        ) {
          j += 2;
        } else {
          return -1;
        }
      } else {
        j++;
      }
    }
  }
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    let j = c === 0x2d ? i + 1 : i;
    const d0 = j;
    if (b[j] === 0x30) j++;
    else while (j < end && (b[j] as number) >= 0x30 && (b[j] as number) <= 0x39) j++;
    if (j === d0 || ((b[j] as number) >= 0x30 && (b[j] as number) <= 0x39)) return -1;
    if (b[j] === 0x2e) {
      const f0 = ++j;
      while (j < end && (b[j] as number) >= 0x30 && (b[j] as number) <= 0x39) j++;
      if (j === f0) return -1;
    }
    if (b[j] === 0x65 || b[j] === 0x45) {
      j++;
      if (b[j] === 0x2b || b[j] === 0x2d) j++;
      const e0 = j;
      while (j < end && (b[j] as number) >= 0x30 && (b[j] as number) <= 0x39) j++;
      if (j === e0) return -1;
    }
    return j;
  }
  if (c === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c) return i + 4; // null
  if (c === 0x74 && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65) return i + 4; // true
  if (c === 0x66 && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65) return i + 5; // false
  return -1;
}
