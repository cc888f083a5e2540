import { ApplicationFailure } from '@temporalio/common';
import type { PoolClient } from 'pg';
import type { ListedBadLine, TooManyBadLines } from '../failures';
import { BAD_DATA, badData } from '../warehouse/errors';
import { postgres, type Dialect } from '../warehouse/dialect';

const MAX_RAW = 4_000;
/** How many bad lines a failure over maxErrors lists in its details (the first ones): the history stays small. */
export const LISTED_BAD_LINES = 10;

/**
 * Bad source lines of one run. With maxErrors = 0 the first one fails the activity, naming file and line;
 * otherwise up to maxErrors are kept (and written to load_errors in the staging transaction). Past maxErrors the
 * scan goes on, counting, to the end of what the step reads (its rows are no longer sent anywhere): the failure
 * (failIfTooMany) then says how many bad lines there are, so that the operator's next --max-errors is enough,
 * instead of one more than the last. Memory is bounded by maxErrors.
 */
export class BadLines {
  readonly files: string[] = [];
  readonly lines: number[] = [];
  readonly reasons: string[] = [];
  readonly raws: string[] = [];
  readonly versions: string[] = [];
  /** Every bad line found, kept or not. */
  private found = 0;
  /** The first bad lines found, for the failure to list. */
  private readonly listed: ListedBadLine[] = [];
  /** The first bad line past maxErrors. */
  private past?: ListedBadLine;

  constructor(private readonly maxErrors: number) {}

  /** The bad lines kept (at most maxErrors). */
  get count(): number {
    return this.files.length;
  }

  /** More bad lines than maxErrors allows: the step is bound to fail (failIfTooMany), what it stages is moot. */
  get overflowed(): boolean {
    return this.past !== undefined;
  }

  /** `version`: the file's SourceFile.version; load_errors rows are keyed by file, version and line. */
  add(file: string, line: number, reason: string, raw: string, version = ''): void {
    if (this.maxErrors <= 0) throw badData(file, line, reason);
    // A NUL cannot be stored in text: the reason and the raw line keep a visible \0 in its place.
    const shown = reason.replaceAll('\u0000', '\\0');
    this.found++;
    if (this.listed.length < LISTED_BAD_LINES) this.listed.push({ file, line, reason: shown });
    if (this.found > this.maxErrors) {
      this.past ??= { file, line, reason: shown };
      return;
    }
    this.files.push(file);
    this.lines.push(line);
    this.reasons.push(shown);
    this.raws.push((raw.length > MAX_RAW ? raw.slice(0, MAX_RAW) : raw).replaceAll('\u0000', '\\0'));
    this.versions.push(version);
  }

  /**
   * Once the step has read everything: fails when it found more bad lines than maxErrors, saying how many, the
   * first one past the limit, and (in the details, TooManyBadLines) the first few, which etl and backfill print.
   */
  failIfTooMany(): void {
    if (!this.past) return;
    const { file, line, reason } = this.past;
    const details: TooManyBadLines = { badLines: this.found, maxErrors: this.maxErrors, listed: this.listed };
    const listed = this.listed.length === this.found ? 'all' : `the first ${this.listed.length}`;
    throw ApplicationFailure.nonRetryable(
      `more than maxErrors=${this.maxErrors} bad lines (${this.found} in all, ${listed} in the failure's details); ` +
        `the ${ordinal(this.maxErrors + 1)}: ${file} line ${line}: ${reason}`,
      BAD_DATA,
      details,
    );
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

/** 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, ..., 21st. */
export function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}
