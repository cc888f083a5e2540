/**
 * The staging hot path: event-log bytes in, PostgreSQL COPY text rows out, without building a JavaScript
 * object or string per event.
 *
 * A line of another interval is skipped once its `ts` is read. A line in the common shape (one flat JSON object
 * whose values are strings, numbers or null, its known keys in column order, in valid UTF-8) is scanned byte by
 * byte and its field values are copied straight into the output buffer (both scans: event-scan.ts). Any other
 * line (keys out of order, nested values, booleans, numbers of the wrong form, missing required fields, invalid
 * JSON or UTF-8, ...) goes through the general path, records.encodeEventLine, which accepts what it can and
 * otherwise reports the field and the reason. Both paths produce the same rows and the same errors
 * (test/event-encoder.test.ts); the fast one takes about a sixth of the CPU time.
 */
import { isUtf8 } from 'node:buffer';
import { EventScanner } from './event-scan';
import { decodeUtf8, EVENT_FIELDS, encodeEventLine, eventTimeOf, RecordError } from './records';

export { lineTime } from './event-scan';

const N_FIELDS = EVENT_FIELDS.length;

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
  private readonly scanner: EventScanner;

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
    const scanner = this.scanner;
    if (scanner.ofAnotherInterval(buf, start, end)) return;
    // A row is at most the line's bytes (decoding escapes never grows them) plus separators and \N's.
    this.reserve(end - start + 4 * N_FIELDS);
    const rowEnd = utf8 ? scanner.row(buf, start, end, this.out, this.pos) : -1; // -1: the general path's
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
}
