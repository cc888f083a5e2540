/**
 * The workflow's input, checked at the door: every field of a SparkifyEtl input is validated before any step
 * runs, and every problem is named (`heartbeatTimeout: "abc" is not a duration such as 30s, 5m or 1h`).
 * Pure: used inside the workflow sandbox and by the commands, which refuse the same inputs before starting.
 */
import { checkSelectionProblems } from './check-selection';
import { HOUR_MS, IntervalError, makeInterval, toMs, type Interval } from './interval';
import { loadModeProblem } from './types';

/** The longest interval one run may load; longer ranges are a backfill (one run per hour). */
export const MAX_RUN_HOURS = 31 * 24;
export const DEFAULT_HEARTBEAT_TIMEOUT = '1m';
/** How long a step may keep retrying what can heal (a refused connection, a deadlock) before the run fails. */
export const DEFAULT_RETRY_BUDGET = '10m';
export const MAX_RETRY_BUDGET_MS = 24 * HOUR_MS;
export const MAX_ERRORS_LIMIT = 1_000_000;

/** The backoff between a step's attempts: 1 s, doubling, at most 30 s. */
export const RETRY_BACKOFF = { initialMs: 1_000, coefficient: 2, maximumMs: 30_000 } as const;

const KNOWN_FIELDS = new Set([
  'start',
  'end',
  'source',
  'loadModes',
  'checks',
  'builtinChecks',
  'maxErrors',
  'onMissingFile',
  'heartbeatTimeout',
  'retryBudget',
  'allowIncomplete',
  'reason',
  'localSteps',
]);

/** A run's reason (the late-data watcher's `late data: log_data/… changed`) is at most this long. */
export const MAX_REASON_LENGTH = 500;

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: HOUR_MS, d: 24 * HOUR_MS };

/** `30s`, `5m`, `1h`, `500ms`, or a number of milliseconds; undefined when it is none of those. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = DURATION.exec(value.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

/**
 * How many attempts fit in a retry budget: retries are added while the backoff waits before them sum to at
 * most the budget. A budget of 0 means one attempt.
 */
export function attemptsWithin(budgetMs: number): number {
  let waited = 0;
  let wait: number = RETRY_BACKOFF.initialMs;
  let attempts = 1;
  while (waited + wait <= budgetMs) {
    waited += wait;
    attempts++;
    wait = Math.min(wait * RETRY_BACKOFF.coefficient, RETRY_BACKOFF.maximumMs);
  }
  return attempts;
}

const show = (v: unknown): string => {
  const text = typeof v === 'string' ? JSON.stringify(v) : String(JSON.stringify(v) ?? v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

export interface InputContext {
  /** When the run started (from its history, not the clock): an interval may not end after it. */
  runStartMs?: number;
}

/** Every problem of a SparkifyEtl input, one line each; empty when the input is fine. */
export function inputProblems(input: unknown, ctx: InputContext = {}): string[] {
  if (input === undefined || input === null) return [];
  if (typeof input !== 'object' || Array.isArray(input)) return ['the input must be an object'];
  const problems: string[] = [];
  const i = input as Record<string, unknown>;
  const unknown = Object.keys(i).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length > 0) {
    const named = unknown.slice(0, 5).map((k) => (k.length > 40 ? `${k.slice(0, 40)}...` : k));
    const more = unknown.length > 5 ? ` and ${unknown.length - 5} more` : '';
    problems.push(`${named.join(', ')}${more}: unknown field(s) (known: ${[...KNOWN_FIELDS].join(', ')})`);
  }

  const interval = intervalProblems(i, problems);
  if (interval && !i.allowIncomplete && ctx.runStartMs !== undefined && toMs(interval).endMs > ctx.runStartMs) {
    problems.push(
      `end: ${interval.end} is after the run started (${new Date(ctx.runStartMs).toISOString()}): ` +
        'the interval is not complete yet; pass allowIncomplete: true (npm run etl --allow-incomplete) to load it anyway',
    );
  }
  if (i.source !== undefined) {
    if (typeof i.source !== 'string') problems.push('source: must be a string (folder, file:// or s3:// URL)');
    else if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(i.source)) {
      problems.push('source: must not carry credentials; the worker holds them');
    } else if (i.source.length > 1024) problems.push('source: longer than 1024 characters');
  }
  if (i.loadModes !== undefined) {
    if (typeof i.loadModes !== 'object' || i.loadModes === null || Array.isArray(i.loadModes)) {
      problems.push('loadModes: must be an object such as { "users": "append" }');
    } else {
      for (const [table, mode] of Object.entries(i.loadModes)) {
        const problem = loadModeProblem(table, mode);
        if (problem) problems.push(`loadModes.${table}: ${problem}`);
      }
    }
  }
  if (i.checks !== undefined) problems.push(...checkSelectionProblems(i.checks));
  if (i.builtinChecks !== undefined && typeof i.builtinChecks !== 'boolean') {
    problems.push('builtinChecks: must be true or false');
  }
  if (i.reason !== undefined) {
    if (typeof i.reason !== 'string') problems.push('reason: must be a string');
    else if (i.reason.length > MAX_REASON_LENGTH) {
      problems.push(`reason: longer than ${MAX_REASON_LENGTH} characters`);
    } else if ([...i.reason].some((c) => c < ' ' || c === '\u007f')) {
      problems.push('reason: must be one line of printable text');
    }
  }
  if (i.allowIncomplete !== undefined && typeof i.allowIncomplete !== 'boolean') {
    problems.push('allowIncomplete: must be true or false');
  }
  if (i.localSteps !== undefined && typeof i.localSteps !== 'boolean') {
    problems.push('localSteps: must be true or false');
  }
  if (
    i.maxErrors !== undefined &&
    !(Number.isInteger(i.maxErrors) && (i.maxErrors as number) >= 0 && (i.maxErrors as number) <= MAX_ERRORS_LIMIT)
  ) {
    problems.push(`maxErrors: ${show(i.maxErrors)} must be an integer from 0 to ${MAX_ERRORS_LIMIT}`);
  }
  if (i.onMissingFile !== undefined && i.onMissingFile !== 'fail' && i.onMissingFile !== 'warn') {
    problems.push(`onMissingFile: ${show(i.onMissingFile)} must be "fail" or "warn"`);
  }
  if (i.heartbeatTimeout !== undefined) {
    const ms = parseDuration(i.heartbeatTimeout);
    if (ms === undefined || ms < 1_000 || ms > HOUR_MS) {
      problems.push(
        `heartbeatTimeout: ${show(i.heartbeatTimeout)} must be a duration from 1s to 1h, such as 30s, 5m or 1h`,
      );
    }
  }
  if (i.retryBudget !== undefined) {
    const ms = parseDuration(i.retryBudget);
    if (ms === undefined || ms > MAX_RETRY_BUDGET_MS) {
      problems.push(`retryBudget: ${show(i.retryBudget)} must be a duration from 0s to 24h, such as 30s, 10m or 2h`);
    }
  }
  return problems;
}

function intervalProblems(i: Record<string, unknown>, problems: string[]): Interval | undefined {
  if (i.start === undefined && i.end === undefined) return undefined;
  if (typeof i.start !== 'string' || typeof i.end !== 'string') {
    problems.push('start, end: give both as ISO-8601 UTC times (e.g. 2018-11-15T13:00Z), or neither');
    return undefined;
  }
  let interval: Interval;
  try {
    interval = makeInterval(i.start, i.end);
  } catch (err) {
    if (!(err instanceof IntervalError)) throw err;
    problems.push(`start, end: ${err.message}`);
    return undefined;
  }
  const { startMs, endMs } = toMs(interval);
  const hours = (endMs - startMs) / HOUR_MS;
  if (hours > MAX_RUN_HOURS) {
    problems.push(
      `start, end: the interval spans ${Math.ceil(hours)} hours; one run loads at most ${MAX_RUN_HOURS} ` +
        '(31 days): run a backfill, which loads one hour per run',
    );
    return undefined;
  }
  return interval;
}
