import { ApplicationFailure } from '@temporalio/common';
import type { PoolClient } from 'pg';
import { BAD_DATA, badData } from '../warehouse/errors';
import { postgres, type Dialect } from '../warehouse/dialect';

const MAX_RAW = 4_000;

/**
 * Bad source lines of one run. With maxErrors = 0 the first one fails the activity, naming file and line;
 * otherwise up to maxErrors are kept (and written to load_errors in the staging transaction) and one more
 * fails the activity. Memory is bounded by maxErrors.
 */
export class BadLines {
  readonly files: string[] = [];
  readonly lines: number[] = [];
  readonly reasons: string[] = [];
  readonly raws: string[] = [];
  readonly versions: string[] = [];

  constructor(private readonly maxErrors: number) {}

  get count(): number {
    return this.files.length;
  }

  /** `version`: the file's SourceFile.version; load_errors rows are keyed by file, version and line. */
  add(file: string, line: number, reason: string, raw: string, version = ''): void {
    if (this.maxErrors <= 0) throw badData(file, line, reason);
    if (this.count >= this.maxErrors) {
      throw ApplicationFailure.nonRetryable(
        `more than maxErrors=${this.maxErrors} bad lines; the last one: ${file} line ${line}: ${reason}. ` +
          `The earlier ones are listed in the failure details.`,
        BAD_DATA,
        this.files.map((f, i) => ({ file: f, line: this.lines[i], reason: this.reasons[i] })),
      );
    }
    this.files.push(file);
    this.lines.push(line);
    this.reasons.push(reason.replaceAll('\u0000', '\\0'));
    // A NUL cannot be stored in text: the raw line keeps a visible \0 in its place.
    this.raws.push((raw.length > MAX_RAW ? raw.slice(0, MAX_RAW) : raw).replaceAll('\u0000', '\\0'));
    this.versions.push(version);
  }

  async save(client: PoolClient, runKey: string, dialect: Dialect = postgres): Promise<void> {
    if (this.count === 0) return;
    for (const statement of dialect.recordLoadErrors(
      runKey,
      this.files,
      this.lines,
      this.reasons,
      this.raws,
      this.versions,
    )) {
      await client.query(statement);
    }
  }
}
