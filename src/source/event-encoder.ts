/**
 * The staging hot path: event-log bytes in, rows of PostgreSQL's binary COPY format out, without building a
 * JavaScript object or string per event. Binary rather than text: the warehouse then neither splits nor
 * unescapes the rows nor converts numbers from text, which is most of what COPY costs it.
 *
 * A line of another interval is skipped once its `ts` is read. A line in the common shape (one flat JSON object
 * whose values are strings, numbers or null, its known keys in column order, in valid UTF-8) is scanned byte by
 * byte and its field values are written straight into the output buffer (both scans: event-scan.ts). Any other
 * line (keys out of order, nested values, booleans, numbers of the wrong form, missing required fields, invalid
 * JSON or UTF-8, ...) goes through the general path, records.encodeEventLine, which accepts what it can and
 * otherwise reports the field and the reason. Both paths produce the same rows and the same errors
 * (test/event-encoder.test.ts); the fast one takes about a sixth of the CPU time. The stream's header and
 * trailer (COPY_BINARY_HEADER, COPY_BINARY_TRAILER) are the caller's to send, once around all its files' rows.
 *
 * Which interval a line belongs to is one rule, timeOfEventLine; the encoder applies it piece by piece (its time
 * as scanned, else what the line's parsing says), and the source index (hour-digest.ts) digests lines by hour
 * with it.
 */
import { isUtf8 } from 'node:buffer';
import { EventScanner, rowBytes, rowRoom, scannedTime, writeRow } from './event-scan';
import { decodeUtf8, encodeEventLine, eventTimeOf, RecordError, type EncodedEvent } from './records';

export { COPY_BINARY_HEADER, COPY_BINARY_TRAILER, lineTime } from './event-scan';

export interface EncodeStats {
  linesRead: number;
  rowsStaged: number;
  nextSongRows: number;
}

export type BadLineHandler = (line: number, reason: string, text: string) => void;

/**
 * The time the line b[start, end) belongs to (epoch ms): the run of the interval holding it stages the line, or
 * reports it when it is bad, and no other run does. `undefined`: a bad line whose time cannot be read, which
 * every run that reads its file reports; `null`: a blank line, neither a row nor a bad line. `end` is where the
 * line's newline is (a CR before it is not the line's).
 * - its top-level `ts`, read without parsing (lineTime), when that is a time an interval can hold;
 * - otherwise what parsing the line says: the `ts` of a line that encodes, or of a bad line whose time can
 *   still be read (eventTimeOf).
 */
export function timeOfEventLine(b: Buffer, start: number, end: number): number | undefined | null {
  end = withoutCr(b, start, end);
  if (start === end) return null;
  const ts = scannedTime(b, start, end);
  if (ts !== undefined) return ts;
  const read = readEventLine(b, start, end, isUtf8(b.subarray(start, end)));
  return read === BLANK ? null : read.ts;
}

/**
 * The length of a UTF-8 byte-order mark at b[start] (3, or 0 if there is none). Editors on Windows write one at
 * the start of a file; it is not part of the first line's JSON, for the encoder (encode) and the source index
 * (hour-digest.ts) alike. Anywhere else in a file it stays what it is: a character the line must not start with.
 */
export function byteOrderMarkAt(b: Buffer, start: number, end: number): number {
  return end - start >= 3 && b[start] === 0xef && b[start + 1] === 0xbb && b[start + 2] === 0xbf ? 3 : 0;
}

function withoutCr(b: Buffer, start: number, end: number): number {
  return end > start && b[end - 1] === 13 ? end - 1 : end;
}

/**
 * Whether b[start, end) holds JSON whitespace only (space, tab, CR): a blank line. Not String.prototype.trim's
 * wider set: a line of U+FEFF (a byte-order mark after the first line), \f, \v, U+00A0 or U+2028 alone is not
 * JSON, and so a bad line, not one dropped without a word.
 */
function isBlank(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

const BLANK = null;
/** A line read by the general path: its row, or why it is bad and the time it belongs to if any. */
type ReadLine = EncodedEvent | { bad: string; text: string; ts: number | undefined } | typeof BLANK;

/**
 * The general path's reading of a line (JSON.parse and the field rules, records.ts), with the time it belongs
 * to by timeOfEventLine's rule: a row's `ts` (the one lineTime reads, when it reads one); for a bad line, the
 * scanned time, else the one parsing can still read. `utf8`: the caller found these bytes valid UTF-8.
 */
function readEventLine(b: Buffer, start: number, end: number, utf8: boolean): ReadLine {
  if (isBlank(b, start, end)) return BLANK;
  const text = b.toString('utf8', start, end);
  try {
    if (!utf8) decodeUtf8(b, start, end);
    return encodeEventLine(text);
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    return { bad: err.message, text, ts: scannedTime(b, start, end) ?? eventTimeOf(text) };
  }
}

/**
 * Encodes event lines into binary COPY chunks of about `chunkBytes`, keeping events with ts in
 * [startMs, endMs). Feed it the bytes of whole lines with `encode`; take the filled chunks with `take`.
 */
export class EventCopyEncoder {
  /** Lines that took the general path: a number to watch (and to test) when the data changes shape. */
  generalLines = 0;
  private out: Buffer;
  private pos = 0;
  private ready: Buffer[] = [];
  private readonly scanner: EventScanner;
  /** Whether the last line scanned was of this interval (see line()). */
  private inInterval = false;

  constructor(
    private readonly startMs: number,
    private readonly endMs: number,
    private readonly stats: EncodeStats,
    private readonly onBadLine: BadLineHandler,
    private readonly chunkBytes = 64 * 1024,
  ) {
    this.out = Buffer.allocUnsafe(chunkBytes + 1024);
    this.scanner = new EventScanner(startMs, endMs);
  }

  /**
   * Encodes the lines of buf[start, end): whole lines, the last one ending with '\n' or at the end of the
   * file. `firstLine` is the line number of the first one (1: the file's start, where a byte-order mark is
   * skipped). Returns how many lines there were.
   */
  encode(buf: Buffer, start: number, end: number, firstLine: number): number {
    // Complete lines never split a UTF-8 character; if this stretch is not valid UTF-8, every line of it
    // takes the general path, which decodes as Node does (invalid bytes become U+FFFD).
    const utf8 = isUtf8(buf.subarray(start, end));
    let line = firstLine;
    // the first line of a file starts after its byte-order mark, if any
    let from = firstLine === 1 ? start + byteOrderMarkAt(buf, start, end) : start;
    while (from < end) {
      let nl = buf.indexOf(10, from);
      if (nl === -1 || nl >= end) nl = end;
      this.stats.linesRead++;
      this.line(buf, from, withoutCr(buf, from, nl), line, utf8);
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
    // A line of another interval is skipped at the cost of finding its time: a run that reads a whole day file
    // for one hour leaves 23 of its 24 parts to other runs. Lines come in runs of one interval (a day file is in
    // time order, and a ranged read holds mostly the run's own), so after a line of this interval the next is
    // scanned straight away: row() leaves out a line of another interval as the check would, by the same rule.
    const scanner = this.scanner;
    if (!this.inInterval && scanner.ofAnotherInterval(buf, start, end)) return;
    this.reserve(rowRoom(end - start));
    const rowEnd = utf8 ? scanner.row(buf, start, end, this.out, this.pos) : -1; // -1: the general path's
    this.inInterval = rowEnd > this.pos;
    if (rowEnd > this.pos) {
      this.pos = rowEnd;
      this.stats.rowsStaged++;
      if (scanner.nextSong) this.stats.nextSongRows++;
    } else if (rowEnd < 0) {
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
    const read = readEventLine(buf, start, end, utf8);
    if (read === BLANK) return;
    // another interval's, by the time it names; a bad line naming none is every run's to report
    if (read.ts !== undefined && (read.ts < this.startMs || read.ts >= this.endMs)) return;
    if ('bad' in read) {
      this.onBadLine(lineNo, read.bad, read.text);
      return;
    }
    const row = read;
    this.stats.rowsStaged++;
    if (row.page === 'NextSong') this.stats.nextSongRows++;
    this.reserve(rowBytes(row.values));
    this.pos = writeRow(row.values, this.out, this.pos);
  }
}
