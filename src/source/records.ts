/**
 * Parsing and validating source records, and encoding them as rows of PostgreSQL's COPY text format.
 * A record that does not fit is reported with the field and the reason, never silently dropped.
 */

type Kind = 'text' | 'int' | 'float' | 'userId';
interface Field {
  name: string;
  kind: Kind;
  required?: boolean;
}

/** Event fields in staging_events column order. */
export const EVENT_FIELDS: readonly Field[] = [
  { name: 'artist', kind: 'text' },
  { name: 'auth', kind: 'text' },
  { name: 'firstName', kind: 'text' },
  { name: 'gender', kind: 'text' },
  { name: 'itemInSession', kind: 'int', required: true },
  { name: 'lastName', kind: 'text' },
  { name: 'length', kind: 'float' },
  { name: 'level', kind: 'text' },
  { name: 'location', kind: 'text' },
  { name: 'method', kind: 'text' },
  { name: 'page', kind: 'text', required: true },
  { name: 'registration', kind: 'float' },
  { name: 'sessionId', kind: 'int', required: true },
  { name: 'song', kind: 'text' },
  { name: 'status', kind: 'int' },
  { name: 'ts', kind: 'int', required: true },
  { name: 'userAgent', kind: 'text' },
  { name: 'userId', kind: 'userId' },
];
const TS_INDEX = EVENT_FIELDS.findIndex((f) => f.name === 'ts');
const PAGE_INDEX = EVENT_FIELDS.findIndex((f) => f.name === 'page');

/** Song fields in the COPY column order of statements.copySongsIntoBatch. */
export const SONG_FIELDS: readonly Field[] = [
  { name: 'num_songs', kind: 'int' },
  { name: 'artist_id', kind: 'text', required: true },
  { name: 'artist_latitude', kind: 'float' },
  { name: 'artist_longitude', kind: 'float' },
  { name: 'artist_location', kind: 'text' },
  { name: 'artist_name', kind: 'text' },
  { name: 'song_id', kind: 'text', required: true },
  { name: 'title', kind: 'text' },
  { name: 'duration', kind: 'float' },
  { name: 'year', kind: 'int' },
];

export class RecordError extends Error {
  override name = 'RecordError';
}

const INT32_MAX = 2_147_483_647;

type Value = string | number | null;

function describe(v: unknown): string {
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
      if (typeof raw === 'string') return raw;
      if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
      break;
    case 'int': {
      const n = typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
      if (typeof n === 'number' && Number.isSafeInteger(n)) {
        if (field.name !== 'ts' && Math.abs(n) > INT32_MAX) break;
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
      if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0 && raw <= INT32_MAX) return String(raw);
      if (typeof raw === 'string' && /^\d{0,9}$/.test(raw.trim())) return raw.trim();
      break;
  }
  const expected = { text: 'a string', int: 'an integer', float: 'a number', userId: 'a numeric user id' }[field.kind];
  throw new RecordError(`field "${field.name}" must be ${expected}, got ${describe(raw)}`);
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
    throw new RecordError(`invalid JSON (${(err as Error).message})`);
  }
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
export function parseSongFile(text: string): Value[][] {
  const trimmed = text.trim();
  if (trimmed === '') throw new RecordError('empty file');
  let docs: unknown[];
  try {
    const parsed = JSON.parse(trimmed) as unknown;
    docs = Array.isArray(parsed) ? parsed : [parsed];
  } catch (err) {
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length < 2) throw new RecordError(`invalid JSON (${(err as Error).message})`);
    docs = lines.map((l, i) => {
      try {
        return JSON.parse(l) as unknown;
      } catch (e) {
        throw new RecordError(`line ${i + 1}: invalid JSON (${(e as Error).message})`);
      }
    });
  }
  return docs.map((d) => fieldsOf(d, SONG_FIELDS));
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
  return typeof ts === 'number' && Number.isSafeInteger(ts) ? ts : undefined;
}

export interface EncodedEvent {
  /** The staging row in COPY text format, newline included. */
  row: string;
  ts: number;
  page: string;
}

const EVENT_KEYS = EVENT_FIELDS.map((f) => f.name);
const EVENT_KINDS = EVENT_FIELDS.map((f) => f.kind);
const EVENT_INT_MAX = EVENT_FIELDS.map((f) => (f.name === 'ts' ? Number.MAX_SAFE_INTEGER : INT32_MAX));

/**
 * parseEventLine + toCopyRow in one pass, for the staging hot path: the common shapes (a string, a whole
 * number, a finite number, null) are encoded inline; anything else goes through the general conversion,
 * which accepts what it can and otherwise throws the same RecordError.
 */
export function encodeEventLine(text: string): EncodedEvent {
  const record = parseJson(text);
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new RecordError(`expected a JSON object, got ${describe(record)}`);
  }
  const r = record as Record<string, unknown>;
  let row = '';
  let ts = 0;
  let page = '';
  for (let i = 0; i < EVENT_KEYS.length; i++) {
    const raw = r[EVENT_KEYS[i] as string];
    const kind = EVENT_KINDS[i];
    let cell: string;
    if (kind === 'text' && typeof raw === 'string') {
      cell = NEEDS_ESCAPE.test(raw) ? escapeCopy(raw) : raw;
    } else if (
      kind === 'int' &&
      typeof raw === 'number' &&
      Number.isInteger(raw) &&
      Math.abs(raw) <= (EVENT_INT_MAX[i] as number)
    ) {
      cell = String(raw);
    } else if (kind === 'float' && typeof raw === 'number' && Number.isFinite(raw)) {
      cell = String(raw);
    } else if (raw === null && !EVENT_FIELDS[i]!.required) {
      cell = '\\N';
    } else {
      const v = convert(EVENT_FIELDS[i] as Field, raw);
      cell = v === null ? '\\N' : typeof v === 'number' ? String(v) : escapeCopy(v);
    }
    if (i === TS_INDEX) ts = Number(cell);
    else if (i === PAGE_INDEX) page = cell;
    row += i === 0 ? cell : '\t' + cell;
  }
  return { row: row + '\n', ts, page };
}
