import {
  DAY_MS,
  floorToHour,
  HOUR_MS,
  IntervalError,
  makeInterval,
  parseInstant,
  toIso,
  type Interval,
} from '../interval';

/**
 * The TIME of `--from` and `--to` (etl, backfill, status), UTC throughout:
 * - an ISO-8601 time: `2018-11-15T13:00Z`, `2018-11-15T13`, `2018-11-15 13:00+01:00`;
 * - a date, `2018-11-15`: the whole day. `--from` is its start and `--to` its end, so
 *   `--from 2018-11-01 --to 2018-11-07` is seven days, both named days included;
 * - `now` (the start of the current hour: the end of the last complete one), `today`, `yesterday`, each
 *   optionally moved by whole hours or days: `now-6h`, `today-2d`, `yesterday+13h`. `today` and `yesterday`,
 *   alone or moved by days, are dates (as above); moved by hours, or `now`, they are times.
 * Relative forms are read against the clock once, when the command starts.
 */
export const TIME_HELP = `TIME is UTC: 2018-11-15T13:00Z; a date, 2018-11-15 (--from its start, --to its end: the day
is included); or now (the start of the current hour), today, yesterday, moved by hours or days: now-6h,
today-2d, yesterday+13h (today and yesterday, alone or moved by days, are dates)`;

/** The earliest start of an interval (see parseTime). */
const FIRST_YEAR = 100;
const FIRST_START = '0100-01-01T00:00Z';
const FIRST_MS = Date.UTC(FIRST_YEAR, 0, 1);

const RELATIVE = /^(now|today|yesterday)(?:([+-])(\d{1,5})([hd]))?$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A TIME as epoch ms: its start, and whether it names a whole day (a date). */
export function parseTime(text: string, what: string, nowMs: number): { ms: number; day: boolean } {
  const value = text.trim();
  const relative = RELATIVE.exec(value);
  if (relative) {
    const [, base = '', sign, amount, unit] = relative;
    const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
    const start = { now: floorToHour(nowMs), today, yesterday: today - DAY_MS }[base.toLowerCase() as 'now'];
    const shift = amount
      ? (sign === '-' ? -1 : 1) * Number(amount) * (unit!.toLowerCase() === 'd' ? DAY_MS : HOUR_MS)
      : 0;
    const day = base.toLowerCase() !== 'now' && (!unit || unit.toLowerCase() === 'd');
    return { ms: start + shift, day };
  }
  // Date.UTC reads years 0 to 99 as 1900 to 1999: the earliest time parseInstant reads as written is in year 100.
  const year = /^(\d{4})-/.exec(value)?.[1];
  if (year !== undefined && Number(year) < FIRST_YEAR) {
    throw new IntervalError(
      `${what} ${text} is before the earliest time this tool handles, ${FIRST_START}; give a later ${what}`,
    );
  }
  try {
    return { ms: parseInstant(value, what), day: DATE.test(value) };
  } catch (err) {
    if (err instanceof IntervalError && /is not an ISO-8601 time/.test(err.message)) {
      throw new IntervalError(
        `${what} "${text}" is not a time such as 2018-11-15T13:00Z, a date such as 2018-11-15, ` +
          'or now, today, yesterday (moved like now-6h, today-2d)',
      );
    }
    throw err;
  }
}

/**
 * `--from` and `--to` as an interval: `--to` a date (or `today`, `yesterday`) is the end of that day. Throws an
 * IntervalError naming the option for a bad or reversed pair.
 */
/** The latest end of an interval: 10000-01-01 has no 4-digit-year ISO form. */
const LAST_END_MS = Date.UTC(9999, 11, 31, 23);

export function intervalFromTimes(from: string, to: string, nowMs: number): Interval {
  const start = parseTime(from, '--from', nowMs);
  const end = parseTime(to, '--to', nowMs);
  const endMs = end.day ? end.ms + DAY_MS : end.ms;
  if (start.ms < FIRST_MS) {
    throw new IntervalError(
      `--from ${from} is before the earliest time this tool handles, ${FIRST_START}; give a later --from`,
    );
  }
  // Intervals are written as 4-digit-year ISO times (workflow ids, etl_runs): the last hour there is 9999-12-31T23.
  if (endMs > LAST_END_MS) {
    throw new IntervalError(
      `--to ${to}${end.day ? ' (to the end of that day)' : ''} is past the latest time this tool handles, ` +
        `9999-12-31T23:00Z; give an earlier --to`,
    );
  }
  if (!(start.ms < endMs)) {
    throw new IntervalError(
      `--from ${from} (${toIso(start.ms)}) must be before --to ${to} (${toIso(endMs)}${end.day ? ', the end of that day' : ''})`,
    );
  }
  return makeInterval(toIso(start.ms), toIso(endMs));
}
