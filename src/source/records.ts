/**
 * Parsing and validating source records, and encoding them as rows of PostgreSQL's COPY text format.
 * A record that does not fit is reported with the field and the reason, never silently dropped.
 */

type Kind = 'text' | 'int' | 'float' | 'userId';

/** The whole numbers a field takes. */
interface IntRange {
  min: number;
  max: number;
  /** How an int field's error names a value outside them. */
  outside?: string;
}

/**
 * One field's rules, read by both paths that check a value: the conversion here and the event encoder's byte
 * scan (event-scan.ts), which copies what fits them and leaves anything else to this module.
 */
interface FieldSpec {
  name: string;
  kind: Kind;
  required?: boolean;
  /**
   * The most UTF-8 bytes a text value may hold: the width of its Redshift column (sql/redshift/001_schema.sql).
   * PostgreSQL's text columns would take more, but a value one warehouse refuses is a bad line in both, and
   * the bound keeps every index entry over these columns (staging_songs' match key) far below the btree limit.
   */
  maxBytes?: number;
  /** int, and a userId written as a number: the values its column takes (an int column's by default). */
  range?: IntRange;
  /** userId written as a string: the most digits it may have (none when logged out). */
  maxDigits?: number;
}
export type Field = Required<FieldSpec>;

const INT32_MAX = 2_147_483_647;
/**
 * Event times the warehouse can store as a timestamp: years 1 to 9999 (UTC). PostgreSQL and Redshift go
 * further, but intervals are named with four-digit years, so an event outside these could never be loaded.
 */
export const TS_MIN = -62_135_596_800_000;
export const TS_MAX = 253_402_300_800_000;

/** An integer column; -2^31, which it could hold, is refused as well. */
const INT32: IntRange = { min: -INT32_MAX, max: INT32_MAX, outside: 'out of range for a 32-bit integer' };
const EVENT_TIME: IntRange = { min: TS_MIN, max: TS_MAX - 1, outside: 'out of range (years 1 to 9999)' };
/** users.user_id: a string of up to 9 digits always fits it; a number must not be negative. */
const USER_ID: Pick<FieldSpec, 'range' | 'maxDigits'> = { range: { min: 0, max: INT32_MAX }, maxDigits: 9 };

function rules(fields: FieldSpec[]): readonly Field[] {
  return fields.map((f) => ({ required: false, maxBytes: Infinity, range: INT32, maxDigits: 0, ...f }));
}

/** Event fields in staging_events column order. */
export const EVENT_FIELDS = rules([
  { name: 'artist', kind: 'text', maxBytes: 512 },
  { name: 'auth', kind: 'text', maxBytes: 32 },
  { name: 'firstName', kind: 'text', maxBytes: 256 },
  { name: 'gender', kind: 'text', maxBytes: 8 },
  { name: 'itemInSession', kind: 'int', required: true },
  { name: 'lastName', kind: 'text', maxBytes: 256 },
  { name: 'length', kind: 'float' },
  { name: 'level', kind: 'text', maxBytes: 16 },
  { name: 'location', kind: 'text', maxBytes: 512 },
  { name: 'method', kind: 'text', maxBytes: 16 },
  { name: 'page', kind: 'text', required: true, maxBytes: 64 },
  { name: 'registration', kind: 'float' },
  { name: 'sessionId', kind: 'int', required: true },
  { name: 'song', kind: 'text', maxBytes: 512 },
  { name: 'status', kind: 'int' },
  { name: 'ts', kind: 'int', required: true, range: EVENT_TIME },
  { name: 'userAgent', kind: 'text', maxBytes: 1024 },
  { name: 'userId', kind: 'userId', ...USER_ID },
]);
const TS_INDEX = EVENT_FIELDS.findIndex((f) => f.name === 'ts');
const PAGE_INDEX = EVENT_FIELDS.findIndex((f) => f.name === 'page');

/** Song fields in the COPY column order of statements.copySongsIntoBatch. */
export const SONG_FIELDS = rules([
  { name: 'num_songs', kind: 'int' },
  { name: 'artist_id', kind: 'text', required: true, maxBytes: 32 },
  { name: 'artist_latitude', kind: 'float' },
  { name: 'artist_longitude', kind: 'float' },
  { name: 'artist_location', kind: 'text', maxBytes: 512 },
  { name: 'artist_name', kind: 'text', maxBytes: 512 },
  { name: 'song_id', kind: 'text', required: true, maxBytes: 32 },
  { name: 'title', kind: 'text', maxBytes: 512 },
  { name: 'duration', kind: 'float' },
  { name: 'year', kind: 'int' },
]);

export class RecordError extends Error {
  override name = 'RecordError';
}

export type Value = string | number | null;

function describe(v: unknown): string {
  // JSON.parse reads a number past a double's range (1e400) as Infinity, which JSON.stringify writes as null
  if (typeof v === 'number' && !Number.isFinite(v)) return 'a number beyond the range of a double (about 1.8e308)';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s;
}

function convert(field: Field, raw: unknown): Value {
  if (raw === undefined || raw === null || (raw === '' && field.kind !== 'text' && field.kind !== 'userId')) {
    if (field.required) throw new RecordError(`field "${field.name}" is missing`);
    return null;
  }
  switch (field.kind) {
    case 'text':
      if (typeof raw === 'string') return checkText(field, raw);
      if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
      break;
    case 'int': {
      const n = typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
      if (typeof n === 'number' && Number.isSafeInteger(n)) {
        if (n < field.range.min || n > field.range.max) {
          throw new RecordError(`field "${field.name}" is ${field.range.outside}, got ${n}`);
        }
        return n;
      }
      break;
    }
    case 'float': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof n === 'number' && Number.isFinite(n)) return n;
      break;
    }
    case 'userId':
      // userId is a string of digits, "" when logged out; some producers write a number.
      if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= field.range.min && raw <= field.range.max)
        return String(raw);
      if (typeof raw === 'string') {
        const digits = raw.trim();
        if (digits.length <= field.maxDigits && /^\d*$/.test(digits)) return digits;
      }
      break;
  }
  const expected = { text: 'a string', int: 'an integer', float: 'a number', userId: 'a numeric user id' }[field.kind];
  throw new RecordError(`field "${field.name}" must be ${expected}, got ${describe(raw)}`);
}

/**
 * What the warehouse would refuse in a string, found before it does: a NUL (PostgreSQL text cannot hold one;
 * COPY fails the whole load with 22021), a lone surrogate (not encodable as UTF-8; it would be stored as
 * U+FFFD) and a value wider than its column.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkText(field: Field, s: string): string {
  if (s.includes('\u0000')) throw new RecordError(`field "${field.name}" contains a NUL character (\\u0000)`);
  if (LONE_SURROGATE.test(s)) throw new RecordError(`field "${field.name}" is not valid Unicode (a lone surrogate)`);
  if (s.length > field.maxBytes / 3) {
    const bytes = Buffer.byteLength(s, 'utf8');
    if (bytes > field.maxBytes) {
      throw new RecordError(`field "${field.name}" is ${bytes} bytes long; its column holds at most ${field.maxBytes}`);
    }
  }
  return s;
}

function fieldsOf(record: unknown, fields: readonly Field[]): Value[] {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new RecordError(`expected a JSON object, got ${describe(record)}`);
  }
  const r = record as Record<string, unknown>;
  return fields.map((f) => convert(f, r[f.name]));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RecordError(`invalid JSON (${visible((err as Error).message)})`);
  }
}

/**
 * JSON.parse's messages quote the text near the error as it is: a NUL is shown as \0, and any other character a
 * terminal would not show or would show as a plain space (control characters, U+00A0, U+2028, a byte-order
 * mark, ...) as its \u escape, so that a person reading the message sees what is in the line.
 */
function visible(message: string): string {
  return message
    .replaceAll('\u0000', '\\0')
    .replace(/[\p{Cc}\p{Cf}\p{Z}]/gu, (c) =>
      c === ' ' ? c : `\\u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`,
    );
}

export interface EventRow {
  values: Value[];
  ts: number;
  page: string;
}

/** Parses one line of an event log. Throws RecordError with the reason when it does not fit. */
export function parseEventLine(text: string): EventRow {
  const values = fieldsOf(parseJson(text), EVENT_FIELDS);
  return { values, ts: values[TS_INDEX] as number, page: values[PAGE_INDEX] as string };
}

/** Parses a song file: one JSON object (the Sparkify layout), or an array, or one object per line. */
export function parseSongFile(content: string | Uint8Array): Value[][] {
  const text = typeof content === 'string' ? content : songFileText(content);
  const trimmed = text.trim();
  if (trimmed === '') throw new RecordError('empty file');
  let docs: unknown[];
  try {
    const parsed = JSON.parse(trimmed) as unknown;
    docs = Array.isArray(parsed) ? parsed : [parsed];
  } catch (err) {
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length < 2) throw new RecordError(`invalid JSON (${visible((err as Error).message)})`);
    docs = lines.map((l, i) => {
      try {
        return JSON.parse(l) as unknown;
      } catch (e) {
        throw new RecordError(`line ${i + 1}: invalid JSON (${visible((e as Error).message)})`);
      }
    });
  }
  return docs.map((d) => fieldsOf(d, SONG_FIELDS));
}

function songFileText(b: Uint8Array): string {
  const at = invalidUtf8At(b);
  if (at < 0) return Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8');
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at; i++) {
    if (b[i] === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const byte = (b[at] as number).toString(16).padStart(2, '0');
  throw new RecordError(`line ${line}: invalid UTF-8 (byte 0x${byte} at offset ${at - lineStart})`);
}

// COPY ... FROM STDIN text format: tab-separated, \N for NULL, backslash escapes.
const NEEDS_ESCAPE = /[\\\t\n\r]/;
function escapeCopy(s: string): string {
  return NEEDS_ESCAPE.test(s)
    ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : s;
}

export function toCopyRow(values: readonly Value[]): string {
  let out = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += '\t';
    out += v === null || v === undefined ? '\\N' : typeof v === 'number' ? String(v) : escapeCopy(v);
  }
  return out + '\n';
}

/**
 * The event time of a line that failed to parse as an event, when it can be read: well-formed JSON with an
 * integer `ts`. A bad line is reported by the run of the interval it belongs to; one whose time cannot be
 * read is reported by every run that reads its file.
 */
export function eventTimeOf(text: string): number | undefined {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null) return undefined;
  const raw = (record as Record<string, unknown>).ts;
  const ts = typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
  return typeof ts === 'number' && Number.isSafeInteger(ts) && ts >= TS_MIN && ts < TS_MAX ? ts : undefined;
}

/**
 * Where the first byte that is not part of valid UTF-8 is in b[start, end), or -1. Overlong forms, surrogates
 * and code points past U+10FFFF are invalid too, as for Buffer's isUtf8.
 */
export function invalidUtf8At(b: Uint8Array, start = 0, end = b.length): number {
  let i = start;
  while (i < end) {
    const c = b[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0 || i + n >= end) return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const x = b[i + k] as number;
      if ((x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < (n === 1 ? 0x80 : n === 2 ? 0x800 : 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/** The text of a line's bytes, or a RecordError naming the first byte that is not UTF-8. */
export function decodeUtf8(b: Uint8Array, start = 0, end = b.length): string {
  const at = invalidUtf8At(b, start, end);
  if (at >= 0) {
    const byte = (b[at] as number).toString(16).padStart(2, '0');
    throw new RecordError(`invalid UTF-8 (byte 0x${byte} at offset ${at - start})`);
  }
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
}

export interface EncodedEvent {
  /** The staging row's values in column order (EVENT_FIELDS): strings, numbers or null. */
  values: Value[];
  ts: number;
  page: string | null;
}

/**
 * parseEventLine in one pass, for the staging hot path's general path: the common shapes (a string, a whole
 * number, a finite number, null) are taken inline; anything else goes through the general conversion, which
 * accepts what it can and otherwise throws the same RecordError.
 */
export function encodeEventLine(text: string): EncodedEvent {
  const record = parseJson(text);
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new RecordError(`expected a JSON object, got ${describe(record)}`);
  }
  const r = record as Record<string, unknown>;
  const values: Value[] = new Array<Value>(EVENT_FIELDS.length);
  for (let i = 0; i < EVENT_FIELDS.length; i++) {
    const field = EVENT_FIELDS[i] as Field;
    const raw = r[field.name];
    if (field.kind === 'text' && typeof raw === 'string') {
      values[i] = checkText(field, raw);
    } else if (
      field.kind === 'int' &&
      typeof raw === 'number' &&
      Number.isInteger(raw) &&
      raw >= field.range.min &&
      raw <= field.range.max
    ) {
      values[i] = raw;
    } else if (field.kind === 'float' && typeof raw === 'number' && Number.isFinite(raw)) {
      values[i] = raw;
    } else if (raw === null && !field.required) {
      values[i] = null;
    } else {
      values[i] = convert(field, raw);
    }
  }
  return { values, ts: values[TS_INDEX] as number, page: values[PAGE_INDEX] as string | null };
}
