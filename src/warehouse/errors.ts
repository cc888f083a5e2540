import { ApplicationFailure } from '@temporalio/common';

/**
 * Sorting warehouse errors at the activity boundary. Transient failures are rethrown as they are so the
 * activity's retry policy retries them with backoff; bad data and bad configuration become non-retryable
 * ApplicationFailures that say what to fix. There are no retry loops inside activities.
 */
export type ErrorKind = 'transient' | 'bad-data' | 'bad-config' | 'unknown';

export const BAD_DATA = 'BadData';
export const BAD_CONFIG = 'BadConfig';
export const CHECKS_FAILED = 'DataQualityChecksFailed';

const TRANSIENT_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '55P03', // lock_not_available
  '57014', // query_canceled (statement timeout, or a cancel): the next attempt may succeed
  '57P01', // admin_shutdown (includes pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '58000', // system_error
  '58030', // io_error
  'XX000', // internal_error (Redshift reports some transient conditions this way)
]);
const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN']);

export function classify(err: unknown): ErrorKind {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (TRANSIENT_NODE_CODES.has(code) || TRANSIENT_CODES.has(code) || code.startsWith('08')) return 'transient';
  // 22: data exception; 23: integrity constraint; 54: program limit exceeded (an index entry too large, ...)
  if (code.startsWith('22') || code.startsWith('23') || code.startsWith('54')) return 'bad-data';
  // 42*: syntax error, undefined table/column, insufficient privilege; 28*: bad credentials; 3D000: no such db.
  if (code.startsWith('42') || code.startsWith('28') || code === '3D000' || code === '3F000') return 'bad-config';
  // AWS SDK errors carry the HTTP status: 5xx and throttling are worth another attempt, 4xx are not.
  const http = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  if (http !== undefined) {
    if (http >= 500 || http === 429) return 'transient';
    if (http === 403 || http === 404 || http === 400) return 'bad-config';
  }
  const message = typeof e?.message === 'string' ? e.message : '';
  if (/Connection terminated|connection timeout|Client has encountered a connection error/i.test(message)) {
    return 'transient';
  }
  return 'unknown';
}

/**
 * Rethrows `err` in the shape the retry policy understands. `what` says which step failed, e.g.
 * `loading users`; it becomes the start of the message a person reads in the Web UI.
 */
export function rethrowForActivity(err: unknown, what: string): never {
  if (err instanceof ApplicationFailure) throw err;
  if (err instanceof Error && err.name === 'SourceConfigError') {
    throw ApplicationFailure.nonRetryable(`${what} failed: ${err.message}`, BAD_CONFIG);
  }
  const kind = classify(err);
  const e = err as { code?: string; message?: string; detail?: string; hint?: string };
  const sqlstate = e?.code ? ` [${e.code}]` : '';
  const detail = [e?.detail, e?.hint].filter(Boolean).join(' ');
  const message = `${what} failed${sqlstate}: ${e?.message ?? String(err)}${detail ? ` (${detail})` : ''}`;
  if (kind === 'bad-data') throw ApplicationFailure.nonRetryable(message, BAD_DATA);
  if (kind === 'bad-config') {
    const fromS3 = (err as { $metadata?: unknown })?.$metadata !== undefined;
    const hint = fromS3
      ? "Check SOURCE_URL and the worker's AWS settings (credentials, AWS_REGION, AWS_ENDPOINT_URL_S3)."
      : 'Check the warehouse settings (WAREHOUSE_URL, schema) and that `npm run db:init` has run.';
    throw ApplicationFailure.nonRetryable(`${message}. ${hint}`, BAD_CONFIG);
  }
  // transient or unknown: let the retry policy decide, keeping the original error (and its code) as cause.
  throw err;
}

/** A bad source record: non-retryable, naming file, line and reason. */
export function badData(file: string, line: number, reason: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${file} line ${line}: ${reason}`, BAD_DATA, { file, line, reason });
}

export function badConfig(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, BAD_CONFIG);
}
