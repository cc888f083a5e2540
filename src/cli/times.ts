import { DAY_MS, IntervalError, makeInterval, toIso, type Interval } from '../interval';
import { FIRST_MS, FIRST_START, LAST_END_MS, parseTime } from '../times';

/**
 * The TIME of `--from` and `--to` (etl, backfill, status), UTC throughout:
 * - an ISO-8601 time: `2018-11-15T13:00Z`, `2018-11-15T13`, `2018-11-15 13:00+01:00`;
 * - a date, `2018-11-15`: the whole day. `--from` is its start and `--to` its end, so
 *   `--from 2018-11-01 --to 2018-11-07` is seven days, both named days included;
 * - `now` (the start of the current hour: the end of the last complete one), `today`, `yesterday`, `tomorrow`,
 *   each optionally moved by whole hours or days: `now-6h`, `today-2d`, `yesterday+13h`. `today`, `yesterday`
 *   and `tomorrow`, alone or moved by days, are dates (as above); moved by hours, or `now`, they are times.
 * Relative forms are read against the clock once, when the command starts (parseTime, src/times.ts).
 */
export const TIME_HELP = `TIME is UTC: 2018-11-15T13:00Z; a date, 2018-11-15 (--from its start, --to its end: the day
is included); or now (the start of the current hour), today, yesterday, tomorrow, moved by hours or days:
now-6h, today-2d, yesterday+13h (today, yesterday and tomorrow, alone or moved by days, are dates)`;

/**
 * `--from` and `--to` as an interval: `--to` a date (or `today`, `yesterday`, `tomorrow`) is the end of that day. Throws an
 * IntervalError naming the option for a bad or reversed pair.
 */
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
