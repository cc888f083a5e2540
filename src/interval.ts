/**
 * Pure interval maths. Used inside the workflow sandbox, so nothing here may do I/O or read the clock.
 *
 * Glossary
 * - interval: the half-open UTC range `[start, end)` of event time that one run loads.
 * - scheduled time T: the time a Schedule action was due; the run at T loads `[T - 1h, T)`
 *   (Airflow's data interval: the 13:00-14:00 hour is loaded by the 14:00 run).
 * - interval key: a compact, identifier-safe name of an interval, used for workflow ids and run staging.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** An interval as it travels through workflow history: ISO-8601 UTC strings, end exclusive. */
export interface Interval {
  start: string;
  end: string;
}

/** The same interval as epoch milliseconds, the unit of the events' `ts` field. */
export interface IntervalMs {
  startMs: number;
  endMs: number;
}

export class IntervalError extends Error {
  override name = 'IntervalError';
}

const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses `2018-11-15`, `2018-11-15T13`, `2018-11-15T13:00Z`, `2018-11-15T13:00:00.000+00:00`...
 * A value without an offset is taken as UTC (the warehouse is UTC throughout).
 */
export function parseInstant(text: string, what = 'time'): number {
  const m = INSTANT.exec(text.trim());
  if (!m) {
    throw new IntervalError(`${what} "${text}" is not an ISO-8601 time such as 2018-11-15T13:00Z`);
  }
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', offset] = m;
  const fields = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s)] as const;
  let ms = Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5], Number(frac.padEnd(3, '0')));
  const check = new Date(ms);
  if (
    check.getUTCFullYear() !== fields[0] ||
    check.getUTCMonth() !== fields[1] - 1 ||
    check.getUTCDate() !== fields[2] ||
    fields[3] > 23 ||
    fields[4] > 59 ||
    fields[5] > 59
  ) {
    throw new IntervalError(`${what} "${text}" is not a valid calendar time`);
  }
  if (offset && offset.toUpperCase() !== 'Z') {
    const sign = offset.startsWith('-') ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    if (Number(digits.slice(0, 2)) > 14 || Number(digits.slice(2)) > 59) {
      throw new IntervalError(`${what} "${text}" has an offset outside -14:00..+14:00`);
    }
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return ms;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

export function toMs(interval: Interval): IntervalMs {
  return { startMs: parseInstant(interval.start, 'start'), endMs: parseInstant(interval.end, 'end') };
}

export function fromMs({ startMs, endMs }: IntervalMs): Interval {
  return { start: toIso(startMs), end: toIso(endMs) };
}

/** Validates and normalises an interval given by a person or a caller: start < end, both parseable. */
export function makeInterval(start: string, end: string): Interval {
  const startMs = parseInstant(start, 'start');
  const endMs = parseInstant(end, 'end');
  if (!(startMs < endMs)) {
    throw new IntervalError(`start (${toIso(startMs)}) must be before end (${toIso(endMs)})`);
  }
  return fromMs({ startMs, endMs });
}

export function floorToHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** The interval a scheduled run at time T loads: `[T - period, T)`. */
export function intervalForScheduledTime(scheduledMs: number, periodMs = HOUR_MS): Interval {
  return fromMs({ startMs: scheduledMs - periodMs, endMs: scheduledMs });
}

/** The one-hour intervals that tile `[start, end)`; start and end must be hour-aligned. */
export function hoursIn(interval: Interval): Interval[] {
  const { startMs, endMs } = toMs(interval);
  if (startMs % HOUR_MS !== 0 || endMs % HOUR_MS !== 0) {
    throw new IntervalError(`${interval.start} .. ${interval.end} is not aligned to whole hours`);
  }
  const hours: Interval[] = [];
  for (let t = startMs; t < endMs; t += HOUR_MS) hours.push(fromMs({ startMs: t, endMs: t + HOUR_MS }));
  return hours;
}

/** UTC calendar days (`YYYY-MM-DD`) that `[start, end)` touches: the event day files a run must read. */
export function daysTouched(interval: Interval): string[] {
  const { startMs, endMs } = toMs(interval);
  const days: string[] = [];
  for (let d = Math.floor(startMs / DAY_MS) * DAY_MS; d < endMs; d += DAY_MS) {
    days.push(toIso(d).slice(0, 10));
  }
  return days;
}

function compact(ms: number): string {
  // 2018-11-15T13:00:00.000Z -> 20181115T1300 (seconds kept only when present)
  const iso = toIso(ms);
  const base = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + 'T' + iso.slice(11, 13) + iso.slice(14, 16);
  const rest = iso.slice(17, 19) + iso.slice(20, 23);
  return rest === '00000' ? base : base + rest;
}

/**
 * Identifier-safe key of an interval: `20181115T1300_1h` for an hour, `20181115T0000_20181116T0000` otherwise.
 * Lower-cased where it is used as a SQL identifier.
 */
export function intervalKey(interval: Interval): string {
  const { startMs, endMs } = toMs(interval);
  return endMs - startMs === HOUR_MS ? `${compact(startMs)}_1h` : `${compact(startMs)}_${compact(endMs)}`;
}

/** The deployment name when SPARKIFY_DEPLOYMENT is unset: today's ids and schedule stay as they were. */
export const DEFAULT_DEPLOYMENT = 'sparkify-etl';

/** A deployment name: starts with a letter, then letters, digits, `_` or `-` (it starts every workflow id). */
export const DEPLOYMENT_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

/** RFC 3339 as Temporal Schedules write the scheduled time into a run's id: `2018-11-15T14:00:00Z`. */
function rfc3339(ms: number): string {
  const iso = toIso(ms);
  return iso.endsWith('.000Z') ? iso.slice(0, 19) + 'Z' : iso;
}

/**
 * The one workflow id of an interval, whoever starts its run (the schedule, `etl`, `backfill`):
 * - an hour `[T - 1h, T)`: `<deployment>-<T>`, e.g. `sparkify-etl-2018-11-15T14:00:00Z` for 13:00-14:00. This
 *   is the id a Temporal Schedule whose action id is `<deployment>` gives its run at scheduled time T, so a
 *   manual run or a backfill of an hour finds the scheduled run of that hour, and the other way round;
 * - any other interval: `<deployment>-<start>--<end>`, e.g. `sparkify-etl-2018-11-15T00:00:00Z--2018-11-16T00:00:00Z`
 *   (never an hour's id: the `--` cannot occur in one).
 */
export function workflowIdFor(interval: Interval, deployment = DEFAULT_DEPLOYMENT): string {
  const { startMs, endMs } = toMs(interval);
  return endMs - startMs === HOUR_MS
    ? `${deployment}-${rfc3339(endMs)}`
    : `${deployment}-${rfc3339(startMs)}--${rfc3339(endMs)}`;
}

const ID_TIME = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{3})?Z';
const ID_TAIL = new RegExp(`^(${ID_TIME})(?:--(${ID_TIME}))?$`);

const ANY_DEPLOYMENT_ID = new RegExp(`^([A-Za-z][A-Za-z0-9_-]{0,62})-${ID_TIME}(?:--${ID_TIME})?$`);

/**
 * The deployment whose id convention `workflowId` follows (workflowIdFor), whichever it is; undefined for an
 * id of no deployment (one given by hand, say). Unambiguous: a deployment name holds no `:`, a time does.
 */
export function deploymentOfWorkflowId(workflowId: string): string | undefined {
  const deployment = ANY_DEPLOYMENT_ID.exec(workflowId)?.[1];
  return deployment && intervalOfWorkflowId(workflowId, deployment) ? deployment : undefined;
}

/** The late-data watcher's schedule id (its cycles: `<id>-<scheduled time>`, and `<id>-now-<time>` by `npm run late`). */
export const lateDataScheduleId = (deployment: string): string => `${deployment}-late-data`;

const WATCHER_ID = new RegExp(`^([A-Za-z][A-Za-z0-9_-]{0,62})-late-data(?:-now)?-${ID_TIME}$`);

/**
 * The deployment of a late-data watcher's cycle, from its id; undefined for other ids. (Read as an hour's id, a
 * cycle's `<deployment>-late-data-<time>` would name deployment `<deployment>-late-data`: ask by workflow type.)
 */
export function deploymentOfWatcherId(workflowId: string): string | undefined {
  return WATCHER_ID.exec(workflowId)?.[1];
}

/** The interval a workflow id of `deployment` names (the inverse of workflowIdFor); undefined for other ids. */
export function intervalOfWorkflowId(workflowId: string, deployment = DEFAULT_DEPLOYMENT): Interval | undefined {
  if (!workflowId.startsWith(`${deployment}-`)) return undefined;
  const m = ID_TAIL.exec(workflowId.slice(deployment.length + 1));
  if (!m) return undefined;
  const first = Date.parse(m[1]!);
  if (Number.isNaN(first)) return undefined;
  if (!m[2]) return fromMs({ startMs: first - HOUR_MS, endMs: first });
  const second = Date.parse(m[2]);
  if (Number.isNaN(second) || !(first < second) || second - first === HOUR_MS) return undefined;
  return fromMs({ startMs: first, endMs: second });
}
