/**
 * The failure types a run can end with, shared by the workflow (sandbox-safe: no imports) and the activities.
 * The non-retryable ones fail a step at once; the others are retried within the run's retry budget.
 */
export const BAD_DATA = 'BadData';
export const BAD_CONFIG = 'BadConfig';
export const BAD_INPUT = 'BadInput';
export const SOURCE_FILE_MISSING = 'SourceFileMissing';
export const CHECKS_FAILED = 'DataQualityChecksFailed';
/** A worker refused a step of another deployment's run (the two share a task queue): nothing was written. */
export const WRONG_DEPLOYMENT = 'WrongDeployment';
/** Retryable: another run of an overlapping interval committed rows meanwhile; the next attempt replaces them. */
export const CONCURRENT_LOAD = 'ConcurrentLoad';
/** Retryable: the warehouse, the source or the network may heal. */
export const TRANSIENT = 'Transient';
/** Retryable, but not known to heal: an error nobody classified (a bug, a condition not seen before). */
export const UNEXPECTED = 'Unexpected';

export const NON_RETRYABLE_TYPES: readonly string[] = [
  BAD_DATA,
  BAD_CONFIG,
  BAD_INPUT,
  SOURCE_FILE_MISSING,
  WRONG_DEPLOYMENT,
];

/** The run's failure when checks fail: each failed check by name, with its detail. */
export function checksFailedMessage(
  failed: readonly { name: string; detail: string }[],
  interval: { start: string; end: string },
): string {
  return (
    `checks: ${failed.length} failed for ${interval.start} .. ${interval.end}: ` +
    failed.map((c) => `${c.name} (${c.detail})`).join('; ')
  );
}

/** A bad source line as a failure lists it. */
export interface ListedBadLine {
  file: string;
  line: number;
  reason: string;
}

/**
 * The details of a BadData failure for more bad lines than maxErrors allows (activities/bad-lines.ts): how many
 * the step found in all (it reads to the end before failing, so the count is exact) and the first ones, which
 * the commands print under the failure.
 */
export interface TooManyBadLines {
  badLines: number;
  maxErrors: number;
  listed: ListedBadLine[];
}

/** The failure details `details` as TooManyBadLines, if that is what they are. */
export function tooManyBadLinesOf(details: unknown): TooManyBadLines | undefined {
  const d = details as Partial<TooManyBadLines> | null | undefined;
  if (typeof d?.badLines !== 'number' || typeof d.maxErrors !== 'number' || !Array.isArray(d.listed)) return undefined;
  const listed = d.listed.filter(
    (l): l is ListedBadLine =>
      typeof (l as ListedBadLine)?.file === 'string' &&
      typeof (l as ListedBadLine).line === 'number' &&
      typeof (l as ListedBadLine).reason === 'string',
  );
  return { badLines: d.badLines, maxErrors: d.maxErrors, listed };
}
