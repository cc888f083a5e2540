import { ApplicationFailure } from '@temporalio/common';
import { BAD_CONFIG, BAD_DATA, TRANSIENT, UNEXPECTED } from '../failures';

export * from '../failures';

/**
 * Sorting errors at the activity boundary, in one place for every activity. What can heal (a refused or reset
 * connection, a deadlock, a serialization failure, an admin shutdown, S3 5xx) becomes a retryable failure that
 * the step's retry policy retries within its budget; what cannot (bad data, bad configuration, authentication,
 * a missing database or relation, permission denied, program limits) fails at once and says what to fix.
 * There are no retry loops inside activities.
 */
export type ErrorKind = 'transient' | 'bad-data' | 'bad-config' | 'unknown';

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
const TRANSIENT_NODE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** What a SQLSTATE class means, for people reading a failure. */
const SQLSTATE_CLASSES: Record<string, string> = {
  '08': 'connection exception',
  '22': 'data exception',
  '23': 'integrity constraint violation',
  '28': 'invalid authorization',
  '3D': 'invalid catalog name',
  '3F': 'invalid schema name',
  '40': 'transaction rollback',
  '42': 'syntax error or access rule violation',
  '53': 'insufficient resources',
  '54': 'program limit exceeded',
  '55': 'object not in prerequisite state',
  '57': 'operator intervention',
  '58': 'system error',
};

export function sqlstateClass(code: string): string | undefined {
  return SQLSTATE_CLASSES[code.slice(0, 2)];
}

export function classify(err: unknown): ErrorKind {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (TRANSIENT_NODE_CODES.has(code) || TRANSIENT_CODES.has(code) || code.startsWith('08')) return 'transient';
  // 22: a value the warehouse refuses; 23: a key or constraint; 54: a value past a program limit (index row size).
  if (code.startsWith('22') || code.startsWith('23') || code.startsWith('54')) return 'bad-data';
  // 42: syntax, undefined table or column, insufficient privilege; 28: authentication; 3D/3F: no such db/schema.
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

/** One line naming the cause: `[40P01 transaction rollback] deadlock detected (detail)`, without a stack. */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; detail?: unknown; hint?: unknown; name?: unknown };
  const raw = typeof e?.code === 'string' ? e.code : '';
  // A SQLSTATE says its class too (`[28000 invalid authorization]`), so a person sees what kind of error it is.
  const cls = /^[0-9A-Z]{5}$/.test(raw) ? sqlstateClass(raw) : undefined;
  const code = raw ? `[${raw}${cls ? ` ${cls}` : ''}] ` : '';
  const message = typeof e?.message === 'string' && e.message ? e.message : String(err);
  const extra = [e?.detail, e?.hint].filter((x): x is string => typeof x === 'string' && x !== '').join(' ');
  return `${code}${message}${extra ? ` (${extra})` : ''}`;
}

/**
 * Rethrows `err` in the shape the retry policy understands. `what`, when given, names the part of the step
 * that failed (e.g. `opening the source`); the workflow puts the step's own name in front.
 */
export function rethrowForActivity(err: unknown, what?: string): never {
  if (err instanceof ApplicationFailure) throw err;
  const prefix = what ? `${what}: ` : '';
  if (err instanceof Error && err.name === 'SourceConfigError') {
    throw ApplicationFailure.nonRetryable(`${prefix}${err.message}`, BAD_CONFIG);
  }
  const kind = classify(err);
  const message = `${prefix}${describeError(err)}`;
  if (kind === 'bad-data') throw ApplicationFailure.nonRetryable(message, BAD_DATA);
  if (kind === 'bad-config') {
    const fromS3 = (err as { $metadata?: unknown })?.$metadata !== undefined;
    const code = String((err as { code?: unknown })?.code ?? '');
    const hint = fromS3
      ? "Check SOURCE_URL and the worker's AWS settings (credentials, AWS_REGION, AWS_ENDPOINT_URL_S3)."
      : code.startsWith('28')
        ? 'Check the role and password in WAREHOUSE_URL (the role needs LOGIN).'
        : 'Check the warehouse settings (WAREHOUSE_URL, schema) and that `npm run db:init` has run.';
    throw ApplicationFailure.nonRetryable(`${message}. ${hint}`, BAD_CONFIG);
  }
  // Transient or unknown: the retry policy decides. The message keeps the code, which the raw error's
  // conversion would drop, so the failure a person reads says what happened.
  // The error's code travels in the details too: the cause is kept only for an Error of this realm.
  const code = (err as { code?: unknown } | null)?.code;
  throw ApplicationFailure.create({
    message,
    type: kind === 'transient' ? TRANSIENT : UNEXPECTED,
    nonRetryable: false,
    cause: err instanceof Error ? err : undefined,
    ...(typeof code === 'string' ? { details: [{ code }] } : {}),
  });
}

/** A bad source record: non-retryable, naming file, line and reason. */
export function badData(file: string, line: number, reason: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${file} line ${line}: ${reason}`, BAD_DATA, { file, line, reason });
}

export function badConfig(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, BAD_CONFIG);
}
