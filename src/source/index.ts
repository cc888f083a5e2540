import { createReadStream } from 'node:fs';
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type * as S3Module from './s3';

/**
 * Where the raw files live, laid out like the Sparkify bucket:
 *   log_data/YYYY/MM/YYYY-MM-DD-events.json   newline-delimited events, one file per UTC day
 *   song_data/A/B/C/TR*.json                  one song object per file
 * Keys are paths relative to the source root, with forward slashes, as in S3.
 */
export interface SourceFile {
  key: string;
  size: number;
  /**
   * Changes when the content may have changed (locally size, mtime, ctime and inode; the ETag on S3): a changed
   * file is staged and indexed again. Never compared for order, only for equality.
   */
  version: string;
}

/** Bytes [start, end) of a file. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface Source {
  /** Printable location (never carries credentials). */
  readonly location: string;
  /** Fails with SourceConfigError when the source itself (folder, bucket) is not there. */
  check(): Promise<void>;
  stat(key: string): Promise<SourceFile | null>;
  listSongFiles(): AsyncIterable<SourceFile>;
  /** Every event file under log_data/ (any name ending in .json), in key order: what the source index covers. */
  listEventFiles(): AsyncIterable<SourceFile>;
  /** The object's bytes (cut into whole lines by wholeLines). */
  openStream(key: string): Readable;
  /**
   * The bytes of `range` of the object, read from the object at `version` (SourceFile.version): undefined when it
   * is at another version now (changed since it was looked at), so that offsets found in one version are never
   * applied to another's bytes.
   */
  openRange(key: string, range: ByteRange, version: string): Promise<Readable | undefined>;
  readText(key: string): Promise<string>;
  /** The object's bytes, for content that must be validated as UTF-8 before it is decoded. */
  readBytes(key: string): Promise<Buffer>;
}

export class SourceConfigError extends Error {
  override name = 'SourceConfigError';
}

export function eventFileKey(day: string): string {
  // day is YYYY-MM-DD
  return `log_data/${day.slice(0, 4)}/${day.slice(5, 7)}/${day}-events.json`;
}

/** Opens a source from a folder path, a `file://` URL or an `s3://bucket/prefix` URL. */
export function openSource(url: string): Source {
  if (/^s3:\/\//i.test(url)) {
    // Loaded lazily: the AWS SDK is only needed for S3 sources.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const s3 = require('./s3') as typeof S3Module;
    const { bucket, prefix } = s3.parseS3Url(url);
    return new s3.S3Source(bucket, prefix, s3.s3Client());
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^file:\/\//i.test(url)) {
    throw new SourceConfigError(`unsupported source URL scheme in "${url}"; use a folder path, file:// or s3:// URL`);
  }
  if (/[?#]|\/\/[^/]*@/.test(url)) {
    throw new SourceConfigError('the source URL must not carry credentials or query strings');
  }
  const root = /^file:\/\//i.test(url) ? fileURLToPath(url) : path.resolve(url);
  return new LocalSource(root);
}

/**
 * A local file's version: size, mtime, and also ctime and the inode number. mtime alone misses a correction
 * that keeps it (`touch -r`, `cp -p`, `tar x`, a filesystem with 1-second timestamps and an edit within the
 * second); ctime is set by the kernel on every write, rename or chmod and no user tool can set it back, and a
 * file replaced by another (renamed over it) has a new inode. A chmod (it sets ctime too) re-reads the file
 * once: its per-hour digests then say nothing changed, and no hour is stale (docs/data-semantics.md). Nanoseconds, where the
 * filesystem keeps them, so that two edits in one millisecond differ too. Earlier versions were
 * `size-mtimeMs`: after the upgrade each file is read once more by the next index refresh or staging.
 */
export function localVersion(s: { size: bigint; mtimeNs: bigint; ctimeNs: bigint; ino: bigint }): string {
  return `${s.size}-${s.mtimeNs}-${s.ctimeNs}-${s.ino}`;
}

class LocalSource implements Source {
  constructor(private readonly root: string) {}

  get location(): string {
    return this.root;
  }

  async check(): Promise<void> {
    const s = await stat(this.root).catch(() => null);
    if (!s?.isDirectory()) {
      throw new SourceConfigError(`source folder ${this.root} does not exist: check SOURCE_URL or --source`);
    }
  }

  private resolve(key: string): string {
    const full = path.resolve(this.root, key);
    if (!full.startsWith(this.root + path.sep)) throw new SourceConfigError(`key "${key}" escapes the source root`);
    return full;
  }

  private realRoot: Promise<string> | undefined;

  async stat(key: string): Promise<SourceFile | null> {
    const full = this.resolve(key);
    let s;
    try {
      s = await stat(full, { bigint: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    // What the key names must be a file inside the source, also where a symbolic link leads: a link to
    // /proc/self/environ would otherwise be read as data and keep the worker's secrets in load_errors.
    if (!s.isFile()) throw new SourceConfigError(`${key} in ${this.root} exists but is not a file`);
    const real = await realpath(full);
    const root = await (this.realRoot ??= realpath(this.root));
    if (!real.startsWith(root + path.sep)) {
      throw new SourceConfigError(`${key} is a link to ${real}, outside the source folder ${this.root}: not read`);
    }
    return { key, size: Number(s.size), version: localVersion(s) };
  }

  async *listSongFiles(): AsyncIterable<SourceFile> {
    const base = path.join(this.root, 'song_data');
    try {
      await stat(base);
    } catch {
      throw new SourceConfigError(`no song_data folder under ${this.root}: is SOURCE_URL right?`);
    }
    yield* this.listJson(base);
  }

  async *listEventFiles(): AsyncIterable<SourceFile> {
    const base = path.join(this.root, 'log_data');
    // No log_data folder yet is an empty index: every hour's day file is then reported missing.
    if (!(await stat(base).catch(() => null))?.isDirectory()) return;
    yield* this.listJson(base);
  }

  private async *listJson(base: string): AsyncIterable<SourceFile> {
    const entries = await readdir(base, { recursive: true, withFileTypes: true });
    const files = entries
      .filter((e) => e.isFile() && e.name.endsWith('.json'))
      .map((e) => path.relative(this.root, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)))
      .map((p) => p.split(path.sep).join('/'))
      .sort();
    // stat in small parallel batches: thousands of tiny files
    const BATCH = 64;
    for (let i = 0; i < files.length; i += BATCH) {
      const stats = await Promise.all(files.slice(i, i + BATCH).map((key) => this.stat(key)));
      for (const s of stats) if (s) yield s;
    }
  }

  openStream(key: string): Readable {
    return createReadStream(this.resolve(key), { highWaterMark: 256 * 1024 });
  }

  async openRange(key: string, range: ByteRange, version: string): Promise<Readable | undefined> {
    // The version is checked on the opened file: a file renamed over the path after this cannot change what is read.
    const file = await open(this.resolve(key), 'r');
    try {
      if (localVersion(await file.stat({ bigint: true })) !== version) {
        await file.close();
        return undefined;
      }
      // createReadStream's end is inclusive; the stream closes the file
      return file.createReadStream({ start: range.start, end: range.end - 1, highWaterMark: 256 * 1024 });
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
  }

  readText(key: string): Promise<string> {
    return readFile(this.resolve(key), 'utf8');
  }

  readBytes(key: string): Promise<Buffer> {
    return readFile(this.resolve(key));
  }
}

/**
 * Cuts a byte stream into pieces holding whole lines only (a newline byte never occurs inside a multi-byte
 * UTF-8 character, so no character is split either). Pieces are views of what was read; only a line that
 * straddles two reads is copied. The last piece may end without a newline.
 */
export async function* wholeLines(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let rest: Buffer | undefined;
  for await (const piece of stream) {
    let from = 0;
    if (rest) {
      const nl = piece.indexOf(10);
      if (nl === -1) {
        rest = Buffer.concat([rest, piece]);
        continue;
      }
      yield Buffer.concat([rest, piece.subarray(0, nl + 1)]);
      rest = undefined;
      from = nl + 1;
    }
    const last = piece.lastIndexOf(10);
    if (last >= from) yield piece.subarray(from, last + 1);
    if (Math.max(from, last + 1) < piece.length) rest = piece.subarray(Math.max(from, last + 1));
  }
  if (rest) yield rest;
}
