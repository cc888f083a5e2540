/**
 * The source index's view of one event file: for each UTC hour, how many of its lines belong to that hour and
 * a digest of their bytes, in file order. A line belongs to an hour by exactly the rule the staging encoder
 * (event-encoder.ts) applies, so "the lines of hour H" here are the lines the run of H stages or reports:
 * - its top-level `ts`, read without parsing (lineTime), when that is a time an interval can hold;
 * - otherwise what parsing the line says: the `ts` of a line that encodes, or of a bad line whose time can
 *   still be read (eventTimeOf);
 * - a bad line whose time cannot be read belongs to no hour: every run that reads the file reports it, so it
 *   goes into the file's "unhoured" digest, which is part of what every hour reading the file read.
 * Blank lines are neither rows nor bad lines and are left out.
 */
import { createHash, type Hash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { HOUR_MS } from '../interval';
import { lineTime } from './event-encoder';
import { decodeUtf8, encodeEventLine, eventTimeOf, RecordError, TS_MAX, TS_MIN } from './records';
import { wholeLines } from './index';

/** The time a line belongs to (epoch ms), `undefined` for a bad line whose time cannot be read, `null` for a blank line. */
export function timeOfEventLine(b: Buffer, start: number, end: number): number | undefined | null {
  if (end > start && b[end - 1] === 13) end--; // as the encoder: a CR before the newline is not the line's
  if (start === end) return null;
  const t = lineTime(b, start, end);
  if (t !== undefined && t >= TS_MIN && t < TS_MAX) return t;
  const text = b.toString('utf8', start, end);
  if (text.trim() === '') return null;
  try {
    if (!isUtf8(b.subarray(start, end))) decodeUtf8(b, start, end);
    return encodeEventLine(text).ts;
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    return eventTimeOf(text);
  }
}

export interface HourDigest {
  hourStartMs: number;
  lines: number;
  digest: string;
}

export interface FileDigest {
  lines: number;
  minTs: number | null;
  maxTs: number | null;
  hours: HourDigest[];
  unhouredLines: number;
  unhouredDigest: string | null;
}

/** Reads a file's bytes (as wholeLines cuts them) and digests its lines by hour. */
export async function digestEventLines(
  pieces: AsyncIterable<Buffer>,
  onProgress?: (lines: number) => void,
): Promise<FileDigest> {
  const hours = new Map<number, { lines: number; hash: Hash }>();
  let unhoured: { lines: number; hash: Hash } | undefined;
  let lines = 0;
  let minTs: number | null = null;
  let maxTs: number | null = null;
  const NL = Buffer.from([10]);
  for await (const piece of wholeLines(pieces)) {
    let from = 0;
    while (from < piece.length) {
      let nl = piece.indexOf(10, from);
      if (nl === -1) nl = piece.length;
      const ts = timeOfEventLine(piece, from, nl);
      if (ts !== null) {
        lines++;
        let slot;
        if (ts === undefined) {
          slot = unhoured ??= { lines: 0, hash: createHash('sha256') };
        } else {
          if (minTs === null || ts < minTs) minTs = ts;
          if (maxTs === null || ts > maxTs) maxTs = ts;
          const hour = Math.floor(ts / HOUR_MS) * HOUR_MS;
          slot = hours.get(hour);
          if (!slot) hours.set(hour, (slot = { lines: 0, hash: createHash('sha256') }));
        }
        slot.lines++;
        slot.hash.update(piece.subarray(from, nl));
        slot.hash.update(NL);
      }
      from = nl + 1;
    }
    onProgress?.(lines);
  }
  return {
    lines,
    minTs,
    maxTs,
    hours: [...hours]
      .sort((a, b) => a[0] - b[0])
      .map(([hourStartMs, h]) => ({ hourStartMs, lines: h.lines, digest: h.hash.digest('hex').slice(0, 32) })),
    unhouredLines: unhoured?.lines ?? 0,
    unhouredDigest: unhoured ? unhoured.hash.digest('hex').slice(0, 32) : null,
  };
}
