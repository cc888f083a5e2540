/**
 * The source index's view of one event file: for each UTC hour, how many of its lines belong to that hour and
 * a digest of their bytes, in file order. A line belongs to an hour by the staging encoder's own rule,
 * timeOfEventLine (event-encoder.ts), so "the lines of hour H" here are the lines the run of H stages or
 * reports. A bad line whose time cannot be read belongs to no hour: every run that reads the file reports it,
 * so it goes into the file's "unhoured" digest, which is part of what every hour reading the file read. Blank
 * lines are neither rows nor bad lines and are left out.
 */
import { createHash, type Hash } from 'node:crypto';
import { HOUR_MS } from '../interval';
import { byteOrderMarkAt, timeOfEventLine } from './event-encoder';
import { wholeLines } from './index';

export interface HourDigest {
  hourStartMs: number;
  lines: number;
  digest: string;
  /**
   * Where the hour's lines are: from the start of its first line to the end of its last (newline included),
   * and the first one's line number in the file (blank lines counted, as the encoder counts them). A run of
   * the hour reads that range of the file, not all of it.
   */
  firstByte: number;
  endByte: number;
  firstLine: number;
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
  const hours = new Map<number, { lines: number; hash: Hash; firstByte: number; endByte: number; firstLine: number }>();
  let unhoured: { lines: number; hash: Hash } | undefined;
  let lines = 0;
  let minTs: number | null = null;
  let maxTs: number | null = null;
  let offset = 0;
  let lineNo = 0;
  const NL = Buffer.from([10]);
  for await (const piece of wholeLines(pieces)) {
    let from = 0;
    while (from < piece.length) {
      let nl = piece.indexOf(10, from);
      if (nl === -1) nl = piece.length;
      lineNo++;
      // the file's first line starts after its byte-order mark, as the encoder reads it
      const at = lineNo === 1 ? from + byteOrderMarkAt(piece, from, nl) : from;
      const ts = timeOfEventLine(piece, at, nl);
      if (ts !== null) {
        lines++;
        let slot;
        if (ts === undefined) {
          slot = unhoured ??= { lines: 0, hash: createHash('sha256') };
        } else {
          if (minTs === null || ts < minTs) minTs = ts;
          if (maxTs === null || ts > maxTs) maxTs = ts;
          const hour = Math.floor(ts / HOUR_MS) * HOUR_MS;
          let h = hours.get(hour);
          if (!h) {
            h = { lines: 0, hash: createHash('sha256'), firstByte: offset + from, endByte: 0, firstLine: lineNo };
            hours.set(hour, h);
          }
          h.endByte = offset + Math.min(nl + 1, piece.length);
          slot = h;
        }
        slot.lines++;
        slot.hash.update(piece.subarray(at, nl));
        slot.hash.update(NL);
      }
      from = nl + 1;
    }
    offset += piece.length;
    onProgress?.(lines);
  }
  return {
    lines,
    minTs,
    maxTs,
    hours: [...hours]
      .sort((a, b) => a[0] - b[0])
      .map(([hourStartMs, h]) => ({
        hourStartMs,
        lines: h.lines,
        digest: h.hash.digest('hex').slice(0, 32),
        firstByte: h.firstByte,
        endByte: h.endByte,
        firstLine: h.firstLine,
      })),
    unhouredLines: unhoured?.lines ?? 0,
    unhouredDigest: unhoured ? unhoured.hash.digest('hex').slice(0, 32) : null,
  };
}
